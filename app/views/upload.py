"""Upload: a client's asset or route list -> preview -> column mapping -> row-level validation
report -> load the valid rows (or nothing) -> the new rating and what changed.

The file is parsed and validated by the facade in a child process (``ctx.prepare_upload``), never
in the server; loading is one transaction (``ctx.commit_upload``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from typing import Any

import polars as pl
import streamlit as st

from app import data, session, ui
from app import words as wording
from app.drafts import UploadDraft
from engine import publication
from engine.context import Context
from engine.errors import CheckerBusy, ResilienceError
from engine.uploads import Kind

DRAFT_KEY = "upload_draft"
MAX_UPLOAD_MB = 50  # the readers refuse more (exposures.upload.readers.MAX_BYTES)
KINDS = {"assets": "Sites (assets)", "routes": "Sea routes"}
MODES = {
    "replace": "Replace the list with the file",
    "upsert": "Add new items and update known ones",
    "delete": "Remove the items the file lists (ids only)",
}
IGNORE = "(ignore this column)"
FACADE = ("prepare_upload", "commit_upload")


def available(ctx: Context) -> bool:
    return all(callable(getattr(ctx, name, None)) for name in FACADE)


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "client", "account_manager", "admin")
    st.title(
        "Upload exposures",
        help="Send the sites and sea routes as CSV, XLSX or Parquet. Wrong rows are named "
        "with the column and the fix; nothing loads until you choose.",
    )
    client_id = ui.pick_client(user, key="upload_client", label="Upload for client")
    if client_id is None:
        return
    with ui.errors_shown():
        user.scope.require(client_id)
        spec = ctx.client(client_id, user.scope)
    st.caption(
        f"For {ui.plain(spec.name.rstrip('.'))}. Every load is a new version; earlier versions "
        "are kept. "
        "Before anything loads, the page says how many items are added, updated and removed and "
        "how the rating moves."
    )
    kind = st.radio(
        "What the file lists",
        list(KINDS),
        format_func=lambda k: KINDS[k],
        horizontal=True,
        key="upload_kind",
    )
    if kind is None:
        return
    mode = st.radio(
        "What the file does to the current list",
        list(MODES),
        format_func=lambda m: MODES[m],
        horizontal=True,
        key="upload_mode",
    )
    if mode is None:
        return
    templates(kind)
    if not available(ctx):
        st.info(
            "Uploads are not available in this build: the upload service is not installed "
            "on this server yet. Nothing can be loaded from this page for now."
        )
        return
    draft = st.session_state.get(DRAFT_KEY)
    if isinstance(draft, UploadDraft) and (
        draft.client_id != client_id
        or draft.kind != kind
        or (draft.mode == "delete") != (mode == "delete")
    ):
        st.session_state.pop(DRAFT_KEY, None)
        draft = None
    file = st.file_uploader(
        "File (CSV, XLSX or Parquet)",
        max_upload_size=MAX_UPLOAD_MB,
        type=["csv", "xlsx", "parquet"],
        key=f"upload_file_{client_id}_{kind}",
    )
    if file is None:
        if isinstance(draft, UploadDraft) and draft.outcome is not None:
            show_outcome(ctx, user, draft)
        history(ctx, user, client_id)
        return
    payload = file.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    if not isinstance(draft, UploadDraft) or draft.digest != digest:
        busy: CheckerBusy | None = None
        with st.status("Checking the file in a sandbox...", expanded=False) as status:
            try:
                prepared = ctx.prepare_upload(
                    client_id, payload, file.name, kind, None, mode=mode, scope=user.scope
                )
            except CheckerBusy as exc:
                status.update(label="The checker is busy", state="error")
                busy = exc
            except ResilienceError as exc:
                status.update(label="The file could not be checked", state="error")
                st.error(ui.plain(str(exc)))
                return
            else:
                status.update(label="File checked", state="complete")
        if busy is not None:
            _busy(busy, retry=True)
            return
        draft = UploadDraft(
            client_id=client_id,
            kind=kind,
            filename=file.name,
            digest=digest,
            payload=payload,
            mapping=None,
            prepared=prepared,
            mode=mode,
        )
        st.session_state[DRAFT_KEY] = draft
    if draft.mode != mode:  # replace <-> upsert: the same check, another plan
        draft.mode, draft.plan, draft.outcome = mode, None, None
    report = draft.prepared.report
    if draft.outcome is None and draft.plan is None and report.ok and report.rows_accepted:
        # planned before the report is shown: routing adds its notes to the rows (a port far
        # from the sea lanes); if it fails, load_choice says why
        with contextlib.suppress(ResilienceError):
            draft.plan = ctx.plan_upload(
                draft.client_id,
                draft.prepared,
                "routes" if draft.kind == "routes" else "assets",
                mode=draft.mode,  # type: ignore[arg-type]
                valid_only=True,
                scope=user.scope,
            )
    preview(draft)
    mapping_editor(ctx, user, draft)
    validation_report(draft)
    if draft.outcome is None:
        load_choice(ctx, user, draft)
    else:
        show_outcome(ctx, user, draft)
    if report.file_errors:
        return
    history(ctx, user, client_id)


def _busy(exc: CheckerBusy, *, retry: bool) -> None:
    """Every checker is busy with other files: nothing was checked; say so and offer to retry."""
    st.warning(ui.plain(str(exc)))
    if retry:
        st.button("Check the file again", key="upload_check_again")  # a click reruns the check


def templates(kind: str) -> None:
    from exposures.upload.mapping import column_docs
    from exposures.upload.mapping import templates as template_bytes

    with st.expander("Columns and templates", expanded=False):
        st.dataframe(pl.DataFrame(column_docs(kind)), hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        c1.download_button(
            "CSV template",
            template_bytes(kind, "csv"),
            file_name=f"{kind}_template.csv",
            mime="text/csv",
            key=f"tpl_csv_{kind}",
        )
        c2.download_button(
            "Excel template",
            template_bytes(kind, "xlsx"),
            file_name=f"{kind}_template.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"tpl_xlsx_{kind}",
        )


def preview(draft: UploadDraft) -> None:
    report = draft.prepared.report
    st.subheader("Preview")
    st.caption(
        f"{ui.plain(report.filename)}: {report.format or 'unknown format'}"
        + (f", {report.encoding}" if report.encoding else "")
        + (f", delimiter {report.delimiter!r}" if report.delimiter else "")
    )
    frame = draft.prepared.frame
    if isinstance(frame, pl.DataFrame) and frame.height:
        st.dataframe(
            ui.blanks_for_nulls(ui.text_only(frame.head(20))), hide_index=True, width="stretch"
        )
        st.caption(
            f"The first {min(20, frame.height)} of {frame.height} accepted rows, as they "
            "will be loaded."
        )
    else:
        st.caption("No row of the file can be loaded yet.")


def _headers(report: Any) -> list[str]:
    headers = list(getattr(report, "headers", None) or [])
    for h in report.columns:
        if h not in headers:
            headers.append(h)
    return headers


def mapping_editor(ctx: Context, user: session.AppUser, draft: UploadDraft) -> None:
    from exposures.upload.schema import columns

    report = draft.prepared.report
    canonical = [s.name for s in columns(draft.kind)]
    st.subheader("Column mapping")
    rows = [{"your column": h, "maps to": report.columns.get(h, IGNORE)} for h in _headers(report)]
    frame = pl.DataFrame(rows, schema={"your column": pl.String, "maps to": pl.String})
    edited = st.data_editor(
        frame.to_pandas(),
        key=f"upload_map_{draft.digest[:12]}",
        hide_index=True,
        num_rows="dynamic",
        width="stretch",
        column_config={
            "your column": st.column_config.TextColumn(
                help="A header of your file (add a row for a column the file has)"
            ),
            "maps to": st.column_config.SelectboxColumn(
                options=[IGNORE, *canonical], required=True
            ),
        },
    )
    if st.button("Check again with this mapping", key="upload_remap"):
        mapping: dict[str, str | None] = {}
        for rec in edited.to_dict("records"):
            header = str(rec.get("your column") or "").strip()
            target = rec.get("maps to")
            if header:
                mapping[header] = None if target in (None, IGNORE) else str(target)
        busy: CheckerBusy | None = None
        with st.status("Checking the file again...") as status:
            try:
                draft.prepared = ctx.prepare_upload(
                    draft.client_id,
                    draft.payload,
                    draft.filename,
                    draft.kind,
                    mapping,
                    mode=draft.mode,
                    scope=user.scope,
                )
            except CheckerBusy as exc:
                status.update(label="The checker is busy", state="error")
                busy = exc
            except ResilienceError as exc:
                status.update(label="The file could not be checked", state="error")
                st.error(ui.plain(str(exc)))
                return
            else:
                status.update(label="File checked", state="complete")
        if busy is not None:
            _busy(busy, retry=False)  # the mapping's button sends it again
            return
        draft.mapping = mapping
        draft.outcome = None
        draft.plan = None
        st.rerun()


def _report_csv(report: Any) -> bytes:
    from exposures.upload.validate import neutralise

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["severity", "row", "column", "your header", "value", "problem", "accepted"])
    for e in report.file_errors:
        writer.writerow(["file error", "", "", "", "", neutralise(str(e)), ""])
    for p in report.problems:
        writer.writerow(
            [
                p.severity,
                p.row,
                p.column,
                neutralise(p.header or ""),
                neutralise(p.value),
                neutralise(p.message),
                neutralise(p.accepted),
            ]
        )
    return out.getvalue().encode("utf-8")


def validation_report(draft: UploadDraft) -> None:
    report = draft.prepared.report
    st.subheader("Validation report")
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows", report.rows_total)
    c2.metric("Accepted", report.rows_accepted)
    c3.metric("Rejected", report.rows_rejected)
    for e in report.file_errors:
        st.error(ui.plain(e))
    if report.warnings:
        with st.expander(f"{len(report.warnings)} warning(s)"):
            for w in report.warnings:
                st.markdown(f"- {ui.plain(w)}")
    if report.problems:
        for p in report.errors()[:5]:
            st.markdown(f"- {ui.plain(str(p))}")
        if len(report.errors()) > 5:
            st.caption(f"... {len(report.errors()) - 5} more in the table below.")
        st.dataframe(
            ui.text_only_rows(
                [
                    {
                        "row": p.row,
                        "column": p.column,
                        "your header": p.header or "",
                        "value": "" if p.value is None else p.value,
                        "problem": p.message,
                        "accepted": "" if p.accepted is None else p.accepted,
                        "severity": p.severity,
                    }
                    for p in report.problems
                ],
            ),
            hide_index=True,
            width="stretch",
        )
        if report.problems_truncated:
            st.caption(
                f"... and {report.problems_truncated:,} more; the rejected-rows file "
                "names every one."
            )
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download the report (CSV)",
        _report_csv(report),
        file_name=f"{draft.kind}_validation_report.csv",
        mime="text/csv",
        key="upload_report_dl",
    )
    if draft.prepared.quarantine_csv:
        c2.download_button(
            "Download the rejected rows (CSV)",
            draft.prepared.quarantine_csv,
            file_name=f"{draft.kind}_rejected_rows.csv",
            mime="text/csv",
            key="upload_quarantine_dl",
        )


def load_choice(ctx: Context, user: session.AppUser, draft: UploadDraft) -> None:
    report = draft.prepared.report
    if report.file_errors or report.rows_accepted == 0:
        st.warning("Nothing can be loaded from this file; fix it and upload it again.")
        return
    st.subheader("Load")
    kind: Kind = "routes" if draft.kind == "routes" else "assets"
    if draft.plan is None:
        try:
            draft.plan = ctx.plan_upload(
                draft.client_id,
                draft.prepared,
                kind,
                mode=draft.mode,  # type: ignore[arg-type]
                valid_only=True,
                scope=user.scope,
            )
        except ResilienceError as exc:
            st.error(f"Nothing can be loaded: {ui.plain(str(exc))}")
            return
    plan = draft.plan
    if not plan.changes:
        st.info(
            "The file changes nothing: its rows match the current version "
            f"{plan.old_version}. Nothing will be loaded."
        )
        return
    st.info(f"If loaded: {plan.summary()}; {plan.n_items} {kind} after; {plan.rating_line()}.")
    if plan.not_found:
        st.caption(
            "Not in the current list (nothing to remove): "
            + ui.plain(", ".join(plan.not_found[:20]))
        )
    n_ok, n_bad = report.rows_accepted, report.rows_rejected
    load = ("Load the valid row" if n_ok == 1 else f"Load the {n_ok:,} valid rows") + (
        f" and leave out the {wording.plural(n_bad, 'rejected row')}" if n_bad else ""
    )
    choice = st.radio(f"What to do ({plan.summary()})", [load, "Load nothing"], key="upload_choice")
    if not st.button("Go", key="upload_go", type="primary"):
        return
    if choice != load:
        st.session_state.pop(DRAFT_KEY, None)
        st.info("Nothing was loaded.")
        return
    user.scope.require(draft.client_id)
    progress = st.progress(0.1, text="Geocoding, routing and loading the rows...")
    try:
        outcome = ctx.commit_upload(
            draft.client_id,
            draft.prepared,
            kind,
            mode=draft.mode,  # type: ignore[arg-type]
            valid_only=True,
            note=f"{draft.mode} upload of {draft.filename}: {plan.summary()}",
            planned=plan,
            scope=user.scope,
            by=user.username,
        )
    except ResilienceError as exc:
        progress.empty()
        st.error(f"Nothing was changed: {ui.plain(str(exc))}")
        return
    progress.progress(0.8, text="Re-scoring...")
    if outcome.loaded:
        publication.announce(
            ctx,
            "exposures",
            outcome.version,
            user.username,
            note=f"{draft.mode} upload of {draft.filename}",
            subject=draft.client_id,
        )
    data.current_run()
    progress.progress(1.0, text="Done")
    draft.outcome = outcome
    st.rerun()


def show_outcome(ctx: Context, user: session.AppUser, draft: UploadDraft) -> None:
    outcome = draft.outcome
    if not getattr(outcome, "loaded", False):
        st.warning(
            f"Nothing was loaded: {ui.plain(getattr(outcome, 'reason', '') or 'no reason given')}"
        )
        return
    st.success(
        f"Loaded {wording.plural(outcome.rows_loaded, 'row')} as exposure version "
        f"{outcome.version}."
    )
    with ui.errors_shown():
        run = data.current_run()
        after = ctx.rating(run.run_id, draft.client_id, user.scope)
    before = outcome.before
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "New band",
        after.band,
        delta=None if before is None or before.band == after.band else f"was {before.band}",
        delta_color="off",
    )
    c2.metric(
        "New score",
        f"{after.score:.1f}",
        delta=None if before is None else f"{after.score - before.score:+.1f}",
    )
    c3.metric("Range", f"{after.band_low}-{after.band_high}")
    if before is not None:
        st.caption(
            f"Before: band {before.band}, score {before.score:.1f} "
            f"(exposure version {before.exposure_version})."
        )
    if outcome.diff is not None:
        show_diff(outcome.diff)


def show_diff(diff: Any) -> None:
    st.markdown(
        f"**What changed from version {diff.old_version} to {diff.new_version}:** "
        f"{diff.count('added')} added, {diff.count('changed')} updated, "
        f"{diff.count('removed')} removed"
    )
    if diff.changes:
        st.dataframe(
            ui.text_only_rows(
                [
                    {
                        "kind": c.kind,
                        "item": c.item_id,
                        "change": c.change,
                        "fields": ", ".join(c.fields),
                    }
                    for c in diff.changes
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if diff.old_score is not None and diff.new_score is not None:
        st.caption(
            f"Rating under the current threats and rules: {diff.old_band} "
            f"{diff.old_score:.1f} -> {diff.new_band} {diff.new_score:.1f}"
        )


def history(ctx: Context, user: session.AppUser, client_id: str) -> None:
    st.subheader("Versions")
    with ui.errors_shown():
        versions = data.exposure_versions(ctx, client_id, user.scope)
    st.dataframe(ui.text_only(versions), hide_index=True, width="stretch")
    if versions.height < 2:
        return
    numbers = versions["version"].to_list()
    current = ctx.exposure_version(client_id)
    with st.expander("Compare two versions"):
        c1, c2 = st.columns(2)
        old = c1.selectbox("From", numbers[1:] + numbers[:1], key="upload_cmp_old")
        new = c2.selectbox("To", numbers, key="upload_cmp_new")
        if old is not None and new is not None and old != new:
            with ui.errors_shown():
                show_diff(ctx.diff_versions(client_id, int(old), int(new), scope=user.scope))
    others = [v for v in numbers if v != current]
    with st.form("upload_rollback"):
        v = st.selectbox("Make an earlier version current", others, key="upload_rb_v")
        note = st.text_input("Why (kept in the audit log)", key="upload_rb_note")
        if st.form_submit_button("Roll back") and v is not None:
            if not note.strip():
                st.error("Write a note saying why you roll back.")
                return
            with ui.errors_shown():
                ctx.rollback_exposures(  # the roll-back tells the followers
                    client_id, int(v), scope=user.scope, note=note.strip(), by=user.username
                )
            st.session_state.pop(DRAFT_KEY, None)
            st.rerun()


if __name__ == "__main__":  # not when a sandbox child re-imports it
    main()
