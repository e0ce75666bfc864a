"""Sentence analysis: estimative language, categories, places, time frames, targets."""

from __future__ import annotations

import pytest

from scoring_rules.extract import Finding, default_vocabulary, ingest
from scoring_rules.extract.ingest import analyzer_for
from scoring_rules.threats import NOT_ASSESSED


def findings(text: str) -> list[Finding]:
    result = ingest(text)
    assert result.analysis is not None
    return result.analysis.findings


def one(text: str, category: str | None = None) -> Finding:
    found = [f for f in findings(text) if category is None or f.category == category]
    assert len(found) == 1, [(f.category, f.term) for f in found]
    return found[0]


# --- likelihood -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "term", "words"),
    [
        # PHIA yardstick
        ("A war with Iran is a remote chance.", "remote_chance", "remote chance"),
        ("A war with Iran is highly unlikely.", "highly_unlikely", "highly unlikely"),
        ("A war with Iran is unlikely.", "unlikely", "unlikely"),
        (
            "A war with Iran is a realistic possibility.",
            "realistic_possibility",
            "realistic possibility",
        ),
        ("A war with Iran is likely.", "likely", "likely"),
        ("A war with Iran is highly likely.", "highly_likely", "highly likely"),
        ("A war with Iran is almost certain.", "almost_certain", "almost certain"),
        # ICD 203 words mapped to PHIA
        ("There is almost no chance of war with Iran.", "remote_chance", "almost no chance"),
        ("A war with Iran is very unlikely.", "highly_unlikely", "very unlikely"),
        (
            "There is a roughly even chance of war with Iran.",
            "realistic_possibility",
            "roughly even chance",
        ),
        ("A war with Iran is very likely.", "highly_likely", "very likely"),
        (
            "Iran will almost certainly avoid a war.",
            "remote_chance",
            "will almost certainly … avoid",
        ),
        (
            "Rocket fire on the base will almost certainly resume.",
            "almost_certain",
            "will almost certainly",
        ),
        ("Rocket fire on the base will probably resume.", "likely", "will probably"),
        # hedges: not on the yardstick
        ("Rocket fire on the base may resume.", NOT_ASSESSED, "may"),
        ("Rocket fire on the base could resume.", NOT_ASSESSED, "could"),
        ("Rocket fire on the base might resume.", NOT_ASSESSED, "might"),
        ("A possible rocket attack on the base worries officials.", NOT_ASSESSED, "possible"),
        ("A potential rocket attack on the base worries officials.", NOT_ASSESSED, "potential"),
        # future tense and expectation
        ("Rocket fire on the base will resume.", "highly_likely", "will"),
        ("Rocket fire on the base will likely resume.", "likely", "will likely"),
        ("Rocket fire on the base is expected to resume.", "likely", "expected to"),
        ("Rocket fire on the base will not resume.", "highly_unlikely", "will not"),
        ("Rocket fire on the base won't resume.", "highly_unlikely", "won't"),
        # negation
        (
            "Washington is unlikely to seek further military confrontation with Iran.",
            "unlikely",
            "unlikely",
        ),
        (
            "Iran's military would be unlikely to withstand a war with the US.",
            "unlikely",
            "unlikely",
        ),
        ("A war with Iran is not likely this year.", "unlikely", "not likely"),
        ("A war with Iran is no longer likely.", "unlikely", "no longer likely"),
        ("A war with Iran is not expected to break out.", "unlikely", "not expected to"),
        ("A war with Iran is not unlikely.", "realistic_possibility", "not unlikely"),
        # the judgement is about avoiding the threat: mirrored
        ("Both sides are likely to avoid a war.", "unlikely", "likely … avoid"),
    ],
)
def test_estimative_language(sentence: str, term: str, words: str) -> None:
    f = next(x for x in findings(sentence) if x.category in ("armed_conflict", "militia_attack"))
    assert (f.term, f.words) == (term, words)


