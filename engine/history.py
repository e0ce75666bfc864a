"""Rating history: each client's rating at every publication, and why it moved.

A publication (table ``publications``) is a moment the published picture changed: a register,
rules, scenario or exposure list was published or rolled back. It records who, when, what, and
the baseline run that scored the book on the versions current right after it. A client's history
is its rating in those runs; the cause of each move is read from what the two runs record: the
register, rules, exposure, scenario and gazetteer versions, the date, and the threats as scored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.models import Rating, RunInfo
from engine.store import Scope

if TYPE_CHECKING:
    from engine.context import Context

EVERYONE = Scope.everything()
DOCUMENTS = ("baseline", "register", "rules", "scenario", "exposures")
# a score move smaller than this is rounding, not a move
MOVE_EPS = 0.05


@dataclass(frozen=True)
class Publication:
    pub_id: int
    published_at: dt.datetime
    by_user: str
    document: str
    subject: str | None
    version: int | None
    note: str
    run_id: int

    @property
    def what(self) -> str:
        """'threat register version 3', 'exposure list version 2 of meridian-...'."""
        names = {
            "baseline": "ratings when history began",
            "register": "threat register",
            "rules": "scoring rules",
            "scenario": "scenario",
            "exposures": "exposure list",
        }
        text = names.get(self.document, self.document)
        if self.document == "scenario" and self.subject:
            text += f" {self.subject}"
        if self.version is not None:
            text += f" version {self.version}"
        if self.document == "exposures" and self.subject:
            text += f" of {self.subject}"
        return text


@dataclass
class HistoryPoint:
    """A client's rating in one published run, and what moved it since the point before."""

    pub_id: int
    published_at: dt.datetime
    published: str  # what was published, in words
    by_user: str
    note: str
    run_id: int
    as_of: dt.date
    band: str
    score: float
    score_low: float
    score_high: float
    band_low: str
    band_high: str
    change: float | None = None  # score change since the previous point (None: the first)
    band_before: str | None = None
    causes: list[str] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return self.change is not None and (
            abs(self.change) >= MOVE_EPS or self.band_before != self.band
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["published_at"] = self.published_at.isoformat(timespec="seconds")
        d["as_of"] = self.as_of.isoformat()
        for k in ("score", "score_low", "score_high"):
            d[k] = round(d[k], 2)
        d["change"] = None if self.change is None else round(self.change, 2)
        return d


@dataclass(frozen=True)
class Move:
    """A client whose rating moved between two publications."""

    client_id: str
    name: str
    before: Rating
    after: Rating
    causes: list[str]

    @property
    def change(self) -> float:
        return self.after.score - self.before.score


# -- publications --------------------------------------------------------------------------------


def _publication(row: tuple[Any, ...]) -> Publication:
    return Publication(*row)


_COLUMNS = "pub_id, published_at, by_user, document, subject, version, note, run_id"


def publications(ctx: Context) -> list[Publication]:
    """Every publication, oldest first."""
    return [
        _publication(r)
        for r in ctx.store.rows(f"SELECT {_COLUMNS} FROM publications ORDER BY pub_id")  # noqa: S608
    ]


def latest(ctx: Context) -> Publication | None:
    rows = ctx.store.rows(
        f"SELECT {_COLUMNS} FROM publications ORDER BY pub_id DESC LIMIT 1"  # noqa: S608
    )
    return _publication(rows[0]) if rows else None


def record(
    ctx: Context,
    document: str,
    version: int | None,
    by: str,
    *,
    note: str = "",
    subject: str | None = None,
) -> Publication:
    """Score the book on the versions now current (or reuse that run) and record the moment."""
    if document not in DOCUMENTS:
        raise ValueError(f"unknown document {document!r}")
    run = ctx.current_run()
    with ctx.store.transaction() as cur:
        cur.execute(
            "INSERT INTO publications SELECT coalesce(max(pub_id), 0) + 1, now(), $by, $doc, "
            "$subject, $v, $note, $run FROM publications",
            {
                "by": by,
                "doc": document,
                "subject": subject,
                "v": version,
                "note": note,
                "run": run.run_id,
            },
        )
    found = latest(ctx)
    assert found is not None
    return found


def ensure_baseline(ctx: Context) -> Publication | None:
    """Record the current ratings as where history begins, when nothing is recorded yet and the
    book has clients (the demo load and the app's first start call this)."""
    if ctx.store.one("SELECT count(*) FROM publications"):
        return None
    if not ctx.store.one("SELECT count(*) FROM exposure_current"):
        return None
    return record(ctx, "baseline", None, "system", note="ratings when history began")


# -- a client's history --------------------------------------------------------------------------


def _published_runs(ctx: Context, scope: Scope = EVERYONE) -> list[Publication]:
    """Publications with a run of their own: a publication that left the baseline run as it was
    (a scenario's, say) adds no point to anyone's history. Another client's exposure list moves
    no rating in ``scope`` and is not for its eyes (its name, file, who loaded it): left out."""
    out: list[Publication] = []
    for p in publications(ctx):
        if p.document == "exposures" and p.subject is not None and not scope.allows(p.subject):
            continue
        if out and out[-1].run_id == p.run_id:
            continue
        out.append(p)
    return out


def client_history(ctx: Context, client_id: str, scope: Scope = EVERYONE) -> list[HistoryPoint]:
    """The client's rating at every publication that scored it, oldest first, with the change
    since the point before and its causes."""
    scope.require(client_id)
    ctx.client(client_id, scope)
    points: list[HistoryPoint] = []
    runs: list[RunInfo] = []
    for p in _published_runs(ctx, Scope.of(client_id)):
        ratings = ctx.ratings(p.run_id, Scope.of(client_id))
        if not ratings:
            continue  # not in the book yet (or no exposures then)
        r = ratings[0]
        run = ctx.run_info(p.run_id)
        point = HistoryPoint(
            pub_id=p.pub_id,
            published_at=p.published_at,
            published=p.what,
            by_user=p.by_user,
            note=p.note,
            run_id=p.run_id,
            as_of=run.as_of,
            band=r.band,
            score=r.score,
            score_low=r.score_low,
            score_high=r.score_high,
            band_low=r.band_low,
            band_high=r.band_high,
        )
        if points:
            before = points[-1]
            point.change = r.score - before.score
            point.band_before = before.band
            point.causes = causes(ctx, runs[-1], run, client_id, until=p.published_at)
        points.append(point)
        runs.append(run)
    return points


def movers(
    ctx: Context, scope: Scope = EVERYONE
) -> tuple[Publication | None, Publication | None, list[Move]]:
    """Clients whose rating moved at the last publication that re-scored the book: (the one
    before, the last, the moves, the biggest fall first)."""
    pubs = _published_runs(ctx, scope)
    if len(pubs) < 2:
        return None, pubs[-1] if pubs else None, []
    before_pub, after_pub = pubs[-2], pubs[-1]
    moves = moves_between(
        ctx, before_pub.run_id, after_pub.run_id, scope, until=after_pub.published_at
    )
    return before_pub, after_pub, moves


def moves_between(
    ctx: Context,
    before_run: int,
    after_run: int,
    scope: Scope = EVERYONE,
    *,
    until: dt.datetime | None = None,
) -> list[Move]:
    before = {r.client_id: r for r in ctx.ratings(before_run, scope)}
    run_a, run_b = ctx.run_info(before_run), ctx.run_info(after_run)
    out = []
    for a in ctx.ratings(after_run, scope):
        b = before.get(a.client_id)
        if b is None or (abs(a.score - b.score) < MOVE_EPS and a.band == b.band):
            continue
        why = causes(ctx, run_a, run_b, a.client_id, until=until)
        out.append(Move(a.client_id, a.name, b, a, why))
    return sorted(out, key=lambda m: (m.change, m.client_id))


# -- why a rating moved --------------------------------------------------------------------------


def _threats(ctx: Context, run_id: int) -> dict[str, dict[str, Any]]:
    rows = ctx.store.frame(
        "SELECT t.threat_id, t.title, t.likelihood, t.severity, t.status, t.in_horizon, "
        "t.from_scenario, list(r.region_id || '=' || r.intensity::VARCHAR ORDER BY r.region_id) "
        "AS regions FROM run_threats t LEFT JOIN run_threat_regions r "
        "ON r.run_id = t.run_id AND r.threat_id = t.threat_id WHERE t.run_id = $r GROUP BY ALL",
        {"r": run_id},
    )
    return {r["threat_id"]: r for r in rows.iter_rows(named=True)}


def _touching(ctx: Context, run_id: int, client_id: str) -> dict[str, float]:
    """Threat id -> the client's value-weighted exposure to it in the run (only those > 0)."""
    rows = ctx.store.rows(
        "SELECT c.threat_id, sum(k.value_usd * c.r_central) FROM run_classes k "
        "JOIN run_contributions c ON c.run_id = k.run_id AND c.profile_id = k.profile_id "
        "WHERE k.run_id = $r AND k.client_id = $c GROUP BY 1 HAVING sum(c.r_central) > 0",
        {"r": run_id, "c": client_id},
    )
    return {str(t): float(v) for t, v in rows}


def _words(term: str) -> str:
    return term.replace("_", " ")


def _made_current(
    ctx: Context, kind: str, version: int, subject: str, until: dt.datetime | None
) -> tuple[bool, str] | None:
    """How ``version`` of a document last became current (at or before ``until``), from the
    audit log: (whether it was a roll-back, the note given then); None when the log does not say
    (a database older than the log).

    Read from the log, not from the version numbers: a preview or a draft is a stored version
    too, so publishing one saved earlier makes a lower number current without any roll-back."""
    rows = ctx.store.rows(
        "SELECT action, note FROM audit_events WHERE kind = $k AND subject = $s "
        "AND version = $v AND action IN ('publish', 'rollback') "
        "AND ($until IS NULL OR logged_at <= $until) ORDER BY entry_id DESC LIMIT 1",
        {"k": kind, "s": subject, "v": version, "until": until},
    )
    if not rows:
        return None
    return str(rows[0][0]) == "rollback", str(rows[0][1] or "")


def _version_note(ctx: Context, table: str, version: int) -> str:
    note = ctx.store.one(
        f"SELECT note FROM {table} WHERE version = $v",  # noqa: S608
        {"v": version},
    )
    return str(note) if note else ""


def _document_move(ctx: Context, kind: str, va: int, vb: int, until: dt.datetime | None) -> str:
    """'threat register version 1 -> 3 (why)': the version published before and the one
    published now, with the note given when it was made current."""
    table, name = {
        "register": ("register_versions", "threat register"),
        "rules": ("rules_versions", "scoring rules"),
    }[kind]
    how = _made_current(ctx, kind, vb, "", until)
    if how is None:
        rolled, note = vb < va, _version_note(ctx, table, vb)
    else:
        rolled, note = how
    return (
        f"{name} version {va} -> {vb}"
        + (" (a roll-back)" if rolled else "")
        + (f" ({note})" if note else "")
    )


def _register_causes(ctx: Context, a: RunInfo, b: RunInfo, until: dt.datetime | None) -> list[str]:
    reg_a, reg_b = ctx.register(a.register_version), ctx.register(b.register_version)
    head = _document_move(ctx, "register", a.register_version, b.register_version, until)
    briefs_a = {x.id for x in reg_a.all_briefs()}
    new_briefs = [x.label for x in reg_b.all_briefs() if x.id not in briefs_a]
    if new_briefs:
        head += "; new brief: " + "; ".join(new_briefs)
    return [head]


def _threat_causes(ctx: Context, a: RunInfo, b: RunInfo, client_id: str) -> list[str]:
    """The threats touching the client whose scoring changed between the two runs."""
    ta, tb = _threats(ctx, a.run_id), _threats(ctx, b.run_id)
    ea, eb = _touching(ctx, a.run_id, client_id), _touching(ctx, b.run_id, client_id)
    out = []
    for tid in sorted(set(ea) | set(eb), key=lambda t: -(eb.get(t, 0.0) + ea.get(t, 0.0))):
        x, y = ta.get(tid), tb.get(tid)
        if x is None and y is not None:
            out.append(f"new threat: {y['title']}")
        elif y is None and x is not None:
            out.append(f"threat no longer in the register: {x['title']}")
        elif x is not None and y is not None:
            bits = []
            if x["likelihood"] != y["likelihood"]:
                bits.append(f"likelihood {_words(x['likelihood'])} -> {_words(y['likelihood'])}")
            if x["severity"] != y["severity"]:
                bits.append(f"severity {x['severity']} -> {y['severity']}")
            if x["regions"] != y["regions"]:
                bits.append("places or intensities")
            if x["status"] != y["status"]:
                bits.append(f"now {_words(str(y['status']))}")
            if bits:
                out.append(f"changed threat: {y['title']} ({', '.join(bits)})")
        if len(out) >= 5:
            break
    return out


def causes(
    ctx: Context, a: RunInfo, b: RunInfo, client_id: str, *, until: dt.datetime | None = None
) -> list[str]:
    """What differs between two runs for one client, in words, the inputs first. ``until``: the
    time of the publication that made run ``b`` the published one (how each document became
    current is read from the audit log up to then; None: up to now)."""
    out: list[str] = []
    if a.register_version != b.register_version:
        out += _register_causes(ctx, a, b, until)
    if a.rules_version != b.rules_version:
        out.append(_document_move(ctx, "rules", a.rules_version, b.rules_version, until))
    va = ctx.store.one(
        "SELECT version FROM run_exposures WHERE run_id = $r AND client_id = $c",
        {"r": a.run_id, "c": client_id},
    )
    vb = ctx.store.one(
        "SELECT version FROM run_exposures WHERE run_id = $r AND client_id = $c",
        {"r": b.run_id, "c": client_id},
    )
    if va != vb and vb is not None:
        row = ctx.store.execute(
            "SELECT note, n_assets, n_routes FROM exposure_versions "
            "WHERE client_id = $c AND version = $v",
            {"c": client_id, "v": vb},
        ).fetchone()
        detail = ""
        if row is not None:
            note = f"{row[0]}; " if row[0] else ""
            detail = f" ({note}{row[1]} sites, {row[2]} routes)"
        how = _made_current(ctx, "exposures", int(vb), client_id, until)
        rolled = (
            " (a roll-back)" if (how[0] if how is not None else va is not None and vb < va) else ""
        )
        out.append(f"exposure list version {va} -> {vb}{rolled}{detail}")
    if a.as_of != b.as_of:
        out.append(f"rated as of {b.as_of} instead of {a.as_of}")
    if a.gazetteer_version != b.gazetteer_version:
        out.append(f"place list (gazetteer) version {a.gazetteer_version} -> {b.gazetteer_version}")
    edits = ctx.store.rows(
        "SELECT action FROM audit_log WHERE client_id = $c AND logged_at > $a AND logged_at <= $b "
        "ORDER BY entry_id",
        {"c": client_id, "a": a.created_at, "b": b.created_at},
    )
    if any(e[0] == "client.edit" for e in edits):
        out.append("the client's details were edited (sector, affiliations or services)")
    out += _threat_causes(ctx, a, b, client_id)
    if not out:
        out.append("nothing this client's rating depends on changed")
    return out


def history_json(points: list[HistoryPoint]) -> list[dict[str, Any]]:
    return [p.to_dict() for p in points]


def publication_json(p: Publication | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "pub_id": p.pub_id,
        "published_at": p.published_at.isoformat(timespec="seconds"),
        "by": p.by_user,
        "what": p.what,
        "document": p.document,
        "subject": p.subject,
        "version": p.version,
        "note": p.note,
        "run_id": p.run_id,
    }
