"""Rules written after the third held-out round's misses (bench/briefs/README.md, third round).

Each rule is tried on sentences written here for the test (none is a brief's), with what a
careful analyst records from them: a notice's stated validity and a date that "until" points
at are the horizon; an outlook of days stays with what its sentence covers; a place named in a
permission or an exception, a reason clause, background on a group's behaviour and a quoted
report of another publisher are no threats of their own; a negative judgement lowers the named
category; a limiting "will probably be balanced by" is no likely threat; "likely" that weighs
what a group possesses is not the threat's likelihood; the internet is no shipping lane.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring_rules.extract import DraftThreat, ingest


def drafts(text: str, date: dt.date | None = None) -> list[DraftThreat]:
    return ingest(text, date=date).drafts


def by_category(text: str, date: dt.date | None = None) -> dict[str, list[DraftThreat]]:
    out: dict[str, list[DraftThreat]] = {}
    for d in drafts(text, date):
        out.setdefault(d.category, []).append(d)
    return out


def months(start: dt.date, end: dt.date) -> float:
    return round((end - start).days / 30.44, 1)


# --- horizons: a stated validity, a date "until" points at, a year alone --------------------------


@settings(max_examples=30, deadline=None)
@given(
    brief=st.dates(min_value=dt.date(2005, 1, 1), max_value=dt.date(2030, 12, 31)),
    days=st.integers(min_value=20, max_value=3000),
    form=st.sampled_from(
        [
            "The validity of this bulletin was extended until {d}.",
            "This notice is effective until {d}.",
            "The advisory expires on {d}.",
        ]
    ),
)
def test_a_stated_validity_dates_every_threat_without_a_frame(
    brief: dt.date, days: int, form: str
) -> None:
    end = brief + dt.timedelta(days=days)
    written = f"{end.day} {end.strftime('%B')} {end.year}"
    text = (
        "Armed groups with anti-aircraft weapons pose a high risk to civil aviation in Mali. "
        + form.format(d=written)
    )
    (d,) = by_category(text, date=brief)["aviation_security"]
    assert d.horizon.from_months == 0
    assert d.horizon.to_months == pytest.approx(min(120.0, max(0.25, months(brief, end))))
    assert "stated validity" in d.horizon_words or written in d.horizon_words


def test_until_wins_over_the_date_a_period_replaces() -> None:
    text = (
        "Due to risks to civil aviation from militant activity in Somalia, the agency extends "
        "the expiration date of this rule from January 7, 2023, until January 7, 2027."
    )
    (d,) = by_category(text, date=dt.date(2022, 12, 27))["aviation_security"]
    assert d.horizon.to_months == months(dt.date(2022, 12, 27), dt.date(2027, 1, 7)) == 48.4
    assert d.horizon_words == "January 7, 2027"


def test_a_notices_period_in_capitals_and_abbreviations_is_its_horizon() -> None:
    text = (
        "Threats could pose a risk to aircraft at all altitudes in Niger. "
        "SFC-UNL: 21 NOV 17:43 UTC 2025 UNTIL 19 FEB 23:59 UTC 2026."
    )
    (d,) = by_category(text, date=dt.date(2025, 11, 21))["aviation_security"]
    assert d.horizon.to_months == months(dt.date(2025, 11, 21), dt.date(2026, 2, 19)) == 3.0
    assert "19 FEB 23:59 UTC 2026" in d.horizon_words


def test_without_a_briefs_date_a_validity_is_not_read() -> None:
    text = "Militants pose a high risk to civil aviation in Mali. Valid until 31 October 2025."
    (d,) = by_category(text)["aviation_security"]
    assert (d.horizon.from_months, d.horizon.to_months) == (0, 6)


@pytest.mark.parametrize(
    ("sentence", "date", "end"),
    [
        (
            "Protests, possibly violent, might occur in Peru before the elections, "
            "scheduled for 2014.",
            dt.date(2014, 1, 29),
            dt.date(2014, 12, 31),
        ),
        ("Protests in Chile are likely through the end of 2027.", dt.date(2026, 3, 1), None),
    ],
)
def test_a_year_alone_runs_to_its_last_day(
    sentence: str, date: dt.date, end: dt.date | None
) -> None:
    end = end or dt.date(2027, 12, 31)
    (d,) = by_category(sentence, date=date)["civil_unrest"]
    assert d.horizon.to_months == months(date, end)


def test_a_past_year_alone_is_no_window() -> None:
    text = "Protests in Peru might occur again, as they did before the elections in 2011."
    (d,) = by_category(text, date=dt.date(2014, 1, 29))["civil_unrest"]
    assert (d.horizon.from_months, d.horizon.to_months) == (0, 6)


# --- an outlook of days stays with what its sentence covers ---------------------------------------


def test_an_outlook_of_days_does_not_spread_to_other_reports() -> None:
    text = (
        "Shelling has continued around Kharkiv in Ukraine.\n\n"
        "Heavy fighting will likely take place in the suburbs of the city in coming days.\n\n"
        "Heavy fighting continues in Odesa."
    )
    conflict = by_category(text, date=dt.date(2022, 3, 31))["armed_conflict"]
    got = sorted((d.likelihood, d.horizon.to_months) for d in conflict)
    assert got == [("likely", 0.5), ("not_assessed", 6.0)]


def test_what_the_same_paragraph_says_next_without_a_place_joins_the_outlook() -> None:
    text = (
        "Protests are expected to continue this week in Kenya. Even protests that seem "
        "peaceful can turn violent at any moment."
    )
    (d,) = by_category(text, date=dt.date(2024, 7, 1))["civil_unrest"]
    assert (d.likelihood, d.horizon.to_months, len(d.evidence)) == ("likely", 0.25, 2)


def test_a_compass_word_before_a_city_is_not_the_countrys_east() -> None:
    text = "Fighting continues to the east and west of Kyiv."
    (d,) = by_category(text)["armed_conflict"]
    assert [r.region for r in d.regions] == ["UKR"]


# --- permissions, exceptions, reasons and background are no threats of their own ------------------


def test_a_place_in_a_permission_is_no_threat_place() -> None:
    text = (
        "Militant activity poses a high risk to civil aviation in Somalia. The agency is "
        "amending the prohibition to permit flights into Djibouti."
    )
    aviation = by_category(text)["aviation_security"]
    assert [d.regions[0].region for d in aviation] == ["SOM"]
    assert all(r.region != "DJI" or r.intensity <= 0.5 for d in aviation for r in d.regions)


def test_a_reason_clause_is_the_reason_of_the_stated_threat() -> None:
    text = (
        "Due to the security situation in Afghanistan since the withdrawal of western military "
        "forces, there is a continued possible threat to civil aviation."
    )
    assert sorted(by_category(text)) == ["aviation_security"]


def test_a_reason_clause_alone_is_still_weighed() -> None:
    text = "Due to the risk of terrorism in Mali, travellers face a high risk."
    assert "terrorism" in by_category(text)


def test_background_on_a_groups_behaviour_is_no_threat_of_its_own() -> None:
    text = (
        "Violent extremists have made territorial advances in Syria and will probably continue "
        "to do so. They also contribute to internal conflict by engaging in violence."
    )
    got = by_category(text)
    assert sorted(got) == ["terrorism"]
    (d,) = got["terrorism"]
    assert (d.regions[0].region, d.likelihood) == ("SYR", "likely")


# --- a negative judgement lowers the named category --------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Intelligence sources report that no specific, credible terrorist threats to ports "
        "exist in the Caribbean Sea.",
        "There are no known terrorist threats to shipping in the Caribbean Sea.",
    ],
)
def test_no_threats_is_the_category_unlikely_and_no_other(sentence: str) -> None:
    got = by_category(sentence)
    assert sorted(got) == ["terrorism"]
    (d,) = got["terrorism"]
    assert (d.regions[0].region, d.likelihood) == ("sea.caribbean", "unlikely")


# --- a limiting "balanced by", a possession, a place from the threat's own clause -----------------


@pytest.mark.parametrize("verb", ["balanced", "offset", "tempered"])
def test_a_limit_on_the_threat_is_no_likely_threat(verb: str) -> None:
    text = f"The growth of extremist groups in Iraq will probably be {verb} by a lack of cohesion."
    (d,) = by_category(text)["terrorism"]
    assert d.likelihood == "not_assessed"


def test_what_a_judgement_depends_on_is_no_threat() -> None:
    text = (
        "The threat to allies will probably increase, but its extent will depend on the success "
        "that terrorist groups achieve, and on the coalition in Iraq."
    )
    assert "terrorism" not in by_category(text)


def test_likely_possession_is_not_the_threats_likelihood() -> None:
    text = (
        "Armed groups pose a high risk to civil aviation in Mali. The groups are in likely "
        "possession of surface-to-air missiles, which creates risks for civil aviation."
    )
    (d,) = by_category(text)["aviation_security"]
    assert d.likelihood == "not_assessed"


# --- no sea carried into a sentence that names none -----------------------------------------------


def test_a_sea_from_another_sentence_does_not_make_terrorism_shipping() -> None:
    text = (
        "Terrorist attacks in Iraq are likely.\n\nCriminal groups exploit weak states around "
        "the Caribbean Sea.\n\nTerrorists will use the Internet to raise funds."
    )
    got = by_category(text)
    assert "shipping_disruption" not in got
    assert [d.regions[0].region for d in got["terrorism"]] == ["IRQ"]
