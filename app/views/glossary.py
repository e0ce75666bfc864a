"""Glossary: the words and numbers the pages use, in one place (every role)."""

from __future__ import annotations

import streamlit as st

from app import data, session, ui, words

HELP = "What each word and number on the other pages means, and where it comes from."


def main() -> None:
    ctx = data.context()
    session.require(ctx, "client", "account_manager", "analyst", "admin")
    st.title("Glossary", help=HELP)
    rules = ctx.rules()
    st.subheader("The rating")
    bands = ", ".join(f"{b.band} {b.label} (score {b.min_score:g} or more)" for b in rules.bands)
    entries = [
        ("Band", f"The rating in one letter: {bands}."),
        ("Score", words.SCORE_MEANING),
        (
            "Range",
            "The bands and scores the rating could take from the least to the most likely "
            "reading of the brief's likelihood words, for example “E to D (27 to 49)”: every "
            "likelihood is a range, and the rating carries it through.",
        ),
        (
            "Expected disruption",
            "Each site's value and each route's annual trade, times its chance of disruption, "
            "summed: how much of the business the threats bear on. It is not a forecast of loss.",
        ),
        ("Risk of disruption", words.RISK_MEANING),
        (
            "Top driver",
            "The threat behind the largest share of a client's expected disruption.",
        ),
        (
            "Criticality",
            "How much the business depends on a site or route, from 1 (little) to 5 (vital), "
            "as the client gives it.",
        ),
        (
            "Impact tolerance",
            "The longest disruption an important business service can bear, in days (the UK "
            "FCA and PRA's operational-resilience term); a route's detour is weighed against it.",
        ),
    ]
    _table(entries)
    st.subheader("The threats")
    terms = ", ".join(
        f"{words.kind(k)} {v.low:.0%} to {v.high:.0%}" for k, v in rules.likelihood.terms.items()
    )
    na = rules.likelihood.not_assessed
    _table(
        [
            (
                "Likelihood",
                f"How likely the brief says the threat is, on the {rules.likelihood.source}: "
                f"{terms}.",
            ),
            (
                "Not assessed",
                f"{words.NOT_ASSESSED} Here that range is {na.low:.0%} to {na.high:.0%}.",
            ),
            ("Severity", "The impact if the threat happens, from 1 (minor) to 5 (severe)."),
            (
                "Intensity",
                "How strongly a threat bears on a place, from 0 (not at all) to 100% (fully); "
                "the map shades places by the highest intensity any current threat gives them.",
            ),
            (
                "Horizon",
                "The months after the brief's date in which the judgement applies. A judgement "
                "past its horizon is expired: it still counts as last judged, and the page says "
                "the brief needs a refresh.",
            ),
            (
                "Chokepoint",
                "A narrow sea passage many routes share (the Strait of Hormuz, Bab-el-Mandeb, "
                "the Suez Canal...). The product computes each route's detour if one closes, or "
                "says that no sea alternative exists.",
            ),
            (
                "Hotspot",
                "A point and a radius (an embassy district, an air base, an airport) where a "
                "threat's intensity falls off with distance.",
            ),
            (
                "Scenario",
                "A set of changes to threats or chokepoints (“Hormuz closed”) applied to one run "
                "to see how every rating would move; the published ratings are not touched.",
            ),
        ]
    )
    st.subheader("Where the numbers come from")
    _table(
        [
            (
                "Threat register",
                "The threats an analyst took from the intelligence briefs, each traced to the "
                "section and paragraph of the brief it comes from; versioned.",
            ),
            ("Scoring rules", "Every number of the method (tables, weights, bands); versioned."),
            (
                "Run",
                "One scoring of every client on one register, rules and exposure version, as "
                "of one date: any number on any page can be reproduced from its run.",
            ),
            (
                "Exposure version",
                "Each upload of a client's sites and routes is a new version; earlier versions "
                "are kept.",
            ),
        ]
    )


def _table(entries: list[tuple[str, str]]) -> None:
    for term, meaning in entries:
        st.markdown(f"**{ui.plain(term)}**: {ui.plain(meaning)}")


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
