"""Rules: edit the scoring rules in place, see which ratings a draft would move, publish."""

from __future__ import annotations

import pandas as pd
import polars as pl
import streamlit as st

from app import data, session, timeline, ui
from app.drafts import (
    TABLES,
    RulesDraft,
    bands_frame,
    changes,
    doc_hash,
    likelihood_frame,
    settings_frame,
    table_frame,
    validate,
)
from engine import publication
from engine.context import Context
from engine.errors import ResilienceError, RuleError, StaleDraft

DRAFT_KEY = "rules_draft"


def _draft(ctx: Context) -> RulesDraft:
    draft = st.session_state.get(DRAFT_KEY)
    if not isinstance(draft, RulesDraft):
        version = ctx.rules_version()
        draft = RulesDraft.start(version, ctx.rules(version))
        st.session_state[DRAFT_KEY] = draft
    return draft


STALE_KEY = "rules_stale_refusal"


def _reset() -> None:
    st.session_state.pop(DRAFT_KEY, None)


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "analyst", "admin")
    st.title(
        "Scoring rules",
        help="Every number of the method. Change a weight, preview which ratings move, "
        "publish with a note, or roll back.",
    )
    with ui.errors_shown():
        current = ctx.rules_version()
        draft = _draft(ctx)
    base = ctx.rules(draft.base_version)
    st.caption(
        f"Published: version {current} ({ctx.rules(current).version}). The draft starts "
        f"from version {draft.base_version}."
    )
    if draft.base_version != current:
        ui.stale_draft_notice(
            "rules", current, refused_key=STALE_KEY, button_key="rules_restart", reset=_reset
        )

    edits: dict[str, pd.DataFrame] = {}
    gen = draft.generation
    tabs = st.tabs([t[1].split(" (")[0] for t in TABLES] + ["Likelihood", "Bands", "Settings"])
    for tab, (path, title, rows_key, cols_key) in zip(tabs, TABLES, strict=False):
        with tab:
            st.caption(f"{title}; each factor 0..1")
            edits[path] = st.data_editor(
                table_frame(draft.doc, path, rows_key, cols_key),
                key=f"rules_{path}_{gen}",
                width="stretch",
            )
    with tabs[len(TABLES)]:
        st.caption("Probability range of each yardstick term (0..1)")
        edits["likelihood"] = st.data_editor(
            likelihood_frame(draft.doc), key=f"rules_likelihood_{gen}"
        )
    with tabs[len(TABLES) + 1]:
        st.caption("A band starts at its minimum score; the last band starts at 0")
        edits["bands"] = st.data_editor(bands_frame(draft.doc), key=f"rules_bands_{gen}")
    with tabs[len(TABLES) + 2]:
        edits["settings"] = st.data_editor(settings_frame(draft.doc), key=f"rules_settings_{gen}")

    try:
        doc = draft.candidate(edits)
    except RuleError as exc:
        st.error(ui.plain(str(exc)))
        return
    quick_edit(draft, doc)

    try:
        rules = validate(doc)
    except RuleError as exc:
        st.error(ui.plain(str(exc)))
        st.stop()
    diff = changes(base, rules)
    if not diff:
        st.info("The draft is the same as the rules it started from; edit a table or a weight.")
    else:
        st.success(f"The draft is valid: {len(diff)} change(s).")
        st.dataframe(
            pl.DataFrame(diff, schema=["key", "before", "after"], orient="row"),
            hide_index=True,
            width="stretch",
        )
        preview_and_publish(ctx, user, draft, rules, doc)
    history(ctx, user, current)


def quick_edit(draft: RulesDraft, doc: dict[str, object]) -> None:
    with st.expander("Change one weight", expanded=False):
        labels = {path: title for path, title, _, _ in TABLES}
        path = st.selectbox("Table", list(labels), format_func=lambda p: labels[p], key="rq_table")
        spec = next(t for t in TABLES if t[0] == path)
        rows, cols = doc[spec[2]], doc[spec[3]]
        assert isinstance(rows, list) and isinstance(cols, list)
        with st.form("rules_quick"):
            c1, c2, c3 = st.columns(3)
            row = c1.selectbox("Row", rows, key="rq_row")
            col = c2.selectbox("Column", cols, key="rq_col")
            value = c3.number_input(
                "New value", min_value=0.0, max_value=1.0, step=0.05, value=0.5, key="rq_value"
            )
            if st.form_submit_button("Apply to the draft"):
                if row not in rows or col not in cols:
                    st.error("Pick a row and a column of the chosen table.")
                else:
                    draft.set_cell(dict(doc), path, str(row), str(col), float(value))
                    st.rerun()


def preview_and_publish(
    ctx: Context, user: session.AppUser, draft: RulesDraft, rules: object, doc: dict[str, object]
) -> None:
    from scoring_rules.rules import Rules

    assert isinstance(rules, Rules)
    key = doc_hash(doc)
    st.subheader("What the draft would change")
    if st.button("Preview the ratings under this draft", key="rules_preview", type="primary"):
        with st.status("Scoring the book with the draft...", expanded=False) as status:
            try:
                pv = ctx.preview_document("rules", rules, scope=user.scope)
            except ResilienceError as exc:
                status.update(label="The draft could not be scored", state="error")
                st.error(ui.plain(str(exc)))
                return
            draft.preview_hash, draft.preview_version, draft.preview_run = (
                key,
                pv.version,
                pv.after_run,
            )
            status.update(
                label=f"Scored with the draft in run {pv.after_run} (nothing published)",
                state="complete",
            )
    if draft.preview_run is None or draft.preview_hash != key:
        st.caption(
            "Nothing is published until you say so; the preview scores the book with the "
            "draft and shows which ratings move."
        )
        return
    current = data.current_run()
    ui.impact(data.impact_for(user.scope, current.run_id, draft.preview_run))
    with st.form("rules_publish"):
        note = st.text_input("Publication note (what changed and why)", key="rules_note")
        if st.form_submit_button("Publish these rules"):
            if not note.strip():
                st.error("Write a note saying what changed and why.")
            else:
                with ui.errors_shown():  # the publish tells the followers
                    try:
                        done = publication.publish(
                            ctx,
                            "rules",
                            rules,
                            note=note.strip(),
                            by=user.username,
                            base=draft.base_version,
                        )
                    except StaleDraft as exc:  # shown above the draft, with a way to restart
                        st.session_state[STALE_KEY] = str(exc)
                        st.rerun()
                    version, told = done.version, done.alerts
                    assert told is not None
                _reset()
                st.session_state["rules_flash"] = (
                    f"Published rules version {version}; ratings re-scored in run "
                    f"{told.publication.run_id}.{timeline.alerted_words(told)}"
                )
                st.rerun()


def history(ctx: Context, user: session.AppUser, current: int) -> None:
    flash = st.session_state.pop("rules_flash", None)
    if isinstance(flash, str):
        st.success(flash)
    ui.version_history(
        ctx, user, "rules", current, key="rules", flash_key="rules_flash", reset=_reset
    )


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
