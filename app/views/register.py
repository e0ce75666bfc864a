"""Threat register: browse the threats with their evidence, edit one, save a draft, publish,
history and roll back."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import data, session, timeline, ui
from app import words as wording
from app.drafts import RegisterDraft, doc_hash
from engine import publication
from engine.context import Context
from engine.errors import ResilienceError, RuleError, StaleDraft
from engine.text import clean
from scoring_rules.threats import NOT_ASSESSED, Register, Threat

DRAFT_KEY = "register_draft"


def _draft(ctx: Context) -> RegisterDraft:
    draft = st.session_state.get(DRAFT_KEY)
    if not isinstance(draft, RegisterDraft):
        version = ctx.register_version()
        draft = RegisterDraft(base_version=version, register=ctx.register(version))
        st.session_state[DRAFT_KEY] = draft
    return draft


STALE_KEY = "register_stale_refusal"


def _reset() -> None:
    st.session_state.pop(DRAFT_KEY, None)


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "analyst", "admin")
    st.title(
        "Threat register",
        help="The published threats, each with its evidence in the brief. Edit one, preview "
        "which ratings move, publish with a note, or roll back to an earlier version.",
    )
    with ui.errors_shown():
        current = ctx.register_version()
        draft = _draft(ctx)
    reg = draft.register
    briefs = reg.all_briefs()
    st.caption(
        ui.plain(
            f"{reg.title} · as of {reg.as_of} · "
            + "; ".join(f"{b.title} ({b.label}, {b.source})" for b in briefs)
        )
        + f" · published version {current}; the draft starts from version {draft.base_version}"
        + (f" and changes {len(draft.changed)} threat(s)" if draft.changed else "")
        + (f" · {len(reg.retired)} threat(s) retired or superseded" if reg.retired else "")
    )
    flash = st.session_state.pop("register_flash", None)
    if isinstance(flash, str):
        st.success(flash)
    if draft.base_version != current:
        ui.stale_draft_notice(
            "register", current, refused_key=STALE_KEY, button_key="rg_restart", reset=_reset
        )

    headings = {(b.id, s.id): s.heading for b in briefs for s in b.outline}
    c1, c2 = st.columns([1, 2])
    cats = c1.multiselect(
        "Category",
        sorted({t.category for t in reg.threats}),
        key="rg_cat",
        format_func=wording.kind,
    )
    text = c2.text_input("Search titles and evidence", key="rg_text").strip().lower()
    shown = [
        t
        for t in reg.threats
        if (not cats or t.category in cats)
        and (
            not text
            or text in t.title.lower()
            or any(text in e.summary.lower() for e in t.evidence)
        )
    ]
    st.dataframe(
        ui.text_only_rows(
            [
                {
                    "title": t.title,
                    "category": wording.kind(t.category),
                    "likelihood": wording.kind(t.likelihood),
                    "brief's words": t.likelihood_words,
                    "severity": t.severity,
                    "horizon (months)": f"{t.horizon.from_months:g}-{t.horizon.to_months:g}",
                    "regions": len(t.regions),
                    "confidence": t.confidence,
                    "brief": reg.brief_of(t).label,
                    "edited": "yes" if t.id in draft.changed else "",
                }
                for t in shown
            ]
        )
        if shown
        else pl.DataFrame({"title": []}),
        hide_index=True,
        width="stretch",
    )
    if not shown:
        return
    ids = [t.id for t in shown]
    chosen = st.selectbox(
        "Threat", ids, key="rg_pick", format_func=lambda i: clean(reg.threat(i).title)
    )
    if chosen is None:
        return
    threat = reg.threat(chosen)
    evidence(threat, headings, reg)
    edit_form(ctx, draft, threat)
    if draft.changed:
        save_preview_publish(ctx, user, draft)
    history(ctx, user, current)


def evidence(t: Threat, headings: dict[tuple[str, str], str], reg: Register) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{ui.plain(t.title)}** · {ui.plain(t.category.replace('_', ' '))} · "
            f"{ui.plain(t.likelihood.replace('_', ' '))} (brief: “{ui.plain(t.likelihood_words)}”)"
            f" · severity {t.severity} · {ui.plain(t.confidence)} confidence"
        )
        brief = reg.brief_of(t)
        st.markdown(
            f"**Evidence in the brief** “{ui.plain(brief.title)}” ({ui.plain(brief.label)})"
        )
        for ev in t.evidence:
            heading = headings.get((brief.id, ev.section), ev.section)
            st.markdown(f"- *{ui.plain(heading)}*, ¶{ev.paragraph}: {ui.plain(ev.summary)}")
        st.caption(
            "Where, with the threat's intensity there (0 to 100%): "
            + ui.plain(
                ", ".join(f"{wording.region(r.region)} {r.intensity:.0%}" for r in t.regions)
            )
        )


def edit_form(ctx: Context, draft: RegisterDraft, t: Threat) -> None:
    terms = [*ctx.rules().likelihood.terms, NOT_ASSESSED]
    with st.form(f"rg_edit_{t.id}"):
        st.markdown("**Edit this threat (in the draft)**")
        c1, c2, c3 = st.columns(3)
        likelihood = c1.selectbox(
            "Likelihood term",
            terms,
            index=terms.index(t.likelihood) if t.likelihood in terms else 0,
            key=f"rg_lk_{t.id}",
        )
        words = c2.text_input("The brief's words", value=t.likelihood_words, key=f"rg_words_{t.id}")
        severity = c3.slider(
            "Severity (impact if it happens)", 1, 5, value=t.severity, key=f"rg_sev_{t.id}"
        )
        c4, c5 = st.columns(2)
        h_from = c4.number_input(
            "Horizon from (months)",
            min_value=0.0,
            value=float(t.horizon.from_months),
            step=1.0,
            key=f"rg_hf_{t.id}",
        )
        h_to = c5.number_input(
            "Horizon to (months)",
            min_value=0.0,
            value=float(t.horizon.to_months),
            step=1.0,
            key=f"rg_ht_{t.id}",
        )
        regions = st.data_editor(
            pl.DataFrame(
                [{"place": wording.region(r.region), "intensity": r.intensity} for r in t.regions]
            ).to_pandas(),
            key=f"rg_regions_{t.id}",
            disabled=["place"],
            hide_index=True,
        )
        summaries = []
        for i, ev in enumerate(t.evidence):
            summaries.append(
                st.text_area(
                    f"Our summary of ¶{ev.paragraph} ({ui.plain(ev.section)})",
                    value=ev.summary,
                    key=f"rg_sum_{t.id}_{i}",
                    height=68,
                )
            )
        if st.form_submit_button("Apply to the draft"):
            try:
                draft.update_threat(
                    t.id,
                    likelihood=likelihood,
                    likelihood_words=words.strip(),
                    severity=int(severity),
                    horizon={"from_months": float(h_from), "to_months": float(h_to)},
                    regions=[
                        {"region": rw.region, "intensity": float(r["intensity"])}
                        for rw, r in zip(t.regions, regions.to_dict("records"), strict=True)
                    ],
                    evidence=[
                        ev.model_dump() | {"summary": s.strip()}
                        for ev, s in zip(t.evidence, summaries, strict=True)
                    ],
                )
            except RuleError as exc:
                titles = [x.title for x in draft.register.threats]
                st.error(ui.plain(wording.rule_error(str(exc), titles)))
            else:
                st.rerun()


def _title(draft: RegisterDraft, threat_id: str) -> str:
    """A threat's title in the draft (its id only if the draft no longer has it)."""
    found = next((t for t in draft.register.threats if t.id == threat_id), None)
    return found.title if found is not None else threat_id