def test_no_estimative_word_is_not_assessed() -> None:
    f = one("Protesters marched through Baghdad on Friday.")
    assert f.term == NOT_ASSESSED and not f.estimated
    assert f.words == default_vocabulary().likelihood.not_assessed_words


def test_estimate_after_the_threat_word_only_in_the_same_clause() -> None:
    f = one("Iraqi militias may launch attacks on bases.")
    assert f.words == "may"
    f = one("Rockets hit the base in Iraq last week, and officials likely alerted the army.")
    assert f.term == NOT_ASSESSED  # "likely" sits in another clause: it does not govern the rockets


def test_despite_sets_the_backdrop_aside() -> None:
    text = "Despite the rocket fire at the base last week, officials likely alerted the army."
    assert findings(text) == []


def test_set_aside_phrases() -> None:
    text = "Washington chose sanctions on Iran rather than the air strikes it had threatened."
    assert {f.category for f in findings(text)} == {"sanctions"}


# --- categories -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "category"),
    [
        ("Rockets landed near the base in Iraq.", "militia_attack"),
        ("Militias are likely to mobilise in Iraq.", "militia_attack"),
        ("A drone strike killed a commander in Iraq.", "militia_attack"),
        ("Revenge attacks are possible in Iraq.", "militia_attack"),
        ("Cyber-attacks on banks in Qatar are likely.", "cyber_attack"),
        ("Hacking of government email in Qatar is likely.", "cyber_attack"),
        ("Tankers in the Gulf may be seized.", "shipping_disruption"),
        ("Shipping near Yemen is likely to suffer.", "shipping_disruption"),
        ("Global oil markets could be hit.", "oil_market_shock"),
        ("Crude prices in Europe are likely to rise.", "oil_market_shock"),
        ("New sanctions on Iran are likely.", "sanctions"),
        ("Protests in Lebanon are likely.", "civil_unrest"),
        ("Demonstrations in Lebanon are likely.", "civil_unrest"),
        ("A resurgence of the Islamic State in Syria is possible.", "terrorism"),
        ("IS cells in Syria remain active.", "terrorism"),
        ("Insurgent cells in Syria remain active.", "terrorism"),
        ("War between Iran and Israel is unlikely.", "armed_conflict"),
        ("Air strikes on Yemen are likely.", "armed_conflict"),
        ("Ballistic missiles were fired at Riyadh.", "armed_conflict"),
        ("An airliner was downed near Tehran.", "aviation_security"),
        ("Flights over Iraq may be suspended.", "aviation_security"),
    ],
)
def test_categories(sentence: str, category: str) -> None:
    assert category in {f.category for f in findings(sentence)}


def test_lower_case_is_is_not_islamic_state() -> None:
    assert findings("It is what it is, and nothing in Syria is likely to change.") == []


def test_trigger_inside_a_place_name_does_not_count() -> None:
    cats = {f.category for f in findings("Officials met at Baghdad International Airport.")}
    assert "aviation_security" not in cats


# --- places ---------------------------------------------------------------------------------------


def regions(text: str, category: str | None = None) -> list[str]:
    return [r for r, _ in one(text, category).regions]


@pytest.mark.parametrize(
    ("sentence", "main"),
    [
        ("Rockets hit the Erbil air base overnight.", "hotspot.erbil_airbase"),
        ("Rockets hit Erbil overnight.", "IQ-AR"),
        ("Rockets hit al-Asad overnight.", "hotspot.al_asad_airbase"),
        ("Rockets hit the US embassy in Baghdad overnight.", "hotspot.baghdad_green_zone"),
        ("Rockets hit the Green Zone overnight.", "hotspot.baghdad_green_zone"),
        ("Rockets hit Baghdad International Airport overnight.", "hotspot.baghdad_airport"),
        ("Rockets hit Baghdad overnight.", "IQ-BG"),
        ("Flights from Tehran airport were suspended.", "hotspot.tehran_ika"),
        ("Tankers in the Strait of Hormuz may be seized.", "sea.hormuz"),
        ("Tankers in the Gulf may be seized.", "sea.persian_gulf"),
        ("Tankers in the Gulf of Aden may be seized.", "sea.gulf_of_aden"),
        ("Tankers in the Red Sea may be seized.", "sea.red_sea"),
        ("Iraqi militias are likely to attack.", "IRQ"),
        ("Lebanese protesters are likely to march.", "LBN"),
        ("Protests in Saudi Arabia are unlikely.", "SAU"),
        ("Emirati ports may see protests.", "ARE"),
        ("Protests in the United States are likely.", "USA"),
    ],
)
def test_places(sentence: str, main: str) -> None:
    assert regions(sentence)[0] == main


