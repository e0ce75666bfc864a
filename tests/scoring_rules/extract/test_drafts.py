"""Draft threats: merging, evidence spans, generated wording, conversion to register threats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring_rules.extract import DraftThreat, default_vocabulary, ingest, parse_text
from scoring_rules.extract.drafts import build_drafts
from scoring_rules.extract.ingest import analyzer_for
from scoring_rules.threats import Threat

from .helpers import SEED, brief_files

ALL_BRIEFS = brief_files() + ([SEED] if SEED.is_file() else [])


def _shared_run(a: str, b: str, n: int = 8) -> bool:
    """Whether two texts share a run of n words (a copy rather than our own words)."""
    words_a = re.findall(r"\w+", a.lower())
    grams = {tuple(words_a[i : i + n]) for i in range(len(words_a) - n + 1)}
    words_b = re.findall(r"\w+", b.lower())
    return any(tuple(words_b[i : i + n]) in grams for i in range(len(words_b) - n + 1))


@pytest.mark.parametrize("path", ALL_BRIEFS, ids=lambda p: Path(p).name)
def test_every_evidence_span_is_the_document_text(path: Path) -> None:
    result = ingest(path)
    doc = result.document
    assert result.drafts
    for d in result.drafts:
        for span in d.evidence:
            assert span.text == doc.text[span.start : span.end]
            para = next(
                p for p in doc.paragraphs if p.section == span.section and p.index == span.paragraph
            )
            assert para.start <= span.start < span.end <= para.end


@pytest.mark.parametrize("path", ALL_BRIEFS, ids=lambda p: Path(p).name)
def test_drafts_are_well_formed_and_in_our_words(path: Path) -> None:
    result = ingest(path)
    text = result.document.text
    ids = [d.id for d in result.drafts]
    assert len(ids) == len(set(ids))
    for d in result.drafts:
        assert 0.0 <= d.extraction_confidence <= 1.0 and d.extraction_reasons
        assert d.severity == default_vocabulary().categories[d.category].severity
        assert max(r.intensity for r in d.regions) == 1.0
        assert d.likelihood_note
        threat = d.to_threat()
        assert isinstance(threat, Threat)
        assert threat.title not in text
        for ev in threat.evidence:
            assert ev.summary not in text
            assert not _shared_run(ev.summary, text), ev.summary
        # the first evidence is the sentence the likelihood words come from
        if d.likelihood_words in text:
            assert d.likelihood_words.split(" … ")[0] in d.evidence[0].text


_SENTENCES = [
    "Rocket attacks on US positions in Iraq are likely in the coming months.",
    "Militias in Iraq may also fire rockets at the embassy in Baghdad.",
    "Protests in Lebanon are a realistic possibility.",
    "Iran will almost certainly keep up cyber-attacks on Gulf banks.",
    "Tankers in the Strait of Hormuz could be seized.",
    "The security situation in Syria is highly likely to deteriorate.",
    "Sanctions on Venezuela are expected to tighten within the next three months.",
    "Nothing of note happened in Peru.",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(_SENTENCES), st.sampled_from([" ", "\n", "\n\n", "\n\n• "])),
        min_size=1,
        max_size=10,
    )
)
def test_spans_hold_for_generated_briefs(parts: list[tuple[str, str]]) -> None:
    text = "Outlook\n\n" + "".join(s + sep for s, sep in parts)
    doc = parse_text(text, "text")
    drafts = build_drafts(analyzer_for(None).analyse(doc), default_vocabulary())
    for d in drafts:
        for span in d.evidence:
            assert span.text == text[span.start : span.end]
        d.to_threat()


def test_same_category_and_place_merge_keeping_all_evidence() -> None:
    text = (
        "Rocket attacks on US positions in Iraq are likely in the coming months.\n\n"
        "Militias may also fire rockets at the US embassy in Baghdad.\n\n"
        "Rocket fire on bases in Kuwait is unlikely."
    )
    drafts = [d for d in ingest(text).drafts if d.category == "militia_attack"]
    by_main = {d.main_region: d for d in drafts}
    assert set(by_main) == {"IRQ", "KWT"}
    iraq = by_main["IRQ"]
    assert len(iraq.evidence) == 2
    assert {r.region for r in iraq.regions} >= {"IRQ", "hotspot.baghdad_green_zone"}
    assert iraq.likelihood == "likely" and iraq.likelihood_words == "likely"
    assert (iraq.horizon.from_months, iraq.horizon.to_months) == (0, 6)
    assert iraq.targets.affiliations == ["US"]
    assert "Also in the brief: “may”" in iraq.likelihood_note
    assert by_main["KWT"].likelihood == "unlikely"


def test_key_judgement_governs_the_likelihood() -> None:
    text = (
        "# Brief\n\n## Key judgements\n\n- Protests in Chile are likely.\n\n"
        "## Outlook\n\nProtests in Chile are highly likely. Protests in Chile are highly likely "
        "to spread.\n"
    )
    (d,) = ingest(text).drafts
    assert d.likelihood == "likely"
    assert d.evidence[0].section == "key-judgements"
    assert "stated among the key judgements" in d.extraction_reasons


def test_reported_only_draft_has_low_confidence() -> None:
    (d,) = ingest("Protesters marched through Lima on Friday.").drafts
    assert d.likelihood == "not_assessed"
    assert d.likelihood_words == "not assessed in the brief"
    (judged,) = ingest("Protests in Lima are likely this week.").drafts
    assert (d.extraction_basis, judged.extraction_basis) == (
        "none/single/named",
        "yardstick/single/named",
    )
    assert d.extraction_confidence < judged.extraction_confidence


def test_titles_and_ids() -> None:
    drafts = {
        d.category: d
        for d in ingest(
            "Iran may launch cyber-attacks on banks in Bahrain. "
            "New sanctions on Iran are highly likely. "
            "Tankers in the Strait of Hormuz could be seized."
        ).drafts
    }
    assert drafts["cyber_attack"].title == "Cyber attacks worldwide, aimed at Gulf Arab interests"
    assert drafts["cyber_attack"].targets.affiliations == ["GCC"]  # "on banks in Bahrain"
    assert drafts["cyber_attack"].id == "cyber-attack-world"
    assert drafts["sanctions"].title == "Sanctions on Iran"
    assert drafts["shipping_disruption"].id == "shipping-disruption-strait-of-hormuz"


def test_draft_validation() -> None:
    d = ingest("Protests in Lebanon are likely.").drafts[0]
    data = d.model_dump()
    data["regions"] = [{"region": "LBN", "intensity": 1.0}, {"region": "LBN", "intensity": 0.5}]
    with pytest.raises(ValueError, match="listed twice"):
        DraftThreat.model_validate(data)