def save_preview_publish(ctx: Context, user: session.AppUser, draft: RegisterDraft) -> None:
    st.subheader("Draft")
    st.markdown(
        "Edited: " + ui.plain(", ".join(sorted(_title(draft, tid) for tid in draft.changed)))
    )
    key = doc_hash(draft.doc())
    c1, c2 = st.columns(2)
    if c1.button("Preview the ratings under this draft", key="rg_preview"):
        with st.status("Scoring the book with the draft...") as status:
            try:
                pv = ctx.preview_document("register", draft.register, scope=user.scope)
            except ResilienceError as exc:
                status.update(label="The draft could not be scored", state="error")
                st.error(ui.plain(str(exc)))
                return
            draft.preview_hash, draft.preview_version, draft.preview_run = (
                key,
                pv.version,
                pv.after_run,
            )
            status.update(label="Scored with the draft (nothing published)", state="complete")
    if c2.button("Discard the draft", key="rg_discard"):
        _reset()
        st.rerun()
    if draft.preview_run is not None and draft.preview_hash == key:
        ui.impact(data.impact_for(user.scope, data.current_run().run_id, draft.preview_run))
    with st.form("rg_save"):
        note = st.text_input("Note (what changed and why)", key="rg_note")
        c1, c2 = st.columns(2)
        save = c1.form_submit_button("Save as a draft version")
        publish = c2.form_submit_button("Publish", type="primary")
        if save or publish:
            if not note.strip():
                st.error("Write a note saying what changed and why.")
                return
            told = ""
            with ui.errors_shown():
                if publish:  # the publish tells the followers (engine/publication.py)
                    try:
                        done = publication.publish(
                            ctx,
                            "register",
                            draft.register,
                            note=note.strip(),
                            by=user.username,
                            base=draft.base_version,
                        )
                    except StaleDraft as exc:  # shown above the draft, with a way to restart
                        st.session_state[STALE_KEY] = str(exc)
                        st.rerun()
                    version = done.version
                    told = timeline.alerted_words(done.alerts) if done.alerts else ""
                else:
                    version = ctx.publish_register(
                        draft.register, note.strip(), publish=False, by=user.username
                    )
            _reset()
            st.session_state["register_flash"] = (
                f"Published register version {version}.{told}"
                if publish
                else f"Saved draft register version {version} (not published)."
            )
            st.rerun()


def history(ctx: Context, user: session.AppUser, current: int) -> None:
    ui.version_history(
        ctx, user, "register", current, key="rg", flash_key="register_flash", reset=_reset
    )


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
