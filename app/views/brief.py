"""New brief: read an intelligence brief, review the draft threats it yields, publish a register.

The brief is uploaded or pasted. Each draft comes with the sentences of the brief that support
it; the analyst accepts, edits (any field) or rejects each one, adds a threat the extractor
missed, says which older threats the brief supersedes or retires, previews which client ratings
the new register would move (flagging clients none of whose places the brief names), and
publishes it with a note. A brief the register does not hold yet joins it as a new brief with its
own date and publisher. Reading, extraction and the register's rules are the engine's
(scoring_rules.extract, scoring_rules.briefs); this page only collects decisions.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from app import data, session, timeline, ui
from app import words as wording
from engine import publication
from engine.context import Context
from engine.errors import ResilienceError
from scoring_rules.extract import DraftThreat, ExtractError, IngestResult, Review, ingest, publish
from scoring_rules.extract.drafts import EvidenceSpan
from scoring_rules.extract.review import check_draft
from scoring_rules.threats import Brief, Register, brief_id_for

STATE = "brief_review"
SUFFIXES = ("txt", "md", "html", "htm", "pdf")
MAX_BYTES = 5 * 2**20
DECISIONS = ("pending", "accept", "reject")
CONFIDENCE = ("low", "moderate", "high")


@dataclass
class BriefReview:
    """The analyst's work on one brief, kept in the session as one typed object."""

    filename: str
    result: IngestResult
    decisions: dict[str, str] = field(default_factory=dict)  # draft id -> accept|reject|pending
    edits: dict[str, dict[str, object]] = field(default_factory=dict)
    added: list[DraftThreat] = field(default_factory=list)  # threats the extractor missed
    supersede: dict[str, list[str]] = field(default_factory=dict)  # draft id -> older ids
    retire: list[str] = field(default_factory=list)
    brief_title: str = ""
    publisher: str = ""
    brief_date: dt.date | None = None
    brief_id: str = ""
    preview_version: int | None = None
    preview_run: int | None = None
    preview_before: int | None = None
    # what was read, so the brief can be read again when its date changes
    source_bytes: bytes | None = None
    source_text: str | None = None
    read_date: dt.date | None = None

    def drafts(self) -> list[DraftThreat]:
        return [*self.result.drafts, *self.added]

    def review(self) -> Review:
        doc = self.result.document
        rv = Review(self.drafts(), doc.outline(), self.filename, self.brief_title or doc.title)
        for draft_id, decision in self.decisions.items():
            if decision == "reject":
                rv.reject(draft_id)
            elif decision == "accept" and self.edits.get(draft_id):
                rv.edit(draft_id, **self.edits[draft_id])  # edits also accept the draft
            elif decision == "accept":
                rv.accept(draft_id)
        return rv

    def reread(self, date: dt.date) -> bool:
        """Read the brief again with ``date`` as its date ("by year-end" and dated events count
        from it). Decisions and edits stay on the drafts that are read again; a draft the new
        reading does not give is dropped with them. False when the brief's text was not kept."""
        if self.source_bytes is not None:
            result = read(self.source_bytes, self.filename, date=date)
        elif self.source_text is not None:
            result = read_pasted(self.source_text, date=date)
        else:
            return False
        ids = {d.id for d in result.drafts} | {d.id for d in self.added}
        self.result = result
        self.read_date = date
        self.decisions = {k: v for k, v in self.decisions.items() if k in ids}
        self.edits = {k: v for k, v in self.edits.items() if k in ids}
        self.supersede = {k: v for k, v in self.supersede.items() if k in ids}
        self.preview_version = self.preview_run = self.preview_before = None
        return True

    def accepted_ids(self) -> list[str]:
        return [d for d, v in self.decisions.items() if v == "accept"]

    def brief(self) -> Brief:
        doc = self.result.document
        return Brief(
            id=self.brief_id or brief_id_for(self.filename),
            title=self.brief_title or doc.title or self.filename,
            publisher=self.publisher,
            date=self.brief_date or dt.date.today(),
            source=self.filename,
            outline=doc.outline(),
        )

    def is_new(self, register: Register) -> bool:
        """Whether the register holds no brief of this id or file name yet."""
        held = {b.id for b in register.all_briefs()} | {b.source for b in register.all_briefs()}
        return not ({self.brief().id, self.filename} & held)

    def build(self, register: Register) -> Register:
        """The register this review would publish."""
        rv = self.review()
        if self.is_new(register):
            wanted = {k: v for k, v in self.supersede.items() if k in self.accepted_ids() and v}
            return publish(rv, register, brief=self.brief(), supersede=wanted, retire=self.retire)
        if self.retire or any(self.supersede.values()):
            raise ExtractError(
                "this brief is already in the register: only a new brief can supersede or "
                "retire older threats"
            )
        return publish(rv, register)


