"""The default threat register: loads, follows the brief's outline, cites real paragraphs, and
summarises in its own words."""

from __future__ import annotations

import copy
import re

import pytest

from engine.errors import RuleError
from scoring_rules.threats import (
    NOT_ASSESSED,
    Register,
    default_register_path,
    load_register,
    load_yaml,
    parse_register,
)
from tests.seed import SEED_NAME, seed_path

YARDSTICK = {
    "remote_chance",
    "highly_unlikely",
    "unlikely",
    "realistic_possibility",
    "likely",
    "highly_likely",
    "almost_certain",
}
CATEGORIES = {
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
AFFILIATIONS = {"US", "US_ALLY", "GCC", "IRAN_ALIGNED", "NEUTRAL"}
SECTORS = {
    "oil_gas", "refining", "shipping", "banking", "aviation", "manufacturing", "telecom", "retail",
    "technology", "logistics", "mining", "agriculture", "government", "healthcare", "utilities",
    "insurance",
}  # fmt: skip
ASSET_TYPES = {
    "office", "plant", "warehouse", "data_centre", "terminal", "refinery", "oilfield",
    "retail_store", "telecom_site", "airport_hub", "flight_corridor",
}  # fmt: skip
COMMODITIES = {
    "crude_oil", "lng", "refined_products", "containers", "dry_bulk", "vehicles", "chemicals",
    "general_cargo",
}  # fmt: skip

# The brief's own estimative words and the yardstick term each maps to.
WORD_TO_TERM = {
    "unlikely": "unlikely",
    "likely": "likely",
    "will likely": "likely",
    "may": NOT_ASSESSED,
    "could": NOT_ASSESSED,
    "possible": NOT_ASSESSED,
}
# Marks a likelihood the brief does not give in words (a reported fact, or no judgement).
NOT_IN_BRIEF = "not assessed in the brief"

REQUIRED = {
    "us-iran-direct-confrontation": "armed_conflict",
    "iran-proxy-militia-attacks": "militia_attack",
    "independent-militia-revenge-attacks": "militia_attack",
    "iraq-security-volatility": "armed_conflict",
    "islamic-state-resurgence": "terrorism",
    "iraq-lebanon-protests": "civil_unrest",
    "iran-cyber-attacks": "cyber_attack",
    "gulf-shipping-proxy-attacks": "shipping_disruption",
    "oil-market-shock": "oil_market_shock",
    "us-sanctions-on-iran": "sanctions",
    "aviation-risk-over-iran": "aviation_security",
    "iran-asymmetric-attacks": "militia_attack",
}

# A word the first cited paragraph must contain, so a citation cannot drift to the wrong place.
KEYWORDS = {
    "us-iran-direct-confrontation": "confrontation",
    "us-iran-hostile-rhetoric": "rhetoric",
    "iran-proxy-militia-attacks": "militias",
    "independent-militia-revenge-attacks": "revenge",
    "iraq-security-volatility": "volatile",
    "islamic-state-resurgence": "Islamic State",
    "islamic-state-insurgent-cells": "insurgent cells",
    "iraq-lebanon-protests": "protests",
    "iran-asymmetric-attacks": "asymmetric",
    "iran-cyber-attacks": "cyber",
    "gulf-shipping-proxy-attacks": "shipping",
    "oil-market-shock": "oil",
    "us-sanctions-on-iran": "sanctions",
    "aviation-risk-over-iran": "aircraft",
}

# Where each section starts in the brief: after its heading, or (for the untitled narrative whose
# heading is ours) at its first paragraph. The last section ends with LAST_PARAGRAPH; the
# vendor's contact text after it belongs to no section.
UNTITLED_STARTS = {"background": "On 3 January, the United States killed"}
LAST_PARAGRAPH = "Iran will likely continue deploying asymmetric attacks"

COPY_RUN = 8  # words in a row shared with the brief that count as copying


@pytest.fixture(scope="module")
def register() -> Register:
    return load_register(default_register_path())


@pytest.fixture(scope="module")
def doc() -> dict:
    raw = load_yaml(default_register_path())
    assert isinstance(raw, dict)
    return raw


@pytest.fixture(scope="module")
def brief_text() -> str:
    path = seed_path()
    if not path.is_file():
        pytest.skip(f"seed brief not found at {path} (set RESILIENCE_SEED_DIR)")
    return path.read_text("utf-8")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")).strip()


def brief_paragraphs(text: str) -> list[str]:
    """Non-empty blocks between blank lines; each bullet line is a paragraph of its own."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln.startswith("\u2022") for ln in lines):
            out.extend(_clean(ln.lstrip("\u2022")) for ln in lines)
        else:
            out.append(_clean(" ".join(lines)))
    return out


def split_brief(text: str, register: Register) -> dict[str, list[str]]:
    """The brief's paragraphs per outline section, found by the sections' headings."""
    paras = brief_paragraphs(text)
    bounds: list[tuple[str, int, int]] = []  # (section id, boundary index, first content index)
    for sec in register.outline:
        if sec.id in UNTITLED_STARTS:
            starts = [i for i, p in enumerate(paras) if p.startswith(UNTITLED_STARTS[sec.id])]
            assert len(starts) == 1, f"start of {sec.id!r} not found once in the brief"
            bounds.append((sec.id, starts[0], starts[0]))
        else:
            heads = [i for i, p in enumerate(paras) if p == sec.heading]
            assert len(heads) == 1, f"heading {sec.heading!r} not found once in the brief"
            bounds.append((sec.id, heads[0], heads[0] + 1))
    ends = [i for i, p in enumerate(paras) if p.startswith(LAST_PARAGRAPH)]
    assert len(ends) == 1
    stops = [b[1] for b in bounds[1:]] + [ends[0] + 1]
    assert [b[1] for b in bounds] == sorted(b[1] for b in bounds), "outline out of brief order"
    return {sid: paras[first:stop] for (sid, _, first), stop in zip(bounds, stops, strict=True)}


@pytest.fixture(scope="module")
def sections(brief_text: str, register: Register) -> dict[str, list[str]]:
    return split_brief(brief_text, register)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", _clean(text).lower())


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


# --- the file ------------------------------------------------------------------------------------


def test_default_register_loads(register: Register) -> None:
    assert register.source == SEED_NAME
    assert str(register.as_of) == "2020-01-14"
    assert [s.id for s in register.outline] == ["in-brief", "background", "short-term", "triggers"]
    register.check_references()


def test_vocabularies(register: Register) -> None:
    for t in register.threats:
        assert t.category in CATEGORIES, t.id
        assert t.likelihood in YARDSTICK | {NOT_ASSESSED}, t.id
        assert set(t.targets.affiliations) <= AFFILIATIONS, t.id
        assert set(t.targets.sectors) <= SECTORS, t.id
        assert set(t.targets.asset_types) <= ASSET_TYPES, t.id
        assert set(t.targets.commodities) <= COMMODITIES, t.id
        regions = [rw.region for rw in t.regions]
        assert len(regions) == len(set(regions)), f"{t.id}: region listed twice"


def test_likelihood_words_map_to_terms(register: Register) -> None:
    for t in register.threats:
        if t.likelihood_words.startswith(NOT_IN_BRIEF):
            continue
        assert t.likelihood_words in WORD_TO_TERM, t.id
        assert t.likelihood == WORD_TO_TERM[t.likelihood_words], t.id


def test_required_threats_present(register: Register) -> None:
    got = {t.id: t.category for t in register.threats}
    for tid, category in REQUIRED.items():
        assert got.get(tid) == category, tid


def test_one_judgement_one_threat(register: Register) -> None:
    # the militia power struggle restated the independent-attacks judgement: counting it again
    # added 10-16 % of the risk of Iraq-exposed clients
    ids = {t.id for t in register.threats}
    assert "iraq-militia-power-struggle" not in ids
    revenge = register.threat("independent-militia-revenge-attacks")
    assert ("triggers", 3) in {(e.section, e.paragraph) for e in revenge.evidence}


def test_key_judgements(register: Register) -> None:
    assert register.threat("us-iran-direct-confrontation").likelihood == "unlikely"
    assert register.threat("iran-proxy-militia-attacks").likelihood == "likely"
    assert register.threat("independent-militia-revenge-attacks").likelihood == NOT_ASSESSED
    assert register.threat("iraq-security-volatility").likelihood == "likely"
    assert register.threat("iran-asymmetric-attacks").likelihood_words == "will likely"
    assert register.threat("us-sanctions-on-iran").likelihood in {"almost_certain", "highly_likely"}
    # reported facts, one rule: a condition in force at the brief's date is almost certain over
    # the short term (0-3 months)
    for tid in (
        "aviation-risk-over-iran",
        "iraq-lebanon-protests",
        "us-sanctions-on-iran",
        "islamic-state-insurgent-cells",
    ):
        fact = register.threat(tid)
        assert fact.likelihood == "almost_certain", tid
        assert fact.likelihood_words.startswith(NOT_IN_BRIEF + "; reported as"), tid
        assert (fact.horizon.from_months, fact.horizon.to_months) == (0, 3), tid
    aviation = register.threat("aviation-risk-over-iran")
    assert {rw.region for rw in aviation.regions} >= {"IRN", "hotspot.tehran_ika"}
    assert "flight_corridor" in aviation.targets.asset_types
    islamic_state = register.threat("islamic-state-resurgence")
    assert islamic_state.horizon.to_months >= 12
    assert {"IQ-NI", "IQ-SD", "IQ-KI", "IQ-DI"} <= {rw.region for rw in islamic_state.regions}
    protests = register.threat("iraq-lebanon-protests")
    assert {"IRQ", "LBN"} <= {rw.region for rw in protests.regions}
    assert protests.targets.is_empty()


def test_global_threats(register: Register) -> None:
    cyber = register.threat("iran-cyber-attacks")
    assert [(rw.region, rw.intensity) for rw in cyber.regions] == [("world", 1.0)]
    assert {"US", "US_ALLY"} <= set(cyber.targets.affiliations)
    oil = register.threat("oil-market-shock")
    assert [rw.region for rw in oil.regions] == ["world"]
    assert {"aviation", "shipping", "refining"} <= set(oil.targets.sectors)
    assert "oil_gas" not in oil.targets.sectors  # a price spike does not disrupt a producer


def test_shipping_centres_on_hormuz(register: Register) -> None:
    shipping = register.threat("gulf-shipping-proxy-attacks")
    weights = {rw.region: rw.intensity for rw in shipping.regions}
    assert weights["sea.hormuz"] == 1.0
    assert weights["sea.persian_gulf"] > weights["sea.gulf_of_oman"] > 0
    assert all(region.startswith("sea.") for region in weights)


def test_militia_threats_hit_us_positions(register: Register) -> None:
    hotspots = {
        "hotspot.baghdad_green_zone",
        "hotspot.baghdad_airport",
        "hotspot.al_asad_airbase",
        "hotspot.erbil_airbase",
    }
    for tid in ("iran-proxy-militia-attacks", "independent-militia-revenge-attacks"):
        t = register.threat(tid)
        weights = {rw.region: rw.intensity for rw in t.regions}
        assert all(weights[h] == 1.0 for h in hotspots), tid
        assert 0.0 < weights["IRQ"] < 1.0, tid
        assert set(t.targets.affiliations) == {"US", "US_ALLY"}, tid


# --- the outline and citations against the brief -------------------------------------------------


def test_outline_counts_match_brief(register: Register, sections: dict[str, list[str]]) -> None:
    counts = {sid: len(paras) for sid, paras in sections.items()}
    assert counts == {s.id: s.paragraphs for s in register.outline}
    assert counts == {"in-brief": 4, "background": 6, "short-term": 3, "triggers": 6}


def test_background_heading_is_ours(register: Register, brief_text: str) -> None:
    background = next(s for s in register.outline if s.id == "background")
    assert background.heading not in brief_paragraphs(brief_text)


def test_evidence_cites_existing_paragraphs(
    register: Register, sections: dict[str, list[str]]
) -> None:
    for t in register.threats:
        for ev in t.evidence:
            assert ev.section in sections, t.id
            assert 1 <= ev.paragraph <= len(sections[ev.section]), (t.id, ev)


def test_primary_citation_holds_likelihood_words(
    register: Register, sections: dict[str, list[str]]
) -> None:
    for t in register.threats:
        if t.likelihood_words.startswith(NOT_IN_BRIEF):
            continue
        ev = t.evidence[0]
        text = sections[ev.section][ev.paragraph - 1]
        pattern = r"\b" + re.escape(t.likelihood_words) + r"\b"
        assert re.search(pattern, text, re.IGNORECASE), (t.id, ev.section, ev.paragraph)


def test_primary_citation_is_on_topic(register: Register, sections: dict[str, list[str]]) -> None:
    assert set(KEYWORDS) == {t.id for t in register.threats}, "list a keyword for each threat"
    for t in register.threats:
        ev = t.evidence[0]
        text = sections[ev.section][ev.paragraph - 1]
        assert KEYWORDS[t.id].lower() in text.lower(), (t.id, ev.section, ev.paragraph)


def test_summaries_and_titles_are_our_own_words(register: Register, brief_text: str) -> None:
    brief_runs = _runs(_words(brief_text), COPY_RUN)
    assert brief_runs
    texts = [(f"{register.title!r}", register.title)]
    for t in register.threats:
        texts.append((f"{t.id} title", t.title))
        texts.extend(
            (f"{t.id} evidence {ev.section}/{ev.paragraph}", ev.summary) for ev in t.evidence
        )
    for where, text in texts:
        copied = _runs(_words(text), COPY_RUN) & brief_runs
        assert not copied, f"{where} copies the brief: {' '.join(sorted(copied)[0])!r}"


def test_copy_check_catches_copying(brief_text: str) -> None:
    sentence = "Outright confrontation would have unwanted consequences for both Iran and the US."
    assert _runs(_words(sentence), COPY_RUN) & _runs(_words(brief_text), COPY_RUN)


# --- errors name the key -------------------------------------------------------------------------


def _bad(doc: dict, path: str, value: object) -> dict:
    """A deep copy of doc with the value at a dotted path (list indices as numbers) replaced."""
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: object = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        assert isinstance(node, dict)
        node[last] = value
    return out


def test_parse_register_accepts_the_file(doc: dict) -> None:
    assert parse_register(copy.deepcopy(doc), "reg.yaml").threats


def test_unknown_region_rejected(doc: dict) -> None:
    bad = _bad(doc, "threats.0.regions.0", {"region": "sea.atlantis", "intensity": 1.0})
    with pytest.raises(
        RuleError,
        match=r"reg\.yaml, threats\[0\] \(us-iran-direct-confrontation\)\.regions: "
        r"unknown region 'sea\.atlantis'",
    ):
        parse_register(bad, "reg.yaml")


def test_unknown_section_rejected(doc: dict) -> None:
    bad = _bad(doc, "threats.0.evidence.0.section", "annex")
    with pytest.raises(
        RuleError,
        match=r"threats\[0\] \(us-iran-direct-confrontation\)\.evidence: "
        r"section 'annex' is not in the outline",
    ):
        parse_register(bad, "reg.yaml")


def test_paragraph_beyond_section_rejected(doc: dict) -> None:
    bad = _bad(doc, "threats.0.evidence.0.paragraph", 5)  # in-brief has 4
    with pytest.raises(
        RuleError,
        match=r"threats\[0\] \(us-iran-direct-confrontation\)\.evidence: "
        r"section 'in-brief' has 4 paragraphs, not 5",
    ):
        parse_register(bad, "reg.yaml")


def test_duplicate_id_rejected(doc: dict) -> None:
    bad = _bad(doc, "threats.1.id", doc["threats"][0]["id"])
    with pytest.raises(
        RuleError, match=r"threats\[1\] \(us-iran-direct-confrontation\): duplicate threat id"
    ):
        parse_register(bad, "reg.yaml")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("author", r"author"),
        ("outline.0.level", r"outline\.0\.level"),
        ("threats.2.probability", r"threats\.2\.probability"),
        ("threats.0.evidence.0.quote", r"threats\.0\.evidence\.0\.quote"),
        ("threats.0.targets.countries", r"threats\.0\.targets\.countries"),
    ],
)
def test_extra_key_rejected(doc: dict, path: str, key: str) -> None:
    bad = _bad(doc, path, "x")
    with pytest.raises(RuleError, match=rf"reg\.yaml, {key}: Extra inputs are not permitted"):
        parse_register(bad, "reg.yaml")


def test_bad_values_rejected(doc: dict) -> None:
    with pytest.raises(RuleError, match=r"threats\.0\.severity: "):
        parse_register(_bad(doc, "threats.0.severity", 6), "reg.yaml")
    with pytest.raises(RuleError, match=r"threats\.0\.horizon: .*to_months"):
        parse_register(_bad(doc, "threats.0.horizon", {"from_months": 6, "to_months": 3}), "r")
    with pytest.raises(RuleError, match=r"threats\.0\.regions\.0\.intensity: "):
        parse_register(_bad(doc, "threats.0.regions.0.intensity", 1.5), "reg.yaml")
