"""The vocabulary: analysts extend it, and the extractor finds what they add."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring_rules.extract import (
    ExtractError,
    default_vocabulary,
    extend_vocabulary,
    ingest,
    load_vocabulary,
)

TEXT = "Locust swarms are likely to ravage crops across Kenya in the coming months."


def test_new_category_from_a_custom_vocabulary_file(tmp_path: Path) -> None:
    assert ingest(TEXT).drafts == []
    path = tmp_path / "my_vocabulary.yaml"
    path.write_text(
        "extends: default\n"
        "categories:\n"
        "  crop_pest:\n"
        "    label: Crop pest outbreak\n"
        "    severity: 2\n"
        "    triggers: [locust swarm]\n",
        "utf-8",
    )
    vocab = load_vocabulary(path)
    assert "militia_attack" in vocab.categories  # the default is still there
    (d,) = ingest(TEXT, vocabulary=vocab).drafts
    assert (d.category, d.main_region, d.likelihood, d.severity) == (
        "crop_pest",
        "KEN",
        "likely",
        2,
    )
    assert d.title == "Crop pest outbreak in Kenya"
    assert (d.horizon.from_months, d.horizon.to_months) == (0, 6)


def test_adding_a_word_to_a_category() -> None:
    text = "Sabotage of undersea cables near Taiwan is a realistic possibility."
    assert ingest(text).drafts == []
    vocab = extend_vocabulary(
        default_vocabulary(), {"categories": {"cyber_attack": {"triggers": ["undersea cable"]}}}
    )
    (d,) = ingest(text, vocabulary=vocab).drafts
    assert d.category == "cyber_attack" and d.likelihood == "realistic_possibility"
    # lists are appended to, not replaced
    assert "hacking" in vocab.categories["cyber_attack"].triggers


def test_adding_a_place_alias_and_a_hedge() -> None:
    text = "Protests in Springfield are conceivable, says the brief."
    vocab = extend_vocabulary(
        default_vocabulary(),
        {
            "places": {"aliases": {"Springfield": "US-IL"}},
            "likelihood": {"hedges": ["conceivable"]},
        },
    )
    (d,) = ingest(text, vocabulary=vocab).drafts
    assert (d.main_region, d.likelihood, d.likelihood_words) == (
        "US-IL",
        "not_assessed",
        "conceivable",
    )


def test_bad_vocabulary_files_say_where(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(
        "extends: default\ncategories:\n  pests: {severity: 9, triggers: [x]}\n", "utf-8"
    )
    with pytest.raises(ExtractError, match=r"v.yaml, categories.pests.severity"):
        load_vocabulary(path)
    path.write_text("- a list\n", "utf-8")
    with pytest.raises(ExtractError, match="mapping"):
        load_vocabulary(path)
    with pytest.raises(ExtractError, match="cannot read"):
        load_vocabulary(tmp_path / "missing.yaml")


def test_default_vocabulary_covers_the_taxonomy() -> None:
    v = default_vocabulary()
    assert set(v.categories) == {
        "armed_conflict",
        "militia_attack",
        "terrorism",
        "civil_unrest",
        "cyber_attack",
        "shipping_disruption",
        "oil_market_shock",
        "sanctions",
        "aviation_security",
    }
    assert list(v.likelihood.terms) == [
        "remote_chance",
        "highly_unlikely",
        "unlikely",
        "realistic_possibility",
        "likely",
        "highly_likely",
        "almost_certain",
    ]