def read(data_bytes: bytes, filename: str, date: dt.date | None = None) -> IngestResult:
    """An uploaded brief; ``date`` is its own date, from which calendar time frames count."""
    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="brief-") as tmp:
        path = Path(tmp) / f"brief{suffix}"
        path.write_bytes(data_bytes)
        try:
            return ingest(path, date=date)
        except ResilienceError as exc:  # it names the server's temporary file: name the upload
            shown = Path(filename).name or "the file"
            text = str(exc).replace(str(path), shown).replace(tmp, "")
            raise type(exc)(text) from exc


def read_pasted(text: str, date: dt.date | None = None) -> IngestResult:
    """A pasted brief, read as Markdown (plain text reads the same way)."""
    if not text.strip():
        raise ExtractError("paste the brief's text first")
    return ingest(text, fmt="markdown", date=date)


def parse_regions(text: str) -> dict[str, float]:
    """'sea.red_sea: 1, YEM: 0.6' -> {'sea.red_sea': 1.0, 'YEM': 0.6} (no number means 1)."""
    out: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        region, sep, weight = part.partition(":")
        try:
            out[region.strip()] = float(weight) if sep else 1.0
        except ValueError as exc:
            raise ExtractError(
                f"region {part!r}: write REGION or REGION: INTENSITY (0 to 1), comma-separated"
            ) from exc
    if not out:
        raise ExtractError("name at least one region (an ISO country, sea.*, hotspot.* or world)")
    return out


def regions_text(draft: DraftThreat) -> str:
    return ", ".join(f"{r.region}: {r.intensity:g}" for r in draft.regions)


def _edits(draft: DraftThreat, key: str, ctx: Context) -> dict[str, Any]:
    """Every field of the draft as an input; returns the fields the analyst changed."""
    rules = ctx.rules()
    terms = [*rules.likelihood.terms, "not_assessed"]
    cats = list(rules.categories)
    c1, c2, c3 = st.columns(3)
    category = c1.selectbox(
        "Category",
        cats,
        index=cats.index(draft.category) if draft.category in cats else 0,
        key=f"br_cat_{key}",
    )
    term = c2.selectbox(
        "Likelihood",
        terms,
        index=terms.index(draft.likelihood) if draft.likelihood in terms else 0,
        key=f"br_lk_{key}",
    )
    words = c3.text_input("The brief's words", draft.likelihood_words, key=f"br_words_{key}")
    c1, c2, c3, c4 = st.columns(4)
    severity = c1.slider("Severity", 1, 5, draft.severity, key=f"br_sev_{key}")
    h_from = c2.number_input(
        "From month", 0.0, 120.0, float(draft.horizon.from_months), 1.0, key=f"br_hf_{key}"
    )
    h_to = c3.number_input(
        "To month", 0.05, 240.0, float(draft.horizon.to_months), 1.0, key=f"br_ht_{key}"
    )
    confidence = c4.selectbox(
        "Confidence", CONFIDENCE, index=CONFIDENCE.index(draft.confidence), key=f"br_cf_{key}"
    )
    title = st.text_input("Title (our words)", draft.title, key=f"br_title_{key}")
    regions = st.text_input(
        "Regions (REGION: intensity, comma-separated)", regions_text(draft), key=f"br_rg_{key}"
    )
    c1, c2 = st.columns(2)
    affiliations = c1.multiselect(
        "Targets: affiliations",
        list(rules.affiliations),
        default=[a for a in draft.targets.affiliations if a in rules.affiliations],
        key=f"br_aff_{key}",
    )
    sectors = c2.multiselect(
        "Targets: sectors",
        list(rules.sectors),
        default=[s for s in draft.targets.sectors if s in rules.sectors],
        key=f"br_sec_{key}",
    )
    changes: dict[str, Any] = {}
    if category != draft.category:
        changes["category"] = category
    if term != draft.likelihood:
        changes["likelihood"] = term
    if words.strip() and words.strip() != draft.likelihood_words:
        changes["likelihood_words"] = words.strip()
    if severity != draft.severity:
        changes["severity"] = severity
    if (h_from, h_to) != (draft.horizon.from_months, draft.horizon.to_months):
        changes["horizon"] = (h_from, h_to)
    if confidence != draft.confidence:
        changes["confidence"] = confidence
    if title.strip() and title.strip() != draft.title:
        changes["title"] = title.strip()
    if regions.strip() != regions_text(draft):
        try:
            changes["regions"] = parse_regions(regions)
        except ExtractError as exc:
            st.error(str(exc))
    targets = {"affiliations": affiliations, "sectors": sectors}
    if (affiliations, sectors) != (draft.targets.affiliations, draft.targets.sectors):
        changes["targets"] = {**draft.targets.model_dump(), **targets}
    return changes


