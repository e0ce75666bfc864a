"""Extraction quality: recall floors on our test briefs and against the hand register."""

from __future__ import annotations

import re

import pytest

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract import default_vocabulary, ingest
from scoring_rules.extract.evaluation import (
    evaluate_briefs,
    load_expected_file,
    regions_match,
    register_recall,
    totals,
)
from scoring_rules.threats import default_register_path, load_register

from .helpers import BRIEFS, SEED, brief_files

# Floors on recall over all test briefs, held-out ones included (see bench/extract_eval.py for
# the figures; they sit above these).
RECALL_FLOORS = {"category": 0.95, "region": 0.9, "likelihood": 0.85, "horizon": 0.8}
PRECISION_FLOORS = {"category": 0.7, "region": 0.65}


def test_test_briefs_are_well_formed() -> None:
    files = brief_files()
    assert len(files) >= 5 and any(p.suffix == ".html" for p in files)
    gaz = load_gazetteer()
    vocab = default_vocabulary()
    for path in files:
        expected_path = path.with_name(path.stem + ".expected.yaml")
        assert expected_path.is_file(), f"{path.name} has no expected drafts"
        brief, expected, _ = load_expected_file(expected_path)
        assert brief == path.name
        text = re.sub(
            r"<(script|style|nav|footer|head)\b.*?</\1>", " ", path.read_text("utf-8"), flags=re.S
        )
        words = len(re.sub(r"<[^>]+>", " ", text).split())
        assert 300 <= words <= 700, f"{path.name}: {words} words"
        for e in expected:
            assert e.category in vocab.categories
            assert gaz.is_known(e.region), e.region
            assert e.likelihood in [*vocab.terms(), "not_assessed"]


def test_recall_floors_on_the_test_briefs() -> None:
    scores = totals(evaluate_briefs(BRIEFS))
    for name, floor in RECALL_FLOORS.items():
        assert scores[name].recall >= floor, f"{name} recall {scores[name].recall:.2f} < {floor}"
    for name, floor in PRECISION_FLOORS.items():
        assert scores[name].precision >= floor, (
            f"{name} precision {scores[name].precision:.2f} < {floor}"
        )


def test_region_matching_rule() -> None:
    assert regions_match("IRQ", "IQ-NI")
    assert regions_match("hotspot.erbil_airbase", "IRQ")
    assert regions_match("IQ-BG", "hotspot.baghdad_green_zone")
    assert not regions_match("IRQ", "IRN")
    assert not regions_match("sea.hormuz", "sea.persian_gulf")
    assert not regions_match("world", "IRQ")


def test_seed_recall_against_the_hand_register() -> None:
    if not default_register_path().is_file():
        pytest.skip(f"hand register {default_register_path()} does not exist yet")
    if not SEED.is_file():
        pytest.skip(f"seed brief not found at {SEED}")
    register = load_register(default_register_path())
    rr = register_recall(register, ingest(SEED).drafts)
    assert rr.recall >= 0.8, f"seed recall {rr.recall:.2f}; missed: {rr.missed}"
