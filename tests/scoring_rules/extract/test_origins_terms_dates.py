"""Rules written after the second held-out round's misses (bench/heldout2/README.md).

Each rule is tried on sentences written here for the test (none is a brief's), with what a
careful analyst records from them: where a group comes from is not where its threat is; armed
conflict named as such; a term that weighs an explanation or an actor's choice is no judgement
of the threat; a date without a year read against the brief's date; a local threat is not also
worldwide because one sentence mentions the world.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring_rules.extract import DraftThreat, ingest
from scoring_rules.extract.analysis import yearless_date
from scoring_rules.extract.vocabulary import default_vocabulary


def drafts(text: str, date: dt.date | None = None) -> list[DraftThreat]:
    return ingest(text, date=date).drafts


def by_category(text: str, date: dt.date | None = None) -> dict[str, list[DraftThreat]]:
    out: dict[str, list[DraftThreat]] = {}
    for d in drafts(text, date):
        out.setdefault(d.category, []).append(d)
    return out


def regions(d: DraftThreat) -> list[str]:
    return [r.region for r in d.regions]


# --- where a group comes from is not where its threat is ------------------------------------------

ORIGINS = {"Somali": "SOM", "Malian": "MLI", "Afghan": "AFG", "Libyan": "LBY", "Sudanese": "SDN"}
HOSTS = {"Kenya": "KEN", "Niger": "NER", "Chad": "TCD", "Pakistan": "PAK", "Mozambique": "MOZ"}


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(sorted(ORIGINS)),
    st.sampled_from(sorted(HOSTS)),
    st.sampled_from(["{d}-origin insurgency", "insurgency of {d} origin", "{d}-born militants"]),
)
def test_a_demonym_of_origin_is_never_the_threats_place(demonym: str, host: str, form: str) -> None:
    group = form.format(d=demonym)
    text = f"Attacks by the {group} in {host} remain a serious threat over the coming months."
    (terror,) = by_category(text)["terrorism"]
    assert terror.main_region == HOSTS[host], (text, regions(terror))
    assert ORIGINS[demonym] not in regions(terror), (text, regions(terror))


def test_originating_in_a_country_is_where_the_group_comes_from() -> None:
    text = "Militants originating in Somalia pose a serious threat to hotels in Kenya."
    (terror,) = by_category(text)["terrorism"]
    assert regions(terror) == ["KEN"]


def test_the_country_that_faces_a_list_of_threats_is_their_place() -> None:
    text = (
        "Chad faces security challenges on three fronts: the Sudanese-origin militia insurgency "
        "in the east, an armed conflict with rebels in the north, and cross-border raids from "
        "Libya in the far north."
    )
    found = by_category(text)
    assert [d.main_region for d in found["terrorism"]] == ["TCD"]
    assert [d.main_region for d in found["armed_conflict"]] == ["TCD"]
    assert all("SDN" not in regions(d) for ds in found.values() for d in ds)


def test_a_threat_with_a_place_of_its_own_keeps_it_beside_the_subject_country() -> None:
    text = "Benin also faces piracy in the Gulf of Guinea."
    (ship,) = by_category(text)["shipping_disruption"]
    assert ship.main_region == "sea.gulf_of_guinea"


# --- armed conflict named as such -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Peru endured an internal armed conflict for two decades.",
        "A separatist conflict in the west of Mali continues to displace thousands.",
        "The civil war in Yemen continues.",
    ],
)
def test_armed_conflict_named_as_such_is_drafted(sentence: str) -> None:
    assert "armed_conflict" in by_category(sentence), sentence


def test_conflict_alone_as_a_cause_is_no_armed_conflict() -> None:
    text = (
        "There is a high threat of terrorist attacks in France. "
        "The conflict could also motivate individuals to carry out attacks in France."
    )
    found = by_category(text)
    assert "armed_conflict" not in found
    assert [d.main_region for d in found["terrorism"]] == ["FRA"]


def test_conflict_weighed_with_a_yardstick_term_is_drafted() -> None:
    (d,) = by_category("Conflict in South Sudan is highly likely to escalate.")["armed_conflict"]
    assert (d.main_region, d.likelihood) == ("SSD", "highly_likely")


def test_a_condition_is_not_a_threat_of_its_own() -> None:
    text = (
        "State-sponsored cyber actors could disrupt water utilities in Canada in the event of "
        "military conflict with its allies."
    )
    found = by_category(text)
    assert "armed_conflict" not in found
    assert "cyber_attack" in found


# --- terms that weigh something else --------------------------------------------------------------


@pytest.mark.parametrize(
    "verb",
    ["likely reflects", "probably reflects", "is likely due to", "likely stems from"],
)
def test_a_term_weighing_an_explanation_is_not_the_threats_likelihood(verb: str) -> None:
    text = f"Rising piracy off Benin {verb} weak coastal patrols and growing oil exports."
    (ship,) = by_category(text)["shipping_disruption"]
    assert ship.likelihood == "not_assessed", (verb, ship.likelihood_words)


def test_the_same_term_weighing_the_threat_is_kept() -> None:
    (ship,) = by_category("Piracy off Benin is likely to rise in the coming months.")[
        "shipping_disruption"
    ]
    assert ship.likelihood == "likely"


@pytest.mark.parametrize("verb", ["consider", "choose", "select", "look for"])
def test_an_actors_will_about_its_targets_is_not_a_judgement(verb: str) -> None:
    text = (
        "Terrorist groups in Australia may be inspired to strike public events. "
        f"Terrorists will {verb} a wide selection of targets for attacks."
    )
    (terror,) = by_category(text)["terrorism"]
    assert terror.likelihood == "not_assessed"
    assert terror.likelihood_words == "may"


def test_the_authors_will_that_an_attack_happens_is_kept() -> None:
    (terror,) = by_category("Terrorists will attack hotels in Kenya.")["terrorism"]
    assert terror.likelihood == "highly_likely"


# --- a date without a year ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    brief=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)),
    month=st.integers(min_value=1, max_value=12),
    day=st.integers(min_value=1, max_value=28),
    forward=st.booleans(),
)
def test_a_yearless_date_is_read_against_the_briefs_date(
    brief: dt.date, month: int, day: int, forward: bool
) -> None:
    when = yearless_date(brief, month, day, forward)
    assert when is not None and (when.month, when.day) == (month, day)
    if forward:  # the next such day, within a year
        assert brief <= when < brief + dt.timedelta(days=366)
    else:  # the nearest such day, before or after
        assert abs((when - brief).days) <= 183


def test_a_yearless_past_event_is_no_window() -> None:
    text = (
        "The Abu Sayyaf terrorist group poses a threat in the Philippines. Support to the army "
        "followed the "
        "September 11 attack on the United States, with up to 450 personnel deployed."
    )
    (terror,) = by_category(text, date=dt.date(2007, 1, 24))["terrorism"]
    assert (terror.horizon.from_months, terror.horizon.to_months) == (0, 6)


def test_until_a_yearless_date_runs_to_its_next_occurrence() -> None:
    text = "Protests in Lima are likely until 15 March."
    (unrest,) = by_category(text, date=dt.date(2023, 11, 8))["civil_unrest"]
    assert unrest.horizon.to_months == pytest.approx(
        (dt.date(2024, 3, 15) - dt.date(2023, 11, 8)).days / 30.44, abs=0.06
    )


# --- a local threat is not also worldwide ---------------------------------------------------------


def test_ranking_the_world_is_not_placing_the_threat() -> None:
    text = (
        "Armed attacks against ships in the Gulf of Guinea surged, making these waters the "
        "world's most dangerous for piracy. Rising piracy in the Gulf of Guinea likely reflects "
        "the region's growing prominence in global maritime trade."
    )
    (ship,) = drafts(text)
    assert ship.category == "shipping_disruption"
    assert regions(ship) == ["sea.gulf_of_guinea"]
    assert ship.world_evidence is None


COUNTRIES = {"Kenya": "KEN", "Peru": "PER", "Nepal": "NPL", "Senegal": "SEN", "Ecuador": "ECU"}


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(sorted(COUNTRIES)))
def test_a_worldwide_caution_does_not_make_a_countrys_draft_worldwide(country: str) -> None:
    text = (
        f"Protests continue in {country}. Demonstrations may also occur with little warning. "
        "Rallies and strikes may occur with increasing frequency.\n\n"
        "Due to tensions in various locations around the world, and the potential for terrorist "
        "attacks, demonstrations, or violent actions against U.S. citizens, U.S. citizens "
        "overseas should exercise increased caution."
    )
    vocab = default_vocabulary()
    found = drafts(text)
    for d in found:
        if vocab.categories[d.category].scope == "local" and "world" in regions(d):
            assert d.main_region == "world", regions(d)
            span = d.world_evidence
            assert span is not None and "around the world" in span.text
    (unrest,) = [d for d in found if d.category == "civil_unrest"]
    assert regions(unrest) == [COUNTRIES[country]]
    (terror,) = [d for d in found if d.category == "terrorism"]
    assert terror.main_region == "world" and terror.targets.affiliations == ["US"]


def test_a_target_named_in_the_next_sentence_is_the_threats() -> None:
    text = (
        "The fact sheet covers the urgent risk posed by state-sponsored cyber actors. "
        "The group has been pre-positioning itself on U.S. critical infrastructure networks."
    )
    (cyber,) = by_category(text)["cyber_attack"]
    assert cyber.targets.affiliations == ["US"]
