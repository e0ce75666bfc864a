"""The default rules load, every worked example holds, and bad rules files say what is wrong."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from engine.errors import RuleError
from scoring_rules.method import run_example
from scoring_rules.rules import (
    check_register,
    default_rules_path,
    load_rules,
    parse_rules,
)
from scoring_rules.threats import default_register_path, load_register

RULES = load_rules(default_rules_path())
DOC = yaml.safe_load(default_rules_path().read_text("utf-8"))


@pytest.mark.parametrize("example", RULES.examples, ids=lambda e: e.name)
def test_worked_example(example) -> None:  # type: ignore[no-untyped-def]
    got = run_example(RULES, example.kind, example.inputs)
    for key, want in example.expected.items():
        if isinstance(want, str):
            assert got[key] == want
        else:
            assert got[key] == pytest.approx(want, abs=example.tolerance), key


def test_default_rules_cover_the_taxonomy() -> None:
    assert RULES.categories == [
        "armed_conflict",
        "militia_attack",
        "terrorism",
        "civil_unrest",
        "cyber_attack",
        "shipping_disruption",
        "oil_market_shock",
        "sanctions",
        "aviation_security",
    ]
    assert RULES.likelihood.terms["likely"].low == 0.55
    assert RULES.likelihood.terms["likely"].high == 0.75
    assert RULES.likelihood.range_for("not_assessed").low == 0.10
    assert [b.band for b in RULES.bands] == ["A", "B", "C", "D", "E"]
    # oil-market shocks hit airlines and shippers hardest
    sens = RULES.targeting.sector_sensitivity
    assert sens.get("oil_market_shock", "aviation") == 1.0
    assert sens.get("oil_market_shock", "banking") < sens.get("oil_market_shock", "shipping")


def test_register_speaks_the_rules_vocabulary() -> None:
    check_register(load_register(default_register_path()), RULES)


def _bad(mutate) -> str:  # type: ignore[no-untyped-def]
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(RuleError) as info:
        parse_rules(doc, "scoring_rules/data/rules_default.yaml")
    return str(info.value)


def test_table_value_above_one_names_file_key_and_range() -> None:
    msg = _bad(
        lambda d: d["vulnerability"]["assets"]["values"]["cyber_attack"].update(data_centre=1.7)
    )
    assert msg == (
        "scoring_rules/data/rules_default.yaml, vulnerability.assets.values.cyber_attack."
        "data_centre: 1.7 is above 1.0 (allowed 0..1)"
    )


def test_negative_table_value() -> None:
    msg = _bad(lambda d: d["mitigation"]["credits"]["values"]["insurance"].update(terrorism=-0.2))
    assert msg.endswith(
        "mitigation.credits.values.insurance.terrorism: -0.2 is below 0.0 (allowed 0..1)"
    )


def test_unknown_asset_type_in_table() -> None:
    msg = _bad(
        lambda d: d["vulnerability"]["assets"]["values"]["cyber_attack"].update(datacenter=0.5)
    )
    assert "vulnerability.assets.values.cyber_attack: unknown key 'datacenter'" in msg
    assert "data_centre" in msg  # the allowed keys are listed


def test_typo_in_a_key_is_refused() -> None:
    msg = _bad(lambda d: d["targeting"].update(colateral_factor=0.3))
    assert "targeting.colateral_factor: Extra inputs are not permitted" in msg


def test_out_of_range_scalar() -> None:
    msg = _bad(lambda d: d["targeting"].update(collateral_factor=1.4))
    assert "targeting.collateral_factor: 1.4 is above 1.0 (allowed up to 1.0)" in msg


def test_likelihood_range_reversed() -> None:
    msg = _bad(lambda d: d["likelihood"]["terms"].update(likely={"low": 0.8, "high": 0.6}))
    assert "likelihood.terms.likely" in msg
    assert "low (0.8) is above high (0.6)" in msg


def test_bands_must_fall() -> None:
    msg = _bad(lambda d: d["bands"].reverse())
    assert "bands: min_score must fall from A to the last band, which starts at 0" in msg


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="nope.yaml: file not found"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("likelihood: [unclosed\n", "utf-8")
    with pytest.raises(RuleError, match="bad.yaml: not valid YAML"):
        load_rules(bad)


def test_register_with_unknown_likelihood_term() -> None:
    reg = load_register(default_register_path())
    broken = reg.model_copy(
        update={
            "threats": [
                reg.threats[0].model_copy(update={"likelihood": "likely_"}),
                *reg.threats[1:],
            ]
        }
    )
    with pytest.raises(RuleError, match=r"likelihood: 'likely_' is not known to rules"):
        check_register(broken, RULES)
