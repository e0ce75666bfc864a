"""A register of many briefs: adding a brief, superseding and retiring, per-brief horizons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.errors import RuleError
from scoring_rules.briefs import add_brief, in_force, register_as_brief
from scoring_rules.threats import (
    Brief,
    Register,
    brief_id_for,
    default_register_path,
    load_register,
    parse_register,
)

RED_SEA = (
    Path(__file__).resolve().parents[2]
    / "scoring_rules"
    / "data"
    / "briefs"
    / "register_2021-01_red_sea_crisis24.yaml"
)
DAYS = 30.44


@pytest.fixture(scope="module")
def seed() -> Register:
    return load_register(default_register_path())


@pytest.fixture(scope="module")
def red_sea() -> tuple[Brief, list]:
    return register_as_brief(load_register(RED_SEA))


def test_the_seed_register_names_its_brief(seed: Register) -> None:
    first = seed.first_brief
    assert (first.id, first.publisher, first.date) == (
        "pgi-us-iran-2020-01",
        "PGI",
        dt.date(2020, 1, 14),
    )
    assert first.label == "PGI, 14 January 2020"
    assert [b.id for b in seed.all_briefs()] == ["pgi-us-iran-2020-01"]


def test_the_red_sea_file_is_one_brief_of_one_threat(red_sea: tuple[Brief, list]) -> None:
    brief, threats = red_sea
    assert brief.id == "crisis24-red-sea-2021-01-22"
    assert brief.label == "Crisis24, 22 January 2021"
    assert [t.id for t in threats] == ["red-sea-explosive-boat-attacks"]
    assert [r.region for r in threats[0].regions] == [
        "sea.red_sea",
        "sea.bab_el_mandeb",
        "sea.gulf_of_aden",
    ]


def test_adding_a_brief_keeps_both_and_moves_the_date(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    reg = add_brief(seed, *red_sea)
    assert [b.id for b in reg.all_briefs()] == [
        "pgi-us-iran-2020-01",
        "crisis24-red-sea-2021-01-22",
    ]
    assert reg.as_of == dt.date(2021, 1, 22)
    assert reg.first_brief.date == dt.date(2020, 1, 14)  # the seed brief keeps its own date
    assert len(reg.threats) == len(seed.threats) + 1
    new = reg.threat("red-sea-explosive-boat-attacks")
    assert new.brief == "crisis24-red-sea-2021-01-22"
    assert reg.brief_of(new).publisher == "Crisis24"
    assert reg.brief_of(reg.threat("oil-market-shock")).id == "pgi-us-iran-2020-01"
    # The combined register survives a round trip through its own YAML form.
    again = parse_register(reg.model_dump(mode="json"), "round trip")
    assert again == reg


def test_horizons_count_from_each_threats_own_brief(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    reg = add_brief(seed, *red_sea)
    red = reg.threat("red-sea-explosive-boat-attacks")
    oil = reg.threat("oil-market-shock")
    assert not in_force(reg, red, dt.date(2020, 1, 14), DAYS)  # before the Red Sea brief
    assert in_force(reg, red, dt.date(2021, 1, 22), DAYS)
    assert in_force(reg, red, dt.date(2021, 2, 21), DAYS)  # one month: 30.44 days
    assert not in_force(reg, red, dt.date(2021, 2, 23), DAYS)
    assert in_force(reg, oil, dt.date(2021, 1, 22), DAYS)  # 24 months from 14 January 2020
    assert reg.expiry(red, DAYS) == dt.date(2021, 2, 21)


def test_an_explicit_expiry_ends_a_threat_before_its_horizon(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    brief, threats = red_sea
    short = [threats[0].model_copy(update={"expires": dt.date(2021, 1, 31)})]
    reg = add_brief(seed, brief, short)
    red = reg.threat("red-sea-explosive-boat-attacks")
    assert in_force(reg, red, dt.date(2021, 1, 31), DAYS)
    assert not in_force(reg, red, dt.date(2021, 2, 1), DAYS)
    assert reg.expiry(red, DAYS) == dt.date(2021, 1, 31)


def test_a_new_brief_supersedes_and_retires_named_threats(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    reg = add_brief(
        seed,
        *red_sea,
        supersede={"red-sea-explosive-boat-attacks": ["gulf-shipping-proxy-attacks"]},
        retire=["us-iran-hostile-rhetoric"],
        note="the alert replaces the shipping judgement",
    )
    active = {t.id for t in reg.threats}
    assert "gulf-shipping-proxy-attacks" not in active
    assert "us-iran-hostile-rhetoric" not in active
    assert reg.threat("red-sea-explosive-boat-attacks").supersedes == [
        "gulf-shipping-proxy-attacks"
    ]
    history = {r.threat.id: r for r in reg.retired}
    assert history["gulf-shipping-proxy-attacks"].superseded_by == "red-sea-explosive-boat-attacks"
    assert history["us-iran-hostile-rhetoric"].superseded_by is None
    assert {r.by_brief for r in reg.retired} == {"crisis24-red-sea-2021-01-22"}
    assert {r.retired_on for r in reg.retired} == {dt.date(2021, 1, 22)}
    assert history["us-iran-hostile-rhetoric"].note == "the alert replaces the shipping judgement"
    # The retired threat still cites the seed brief, which the register keeps.
    assert reg.brief_of(history["gulf-shipping-proxy-attacks"].threat).publisher == "PGI"


def test_a_new_threat_with_an_old_id_supersedes_it(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    brief, threats = red_sea
    renamed = [threats[0].model_copy(update={"id": "oil-market-shock"})]
    reg = add_brief(seed, brief, renamed)
    assert reg.threat("oil-market-shock").brief == brief.id
    assert [(r.threat.id, r.threat.brief, r.superseded_by) for r in reg.retired] == [
        ("oil-market-shock", None, "oil-market-shock")
    ]


def test_superseding_or_retiring_an_unknown_threat_is_an_error(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    with pytest.raises(RuleError, match=r"cannot retire 'no-such-threat': not an active threat"):
        add_brief(seed, *red_sea, retire=["no-such-threat"])
    with pytest.raises(RuleError, match=r"cannot supersede 'nope': not an active threat"):
        add_brief(seed, *red_sea, supersede={"red-sea-explosive-boat-attacks": ["nope"]})
    with pytest.raises(
        RuleError,
        match=r"cannot supersede with 'ghost': it is not a threat of brief "
        r"'crisis24-red-sea-2021-01-22'",
    ):
        add_brief(seed, *red_sea, supersede={"ghost": ["oil-market-shock"]})
    with pytest.raises(RuleError, match=r"'oil-market-shock' is both superseded and retired"):
        add_brief(
            seed,
            *red_sea,
            supersede={"red-sea-explosive-boat-attacks": ["oil-market-shock"]},
            retire=["oil-market-shock"],
        )


def test_a_brief_cannot_be_added_twice(seed: Register, red_sea: tuple[Brief, list]) -> None:
    reg = add_brief(seed, *red_sea)
    with pytest.raises(RuleError, match=r"brief id 'crisis24-red-sea-2021-01-22' is already"):
        add_brief(reg, *red_sea)


def test_evidence_is_checked_against_its_own_briefs_outline(
    seed: Register, red_sea: tuple[Brief, list]
) -> None:
    reg = add_brief(seed, *red_sea)
    doc = reg.model_dump(mode="json")
    red = next(t for t in doc["threats"] if t["id"] == "red-sea-explosive-boat-attacks")
    red["evidence"][0]["section"] = "triggers"  # a section of the seed brief, not of this one
    with pytest.raises(
        RuleError,
        match=r"section 'triggers' is not in the outline of brief "
        r"'crisis24-red-sea-2021-01-22' \(known: event, context, advice\)",
    ):
        parse_register(doc, "reg.yaml")
    red["evidence"][0]["section"] = "event"
    red["brief"] = "no-such-brief"
    with pytest.raises(RuleError, match=r"\.brief: unknown brief 'no-such-brief'"):
        parse_register(doc, "reg.yaml")


def test_brief_ids_from_file_names() -> None:
    assert brief_id_for("register_2021-01_red_sea.yaml") == "register-2021-01-red-sea"
    assert brief_id_for("https://example.org/alerts/Red Sea Jan 22/") == "red-sea-jan-22"
    assert brief_id_for("___") == "brief"
