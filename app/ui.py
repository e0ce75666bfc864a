"""Small pieces several pages share: the client picker, the rating card, error handling."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Literal

import polars as pl
import streamlit as st

from app import data, words
from app.charts import BAND_COLOURS
from app.session import AppUser
from engine.context import Context
from engine.errors import AccessDenied, ResilienceError
from engine.models import PeopleAtRisk, Rating, RunInfo
from engine.text import POLARS_BREAKS, POLARS_DROP, clean


@contextlib.contextmanager
def errors_shown() -> Iterator[None]:
    """Show a product error with ``st.error`` and stop the page (no traceback for users)."""
    try:
        yield
    except AccessDenied:
        st.error("This client is not available to you.")
        st.stop()
    except ResilienceError as exc:
        st.error(plain(str(exc)))
        st.stop()


def pick_client(user: AppUser, *, key: str, label: str = "Client") -> str | None:
    """The client the page shows: a client user's own, else one chosen from the user's scope.

    ``?client=`` in the URL preselects a client only when the user's scope allows it; any other
    value is ignored (and removed from the URL) without saying whether such a client exists.
    """
    ctx = data.context()
    if user.role == "client":
        if "client" in st.query_params and st.query_params.get("client") != user.client_id:
            del st.query_params["client"]
        return user.client_id
    clients = ctx.clients(user.scope)
    if not clients:
        st.info("No clients are assigned to you yet.")
        return None
    ids = [c.client_id for c in clients]
    names = {c.client_id: f"{c.name} ({c.client_id})" for c in clients}
    wanted = st.query_params.get("client")
    if wanted is not None and (wanted not in ids or not user.scope.allows(wanted)):
        del st.query_params["client"]
        wanted = None
    applied = f"{key}__from_url"  # the URL value last applied, so a later pick wins over it
    if wanted is not None and st.session_state.get(applied) != wanted:
        st.session_state[key] = wanted
    if st.session_state.get(key) not in ids:
        st.session_state[key] = _most_in_need(user, ids)
    chosen = st.selectbox(label, ids, key=key, format_func=lambda c: clean(names.get(c, c)))
    if chosen is None or not user.scope.allows(chosen):
        return None
    if st.query_params.get("client") != chosen:
        st.query_params["client"] = chosen
    st.session_state[applied] = chosen
    return str(chosen)


def _most_in_need(user: AppUser, ids: list[str]) -> str:
    """The client to open first: the one with the lowest score in the current run (the
    portfolio's first row), not the first by name; the first id if nothing is rated."""
    try:
        run = data.current_run()
        rated = data.ratings(data.db_key(), run.run_id, data.scope_key(user.scope))
    except ResilienceError:
        return ids[0]
    worst = next((r.client_id for r in rated if r.client_id in ids), None)
    return worst or ids[0]


def text_only(frame: pl.DataFrame) -> pl.DataFrame:
    """A table whose text columns hold no control or bidi characters (the grid draws them as
    they are: U+202E would reverse a client's name); line breaks and tabs become spaces."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return frame
    return frame.with_columns(
        pl.col(text).str.replace_all(POLARS_BREAKS, " ").str.replace_all(POLARS_DROP, "")
    )


def blanks_for_nulls(frame: pl.DataFrame) -> pl.DataFrame:
    """A table to show as it reads: a missing value is an empty cell, not the word "None" (the
    grid writes None for a null). Columns with nulls become text; the others keep their type."""
    holes = [c for c in frame.columns if frame[c].null_count()]
    if not holes:
        return frame
    return frame.with_columns(pl.col(c).cast(pl.String).fill_null("") for c in holes)


def text_only_rows(rows: Any, **kwargs: Any) -> pl.DataFrame:
    """``pl.DataFrame(rows, **kwargs)`` with its text cleaned (``text_only``)."""
    return text_only(pl.DataFrame(rows, **kwargs))


def band_styled(frame: pl.DataFrame, column: str = "band") -> Any:
    """A table with its band column coloured (a pandas Styler, which st.dataframe renders)."""
    frame = text_only(frame)

    def colour(band: object) -> str:
        hex_colour = BAND_COLOURS.get(str(band), "")
        return (
            f"background-color: {hex_colour}; color: white; font-weight: 600" if hex_colour else ""
        )

    return frame.to_pandas().style.map(colour, subset=[column])


def rating_card(r: Rating, run: RunInfo, previous: Rating | None = None) -> None:
    cols = st.columns([1, 1, 1.3, 1.3])
    delta = None if previous is None else f"{r.score - previous.score:+.1f} since last run"
    cols[0].metric("Band", r.band, help="A resilient, B sound, C exposed, D vulnerable, E critical")
    cols[1].metric("Score", f"{r.score:.1f} / 100", delta=delta, help=words.SCORE_MEANING)
    cols[2].metric(
        "Range",
        f"{r.band_low} to {r.band_high} ({r.score_low:.0f} to {r.score_high:.0f})",
        help=words.range_meaning(r),
    )
    cols[3].metric("As of", run.as_of.isoformat())
    st.caption(words.range_meaning(r))
    st.caption(
        f"Run {run.run_id} · threat register v{run.register_version} · rules "
        f"v{run.rules_version} · exposure version {r.exposure_version or '-'} · "
        f"{words.plural(r.n_items, 'item')} worth {r.total_value_usd:,.0f} US$"
    )


def expired_note(expired: list[str]) -> None:
    """Judgements past their horizon count as last judged; say so, so nobody reads it as safety."""
    if expired:
        n = len(expired)
        st.warning(
            f"Based on {n} expired judgement{'s' if n != 1 else ''}, counted as last judged: "
            "the brief needs a refresh. (" + plain(", ".join(expired)) + ")",
            icon=":material/update:",
        )


def people_note(people: PeopleAtRisk | None) -> None:
    """Duty of care: staff at sites that threats to people's safety reach."""
    if people is None or not people.total_headcount:
        return
    top = plain(", ".join(f"{p.title}: {p.headcount:,}" for p in people.by_threat[:3]))
    st.caption(
        f"People: {people.exposed_headcount:,} of {people.total_headcount:,} staff work at sites "
        "that threats to people's safety reach"
        + (f" ({top})" if top else "")
        + "."
        + ("" if people.in_rating else " Reported, not scored.")
    )


def impact(rows: list[data.ImpactRow]) -> None:
    """Which ratings a draft moves: the biggest moves in words, then every one in a table."""
    if not rows:
        st.info("No client rating would move under this draft.")
        return
    st.markdown(f"**{len(rows)} client rating(s) would move.** Largest:")
    for r in rows[:3]:
        st.markdown(
            f"- {plain(r.name)}: {r.before.band} {r.before.score:.1f} → {r.after.band} "
            f"{r.after.score:.1f} ({r.delta:+.1f}); {plain(r.why)}"
        )
    st.dataframe(
        text_only(
            pl.DataFrame(
                [
                    {
                        "client": r.name,
                        "before": f"{r.before.band} {r.before.score:.1f}",
                        "after": f"{r.after.band} {r.after.score:.1f}",
                        "change": round(r.delta, 1),
                        "why": r.why,
                    }
                    for r in rows
                ]
            )
        ),
        hide_index=True,
        width="stretch",
        column_config={"change": st.column_config.NumberColumn(format="%+.1f")},
    )


def stale_draft_notice(
    document: str, current: int, *, refused_key: str, button_key: str, reset: Callable[[], None]
) -> None:
    """A draft whose base is no longer the published version: the refusal of its last publish
    (or a warning that it will be refused) and a button that starts the draft again."""
    refused = st.session_state.pop(refused_key, None)
    if isinstance(refused, str):
        st.error(plain(refused))
    else:
        st.warning(
            f"The published {document} moved to version {current} since this draft began: "
            f"publishing it is refused until it starts again from version {current}."
        )
    if st.button(f"Start the draft again from version {current}", key=button_key):
        reset()
        st.rerun()


def plain(text: object) -> str:
    """User or brief text shown through Markdown (titles, captions, labels, messages) as the
    characters it holds: control and bidi characters removed (``engine.text.clean``), every
    Markdown, HTML, LaTeX and directive character escaped, line breaks flattened."""
    out = []
    for ch in clean(str(text)):
        if ch in "\\`*_{}[]()#+-.!|<>~$:=&":
            out.append("\\" + ch)
        elif ch in "\r\n\t":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def version_history(
    ctx: Context,
    user: Any,
    kind: Literal["register", "rules"],
    current: int,
    *,
    key: str,
    flash_key: str,
    reset: Callable[[], None],
) -> None:
    """The versions of the register or the rules, and a form to make an earlier published one
    current again, with a note (drafts are never offered)."""
    st.subheader("History")
    hist = ctx.history(kind)
    st.dataframe(
        text_only(hist.with_columns((pl.col("version") == current).alias("current"))),
        hide_index=True,
        width="stretch",
    )
    targets = ctx.rollback_targets(kind)
    if not targets:
        st.caption("No earlier published version to roll back to.")
        return
    with st.form(f"{key}_rollback"):
        v = st.selectbox("Make an earlier published version current", targets, key=f"{key}_rb_v")
        note = st.text_input("Why (kept in the audit log)", key=f"{key}_rb_note")
        if st.form_submit_button("Roll back") and v is not None:
            if not note.strip():
                st.error("Write a note saying why you roll back.")
                return
            with errors_shown():
                # the roll-back tells the followers (engine/publication.py)
                ctx.rollback(kind, int(v), note=note.strip(), by=user.username)
            reset()
            label = "Register" if kind == "register" else "Rules"
            st.session_state[flash_key] = f"{label} version {v} is current again."
            st.rerun()
