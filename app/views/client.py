"""Client: one client's rating, what drives it, where it is exposed and what would help."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, data, exports, mapview, session, timeline, ui, words
from engine.models import Explanation


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "client", "account_manager", "analyst", "admin")
    client_id = ui.pick_client(user, key="client_pick")
    if client_id is None:
        return
    with ui.errors_shown():
        user.scope.require(client_id)
        run = data.current_run()
        e = data.explain_for(user.scope, client_id, run.run_id)
        prev_id = data.previous_run_id(ctx, run)
        previous = None
        if prev_id is not None:
            previous = next(
                (
                    r
                    for r in data.ratings(data.db_key(), prev_id, (client_id,))
                    if r.client_id == client_id
                ),
                None,
            )
    r = e.rating
    st.title(
        ui.plain(r.name),
        help="The rating, what drives it, where the client is exposed and what would most "
        "improve it. See the Glossary page for every term.",
    )
    st.caption(ui.plain(words.client_line(r)))
    with st.container(border=True):
        ui.rating_card(r, run, previous)
    ui.expired_note(e.expired_threats)
    ui.people_note(e.people)
    exports.client_downloads(user, client_id, run.run_id)

    st.subheader("What drives the rating")
    if e.threats:
        st.altair_chart(charts.drivers_chart(e), width="stretch")
    else:
        st.info("No threat in the register touches this client's exposures.")
    regions = [g for g in e.regions[:6] if g.share >= 0.005]
    if regions:
        st.caption("Where: " + ui.plain(", ".join(f"{g.name} {g.share:.0%}" for g in regions)))
    st.subheader("Map: sites, sea routes and where the threats bear")
    with ui.errors_shown():
        md = data.client_map(user.scope, client_id, run.run_id)
    mapview.show(
        md,
        run,
        scope=user.scope,
        key="client_map",
        show_client=False,
        explanation=e,
    )
    riskiest_items(e)
    threats_that_matter(e)
    what_would_help(user, client_id, run.run_id)
    timeline.history_section(user, client_id)


def riskiest_items(e: Explanation) -> None:
    st.subheader("Riskiest sites and routes")
    if not e.items:
        st.info("No exposures.")
        return
    titles = {t.threat_id: t.title for t in e.threats}
    frame = pl.DataFrame(
        [
            {
                "item": f"{i.name} [{i.item_id}]",
                "kind": "site" if i.item_kind == "asset" else "sea route",
                "risk (%)": round(100 * i.risk, 1),
                "range (%)": f"{100 * i.risk_low:.0f} to {100 * i.risk_high:.0f}",
                "value (US$)": i.value_usd,
                "criticality (1-5)": i.criticality,
                "top threat": titles.get(i.top_threat or "", "none") if i.top_threat else "none",
                "detail": i.detail,
            }
            for i in e.items
        ]
    )
    st.dataframe(
        ui.text_only(frame),
        hide_index=True,
        width="stretch",
        column_config={
            "value (US$)": st.column_config.NumberColumn(format="%,.0f"),
            "risk (%)": st.column_config.ProgressColumn(
                min_value=0.0,
                max_value=100.0,
                format="%.1f%%",
                help=words.RISK_MEANING,
            ),
            "range (%)": st.column_config.TextColumn(
                help="The item's risk at the low and high ends of the brief's likelihood ranges"
            ),
        },
    )
    st.caption(words.RISK_MEANING)


def threats_that_matter(e: Explanation) -> None:
    st.subheader("The threats that matter, and where the brief says so")
    ctx = data.context()
    headings = data.section_headings(ctx, e.run.register_version)
    st.caption(f"From: {ui.plain(e.register_title)}")
    for t in e.threats[:6]:
        label = (
            f"{t.share:.0%} of the expected disruption · {ui.plain(t.title)} — "
            f"{ui.plain(words.likelihood(t.likelihood, t.likelihood_words))}"
        )
        with st.expander(label, expanded=False):
            st.markdown(
                f"**Category:** {ui.plain(words.kind(t.category))} · **bears hardest on:** "
                f"{ui.plain(words.region(t.main_region))}"
            )
            if t.likelihood == "not_assessed":
                st.caption(words.NOT_ASSESSED)
            for ev in t.evidence:
                section = headings.get((ev.brief, ev.section), ev.section)
                source = f"{ev.brief_label} · " if ev.brief_label else ""
                st.markdown(
                    f"- {ui.plain(source)}*{ui.plain(section)}*, ¶{ev.paragraph}: "
                    f"{ui.plain(ev.summary)}"
                )


def what_would_help(user: session.AppUser, client_id: str, run_id: int) -> None:
    st.subheader("What would most improve the rating")
    with ui.errors_shown():
        options = data.improvements_for(user.scope, client_id, run_id)
    if not options:
        st.info("Nothing the method can credit would move this rating noticeably.")
        return
    frame = pl.DataFrame(
        [
            {
                "item": f"{o.item_name} [{o.item_id}]",
                "change": o.action,
                "gain": round(o.gain, 1),
                "score after": round(o.score_after, 1),
                "band after": o.band_after,
                "why": o.why,
            }
            for o in options
        ]
    )
    st.dataframe(
        ui.text_only(frame),
        hide_index=True,
        width="stretch",
        column_config={"gain": st.column_config.NumberColumn(format="%+.1f")},
    )
    st.caption(
        "Each line changes one thing and holds everything else fixed, under the rules of this "
        "run. Mitigations use the rules' credits; moving or rerouting an item is an upper bound "
        "(the item no longer touched by any threat), not a plan."
    )


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