def draft_card(draft: DraftThreat, state: BriefReview, ctx: Context, older: list[str]) -> None:
    region = draft.main_region or "-"
    added = draft in state.added
    with st.expander(
        ui.plain(
            f"{draft.title} · {draft.category.replace('_', ' ')} · {region} · "
            f"{draft.likelihood.replace('_', ' ')} (“{draft.likelihood_words}”)"
            + (" · added by you" if added else "")
        ),
        expanded=False,
    ):
        st.caption(
            f"Horizon {draft.horizon.from_months:g}–{draft.horizon.to_months:g} months"
            + (f" (“{ui.plain(draft.horizon_words)}”)" if draft.horizon_words else "")
            + f" · severity {draft.severity} · extraction confidence "
            f"{draft.extraction_confidence:.2f}"
        )
        world_note = st.container()
        st.markdown("**Evidence in the brief**")
        for span in draft.evidence:
            st.markdown(f"> {ui.plain(span.text)}")
            st.caption(
                f"{ui.plain(span.section)} ¶{span.paragraph} · characters {span.start}–{span.end}"
            )
        if draft.extraction_reasons:
            st.caption("Why: " + ui.plain("; ".join(draft.extraction_reasons)))
        decision = st.radio(
            "Decision",
            DECISIONS,
            index=DECISIONS.index(state.decisions.get(draft.id, "pending")),
            key=f"br_dec_{draft.id}",
            horizontal=True,
        )
        state.decisions[draft.id] = decision
        state.edits[draft.id] = _edits(draft, draft.id, ctx)
        edited_regions = state.edits[draft.id].get("regions")
        regions = (
            list(edited_regions)
            if isinstance(edited_regions, dict)
            else [r.region for r in draft.regions]
        )
        if "world" in regions:
            said = draft.world_evidence
            world_note.warning(
                "This draft applies to the whole world, so it reaches every client. "
                + (
                    "The sentence that justifies it: “" + ui.plain(said.text) + "”"
                    if said is not None
                    else "No sentence of the brief says the threat is worldwide (a global "
                    "category, such as an oil-market shock, is worldwide by the vocabulary's "
                    "scope); its main sentence: “"
                    + ui.plain(draft.evidence[0].text)
                    + "”. Check the places before accepting it."
                )
            )
        state.supersede[draft.id] = st.multiselect(
            "Supersedes (older threats this judgement replaces)",
            older,
            default=[o for o in state.supersede.get(draft.id, []) if o in older],
            key=f"br_sup_{draft.id}",
        )


def _slug(text: str) -> str:
    return brief_id_for(text.replace(".", " "))[:60].strip("-") or "threat"