def test_north_and_northeast_iraq_are_the_northern_governorates() -> None:
    r = regions("IS is active in north and northeast regions of Iraq.")
    assert {"IQ-NI", "IQ-SD", "IQ-KI", "IQ-DI"} <= set(r)
    assert all(x.startswith("IQ-") for x in r)


def test_actor_only_country_is_not_a_region() -> None:
    # Washington acts; the sanctions fall on Iran
    assert regions("Washington will impose sanctions on Iran.") == ["IRN"]
    # "US troops" are targets, not a place
    f = one("Rockets targeted US troops in Iraq.")
    assert [r for r, _ in f.regions] == ["IRQ"]
    assert f.targets == ["US"]


def test_global_threats_are_worldwide() -> None:
    assert regions("Global oil markets could be hit.")[0] == "world"
    assert regions("Iran may launch cyber-attacks on banks in Bahrain.")[0] == "world"


def test_the_region_means_the_brief_s_main_country() -> None:
    text = (
        "Iraq faces a hard year. Militias in Iraq are growing.\n\n"
        "Protests across the region are likely."
    )
    f = one(text, "civil_unrest")
    assert f.regions[0][0] == "IRQ"


def test_shipping_named_by_country_means_its_waters() -> None:
    r = regions("Tehran may target shipping through its proxies.")
    assert r[0] == "sea.hormuz" and "sea.persian_gulf" in r


def test_sentence_without_a_place_takes_its_paragraph_s() -> None:
    text = "Militias are active in Iraq. Rocket attacks on bases are likely."
    last = next(f for f in findings(text) if "Rocket" in f.text)
    assert last.regions[0][0] == "IRQ"
    assert last.region_inferred


# --- time frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "horizon"),
    [
        ("War is unlikely in the immediate future.", (0, 3)),
        ("War is unlikely in the short term.", (0, 3)),
        ("War is unlikely in the coming weeks.", (0, 2)),
        ("War is unlikely in the coming months.", (0, 6)),
        ("War is unlikely in the next six months.", (0, 6)),
        ("War is unlikely over the next 18 months.", (0, 18)),
        ("War is unlikely in the next year.", (0, 12)),
        ("War is likely in the long term.", (3, 24)),
        ("Iran will likely continue the war in the long term.", (0, 24)),  # already under way
    ],
)
def test_horizons(sentence: str, horizon: tuple[float, float]) -> None:
    f = one(sentence + " It concerns Iran.", "armed_conflict")
    assert f.horizon is not None
    assert (f.horizon.from_months, f.horizon.to_months) == horizon


def test_heading_gives_the_time_frame_to_its_section() -> None:
    text = "# Brief\n\n## Calm expected in the short term\n\nWar with Iran is unlikely.\n"
    f = one(text)
    assert f.horizon is not None and f.horizon.to_months == 3
    assert f.horizon_source == "heading"


# --- targets --------------------------------------------------------------------------------------


def test_targets() -> None:
    f = one("Iran will likely continue rocket attacks against the US and its allies in Iraq.")
    assert f.targets == ["US", "US_ALLY"]
    f = one("Drone attacks on Saudi oil facilities are likely.", "militia_attack")
    assert f.targets == ["GCC"]
    f = one("Iran-backed militias are likely to attack in Iraq.")
    assert f.targets == []  # the backers are not the targets


def test_analyzer_is_reused_for_the_default_vocabulary() -> None:
    assert analyzer_for(None) is analyzer_for(default_vocabulary())
