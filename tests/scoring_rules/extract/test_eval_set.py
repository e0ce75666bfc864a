"""The evaluation set of real public briefs: complete, labelled with known terms, storable."""

from __future__ import annotations

from pathlib import Path

import yaml

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract.evaluation import load_expected_file
from scoring_rules.rules import default_rules_path, load_rules

REAL = Path(__file__).resolve().parents[3] / "bench" / "briefs"
HELDOUT = Path(__file__).resolve().parents[3] / "bench" / "heldout2"


def test_the_set_has_nineteen_briefs_with_the_first_held_out_round() -> None:
    docs = [yaml.safe_load(p.read_text("utf-8")) for p in sorted(REAL.glob("*.expected.yaml"))]
    assert len(docs) == 19
    assert {d["publisher"] for d in docs} == {
        "U.S. Maritime Administration (MARAD)",
        "U.S. Department of State",
        "U.S. Embassy Nairobi (U.S. Department of State)",
        "U.S. Embassy Dhaka (U.S. Department of State)",
        "U.S. Cybersecurity and Infrastructure Security Agency (CISA)",
        "UK Foreign and Commonwealth Office",
        "UK Foreign, Commonwealth & Development Office",  # the FCO's successor
        "Australian Department of Foreign Affairs and Trade (Smartraveller)",
    }
    assert all(d["held_out"] is False for d in docs)  # the development set
    assert all(d["source"].startswith("http") and d["licence"] for d in docs)
    assert sum(len(d["threats"]) for d in docs) == 25


def test_every_label_uses_the_rules_terms_and_known_regions() -> None:
    rules = load_rules(default_rules_path())
    terms = {*rules.likelihood.terms, "not_assessed"}
    gaz = load_gazetteer()
    for path in sorted(REAL.glob("*.expected.yaml")):
        brief, expected, held_out = load_expected_file(path)
        assert (REAL / brief).is_file(), brief
        assert not held_out
        for e in expected:
            assert e.category in rules.categories, (path.name, e.category)
            assert e.likelihood in terms, (path.name, e.likelihood)
            assert gaz.is_known(e.region), (path.name, e.region)


def test_the_second_held_out_round_has_six_briefs_from_new_publishers() -> None:
    docs = [yaml.safe_load(p.read_text("utf-8")) for p in sorted(HELDOUT.glob("*.expected.yaml"))]
    assert len(docs) == 6
    publishers = {d["publisher"] for d in docs}
    assert len(publishers) == 3  # DHS, ONI, CRS
    dev_publishers = {
        yaml.safe_load(p.read_text("utf-8"))["publisher"] for p in REAL.glob("*.expected.yaml")
    }
    assert not publishers & dev_publishers
    assert all(d["held_out"] is True and d["date"] for d in docs)
    assert all(d["source"].startswith("http") and d["licence"] for d in docs)
    rules = load_rules(default_rules_path())
    terms = {*rules.likelihood.terms, "not_assessed"}
    gaz = load_gazetteer()
    regions = set()
    for path in sorted(HELDOUT.glob("*.expected.yaml")):
        brief, expected, held_out = load_expected_file(path)
        assert held_out and (HELDOUT / brief).is_file(), brief
        for e in expected:
            assert e.category in rules.categories and e.likelihood in terms, path.name
            assert gaz.is_known(e.region), (path.name, e.region)
            regions.add(e.region)
    assert regions == {"USA", "sea.gulf_of_oman", "CMR", "sea.gulf_of_guinea", "PHL", "COL"}
    # no held-out brief is also in the development set
    assert not {p.name for p in HELDOUT.glob("*_*.md")} & {p.name for p in REAL.glob("*_*.md")}