def add_missed(state: BriefReview, ctx: Context) -> None:
    """A threat the extractor missed, with the sentence of the brief that carries it."""
    doc = state.result.document
    outline = doc.outline()
    rules = ctx.rules()
    with st.expander("Add a threat the extractor missed"), st.form("br_add"):
        title = st.text_input("Title (our words)", key="br_add_title")
        c1, c2, c3 = st.columns(3)
        category = c1.selectbox("Category", list(rules.categories), key="br_add_cat")
        terms = [*rules.likelihood.terms, "not_assessed"]
        term = c2.selectbox("Likelihood", terms, key="br_add_lk")
        words = c3.text_input("The brief's words", key="br_add_words")
        regions = st.text_input("Regions (REGION: intensity, comma-separated)", key="br_add_rg")
        c1, c2, c3 = st.columns(3)
        severity = c1.slider("Severity", 1, 5, 3, key="br_add_sev")
        h_from = c2.number_input("From month", 0.0, 120.0, 0.0, 1.0, key="br_add_hf")
        h_to = c3.number_input("To month", 0.05, 240.0, 6.0, 1.0, key="br_add_ht")
        c1, c2 = st.columns(2)
        section = c1.selectbox("Section", [s.id for s in outline], key="br_add_sec")
        paragraph = c2.number_input("Paragraph", 1, 500, 1, 1, key="br_add_par")
        sentence = st.text_area("The sentence, as it stands in the brief", key="br_add_quote")
        summary = st.text_input("What it says, in our words", key="br_add_sum")
        if not st.form_submit_button("Add the threat"):
            return
        try:
            quote = " ".join(sentence.split())
            start = doc.text.find(quote) if quote else -1
            if start < 0:
                raise ExtractError(
                    "the sentence is not in the brief: paste it exactly as it stands"
                )
            sec = next(s for s in outline if s.id == section)
            if paragraph > sec.paragraphs:
                raise ExtractError(
                    f"section {section!r} has {sec.paragraphs} paragraphs, not {paragraph}"
                )
            base = _slug(title or category)
            taken = {d.id for d in state.drafts()}
            new_id = base
            n = 2
            while new_id in taken:
                new_id, n = f"{base}-{n}", n + 1
            draft = DraftThreat(
                id=new_id,
                category=category,
                title=title.strip(),
                regions=[{"region": k, "intensity": v} for k, v in parse_regions(regions).items()],
                likelihood=term,
                likelihood_words=words.strip() or "not assessed in the brief",
                horizon={"from_months": h_from, "to_months": h_to},
                severity=severity,
                evidence=[
                    EvidenceSpan(
                        section=section,
                        paragraph=int(paragraph),
                        start=start,
                        end=start + len(quote),
                        text=quote,
                        summary=summary.strip(),
                    )
                ],
                extraction_confidence=1.0,
                extraction_reasons=["added by the analyst"],
            )
            check_draft(draft)
        except (ResilienceError, ValueError) as exc:
            st.error(str(exc))
            return
        state.added.append(draft)
        state.decisions[draft.id] = "accept"
        st.success(f"Added {draft.id}; it is accepted and shown with the drafts above.")


def about_the_brief(state: BriefReview, register: Register) -> None:
    doc = state.result.document
    st.subheader("The brief")
    c1, c2 = st.columns(2)
    state.brief_title = c1.text_input("Title", state.brief_title or doc.title, key="br_b_title")
    state.publisher = c2.text_input("Publisher", state.publisher, key="br_b_pub")
    c1, c2 = st.columns(2)
    chosen = c1.date_input(
        "Date of the brief (horizons count from it)",
        state.brief_date or state.read_date or dt.date.today(),
        key="br_b_date",
    )
    state.brief_date = chosen if isinstance(chosen, dt.date) else state.brief_date
    if state.brief_date is not None and state.brief_date != state.read_date:
        with st.spinner("Reading the brief again from its new date..."), ui.errors_shown():
            if state.reread(state.brief_date):
                st.info(
                    f"Read again as of {state.brief_date:%d %B %Y}: time frames such as "
                    '"by year-end" or "until the election" count from this date.'
                )
    state.brief_id = c2.text_input(
        "Brief id", state.brief_id or brief_id_for(state.filename), key="br_b_id"
    )
    if state.is_new(register):
        st.caption(
            f"A new brief: it joins the {len(register.all_briefs())} the register holds. Its "
            "drafts may supersede or retire older threats."
        )
    else:
        st.caption("The register holds this brief already: accepted drafts update its threats.")


