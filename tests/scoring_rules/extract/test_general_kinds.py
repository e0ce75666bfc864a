"""Rules for kinds of sentence that overfitted rules misread (the fourth round of work on issue 11).

Each is tried on sentences written here for the test, not taken from any brief, with what a careful
analyst records from them: a city stands for its first-level subdivision; a demonym that opens an
actor's proper name is the actor's home, not a threat place; a sea named among continents is the
lands around it; a passage quoted from another document is that document's report; a sentence that
weighs nothing and names countries only as actors speaks of the threat the brief places; two
judgements of one category and place are one draft; the estimative yardstick and its variants,
time frames against the brief's date, and the brief's stated analytic confidence.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring_rules.extract import DraftThreat, ingest
from scoring_rules.extract.analysis import quotations
from scoring_rules.extract.places import _city_subdivisions

DATE = dt.date(2025, 3, 10)


def drafts(text: str, date: dt.date | None = DATE) -> list[DraftThreat]:
    return ingest(text, date=date).drafts


def regions(d: DraftThreat) -> list[str]:
    return [r.region for r in d.regions]


def months(start: dt.date, end: dt.date) -> float:
    return round((end - start).days / 30.44, 1)


# --- cities of a named country stand for their subdivision ---------------------------------------


@pytest.mark.parametrize(
    ("sentence", "region"),
    [
        ("Shelling has continued around Chernihiv in Ukraine.", "UA-74"),
        ("Heavy fighting continues in Mariupol, in Ukraine.", "UA-14"),
        ("Protests in Mombasa, Kenya, are likely to spread.", "KE-28"),
    ],
)
def test_a_city_of_a_named_country_is_its_subdivision(sentence: str, region: str) -> None:
    (d,) = drafts(sentence)
    assert d.regions[0].region == region


def test_city_subdivisions_come_from_the_vendored_admin1_table() -> None:
    ukraine = _city_subdivisions("UKR")
    assert ukraine["Chernihiv"] == "UA-74"
    assert ukraine["Mariupol"] == "UA-14"
    assert ukraine["Kharkiv"] == "UA-63"
    assert _city_subdivisions("XXX") == {}


def test_a_city_of_a_country_the_brief_never_names_is_not_read() -> None:
    # Kisumu is not a city of a million people: without Kenya named, it is no place known
    (d,) = drafts("Protests are likely in Kisumu in the coming weeks.")
    assert "KE-17" not in regions(d)
    (d,) = drafts("Protests are likely in Kisumu, Kenya, in the coming weeks.")
    assert d.regions[0].region == "KE-17"


def test_a_city_of_a_million_people_is_its_subdivision_in_any_brief() -> None:
    (d,) = drafts("Protests are likely in Mombasa in the coming weeks.")
    assert d.regions[0].region == "KE-28"


# --- a demonym opening an actor's name ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "origin", "place"),
    [
        (
            "Attacks by Lebanese Hizballah on shipping in the Red Sea are likely.",
            "LBN",
            "sea.red_sea",
        ),
        (
            "The Iranian Revolutionary Guard is likely to stage militia attacks in Iraq.",
            "IRN",
            "IRQ",
        ),
    ],
)
def test_a_demonym_that_opens_an_actors_name_is_no_threat_place(
    sentence: str, origin: str, place: str
) -> None:
    (d,) = drafts(sentence)
    assert d.regions[0].region == place
    assert origin not in regions(d)


def test_a_demonym_before_a_place_noun_stays_a_place() -> None:
    (d,) = drafts("Kidnappings on the Somali coast remain highly likely.")
    assert d.regions[0].region == "SOM"


# --- a sea named among continents ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Criminal groups are exploiting weak states in Latin America and the Caribbean.",
        "Criminal groups are exploiting weak states in the Caribbean, Africa and Asia.",
    ],
)
def test_a_sea_listed_with_continents_is_no_sea_lane(sentence: str) -> None:
    got = drafts(sentence + " Attacks on shipping in the Gulf of Guinea are likely.")
    assert all("sea.caribbean" not in regions(d) for d in got)
    assert [d.category for d in got] == ["shipping_disruption"]


def test_the_caribbean_alone_is_still_the_sea() -> None:
    (d,) = drafts("Piracy against yachts in the Caribbean is likely in the coming months.")
    assert (d.category, d.regions[0].region) == ("shipping_disruption", "sea.caribbean")


def test_two_seas_sharing_one_noun_are_waters_not_the_coastal_province() -> None:
    (d,) = drafts(
        "Piracy against tugs is likely in the Sulu and Celebes Seas between the Philippines "
        "and Malaysia."
    )
    assert not {"PH-SLU", "PHL", "MYS"} & set(regions(d))


# --- another document's words -------------------------------------------------------------------


def test_quotations_are_long_passages_in_double_quotes() -> None:
    text = (
        'The so-called "safe corridor" holds. The notice reads "armed men boarded two vessels '
        'off the coast and took their crews hostage last week".'
    )
    spans = quotations(text)
    assert len(spans) == 1
    assert text[spans[0][0] : spans[0][1]].startswith("armed men boarded")


def test_a_quoted_report_drafts_nothing_of_its_own() -> None:
    got = drafts(
        "# Outlook\n\nThe port authority issued a notice which states in part \u201carmed gangs "
        "have kidnapped crew members from vessels off Lagos and further kidnappings are highly "
        "likely\u201d.\n\nProtests in Nigeria are likely in the coming weeks.\n"
    )
    assert [(d.category, d.likelihood) for d in got] == [("civil_unrest", "likely")]


def test_a_quoted_report_still_drafts_when_the_brief_judges_nothing_else() -> None:
    got = drafts(
        'The coastguard states: "kidnappings of crew members from vessels off Lagos in '
        'Nigeria are highly likely to continue through the summer".'
    )
    assert "shipping_disruption" in {d.category for d in got}
    # the coastguard's term, not the brief's: the words are kept for the analyst to weigh
    assert {d.likelihood for d in got} == {"not_assessed"}
    assert all(d.likelihood_words == "highly likely" for d in got)


# --- who, not where -----------------------------------------------------------------------------


def test_a_sentence_naming_countries_only_as_actors_joins_the_placed_judgement() -> None:
    got = drafts(
        "Terrorists will likely regroup in Mali and Niger.\n\n"
        "The terrorist threat spans groups supported by Libya and the activities of Algeria."
    )
    assert [(d.category, d.regions[0].region) for d in got] == [("terrorism", "MLI")]
    assert len(got[0].evidence) == 2


# --- one draft per category and place -----------------------------------------------------------


def test_two_worldwide_judgements_of_one_category_are_one_draft() -> None:
    (d,) = drafts(
        "# Cyber\n\nRansomware attacks are highly likely worldwide.\n\n"
        "# Banks\n\nCyber attacks against banks are a realistic possibility this week.\n"
    )
    assert (d.category, d.regions[0].region, d.likelihood) == (
        "cyber_attack",
        "world",
        "highly_likely",
    )
    assert len(d.evidence) == 2


def test_a_later_outlook_without_a_place_joins_the_judgement_it_speaks_of() -> None:
    (d,) = drafts(
        "Kenya faces widespread protests over the finance bill.\n\n"
        "Security forces have used tear gas.\n\nFurther protests are likely this week.\n"
    )
    assert (d.regions[0].region, d.likelihood, d.horizon.to_months) == ("KEN", "likely", 0.25)


# --- the yardstick and its variants -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "term"),
    [
        ("There is a realistic possibility of protests in Kenya.", "realistic_possibility"),
        ("Protests in Kenya will almost certainly take place.", "almost_certain"),
        ("Protests in Kenya are highly unlikely.", "highly_unlikely"),
        ("There is a remote chance of protests in Kenya.", "remote_chance"),
        ("We assess with moderate confidence that protests in Kenya are likely.", "likely"),
        ("Protests will probably take place in Kenya.", "likely"),
        ("It is very likely that protests will occur in Kenya.", "highly_likely"),
        ("Protests in Kenya are not likely.", "unlikely"),
        ("Protests may take place in Kenya.", "not_assessed"),
    ],
)
def test_yardstick_terms_and_their_variants(sentence: str, term: str) -> None:
    (d,) = drafts(sentence)
    assert d.likelihood == term


@pytest.mark.parametrize(
    ("sentence", "level"),
    [
        ("We assess with high confidence that protests in Kenya are likely.", "high"),
        ("We judge with low confidence that protests in Kenya are likely.", "low"),
        ("With moderate confidence, we assess protests in Kenya are likely.", "moderate"),
        ("Protests in Kenya are likely.", "moderate"),
    ],
)
def test_the_briefs_stated_analytic_confidence_is_the_drafts(sentence: str, level: str) -> None:
    (d,) = drafts(sentence)
    assert d.confidence == level
    assert d.likelihood == "likely"  # confidence never changes the likelihood


# --- time frames against the brief's date ---------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "to_months"),
    [
        ("in the coming weeks", 2.0),
        ("in the coming months", 6.0),
        ("over the next 12 months", 12.0),
        ("over the next two weeks", 0.5),
        ("in the short term", 3.0),
        ("by the end of the year", months(DATE, dt.date(2025, 12, 31))),
        ("through 2025", months(DATE, dt.date(2025, 12, 31))),
        ("for the remainder of 2025", months(DATE, dt.date(2025, 12, 31))),
        ("until the end of 2026", months(DATE, dt.date(2026, 12, 31))),
    ],
)
def test_time_frames_are_read_against_the_briefs_date(phrase: str, to_months: float) -> None:
    (d,) = drafts(f"Protests in Kenya are likely {phrase}.")
    assert (d.horizon.from_months, d.horizon.to_months) == (0, to_months)


@settings(max_examples=25, deadline=None)
@given(
    brief=st.dates(min_value=dt.date(2010, 1, 1), max_value=dt.date(2030, 6, 30)),
    ahead=st.integers(min_value=0, max_value=1),
    lead=st.sampled_from(["through", "until", "for the remainder of", "by the end of"]),
)
def test_a_year_a_lead_word_points_at_runs_to_its_last_day(
    brief: dt.date, ahead: int, lead: str
) -> None:
    year = brief.year + ahead
    (d,) = drafts(f"Protests in Kenya are likely {lead} {year}.", date=brief)
    assert d.horizon.to_months == max(0.25, months(brief, dt.date(year, 12, 31)))


def test_a_past_year_after_through_is_no_window() -> None:
    (d,) = drafts("Protests in Kenya, which ran through 2019, are likely again.")
    assert (d.horizon.from_months, d.horizon.to_months) == (0, 6)


# --- history is no threat of its own -------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [
        "The withdrawal of foreign forces has left the north with far fewer aircraft.",
        "There are reports of roadblocks and clashes between soldiers and armed groups.",
    ],
)
def test_reported_history_joins_no_draft_of_its_own(history: str) -> None:
    got = drafts(f"Terrorist attacks in Mali are likely in the coming months. {history}")
    assert [(d.category, d.regions[0].region) for d in got] == [("terrorism", "MLI")]


# --- another body's figures, and what a threat would do -----------------------------------------


@pytest.mark.parametrize(
    "report",
    [
        "The IMB reported 120 piracy incidents worldwide in 2023.",
        "The International Maritime Bureau also reported attacks on ships across the world.",
    ],
)
def test_a_named_bodys_report_drafts_nothing_beside_the_briefs_judgement(report: str) -> None:
    got = drafts(f"Fighting in Sudan is likely to continue. {report}")
    assert [(d.category, d.regions[0].region) for d in got] == [("armed_conflict", "SDN")]


def test_a_report_drafts_where_the_brief_judges_nothing_else() -> None:
    (d,) = drafts("The IMB reports piracy in the Gulf of Guinea as high risk.")
    assert (d.category, d.regions[0].region) == ("shipping_disruption", "sea.gulf_of_guinea")


def test_there_are_reports_is_not_a_named_body() -> None:
    (d,) = drafts("Reports of kidnappings of crew in the Gulf of Guinea are highly likely to rise.")
    assert d.likelihood == "highly_likely"


@pytest.mark.parametrize(
    "impact",
    [
        "Such attacks would drive up oil prices worldwide.",
        "A closure would send oil prices sharply higher.",
    ],
)
def test_what_a_threat_would_do_to_prices_is_no_threat_of_its_own(impact: str) -> None:
    got = drafts(f"Attacks on tankers in the Strait of Hormuz are likely. {impact}")
    assert [(d.category, d.regions[0].region) for d in got] == [
        ("shipping_disruption", "sea.hormuz")
    ]


def test_we_do_not_expect_is_a_limiting_judgement() -> None:
    got = drafts(
        "Protests in Peru are likely this week. We do not expect protests to spread to Bolivia."
    )
    assert sorted((d.regions[0].region, d.likelihood) for d in got) == [
        ("BOL", "unlikely"),
        ("PER", "likely"),
    ]
    assert all(r.region != "BOL" for d in got if d.likelihood == "likely" for r in d.regions)
    (d,) = drafts("We expect protests in Peru to continue this week.")
    assert (d.likelihood, d.horizon.to_months) == ("likely", 0.25)


# --- an impact is no worldwide threat of its own ------------------------------------------------


@pytest.mark.parametrize(
    "impact",
    [
        "This will push up oil prices globally.",
        "Any closure of the strait will cause a spike in global oil prices.",
    ],
)
def test_a_bare_will_before_an_impact_judges_no_threat(impact: str) -> None:
    got = drafts(f"Attacks on tankers in the Strait of Hormuz are likely. {impact}")
    assert [(d.category, d.regions[0].region) for d in got] == [
        ("shipping_disruption", "sea.hormuz")
    ]


def test_where_an_impact_is_felt_is_no_place_of_the_threat() -> None:
    (d,) = drafts(
        "Protests in Chile are likely this week. "
        "The unrest will disrupt copper exports, affecting global markets."
    )
    assert [r.region for r in d.regions] == ["CHL"]
    assert len(d.evidence) == 2


def test_an_oil_shock_the_brief_judges_is_still_drafted() -> None:
    (d,) = drafts("Oil prices will almost certainly rise sharply worldwide.")
    assert (d.category, d.regions[0].region, d.likelihood) == (
        "oil_market_shock",
        "world",
        "almost_certain",
    )


# --- "World" in a proper name is not the world ----------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Armed conflict in Taiwan is likely by 2027, a risk not faced since World War II.",
        "The World Bank judges that armed conflict is likely to continue in Sudan.",
        "Terrorist attacks on the World Cup venues in Qatar are unlikely.",
    ],
)
def test_world_inside_a_proper_name_places_no_threat_worldwide(sentence: str) -> None:
    assert all("world" not in regions(d) for d in drafts(sentence)), [
        regions(d) for d in drafts(sentence)
    ]


def test_the_world_as_a_place_still_places_a_threat_worldwide() -> None:
    (d,) = drafts("Cyber attacks on banks around the world are highly likely.")
    assert d.main_region == "world"
