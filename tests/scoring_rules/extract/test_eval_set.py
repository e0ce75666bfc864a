"""The evaluation set of real public briefs: complete, labelled with known terms, storable."""

from __future__ import annotations

from pathlib import Path

import yaml

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract.evaluation import load_expected_file
from scoring_rules.rules import default_rules_path, load_rules

REAL = Path(__file__).resolve().parents[3] / "bench" / "briefs"
HELDOUT = Path(__file__).resolve().parents[3] / "bench" / "heldout2"


def test_the_set_has_twenty_five_briefs_with_both_held_out_rounds() -> None:
    docs = [yaml.safe_load(p.read_text("utf-8")) for p in sorted(REAL.glob("*.expected.yaml"))]
    assert len(docs) == 25
    assert {d["publisher"] for d in docs} == {
        "U.S. Department of Homeland Security (National Terrorism Advisory System)",
        "U.S. Office of Naval Intelligence (U.S. Navy)",
        "U.S. Congressional Research Service",
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
    assert sum(len(d["threats"]) for d in docs) == 33


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


def test_the_second_held_out_round_moved_into_the_development_set_as_labelled() -> None:
    """Scored once, then moved (bench/heldout2/README.md): its folder keeps only the record, and
    its six briefs are in bench/briefs with their labels and dates."""
    assert [p.name for p in HELDOUT.iterdir()] == ["README.md"]
    assert "Seen, and moved on 1 December 2026" in (HELDOUT / "README.md").read_text("utf-8")
    moved = {
        "crs_2007_01_abu_sayyaf": {"PHL"},
        "crs_2017_11_colombia": {"COL"},
        "crs_2019_02_gulf_of_guinea_piracy": {"sea.gulf_of_guinea"},
        "crs_2019_03_cameroon": {"CMR", "sea.gulf_of_guinea"},
        "dhs_2015_12_ntas_bulletin": {"USA"},
        "oni_2012_07_arabian_sea_warning": {"sea.gulf_of_oman"},
    }
    for name, regions in moved.items():
        path = REAL / f"{name}.expected.yaml"
        doc = yaml.safe_load(path.read_text("utf-8"))
        assert doc["held_out"] is False and doc["date"], name
        brief, expected, _ = load_expected_file(path)
        assert (REAL / brief).is_file(), brief
        assert {e.region for e in expected} == regions, name
        assert all(e.likelihood == "not_assessed" for e in expected), name


def test_the_eval_script_offers_the_development_set_and_no_seen_round() -> None:
    import bench.extract_eval as ev

    assert "dev" in ev.SETS and "all" in ev.SETS
    assert not {"heldout", "heldout2"} & set(ev.SETS)
    assert ev.SETS["dev"] == (("development set", REAL),)