def preview_and_publish(
    ctx: Context, user: session.AppUser, state: BriefReview, register: Register
) -> None:
    accepted = state.accepted_ids()
    st.subheader("Publish")
    if state.is_new(register):
        state.retire = st.multiselect(
            "Retire (older threats this brief withdraws, with no replacement)",
            [t.id for t in register.threats],
            default=[r for r in state.retire if r in {t.id for t in register.threats}],
            key="br_retire",
        )
    st.markdown(
        f"{len(accepted)} accepted, "
        f"{sum(v == 'reject' for v in state.decisions.values())} rejected, "
        f"{sum(v == 'pending' for v in state.decisions.values())} pending; "
        f"{sum(len(v) for k, v in state.supersede.items() if k in accepted)} superseded, "
        f"{len(state.retire)} retired."
    )
    if st.button(
        "Preview the ratings under this register", key="br_preview", disabled=not accepted
    ):
        with st.status("Scoring the book with the drafts...") as status:
            try:
                pv = ctx.preview_document("register", state.build(register), scope=user.scope)
            except ResilienceError as exc:
                status.update(label="The drafts could not be scored", state="error")
                st.error(ui.plain(str(exc)))
                return
            state.preview_version, state.preview_run = pv.version, pv.after_run
            state.preview_before = pv.before_run
            status.update(label="Scored with the drafts (nothing published)", state="complete")
    if state.preview_run is not None and state.preview_before is not None:
        ui.impact(data.impact_for(user.scope, state.preview_before, state.preview_run))
        assert state.preview_version is not None
        flags = data.brief_flags(
            user.scope, state.preview_before, state.preview_run, state.preview_version, accepted
        )
        for f in flags:
            st.warning(f"{ui.plain(f.name)} ({f.delta:+.1f}): {ui.plain(f.reason)}.")
    with st.form("br_publish"):
        note = st.text_input("Note (which brief, what changed)", key="br_note")
        if st.form_submit_button(
            "Publish as the current register", type="primary", disabled=not accepted
        ):
            if not note.strip():
                st.error("Write a note saying which brief this is and what changed.")
                return
            with ui.errors_shown():  # the publish tells the followers
                done = publication.publish(
                    ctx, "register", state.build(register), note=note.strip(), by=user.username
                )
                version, told = done.version, done.alerts
                assert told is not None
            st.session_state.pop(STATE, None)
            st.session_state["brief_flash"] = (
                f"Published register version {version}.{timeline.alerted_words(told)}"
            )
            st.rerun()


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "analyst", "admin")
    st.title(
        "New brief",
        help="Turn a new intelligence brief into draft threats: read it, review each draft "
        "(accept, edit or reject), see which ratings it would move, then publish.",
    )
    st.caption(
        "Read a brief (upload text, Markdown, HTML or PDF, or paste its text); each judgement "
        "in it becomes a draft threat with the sentences that support it. Review them, add what "
        "was missed, preview the effect, publish."
    )
    flash = st.session_state.pop("brief_flash", None)
    if flash:
        st.success(flash)
    brief_date = st.date_input(
        'Date of the brief (time frames such as "by year-end" count from it)',
        dt.date.today(),
        key="br_date",
    )
    read_date = brief_date if isinstance(brief_date, dt.date) else dt.date.today()
    upload_tab, paste_tab = st.tabs(["Upload", "Paste text"])
    with upload_tab:
        upload = st.file_uploader("Brief", type=list(SUFFIXES), key="br_file")
        if upload is not None and st.button("Read the brief", key="br_read", type="primary"):
            raw = upload.getvalue()
            if len(raw) > MAX_BYTES:
                st.error(f"The brief is {len(raw) / 2**20:.1f} MB; the limit is 5 MB.")
            else:
                with st.spinner("Reading the brief..."), ui.errors_shown():
                    result = read(raw, upload.name, date=read_date)
                    st.session_state.pop("br_b_date", None)  # the new brief's own date below
                    st.session_state[STATE] = BriefReview(
                        filename=upload.name,
                        result=result,
                        source_bytes=raw,
                        brief_date=read_date,
                        read_date=read_date,
                    )
    with paste_tab:
        name = st.text_input("A name for it", "pasted-brief.md", key="br_paste_name")
        text = st.text_area("The brief's text", height=240, key="br_paste")
        if st.button("Read the pasted text", key="br_read_paste", type="primary"):
            if len(text.encode("utf-8")) > MAX_BYTES:
                st.error("The text is over 5 MB.")
            else:
                with st.spinner("Reading the brief..."), ui.errors_shown():
                    result = read_pasted(text, date=read_date)
                    st.session_state.pop("br_b_date", None)
                    st.session_state[STATE] = BriefReview(
                        filename=name.strip() or "pasted-brief.md",
                        result=result,
                        source_text=text,
                        brief_date=read_date,
                        read_date=read_date,
                    )
    state: BriefReview | None = st.session_state.get(STATE)
    if state is None:
        return
    doc = state.result.document
    register = ctx.register()
    st.markdown(
        f"**{ui.plain(doc.title or state.filename)}** · "
        f"{wording.plural(len(doc.sections), 'section')} · "
        f"{len(state.result.drafts)} draft threats"
    )
    about_the_brief(state, register)
    if not state.drafts():
        st.info("No judgement was found in this brief; add one below if the extractor missed it.")
    older = [t.id for t in register.threats] if state.is_new(register) else []
    for draft in state.drafts():
        draft_card(draft, state, ctx, older)
    add_missed(state, ctx)
    preview_and_publish(ctx, user, state, register)


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
