"""New brief: read an intelligence brief, review the draft threats it yields, publish a register.

Each draft comes with the sentences of the brief that support it. The analyst accepts, edits or
rejects each one, previews which client ratings the new register would move, and publishes it
with a note. Reading and extraction are the engine's (scoring_rules.extract); this page only
collects decisions.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from app import data, session, ui
from engine.context import Context
from engine.errors import ResilienceError
from scoring_rules.extract import DraftThreat, IngestResult, Review, ingest, publish

STATE = "brief_review"
SUFFIXES = ("txt", "md", "html", "htm", "pdf")
MAX_BYTES = 5 * 2**20
DECISIONS = ("pending", "accept", "reject")


@dataclass
class BriefReview:
    """The analyst's work on one brief, kept in the session as one typed object."""

    filename: str
    result: IngestResult
    decisions: dict[str, str] = field(default_factory=dict)  # draft id -> accept|reject|pending
    edits: dict[str, dict[str, object]] = field(default_factory=dict)
    preview_version: int | None = None
    preview_run: int | None = None

    def review(self) -> Review:
        rv = Review.from_result(self.result)
        for draft_id, decision in self.decisions.items():
            if decision == "reject":
                rv.reject(draft_id)
            elif decision == "accept" and self.edits.get(draft_id):
                rv.edit(draft_id, **self.edits[draft_id])  # edits also accept the draft
            elif decision == "accept":
                rv.accept(draft_id)
        return rv


def read(data_bytes: bytes, filename: str) -> IngestResult:
    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="brief-") as tmp:
        path = Path(tmp) / f"brief{suffix}"
        path.write_bytes(data_bytes)
        return ingest(path)


def draft_card(draft: DraftThreat, state: BriefReview, rules_terms: list[str]) -> None:
    region = draft.main_region or "-"
    with st.expander(
        ui.plain(
            f"{draft.title} · {draft.category.replace('_', ' ')} · {region} · "
            f"{draft.likelihood.replace('_', ' ')} (“{draft.likelihood_words}”)"
        ),
        expanded=False,
    ):
        st.caption(
            f"Horizon {draft.horizon.from_months:g}–{draft.horizon.to_months:g} months"
            + (f" (“{ui.plain(draft.horizon_words)}”)" if draft.horizon_words else "")
            + f" · severity {draft.severity} · extraction confidence "
            f"{draft.extraction_confidence:.2f}"
        )
        st.markdown("**Evidence in the brief**")
        for span in draft.evidence:
            st.markdown(f"> {ui.plain(span.text)}")
            st.caption(
                f"{ui.plain(span.section)} ¶{span.paragraph} · characters {span.start}–{span.end}"
            )
        if draft.extraction_reasons:
            st.caption("Why: " + ui.plain("; ".join(draft.extraction_reasons)))
        c1, c2, c3 = st.columns([1, 1, 1])
        decision = c1.radio(
            "Decision",
            DECISIONS,
            index=DECISIONS.index(state.decisions.get(draft.id, "pending")),
            key=f"br_dec_{draft.id}",
            horizontal=True,
        )
        state.decisions[draft.id] = decision
        term = c2.selectbox(
            "Likelihood",
            rules_terms,
            index=rules_terms.index(draft.likelihood) if draft.likelihood in rules_terms else 0,
            key=f"br_lk_{draft.id}",
        )
        severity = c3.slider("Severity", 1, 5, draft.severity, key=f"br_sev_{draft.id}")
        title = st.text_input("Title (our words)", draft.title, key=f"br_title_{draft.id}")
        changes: dict[str, object] = {}
        if term != draft.likelihood:
            changes["likelihood"] = term
        if severity != draft.severity:
            changes["severity"] = severity
        if title.strip() and title.strip() != draft.title:
            changes["title"] = title.strip()
        state.edits[draft.id] = changes


def preview_and_publish(ctx: Context, user: session.AppUser, state: BriefReview) -> None:
    accepted = [d for d, v in state.decisions.items() if v == "accept"]
    st.subheader("Publish")
    st.markdown(
        f"{len(accepted)} accepted, "
        f"{sum(v == 'reject' for v in state.decisions.values())} rejected, "
        f"{sum(v == 'pending' for v in state.decisions.values())} pending. Accepted drafts join "
        "the current register (a draft with the id of an existing threat replaces it)."
    )
    if st.button(
        "Preview the ratings under this register", key="br_preview", disabled=not accepted
    ):
        with st.status("Storing a draft register version and scoring the book...") as status:
            try:
                register = publish(state.review(), ctx.register())
                version = ctx.publish_register(
                    register, f"draft from {state.filename}", publish=False
                )
                run = ctx.run(register_version=version)
            except ResilienceError as exc:
                status.update(label="The drafts could not be scored", state="error")
                st.error(ui.plain(str(exc)))
                return
            state.preview_version, state.preview_run = version, run.run_id
            status.update(label=f"Scored as draft register version {version}", state="complete")
    if state.preview_run is not None:
        ui.impact(data.impact_for(user.scope, data.current_run().run_id, state.preview_run))
    with st.form("br_publish"):
        note = st.text_input("Note (which brief, what changed)", key="br_note")
        if st.form_submit_button(
            "Publish as the current register", type="primary", disabled=not accepted
        ):
            if not note.strip():
                st.error("Write a note saying which brief this is and what changed.")
                return
            with ui.errors_shown():
                register = publish(state.review(), ctx.register())
                version = ctx.publish_register(register, note.strip(), publish=True)
            st.session_state.pop(STATE, None)
            st.session_state["brief_flash"] = f"Published register version {version}."
            st.rerun()


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "analyst", "admin")
    st.title("New brief")
    st.caption(
        "Read a brief (text, Markdown, HTML or PDF); each judgement in it becomes a draft threat "
        "with the sentences that support it. Review them, preview the effect, publish."
    )
    flash = st.session_state.pop("brief_flash", None)
    if flash:
        st.success(flash)
    upload = st.file_uploader("Brief", type=list(SUFFIXES), key="br_file")
    if upload is not None and st.button("Read the brief", key="br_read", type="primary"):
        raw = upload.getvalue()
        if len(raw) > MAX_BYTES:
            st.error(f"The brief is {len(raw) / 2**20:.1f} MB; the limit is 5 MB.")
        else:
            with st.spinner("Reading the brief..."), ui.errors_shown():
                result = read(raw, upload.name)
                st.session_state[STATE] = BriefReview(filename=upload.name, result=result)
    state: BriefReview | None = st.session_state.get(STATE)
    if state is None:
        return
    doc = state.result.document
    st.markdown(
        f"**{ui.plain(doc.title or state.filename)}** · {len(doc.sections)} sections · "
        f"{len(state.result.drafts)} draft threats"
    )
    if not state.result.drafts:
        st.info("No judgement was found in this brief.")
        return
    terms = [*ctx.rules().likelihood.terms, "not_assessed"]
    for draft in state.result.drafts:
        draft_card(draft, state, terms)
    preview_and_publish(ctx, user, state)


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
