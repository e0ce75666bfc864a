"""The evaluation set of real public briefs: complete, labelled with known terms, storable."""

from __future__ import annotations

from pathlib import Path

import yaml

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract.evaluation import load_expected_file
from scoring_rules.rules import default_rules_path, load_rules

REAL = Path(__file__).resolve().parents[3] / "bench" / "briefs"
HELDOUT = Path(__file__).resolve().parents[3] / "bench" / "heldout2"
HELDOUT3 = Path(__file__).resolve().parents[3] / "bench" / "heldout3"
HELDOUT4 = Path(__file__).resolve().parents[3] / "bench" / "heldout4"


def test_the_set_has_fifty_eight_briefs_with_four_held_out_rounds() -> None:
    docs = [yaml.safe_load(p.read_text("utf-8")) for p in sorted(REAL.glob("*.expected.yaml"))]
    assert len(docs) == 58
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
        # the third held-out round
        "European Union Aviation Safety Agency (EASA)",
        "U.S. Central Intelligence Agency (The World Factbook)",
        "U.S. Federal Aviation Administration",
        "U.S. Federal Aviation Administration (Federal Register final rule 2018-22853)",
        "U.S. Federal Aviation Administration (Federal Register final rule 2022-28134)",
        "U.S. Federal Bureau of Investigation",
        "U.S. Government Accountability Office (GAO-07-804R)",
        "U.S. Office of the Director of National Intelligence (Worldwide Threat Assessment, 2018)",
        "U.S. Office of the Director of National Intelligence (Worldwide Threat Assessment, "
        "statement for the record to the Senate Armed Services Committee)",
        "U.S. Office of the Director of National Intelligence (Worldwide Threat Assessment, "
        "statement for the record to the Senate Select Committee on Intelligence)",
        "UK Ministry of Defence (Defence Intelligence)",
        # the fourth held-out round
        "Australian Security Intelligence Organisation (Director-General of Security, "
        "announcement of the national terrorism threat level)",
        "Australian Security Intelligence Organisation (Director-General of Security, opening "
        "statement to Senate Estimates)",
        "Australian Signals Directorate (Annual Cyber Threat Report 2024-25)",
        "New Zealand Department of the Prime Minister and Cabinet",
        "New Zealand Ministry of Foreign Affairs and Trade (SafeTravel)",
        "New Zealand Security Intelligence Service (Director-General of Security)",
        "U.S. Africa Command (General Michael Langley, Commander)",
        "U.S. Indo-Pacific Command (Admiral John C. Aquilino, Commander, posture statement and "
        "testimony)",
        "U.S. National Counterterrorism Center (Director Christine Abizaid, statement for the "
        "record)",
        "United Kingdom Maritime Trade Operations (Royal Navy)",
    }
    assert all(d["held_out"] is False for d in docs)  # the development set
    assert all(d["source"].startswith("http") and d["licence"] for d in docs)
    assert sum(len(d["threats"]) for d in docs) == 76


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


def test_the_third_held_out_round_moved_into_the_development_set_as_labelled() -> None:
    """Scored once, then moved (bench/heldout3/README.md): its folder keeps the record (the README
    and the one run's output), and its fourteen briefs are in bench/briefs with their labels."""
    assert sorted(p.name for p in HELDOUT3.iterdir()) == ["README.md", "first_run.txt"]
    assert "Seen, and moved on 1 December 2026" in (HELDOUT3 / "README.md").read_text("utf-8")
    moved = {
        "cia_factbook_2018_indian_ocean": 1,
        "cia_factbook_2019_pacific_ocean": 1,
        "easa_2025_01_afghanistan_czib": 1,
        "easa_2025_04_mali_czib": 1,
        "faa_2018_10_ukraine_sfar": 1,
        "faa_2022_12_somalia_sfar": 1,
        "faa_2025_11_venezuela_notam": 1,
        "fbi_2025_08_fsb_center16": 1,
        "gao_2007_06_caribbean_ports": 1,
        "odni_2014_01_wta_haiti": 1,
        "odni_2015_02_wta_terrorism": 1,
        "odni_2018_02_wta_terrorism": 2,
        "ukmod_2022_03_kyiv_di_update": 3,
        "ukmod_2023_07_black_sea_di_update": 1,
    }
    for name, count in moved.items():
        path = REAL / f"{name}.expected.yaml"
        doc = yaml.safe_load(path.read_text("utf-8"))
        assert doc["held_out"] is False and doc["date"], name
        brief, expected, _ = load_expected_file(path)
        assert (REAL / brief).is_file(), brief
        assert len(expected) == count, name


def test_the_fourth_held_out_round_moved_into_the_development_set_as_labelled() -> None:
    """Scored once, then moved (bench/heldout4/README.md): its folder keeps the README and the
    one run's output; its nineteen briefs are in bench/briefs with their 26 labels."""
    assert sorted(p.name for p in HELDOUT4.iterdir()) == ["README.md", "first_run.txt"]
    assert "Seen, and moved on 1 December 2026" in (HELDOUT4 / "README.md").read_text("utf-8")
    assert "recall_category_place: 0.73" in (HELDOUT4 / "first_run.txt").read_text("utf-8")
    moved = [
        p
        for p in REAL.glob("*.expected.yaml")
        if "fourth held-out round, scored once" in p.read_text("utf-8")
    ]
    assert len(moved) == 19
    assert sum(len(load_expected_file(p)[1]) for p in moved) == 26


def test_the_eval_script_offers_the_development_set_and_no_seen_round() -> None:
    import bench.extract_eval as ev

    assert "dev" in ev.SETS and "all" in ev.SETS
    assert not {"heldout", "heldout2", "heldout3", "heldout4"} & set(ev.SETS)
    assert ev.HELDOUT_ROUNDS == ()
    assert ev.SETS["dev"] == (("development set", REAL),)
