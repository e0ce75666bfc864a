"""Sentence roles, limiting judgements, places that are not threat places, and time frames.

Each text below is labelled by its test: what a careful analyst records from it, written before
the extractor was run on it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring_rules.extract import DraftThreat, default_vocabulary, ingest

LIKELY_OR_ABOVE = {"likely", "highly_likely", "almost_certain"}


def drafts(text: str, date: dt.date | None = None) -> list[DraftThreat]:
    return ingest(text, date=date).drafts


def regions(d: DraftThreat) -> list[str]:
    return [r.region for r in d.regions]


def by_category(text: str, date: dt.date | None = None) -> dict[str, list[DraftThreat]]:
    out: dict[str, list[DraftThreat]] = {}
    for d in drafts(text, date):
        out.setdefault(d.category, []).append(d)
    return out


# --- limiting and negative judgements -------------------------------------------------------------


def test_unlikely_to_spread_leaves_no_likely_threat_on_the_place() -> None:
    text = (
        "Insurgent attacks in Cabo Delgado are highly likely to continue over the coming months. "
        "The insurgency is unlikely to spread to Nampula province."
    )
    terror = by_category(text)["terrorism"]
    assert [(d.main_region, d.likelihood) for d in terror] == [
        ("MZ-P", "highly_likely"),
        ("MZ-N", "unlikely"),
    ]
    likely = [d for d in terror if d.likelihood in LIKELY_OR_ABOVE]
    assert all("MZ-N" not in regions(d) for d in likely)


def test_unable_to_threaten_limits_the_paragraphs_threat_and_excludes_the_place() -> None:
    text = (
        "Militants are highly likely to attack supply convoys in Cabo Delgado in the coming "
        "months. They remain unable to threaten facilities in Nampula."
    )
    terror = by_category(text)["terrorism"]
    likely = [d for d in terror if d.likelihood in LIKELY_OR_ABOVE]
    assert [regions(d) for d in likely] == [["MZ-P"]]
    (limited,) = [d for d in terror if d.main_region == "MZ-N"]
    assert limited.likelihood == "highly_unlikely"
    assert "a limiting judgement: the brief rules the threat out here" in limited.extraction_reasons


def test_a_threat_judged_unlikely_on_its_only_place_is_not_drafted_likely() -> None:
    text = (
        "A significant impact on global crude prices is very unlikely. "
        "Any outage would very likely be absorbed without a lasting change in oil prices."
    )
    (oil,) = by_category(text)["oil_market_shock"]
    assert oil.likelihood == "highly_unlikely"


COUNTRIES = ["Kenya", "Peru", "Ghana", "Chile", "Moldova", "Nepal", "Ecuador", "Senegal"]
ISO3 = {
    "Kenya": "KEN",
    "Peru": "PER",
    "Ghana": "GHA",
    "Chile": "CHL",
    "Moldova": "MDA",
    "Nepal": "NPL",
    "Ecuador": "ECU",
    "Senegal": "SEN",
}


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(COUNTRIES), st.sampled_from(COUNTRIES))
def test_no_likely_threat_is_left_on_an_excluded_country(here: str, there: str) -> None:
    if here == there:
        return
    text = (
        f"Protests in {here} are likely in the coming weeks. "
        f"The unrest is unlikely to spread to {there}."
    )
    unrest = by_category(text)["civil_unrest"]
    assert any(d.main_region == ISO3[here] and d.likelihood == "likely" for d in unrest)
    for d in unrest:
        if d.likelihood in LIKELY_OR_ABOVE:
            assert ISO3[there] not in regions(d), (text, regions(d))


# --- places that are not places of the threat -----------------------------------------------------


def test_a_partner_country_is_not_a_place_of_the_threat() -> None:
    text = (
        "Burkina Faso contributes to the UN peacekeeping mission in Mali. "
        "Terrorist attacks in Burkina Faso are likely in the coming months."
    )
    (terror,) = by_category(text)["terrorism"]
    assert regions(terror) == ["BFA"]


def test_a_goal_and_a_negotiating_partner_are_not_places() -> None:
    text = (
        "Protests in Moldova are likely this week over the government's bid to join the "
        "European Union and its talks with Romania."
    )
    (unrest,) = drafts(text)
    assert regions(unrest) == ["MDA"]


def test_a_flag_state_is_not_a_place() -> None:
    text = (
        "Piracy remains a significant threat to vessels in the Gulf of Guinea. "
        "Pirates kidnapped six crew from a Tuvalu-flagged tanker in the Gulf of Guinea."
    )
    (ship,) = drafts(text)
    assert ship.main_region == "sea.gulf_of_guinea"
    assert "TUV" not in regions(ship)


def test_the_detour_is_never_a_place_of_danger() -> None:
    text = (
        "There is a high risk to commercial vessels in the southern Red Sea. Vessels are advised "
        "to reroute via the Cape of Good Hope or to remain north of 18N in the Red Sea."
    )
    (ship,) = drafts(text)
    assert regions(ship) == ["sea.red_sea"]


def test_a_sea_off_a_country_is_the_sea_not_the_coast() -> None:
    (ship,) = drafts("Piracy off Nigeria remains a significant threat to vessels.")
    assert ship.main_region == "sea.gulf_of_guinea"
    (red,) = drafts("Houthi attacks on tankers in the Red Sea are likely to continue.")
    assert red.main_region == "sea.red_sea"
    assert "YEM" not in regions(red)


def test_attacks_at_sea_are_a_threat_to_shipping() -> None:
    text = (
        "Vessels transiting the Gulf of Aden are at high risk from terrorism. "
        "Potential hostile actions include drone attacks and ballistic missile strikes."
    )
    assert [d.category for d in drafts(text)] == ["shipping_disruption"]


def test_the_actor_a_threat_comes_from_is_not_its_target() -> None:
    (ship,) = drafts("Attacks by the Houthis on commercial vessels in the Red Sea are likely.")
    assert ship.targets.affiliations == []


# --- sentence roles -------------------------------------------------------------------------------


def test_a_consequence_sentence_is_not_a_threat_of_its_own() -> None:
    text = (
        "Protests in Lima are likely this week. They could cause the closure of the airport and "
        "disrupt flights."
    )
    assert [d.category for d in drafts(text)] == ["civil_unrest"]


def test_a_consequence_the_brief_judges_is_a_threat() -> None:
    text = (
        "Protests in Lima are likely this week. Flights from Lima are likely to be disrupted in "
        "the coming days."
    )
    cats = by_category(text)
    assert cats["aviation_security"][0].likelihood == "likely"


def test_an_actors_announced_intention_is_not_the_authors_judgement() -> None:
    text = "The Houthis said they will attack any vessel linked to Israel in the Red Sea."
    (ship,) = drafts(text)
    assert ship.likelihood == "not_assessed"
    assert regions(ship) == ["sea.red_sea"]  # Israel is whom the ships are linked to


def test_background_alone_makes_no_draft_beside_a_judgement() -> None:
    text = (
        "Terrorists are likely to try to carry out attacks in Kenya. "
        "On 15 September 2023, gunmen killed nine people in a clash with police near Lamu."
    )
    assert [(d.category, d.main_region) for d in drafts(text)] == [("terrorism", "KEN")]


def test_listed_crime_words_are_not_a_terrorist_threat() -> None:
    text = "Do not travel to Haiti due to crime, civil unrest, and kidnapping."
    assert [d.category for d in drafts(text)] == ["civil_unrest"]


def test_a_weighed_kidnapping_threat_is_drafted() -> None:
    text = "Kidnapping of oil workers in Rivers state remains highly likely through the year."
    (d,) = drafts(text)
    assert (d.category, d.likelihood) == ("terrorism", "highly_likely")


# --- time frames against the brief's date ---------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "to_months"),
    [("this week", 0.25), ("next week", 0.25), ("this month", 1.0), ("next six months", 6.0)],
)
def test_relative_time_frames(words: str, to_months: float) -> None:
    (d,) = drafts(f"Demonstrations in Lagos are likely {words}.", date=dt.date(2025, 9, 30))
    assert (d.horizon.from_months, d.horizon.to_months) == (0.0, to_months)
    assert d.horizon_words == words


def test_this_week_is_about_a_week_from_the_briefs_date() -> None:
    (d,) = drafts("Demonstrations in Lagos are likely this week.", date=dt.date(2024, 7, 1))
    days = d.horizon.to_months * 30.44
    assert 6 <= days <= 8


def test_by_year_end_counts_from_the_briefs_date() -> None:
    text = "Protests in Lagos are likely to recur by year-end."
    (sept,) = drafts(text, date=dt.date(2025, 9, 30))
    assert sept.horizon.to_months == 3.0
    (june,) = drafts(text, date=dt.date(2025, 6, 30))
    assert june.horizon.to_months == 6.0
    (undated,) = drafts(text)
    assert undated.horizon_words == "no time frame given; read as the coming months"


def test_longer_term_is_a_later_window() -> None:
    (d,) = drafts("Over the longer term, renewed insurgency in Cabo Delgado is likely.")
    assert (d.horizon.from_months, d.horizon.to_months) == (3.0, 24.0)


def test_a_background_date_is_not_a_forecast_window() -> None:
    text = (
        "So far this year there have been 16 kidnappings of crew in the Gulf of Guinea. "
        "Piracy remains a significant threat to vessels in the Gulf of Guinea."
    )
    (ship,) = drafts(text)
    assert ship.horizon_words == "no time frame given; read as the coming months"


# --- calibrated confidence ------------------------------------------------------------------------


def test_confidence_comes_from_the_evaluation_table() -> None:
    cells = default_vocabulary().confidence.cells
    (d,) = drafts("Protesters marched through Lima on Friday.")
    assert d.extraction_basis == "none/single/named"
    assert d.extraction_confidence == cells["none"].single == 0.82
    (j,) = drafts("Protests in Chile are likely this week. Protests in Chile are likely to grow.")
    assert j.extraction_basis == "yardstick/several/named"
    assert j.extraction_confidence == cells["yardstick"].several == 0.89


def test_an_ocean_is_not_the_country_it_is_named_after() -> None:
    text = (
        "Piracy poses a threat in the Gulf of Aden, Western Arabian Sea, and Western Indian Ocean."
    )
    (ship,) = drafts(text)
    assert regions(ship) == ["sea.gulf_of_aden", "sea.arabian_sea"]
    assert "IND" not in regions(ship)


# --- clauses of their own, dated events, advisories' cyber words ----------------------------------


def test_a_term_in_a_clause_of_its_own_does_not_weigh_the_main_clause() -> None:
    text = (
        "As the general election is anticipated to occur in January, rallies, protests and "
        "strikes may occur in Dhaka."
    )
    (d,) = drafts(text)
    assert d.category == "civil_unrest"
    assert d.likelihood == "not_assessed"
    # the same term governing the threat words themselves still counts
    (same,) = drafts("Protests in Dhaka are anticipated to grow.")
    assert same.likelihood == "likely"
    # and a subordinate clause that holds the threat words keeps its term
    (inside,) = drafts("As protests in Dhaka are expected to grow, travellers should stay home.")
    assert inside.likelihood == "likely"


def test_a_dated_event_in_the_sentence_sets_the_window() -> None:
    text = "Protests in Lima are likely until the inauguration on 28 July 2026."
    (d,) = drafts(text, date=dt.date(2026, 5, 1))
    assert d.horizon.from_months == 0
    assert 2.8 <= d.horizon.to_months <= 3.0
    assert "28 July 2026" in d.horizon_words
    (undated,) = drafts(text)  # no brief date: no count, the default window
    assert undated.horizon.to_months == 6.0


def test_run_up_to_an_event_dated_elsewhere_in_the_brief() -> None:
    text = (
        "The presidential election is due on 7 January. "
        "Protests are likely in Dhaka in the run-up to the election."
    )
    (d,) = drafts(text, date=dt.date(2023, 11, 8))
    assert d.horizon.to_months == 2.0  # 8 November to 7 January of the next year
    assert d.horizon_words == "in the run-up to the election"


def test_a_month_named_without_a_day_runs_to_its_last_day() -> None:
    text = "Election-related protests in Dhaka may occur until January 2024."
    (d,) = drafts(text, date=dt.date(2023, 11, 8))
    assert d.horizon.to_months == 2.8  # to 31 January 2024


def test_a_past_date_is_never_a_window() -> None:
    text = "Protests in Lima in March 2025 turned violent. Protests are likely to continue."
    for d in drafts(text, date=dt.date(2026, 5, 1)):
        assert d.horizon.to_months == 6.0
    (may,) = drafts("Protesters may gather in Lima in May.", date=dt.date(2026, 6, 1))
    assert may.horizon.to_months == 6.0  # last May is past; no event looks forward to the next


def test_advisory_cyber_words_make_a_cyber_threat() -> None:
    text = (
        "State-sponsored cyber actors have been pre-positioning on critical infrastructure "
        "networks. This is an urgent risk for every organization."
    )
    (d,) = drafts(text)
    assert d.category == "cyber_attack"
    assert [r.region for r in d.regions] == ["world"]
    assert d.likelihood == "not_assessed"


@settings(max_examples=40, deadline=None)
@given(
    days=st.integers(min_value=1, max_value=700),
    brief=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)),
)
def test_a_dated_window_is_never_negative_nor_past_the_cap(days: int, brief: dt.date) -> None:
    when = brief + dt.timedelta(days=days)
    text = f"Protests in Lima are likely until {when.day} {when:%B} {when.year}."
    (d,) = drafts(text, date=brief)
    assert d.horizon.from_months == 0
    assert 0.25 <= d.horizon.to_months <= 24
    assert abs(d.horizon.to_months - min(24, max(0.25, days / 30.44))) <= 0.06
