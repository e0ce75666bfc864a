"""Review (accept / edit / reject), publishing a register version, the drafts YAML file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from engine.errors import RuleError
from scoring_rules.extract import (
    ExtractError,
    Review,
    ingest,
    ingest_to_yaml,
    load_draft_file,
    load_drafts,
    publish,
    save_drafts,
)
from scoring_rules.threats import (
    Register,
    default_register_path,
    load_register,
    parse_register,
)

from .helpers import BRIEFS, SEED


def _base_register() -> Register:
    """The hand register when it exists, else a small valid one."""
    if default_register_path().is_file():
        return load_register(default_register_path())
    return parse_register(
        {
            "title": "Base",
            "source": "base.txt",
            "as_of": "2020-01-14",
            "outline": [{"id": "in-brief", "heading": "In brief", "paragraphs": 2}],
            "threats": [
                {
                    "id": "base-threat",
                    "category": "civil_unrest",
                    "title": "Some unrest",
                    "regions": [{"region": "IRQ", "intensity": 1.0}],
                    "likelihood": "likely",
                    "likelihood_words": "likely",
                    "severity": 2,
                    "horizon": {"from_months": 0, "to_months": 6},
                    "evidence": [
                        {"section": "in-brief", "paragraph": 1, "summary": "Unrest goes on."}
                    ],
                }
            ],
        },
        "base",
    )


@pytest.fixture
def review() -> Review:
    return Review.from_result(ingest(BRIEFS / "red_sea_houthi.md"))


def test_accept_edit_reject_and_publish(review: Review) -> None:
    drafts = {d.category: d for d in review.drafts}
    shipping, conflict, oil = (
        drafts["shipping_disruption"],
        drafts["armed_conflict"],
        drafts["oil_market_shock"],
    )
    review.accept(shipping)
    edited = review.edit(
        conflict,
        likelihood="highly_likely",
        severity=4,
        regions={"YEM": 1.0, "SAU": 0.3},
        horizon=(0, 3),
        title="Western air strikes on Houthi sites in Yemen",
    )
    review.reject(oil)
    assert review.status(shipping) == "accepted"
    assert review.status(edited) == "accepted"
    assert review.status(oil.id) == "rejected"
    assert edited.likelihood == "highly_likely" and edited.severity == 4
    assert [r.region for r in edited.regions] == ["YEM", "SAU"]
    assert edited.horizon.to_months == 3
    assert len(review.pending()) == len(review.drafts) - 3

    base = _base_register()
    reg = publish(review, base, as_of=dt.date(2024, 2, 1))
    assert isinstance(reg, Register)
    reg.check_references()
    ids = [t.id for t in reg.threats]
    assert shipping.id in ids and edited.id in ids and oil.id not in ids
    assert ids[: len(base.threats)] == [t.id for t in base.threats]  # base kept, new appended
    assert reg.threat(edited.id).likelihood == "highly_likely"
    assert reg.as_of == dt.date(2024, 2, 1)
    outline = {s.id for s in reg.outline}
    assert {s.id for s in base.outline} <= outline and "key-judgements" in outline


def test_publish_replace_holds_only_the_accepted(review: Review) -> None:
    first = review.drafts[0]
    review.accept(first)
    reg = publish(review, _base_register(), replace=True)
    assert [t.id for t in reg.threats] == [first.id]
    assert reg.source == "red_sea_houthi.md"
    assert reg.title == "Houthi pressure on Red Sea trade set to persist"


def test_publish_replaces_a_base_threat_with_the_same_id(review: Review) -> None:
    base = _base_register()
    target = base.threats[0]
    d = review.drafts[0]
    review.edit(d, id=target.id)
    reg = publish(review, base)
    assert len(reg.threats) == len(base.threats)
    assert reg.threat(target.id).category == d.category


def test_nothing_accepted_cannot_be_published(review: Review) -> None:
    with pytest.raises(ExtractError, match="nothing to publish"):
        publish(review, _base_register())


def test_bad_edits_are_refused_with_reasons(review: Review) -> None:
    d = review.drafts[0]
    with pytest.raises(ExtractError, match="unknown region 'XXX'"):
        review.edit(d, regions={"XXX": 1.0})
    with pytest.raises(ExtractError, match="not a yardstick term"):
        review.edit(d, likelihood="probable")
    with pytest.raises(ExtractError, match="cannot edit colour"):
        review.edit(d, colour="red")
    with pytest.raises(ExtractError, match="severity"):
        review.edit(d, severity=9)
    with pytest.raises(ExtractError, match="no draft 'nope'"):
        review.accept("nope")
    other = review.drafts[1]
    with pytest.raises(ExtractError, match="id is taken"):
        review.edit(d, id=other.id)
    assert review.status(d) == "pending"  # a refused edit changes nothing


def test_publish_checks_references(review: Review) -> None:
    d = review.drafts[0]
    review.accept(d)
    review.outline = []  # the brief's sections unknown: citations cannot be checked
    with pytest.raises(RuleError, match="not in the outline"):
        publish(review, _base_register())


def test_drafts_yaml_round_trip(tmp_path: Path) -> None:
    result = ingest(BRIEFS / "sahel_terrorism.txt")
    path = save_drafts(result.drafts, tmp_path / "drafts.yaml", document=result.document)
    assert load_drafts(path) == result.drafts
    f = load_draft_file(path)
    assert f.source == "sahel_terrorism.txt"
    assert [s.id for s in f.outline] == [s.id for s in result.document.outline()]
    review = Review.from_file(path)
    review.accept(review.drafts[0])
    publish(review, _base_register())


def test_ingest_to_yaml_and_json(tmp_path: Path) -> None:
    out = tmp_path / "out" / "draft.yaml"
    result = ingest_to_yaml(BRIEFS / "taiwan_strait_cyber.md", out)
    doc = yaml.safe_load(out.read_text("utf-8"))
    assert doc["source"] == "taiwan_strait_cyber.md"
    assert len(doc["drafts"]) == len(result.drafts)
    data = json.loads(result.to_json())
    assert data["drafts"][0]["id"] == result.drafts[0].id
    assert data["outline"][0]["id"] == "summary"


def test_bad_drafts_file(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text("drafts:\n  - id: Bad Id\n", "utf-8")
    with pytest.raises(ExtractError, match=r"drafts\[0\]"):
        load_drafts(p)
    p.write_text("just text", "utf-8")
    with pytest.raises(ExtractError, match="'drafts:' list"):
        load_drafts(p)


@pytest.mark.skipif(
    not (SEED.is_file() and default_register_path().is_file()),
    reason="seed brief or hand register not available",
)
def test_publish_seed_drafts_onto_the_hand_register() -> None:
    review = Review.from_result(ingest(SEED))
    for d in review.drafts:
        review.accept(d)
    base = load_register(default_register_path())
    reg = publish(review, base)
    assert len(reg.threats) == len(base.threats) + len(review.drafts)
    reg.check_references()
