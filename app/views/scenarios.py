"""Scenarios: every client's rating before and after a scenario ("Hormuz closed").

Account managers run them. Analysts (and admins) also write them: edit a scenario's YAML as a new
version, or save it as a draft, preview which ratings the draft moves and publish it with a note;
create one, see its versions and roll back (to a published version only), retire one or bring it
back. Every change goes through the engine (engine/publication.py, the code the CLI calls too),
which checks the text against the register and rules and records who, when and why; a refused
text changes nothing and its error is shown as plain text.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import charts, data, session, ui
from engine import publication
from engine.context import Context
from engine.errors import ResilienceError
from engine.text import clean
from scoring_rules.scenarios import TEMPLATE

FLASH = "sc_flash"


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "account_manager", "analyst", "admin")
    st.title(
        "Scenarios",
        help="What if a chokepoint closes or a threat grows? Pick a scenario to see every "
        "rating before and after; the published ratings are not touched.",
    )
    flash = st.session_state.pop(FLASH, None)
    if isinstance(flash, str):
        st.success(ui.plain(flash))
    editor = user.can("analyst", "admin")
    with ui.errors_shown():
        applicable = ctx.applicable_scenarios()
        every = {i.scenario_id: i for i in ctx.scenario_list()}
    listed = {k: i for k, i in every.items() if k in applicable}
    others = sorted(set(every) - set(listed))
    if others:
        st.caption(
            ui.plain(
                "Not shown, as they name threats the published register does not hold: "
                + ", ".join(others)
                + "."
            )
        )
    chosen: str | None = None
    if not listed:
        st.info("No scenario applies to the published register.")
    else:
        ids = sorted(listed)
        chosen = st.selectbox(
            "Scenario", ids, format_func=lambda s: clean(listed[s].title), key="sc_pick"
        )
    if chosen is not None:
        info = listed[chosen]
        sc = ctx.scenario(chosen, info.version)
        st.markdown(ui.plain(sc.description))
        st.caption(
            f"Version {info.version} of {info.n_versions}; last changed "
            f"{info.changed_at:%Y-%m-%d %H:%M} by {ui.plain(info.changed_by)}"
        )
        before_after(user, chosen)
    if not editor:
        st.caption("Analysts write and version the scenarios; this page runs them.")
        return
    st.divider()
    st.subheader("Write scenarios")
    tabs = st.tabs(["Edit this scenario", "Versions", "New scenario", "Drafts", "Retired"])
    if chosen is not None:
        with tabs[0]:
            edit_form(ctx, user, chosen, listed[chosen].version)
        with tabs[1]:
            versions(ctx, user, chosen)
    with tabs[2]:
        new_form(ctx, user)
    with tabs[3]:
        drafts(ctx, user)
    with tabs[4]:
        retired(ctx, user)


def before_after(user: session.AppUser, chosen: str) -> None:
    with st.spinner("Scoring the scenario..."), ui.errors_shown():
        rows = data.compare_scenario(chosen, user.scope)
    if not rows:
        st.info("No rated clients in your book.")
        return
    table = pl.DataFrame(
        [
            {
                "client": r.name,
                "id": r.client_id,
                "before": f"{r.before.band} {r.before.score:.1f}",
                "after": f"{r.after.band} {r.after.score:.1f}",
                "change": round(r.delta, 1),
                "band moves": "yes" if r.before.band != r.after.band else "",
            }
            for r in rows
        ]
    )
    moved = sum(1 for r in rows if r.before.band != r.after.band)
    c1, c2, c3 = st.columns(3)
    c1.metric("Clients", len(rows))
    c2.metric("Change a band", moved)
    c3.metric("Largest fall", f"{min(r.delta for r in rows):+.1f}")
    st.dataframe(
        ui.text_only(table),
        hide_index=True,
        width="stretch",
        column_config={"change": st.column_config.NumberColumn(format="%+.1f")},
    )
    # the order follows this scenario: the largest fall first (an explicit sort and a chart per
    # scenario, so the browser never keeps the order of the scenario shown before)
    ordered = sorted(rows, key=lambda r: (r.delta, r.after.score, r.name))
    st.altair_chart(
        charts.before_after_chart(
            [
                {"client": clean(r.name), "before": r.before.score, "after": r.after.score}
                for r in ordered
            ]
        ),
        width="stretch",
        key=f"sc_chart_{chosen}",
    )
    st.caption(
        "Grey: the current rating; red: under the scenario. Scenarios change threats for "
        "one run only; the published ratings are not touched."
    )


def _done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


def edit_form(ctx: Context, user: session.AppUser, chosen: str, version: int) -> None:
    st.caption(
        "The scenario as YAML: overrides change threats of the register, added_threats add "
        "threats of the scenario's own. Saving checks it and stores the next version."
    )
    with st.form("sc_edit"):
        text = st.text_area(
            "Scenario (YAML)",
            value=ctx.scenario_yaml(chosen, version),
            height=420,
            key=f"sc_yaml_{chosen}_{version}",
        )
        note = st.text_input("Note (what changed and why)", key=f"sc_note_{chosen}_{version}")
        c1, c2 = st.columns(2)
        publish = c1.form_submit_button("Save as a new version", type="primary")
        if c2.form_submit_button("Save as a draft"):
            _save_draft(ctx, user, text, note, where=f"{chosen} (edited)")
        if publish:
            try:
                stored = ctx.edit_scenario(
                    chosen, text, note=note, by=user.username, where=f"{chosen} (edited)"
                )
            except ResilienceError as exc:
                st.error(ui.plain(str(exc)))
            else:
                _done(f"Stored {stored.scenario_id} version {stored.version}; it is current.")


def versions(ctx: Context, user: session.AppUser, chosen: str) -> None:
    history = ctx.scenario_history(chosen)
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "version": v.version,
                    "current": v.current,
                    "stored": f"{v.created_at:%Y-%m-%d %H:%M}",
                    "by": v.created_by,
                    "title": v.title,
                    "status": v.status,
                    "note": v.note,
                }
                for v in history
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    with st.expander("Every change, with who and why"):
        st.dataframe(
            pl.DataFrame(
                [
                    {
                        "when": f"{e.changed_at:%Y-%m-%d %H:%M}",
                        "by": e.by_user,
                        "change": e.action,
                        "version": e.version,
                        "note": e.note,
                    }
                    for e in ctx.scenario_events(chosen)
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    targets = publication.scenario_rollback_targets(ctx, chosen)  # published ones, never drafts
    if targets:
        with st.form("sc_rollback"):
            v = st.selectbox("Make an earlier published version current", targets, key="sc_rb_v")
            note = st.text_input("Why", key="sc_rb_note")
            if st.form_submit_button("Roll back") and v is not None:
                with ui.errors_shown():
                    publication.rollback_scenario(ctx, chosen, int(v), note=note, by=user.username)
                _done(f"{chosen} version {v} is current again.")
    with st.form("sc_retire"):
        note = st.text_input("Why retire it", key="sc_retire_note")
        if st.form_submit_button("Retire this scenario"):
            with ui.errors_shown():
                ctx.retire_scenario(chosen, by=user.username, note=note)
            _done(f"{chosen} is retired; its versions and past runs are kept.")


def new_form(ctx: Context, user: session.AppUser) -> None:
    st.caption("Start from the example: give it its own id, then describe what changes.")
    with st.form("sc_new"):
        text = st.text_area("New scenario (YAML)", value=TEMPLATE, height=420, key="sc_new_yaml")
        note = st.text_input("Note (why this scenario)", key="sc_new_note")
        c1, c2 = st.columns(2)
        create = c1.form_submit_button("Create scenario", type="primary")
        if c2.form_submit_button("Save as a draft"):
            _save_draft(ctx, user, text, note, where="new scenario")
        if create:
            try:
                stored = ctx.add_scenario(text, note=note, by=user.username, where="new scenario")
            except ResilienceError as exc:
                st.error(ui.plain(str(exc)))
            else:
                _done(f"Stored scenario {stored.scenario_id} version {stored.version}.")


def _save_draft(ctx: Context, user: session.AppUser, text: str, note: str, *, where: str) -> None:
    try:
        stored = publication.save_scenario_draft(
            ctx, text, note=note, by=user.username, where=where
        )
    except ResilienceError as exc:
        st.error(ui.plain(str(exc)))
    else:
        _done(
            f"Saved draft {stored.scenario_id} version {stored.version} (not published); "
            "preview and publish it on the Drafts tab."
        )


def drafts(ctx: Context, user: session.AppUser) -> None:
    """Drafts: preview which ratings one moves, then publish it with a note."""
    found = {f"{d.scenario_id} v{d.version}": d for d in publication.scenario_drafts(ctx)}
    if not found:
        st.caption(
            "No drafts. Save one from the Edit or New scenario tab: a draft is not current, and "
            "runs nothing, until it is published."
        )
        return
    pick = st.selectbox(
        "Draft",
        list(found),
        format_func=lambda k: f"{k}: {clean(found[k].title)} (by {clean(found[k].created_by)})",
        key="sc_draft_pick",
    )
    d = found[str(pick)]
    st.caption(ui.plain(f"Saved {d.created_at:%Y-%m-%d %H:%M} by {d.created_by}: {d.note}"))
    if st.button("Preview the ratings it moves", key="sc_draft_preview"):
        with st.spinner("Scoring the draft..."), ui.errors_shown():
            pv = publication.preview_scenario(ctx, d.scenario_id, d.version, scope=user.scope)
        moved = sum(1 for r in pv.rows if r.before.band != r.after.band)
        st.caption(
            f"{moved} of {len(pv.rows)} clients change band against the scenario as published "
            "now (a new scenario: against the ratings without it). Nothing is published."
        )
        st.dataframe(
            ui.text_only(
                pl.DataFrame(
                    [
                        {
                            "client": r.name,
                            "id": r.client_id,
                            "now": f"{r.before.band} {r.before.score:.1f}",
                            "with this draft": f"{r.after.band} {r.after.score:.1f}",
                            "change": round(r.delta, 1),
                        }
                        for r in pv.rows
                    ]
                )
            ),
            hide_index=True,
            width="stretch",
            key="sc_draft_moves",
        )
    with st.form("sc_publish"):
        note = st.text_input("Note (what changed and why)", key="sc_pub_note")
        if st.form_submit_button("Publish this draft", type="primary"):
            with ui.errors_shown():
                publication.publish_scenario(
                    ctx, d.scenario_id, d.version, note=note, by=user.username
                )
            _done(f"Published {d.scenario_id} version {d.version}; it is current.")


def retired(ctx: Context, user: session.AppUser) -> None:
    gone = {i.scenario_id: i for i in ctx.scenario_list(include_retired=True) if i.retired}
    if not gone:
        st.caption("No retired scenarios.")
        return
    with st.form("sc_restore"):
        pick = st.selectbox(
            "Retired scenario",
            sorted(gone),
            format_func=lambda s: f"{gone[s].title} (v{gone[s].version})",
            key="sc_restore_pick",
        )
        if st.form_submit_button("Bring it back") and pick is not None:
            with ui.errors_shown():
                ctx.rollback_scenario(
                    pick, gone[pick].version, by=user.username, note="brought back"
                )
            _done(f"{pick} version {gone[pick].version} is current again.")


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
