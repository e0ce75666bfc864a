"""The `resilience` command line. Each command parses arguments and calls the facade."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from engine import cli_base as base
from engine.cli_base import (
    AsOption,
    DbOption,
    DebugOption,
    JsonOption,
    NoteOption,
    state,
)
from engine.errors import ResilienceError
from engine.scenario_cli import scenarios_app
from engine.terminal import styled
from engine.users_cli import users_app

if TYPE_CHECKING:  # imported when a command runs: `resilience --help` stays fast
    from engine.alerts import PublishOutcome
    from engine.context import Context
    from engine.models import Explanation, ScenarioRow


app: typer.Typer = typer.Typer(
    name="resilience",
    help="Score corporate clients' operational resilience against intelligence-brief threats.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = console = base.out
err = base.err
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Score as of this date (YYYY-MM-DD); default the register's date."
    ),
]


@app.callback()
def main(db: DbOption = None, debug: DebugOption = False, as_user: AsOption = None) -> None:
    base.configure(db, debug, as_user)
    global out, console, err
    out = console = base.out
    err = base.err


_fail = base.fail
_ctx = base.open_context
_session = base.session
_emit = base.emit


def _as_of(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(ResilienceError(f"{option} {text!r} is not a date; use YYYY-MM-DD"))
    return None


def _print_alerted(outcome: PublishOutcome | None) -> None:
    """One line on who was told of the moves a publish made (engine/alerts.py)."""
    if outcome is None:
        return  # no register or rules yet: nothing is rated, nobody to tell
    n = len(outcome.notified)
    if not n:
        out.print("No follower's alert threshold was reached.", markup=False)
        return
    sent = sum(1 for x in outcome.notified if x.email_status.startswith("sent"))
    people = sorted({x.username for x in outcome.notified})
    out.print(
        f"Alerted {len(people)} follower(s) ({', '.join(people)}): {n} alert(s) in the app, "
        f"{sent} by email; {outcome.email}.",
        markup=False,
    )


@app.command()
def init() -> None:
    """Create the database with the default rules and the register from the seed brief."""
    with _session() as ctx:
        ctx.init()
        out.print(
            f"Initialised {ctx.db_name}: register version {ctx.register_version()}, "
            f"rules version {ctx.rules_version()}"
        )


@app.command()
def demo(
    reload: Annotated[
        bool,
        typer.Option(
            "--reload", help="Load the demo files again as new versions even if the book is there."
        ),
    ] = False,
) -> None:
    """Load the demo book of fictional clients (creates the database if needed) and score it."""
    from engine.auth import (
        DEMO_PASSWORDS,
        create_demo_users,
        demo_password_warning,
        get_user,
        unchanged_demo_passwords,
    )
    from engine.book import load_demo

    with _session() as ctx:
        ids = load_demo(ctx, reload=reload)
        created = {u.username for u in create_demo_users(ctx)}
        run = ctx.current_run()
        out.print(
            f"Loaded {len(ids)} demo clients into {ctx.db_name}; run {run.run_id} "
            f"scored as of {run.as_of} in {run.seconds:.2f} s"
        )
        _ratings_table(ctx, run.run_id)
        public = unchanged_demo_passwords(ctx)
        kept = sorted(set(DEMO_PASSWORDS) - created)
        if kept:
            out.print(
                f"Existing users left as they are (not reset, not re-enabled): {', '.join(kept)}"
            )
        if public:
            out.print("Demo sign-ins for the app (user / password / role):")
            for name in public:
                u = get_user(ctx, name)
                assert u is not None
                what = f"client {u.client_id}" if u.client_id else u.role.replace("_", " ")
                out.print(f"  {u.username} / {DEMO_PASSWORDS[u.username]} / {what}")
            err.print(styled((demo_password_warning(public), "bold yellow")))


@app.command("load-book")
def load_book_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="A folder with clients.yaml and assets and routes tables (.parquet or .csv), "
            "each with a client_id column, clients in ascending order"
        ),
    ],
    score: Annotated[
        bool, typer.Option("--score/--no-score", help="Score the book once it is loaded.")
    ] = True,
) -> None:
    """Load a book of clients (millions of rows: read in chunks) as new versions, and score it.

    Every row is checked, geocoded and placed; a problem anywhere names its file, row and column
    and nothing is loaded.
    """
    import time

    from engine.book import load_book

    with _session() as ctx:
        ctx.init()
        started = time.perf_counter()
        ids = load_book(ctx, directory)
        counts = ctx.store.rows(
            "SELECT coalesce(sum(n_assets), 0), coalesce(sum(n_routes), 0) FROM exposure_versions "
            "JOIN exposure_current USING (client_id, version) "
            "WHERE client_id IN (SELECT unnest($ids))",
            {"ids": ids},
        )[0]
        out.print(
            f"Loaded {len(ids)} clients ({counts[0]:,} assets, {counts[1]:,} routes) from "
            f"{directory} into {ctx.db_path} in {time.perf_counter() - started:.1f} s"
        )
        if score:
            run = ctx.run()
            bands = ctx.store.rows(
                "SELECT band, count(*) FROM run_clients WHERE run_id = $r GROUP BY band "
                "ORDER BY band",
                {"r": run.run_id},
            )
            out.print(
                f"Run {run.run_id} scored {run.n_clients} clients as of {run.as_of} in "
                f"{run.seconds:.1f} s: " + ", ".join(f"{b} {n}" for b, n in bands)
            )


def _rating_dict(r: Any) -> dict[str, Any]:
    return {
        "client_id": r.client_id,
        "name": r.name,
        "sector": r.sector,
        "hq_country": r.hq_country,
        "band": r.band,
        "score": round(r.score, 1),
        "score_low": round(r.score_low, 1),
        "score_high": round(r.score_high, 1),
        "band_low": r.band_low,
        "band_high": r.band_high,
        "exposure_version": r.exposure_version,
    }


def _ratings_table(ctx: Context, run_id: int) -> None:
    table = Table(title=f"Resilience ratings (run {run_id})")
    for col in ("rank", "client", "sector", "HQ", "band", "score", "range"):
        table.add_column(col, justify="right" if col in ("rank", "score") else "left")
    for i, r in enumerate(ctx.ratings(run_id, scope=base.everyone()), start=1):
        table.add_row(
            str(i),
            f"{r.name} ({r.client_id})",
            r.sector,
            r.hq_country,
            r.band,
            f"{r.score:.1f}",
            f"{r.band_low}-{r.band_high} ({r.score_low:.0f}-{r.score_high:.0f})",
        )
    out.print(table)


@app.command()
def score(
    json_out: JsonOption = False,
    scenario: Annotated[str | None, typer.Option(help="Apply a scenario.")] = None,
    as_of: AsOfOption = None,
) -> None:
    """Rank the book: band, score and the range the likelihood ranges imply (A is best)."""
    with _session() as ctx:
        run = ctx.current_run(scenario, _as_of(as_of))
        expired = ctx.expired_threats(run.run_id)
        if json_out:
            _emit(
                {
                    "run": run.model_dump(mode="json"),
                    "expired_threats": expired,
                    "ratings": [
                        _rating_dict(r) for r in ctx.ratings(run.run_id, scope=base.everyone())
                    ],
                }
            )
            return
        _ratings_table(ctx, run.run_id)
        out.print(
            f"As of {run.as_of}; register v{run.register_version}, rules "
            f"v{run.rules_version}"
            + (f", scenario {scenario} v{run.scenario_version}" if scenario else "")
        )
        _print_expired(expired)


def _print_expired(expired: list[str]) -> None:
    if expired:
        out.print(
            f"Based on {len(expired)} expired judgement{'s' if len(expired) != 1 else ''} "
            f"({', '.join(expired)}), counted as last judged: the brief needs a refresh."
        )


def _explanation_dict(e: Explanation) -> dict[str, Any]:
    return {
        "client": _rating_dict(e.rating),
        "run": e.run.model_dump(mode="json"),
        "expired_threats": e.expired_threats,
        "people": e.people.model_dump() if e.people is not None else None,
        "drivers": [
            {
                "threat_id": t.threat_id,
                "title": t.title,
                "category": t.category,
                "likelihood": t.likelihood,
                "likelihood_words": t.likelihood_words,
                "share": round(t.share, 4),
                "status": t.status,
                "main_region": t.main_region,
                "brief_reference": [f"{ev.section} ¶{ev.paragraph}" for ev in t.evidence],
                "brief": t.evidence[0].brief_label if t.evidence else None,
                "evidence": [ev.model_dump() for ev in t.evidence],
            }
            for t in e.threats
        ],
        "items": [i.model_dump() for i in e.items],
        "regions": [r.model_dump() for r in e.regions],
    }


@app.command()
def explain(
    client: Annotated[str, typer.Argument(help="Client id (see `resilience score`).")],
    json_out: JsonOption = False,
    scenario: Annotated[str | None, typer.Option(help="Explain under a scenario.")] = None,
    as_of: AsOfOption = None,
) -> None:
    """Why a client rates as it does: the threats, items and regions that drive it."""
    with _session() as ctx:
        run = ctx.current_run(scenario, _as_of(as_of))
        e = ctx.explain(client, run.run_id, scope=base.everyone())
        if json_out:
            _emit(_explanation_dict(e))
            return
        r = e.rating
        out.print(styled((r.name, "bold"), f" ({r.client_id}), {r.sector}, {r.hq_country}"))
        out.print(
            styled(
                "Band ",
                (r.band, "bold"),
                f", score {r.score:.1f} (range {r.band_low}-"
                f"{r.band_high}, {r.score_low:.1f}-{r.score_high:.1f}) as of {e.run.as_of}"
                f"; register v{e.run.register_version}, rules v{e.run.rules_version}",
            )
        )
        t = Table(title="Threat drivers")
        for col in (
            "share",
            "threat",
            "likelihood (brief's words)",
            "main region",
            "brief",
            "reference",
        ):
            t.add_column(col)
        for d in e.threats:
            refs = ", ".join(f"{ev.section} ¶{ev.paragraph}" for ev in d.evidence)
            t.add_row(
                f"{d.share:.0%}",
                f"{d.title} [{d.threat_id}]",
                f"{d.likelihood} ({d.likelihood_words})",
                d.main_region,
                d.evidence[0].brief_label if d.evidence else "-",
                refs,
            )
        out.print(t)
        t = Table(title="Riskiest items")
        for col in ("risk", "range", "item", "value USD", "crit", "top threat", "detail"):
            t.add_column(col)
        for i in e.items:
            t.add_row(
                f"{i.risk:.3f}",
                f"{i.risk_low:.3f}-{i.risk_high:.3f}",
                f"{i.name} [{i.item_id}]",
                f"{i.value_usd:,.0f}",
                str(i.criticality),
                i.top_threat or "-",
                i.detail,
            )
        out.print(t)
        out.print("Regions: " + ", ".join(f"{g.name} {g.share:.0%}" for g in e.regions))
        if e.people is not None and e.people.total_headcount:
            top = ", ".join(f"{p.title} {p.headcount:,}" for p in e.people.by_threat[:3])
            out.print(
                f"People: {e.people.exposed_headcount:,} of {e.people.total_headcount:,} staff "
                f"work at sites that threats to people's safety reach"
                + (f" ({top})" if top else "")
            )
        _print_expired(e.expired_threats)
        for d in e.threats[:3]:
            for ev in d.evidence:
                src = f"{ev.brief_label}, " if ev.brief_label else ""
                line = f"  [{d.threat_id}] {src}{ev.section} ¶{ev.paragraph}: {ev.summary}"
                out.print(line)


def _move_dict(r: ScenarioRow) -> dict[str, Any]:
    """One client's rating before and after (a scenario, a draft register), for --json."""
    return {
        "client_id": r.client_id,
        "name": r.name,
        "before": _rating_dict(r.before),
        "after": _rating_dict(r.after),
        "delta": round(r.delta, 2),
    }


def _before_after(title: str, rows: list[ScenarioRow]) -> Table:
    t = Table(title=title)
    for col in ("client", "before", "after", "change"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r.name,
            f"{r.before.band} {r.before.score:.1f}",
            f"{r.after.band} {r.after.score:.1f}",
            f"{r.delta:+.1f}",
        )
    return t


@app.command("scenario")
def scenario_cmd(
    name: Annotated[str, typer.Argument(help="Scenario id (see `resilience scenarios`).")],
    json_out: JsonOption = False,
    as_of: AsOfOption = None,
) -> None:
    """Every client's rating before and after a scenario."""
    with _session() as ctx:
        rows = ctx.compare_scenario(name, _as_of(as_of), scope=base.everyone())
        if json_out:
            _emit(
                {
                    "scenario": name,
                    "version": ctx.scenario_version(name),
                    "title": ctx.scenario(name).title,
                    "clients": [_move_dict(r) for r in rows],
                }
            )
            return
        sc = ctx.scenario(name)
        out.print(
            _before_after(f"Scenario {sc.id} v{ctx.scenario_version(name)}: {sc.title}", rows)
        )


clients_app = typer.Typer(
    help="The clients in the book: list (no subcommand), add, edit, remove, audit.",
    invoke_without_command=True,
)
app.add_typer(clients_app, name="clients")


@clients_app.callback()
def clients(ctx_: typer.Context, json_out: JsonOption = False) -> None:
    """List the clients in the book (or add, edit, remove one)."""
    if ctx_.invoked_subcommand is not None:
        return
    with _session() as ctx:
        book = ctx.clients(scope=base.everyone())
        if json_out:
            _emit([c.model_dump() for c in book])
            return
        t = Table(title="Clients")
        for col in ("client", "name", "sector", "HQ", "affiliations", "exposure version"):
            t.add_column(col)
        for c in book:
            t.add_row(
                c.client_id,
                c.name,
                c.sector,
                c.hq_country,
                ", ".join(c.affiliations),
                str(ctx.exposure_version(c.client_id) or "-"),
            )
        out.print(t)


def _services(items: list[str]) -> list[Any]:
    """'ID=Name:DAYS' -> Service (an important business service and its impact tolerance)."""
    from engine.models import Service

    found = []
    for item in items:
        sid, sep, rest = item.partition("=")
        name, sep2, days = rest.rpartition(":")
        try:
            tolerance = float(days)
        except ValueError:
            tolerance = -1.0
        if not sep or not sep2 or not sid.strip() or not name.strip() or tolerance <= 0:
            _fail(
                ResilienceError(
                    f"--service {item!r}: write it as 'ID=Name:DAYS', e.g. "
                    "'payments=Card payments:2' (DAYS: the impact tolerance, more than 0)"
                )
            )
        found.append(Service(service_id=sid.strip(), name=name.strip(), tolerance_days=tolerance))
    return found


AffiliationOption = Annotated[
    list[str] | None,
    typer.Option("--affiliation", help="An affiliation from the rules, e.g. US_ALLY (repeatable)."),
]
ServiceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--service",
        help="An important business service 'ID=Name:DAYS' with its impact tolerance in days "
        "(repeatable).",
    ),
]


@clients_app.command("add")
def clients_add(
    client_id: Annotated[str, typer.Argument(help="New client id: lower-case, digits, hyphens.")],
    name: Annotated[str, typer.Option("--name", help="The client's name as shown.")],
    sector: Annotated[str, typer.Option("--sector", help="A sector from the rules.")],
    hq: Annotated[str, typer.Option("--hq", help="Home country: ISO3 code or name.")],
    affiliation: AffiliationOption = None,
    business_value: Annotated[
        float | None,
        typer.Option("--business-value", help="Annual revenue or enterprise value, in USD."),
    ] = None,
    service: ServiceOption = None,
) -> None:
    """Create a client (recorded in the audit log)."""
    from engine.clients import add_client

    with _session() as ctx:
        spec = add_client(
            ctx,
            client_id,
            name=name,
            sector=sector,
            hq=hq,
            affiliations=affiliation or [],
            business_value_usd=business_value,
            services=_services(service or []),
        )
    out.print(
        f"Created client {spec.client_id} ({spec.name}, {spec.sector}, {spec.hq_country}); "
        f"upload its sites with: resilience upload FILE --client {spec.client_id}",
        markup=False,
    )


@clients_app.command("edit")
def clients_edit(
    client_id: Annotated[str, typer.Argument(help="Client id.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    sector: Annotated[str | None, typer.Option("--sector")] = None,
    hq: Annotated[str | None, typer.Option("--hq")] = None,
    affiliation: AffiliationOption = None,
    no_affiliations: Annotated[
        bool, typer.Option("--no-affiliations", help="Clear the affiliations.")
    ] = False,
    business_value: Annotated[float | None, typer.Option("--business-value")] = None,
    service: ServiceOption = None,
) -> None:
    """Change a client's details (only the options given; recorded in the audit log)."""
    from engine.clients import _UNSET, edit_client

    affiliations = [] if no_affiliations else (affiliation or None)
    with _session() as ctx:
        spec = edit_client(
            ctx,
            client_id,
            name=name,
            sector=sector,
            hq=hq,
            affiliations=affiliations,
            business_value_usd=_UNSET if business_value is None else business_value,
            services=_services(service) if service else None,
        )
    out.print(f"Updated client {spec.client_id} ({spec.name})", markup=False)


@clients_app.command("remove")
def clients_remove(
    client_id: Annotated[str, typer.Argument(help="Client id.")],
    yes: Annotated[
        str | None,
        typer.Option("--yes", help="Confirm without a prompt: repeat the client id."),
    ] = None,
) -> None:
    """Remove a client and all its data (versions, results, its users); asks for confirmation."""
    from engine.clients import removal_counts, remove_client

    with _session() as ctx:
        counts = removal_counts(ctx, client_id)
        confirm = yes
        if confirm is None:
            out.print(
                f"Removing {client_id} deletes {counts['versions']} exposure version(s) "
                f"({counts['assets']} asset and {counts['routes']} route rows) and "
                f"{counts['users']} client user(s). This cannot be undone.",
                markup=False,
            )
            confirm = typer.prompt("Type the client id to confirm", default="", show_default=False)
        counts = remove_client(ctx, client_id, confirm=confirm)
    out.print(
        f"Removed client {client_id}: {counts['versions']} exposure version(s), "
        f"{counts['assets']} asset rows, {counts['routes']} route rows, {counts['users']} user(s)",
        markup=False,
    )


@clients_app.command("audit")
def clients_audit(
    client_id: Annotated[str | None, typer.Argument(help="One client (default all).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Who created, changed or removed clients, and when."""
    from engine.clients import audit_entries

    with _session() as ctx:
        entries = audit_entries(ctx, client_id)
    if json_out:
        _emit([e.__dict__ for e in entries])
        return
    for e in entries:
        out.print(
            f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor}  {e.action}  {e.client_id}  "
            + json.dumps(e.detail, sort_keys=True, default=str),
            markup=False,
        )


# "-33.9, 18.4" is a coordinate, not an option: unknown "options" are kept as arguments
@app.command(context_settings={"ignore_unknown_options": True})
def route(
    origin: Annotated[str, typer.Argument(help="UN/LOCODE, port name or 'lat, lon'.")],
    destination: Annotated[str, typer.Argument(help="UN/LOCODE, port name or 'lat, lon'.")],
    json_out: JsonOption = False,
) -> None:
    """The sea route between two ports, its chokepoints and the detour if each closes."""
    from engine.context import describe_route
    from exposures.ports import resolve_port

    with _session() as ctx:
        ctx.init()
        info = ctx.route(resolve_port(origin), resolve_port(destination))
        if json_out:
            _emit(json.loads(info.to_json()))
            return
        out.print(f"{info.origin.name} -> {info.destination.name}: {describe_route(info)}")


@app.command()
def ingest(
    brief: Annotated[Path, typer.Argument(help="The brief: .txt, .md, .html or .pdf.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the draft threats (YAML).")],
    date: Annotated[
        str | None,
        typer.Option(
            help="The brief's date, YYYY-MM-DD (kept in the drafts file for review; time "
            "frames such as 'by year-end' count from it)."
        ),
    ] = None,
    publisher: Annotated[str, typer.Option(help="Who published the brief.")] = "",
    json_out: JsonOption = False,
) -> None:
    """Read a brief and propose draft threats, each with the text that supports it."""
    from scoring_rules.extract import ingest_to_yaml

    try:
        result = ingest_to_yaml(brief, out, date=_as_of(date, "--date"), publisher=publisher)
    except ResilienceError as exc:
        _fail(exc)
        return
    if json_out:
        sys.stdout.write(result.to_json() + "\n")
        return
    t = Table(title=f"{len(result.drafts)} draft threats from {brief.name} -> {out}")
    for col in ("id", "category", "main region", "likelihood", "horizon", "confidence"):
        t.add_column(col)
    for d in result.drafts:
        t.add_row(
            d.id,
            d.category,
            d.main_region or "-",
            f"{d.likelihood} ({d.likelihood_words})",
            f"{d.horizon.from_months:g}-{d.horizon.to_months:g} months",
            f"{d.extraction_confidence:.2f}",
        )
    console.print(t)
    console.print(f"Review with: resilience review {out} --accept all --note '...'")


def _ids(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _supersede(text: str | None) -> dict[str, list[str]]:
    """'new=old,new2=old2+old3' -> {'new': ['old'], 'new2': ['old2', 'old3']}."""
    out: dict[str, list[str]] = {}
    for part in _ids(text):
        new, sep, olds = part.partition("=")
        if not sep or not new.strip() or not olds.strip():
            raise ResilienceError(
                f"--supersede {part!r}: write NEW=OLD (several old ids joined with '+')"
            )
        out.setdefault(new.strip(), []).extend(o.strip() for o in olds.split("+") if o.strip())
    return out


SupersedeOption = Annotated[
    str | None,
    typer.Option(
        help="New threats that replace older ones: NEW=OLD[+OLD...], comma-separated. The old "
        "threats leave the register, kept in its history."
    ),
]
RetireOption = Annotated[
    str | None,
    typer.Option(help="Older threats the new brief withdraws, comma-separated."),
]
PublishOption = Annotated[
    bool,
    typer.Option("--publish", help="Make it the current register (default: a draft version only)."),
]


def _store_and_preview(
    ctx: Context,
    register: Any,
    *,
    note: str,
    publish: bool,
    json_out: bool,
    summary: dict[str, Any],
) -> None:
    """Preview the ratings a register moves against the current run, then publish it (with the
    note) when ``publish``, else save it as a draft: one workflow (engine/publication.py)."""
    from engine import publication
    from engine.review import outside_places
    from engine.store import Scope

    if publish:
        publication.required_note(note, "publishing the register (--publish)")
    before = ctx.register()
    pv = publication.preview(ctx, "register", register, scope=Scope.everything())
    new_ids = summary.get("accepted") or summary.get("added") or []
    flags = outside_places(ctx, pv.rows, pv.after_run, register, new_ids, Scope.everything())
    alerted = None
    if publish:
        done = publication.publish(ctx, "register", register, note=note, by=state.user)
        version, alerted = done.version, done.alerts
    else:
        version = publication.save_draft(
            ctx, "register", register, note=note or "draft from the command line", by=state.user
        )
    rows = pv.rows
    retired = [r.threat.id for r in register.retired[len(before.retired) :]]
    if json_out:
        _emit(
            {
                "register_version": version,
                "published": publish,
                **summary,
                "retired": retired,
                "briefs": [b.id for b in register.all_briefs()],
                "outside_places": [
                    {"client_id": f.client_id, "delta": round(f.delta, 2), "reason": f.reason}
                    for f in flags
                ],
                "clients": [_move_dict(r) for r in rows],
                "alerts": [n.to_dict() for n in alerted.notified] if alerted else [],
            }
        )
        return
    if alerted is not None:
        _print_alerted(alerted)
    state_word = "published" if publish else "saved as a draft (not current)"
    counts = ", ".join(f"{len(v)} {k}" for k, v in summary.items() if isinstance(v, list))
    out.print(f"Register version {version} {state_word}: {counts}.")
    briefs = register.all_briefs()
    if len(briefs) > 1:
        out.print(
            f"It holds {len(register.threats)} threats from {len(briefs)} briefs: "
            + "; ".join(f"{b.id} ({b.label})" for b in briefs)
            + f"; as of {register.as_of.isoformat()}."
        )
    for r in register.retired[len(before.retired) :]:
        how = f"superseded by {r.superseded_by}" if r.superseded_by else "retired"
        out.print(f"  {r.threat.id} ({r.threat.title}): {how}")
    out.print(_before_after("Ratings this register moves", rows))
    for f in flags:
        out.print(f"Check {f.name} ({f.delta:+.1f}): {f.reason}.")


@app.command()
def review(
    drafts: Annotated[Path, typer.Argument(help="A drafts file written by `resilience ingest`.")],
    accept: Annotated[
        str | None, typer.Option(help="Draft ids to accept, comma-separated, or 'all'.")
    ] = None,
    reject: Annotated[
        str | None, typer.Option(help="Draft ids to reject, comma-separated.")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            help="The new register holds only the accepted "
            "drafts (default: merged into the current one)."
        ),
    ] = False,
    brief_date: Annotated[
        str | None,
        typer.Option(
            help="The brief's date, YYYY-MM-DD (its threats' horizons count from it); needed "
            "for a brief the register does not hold yet unless the drafts file has it."
        ),
    ] = None,
    publisher: Annotated[str | None, typer.Option(help="Who published the brief.")] = None,
    brief_id: Annotated[
        str | None, typer.Option(help="An id for the brief (default: from its file name).")
    ] = None,
    supersede: SupersedeOption = None,
    retire: RetireOption = None,
    note: Annotated[str, typer.Option(help="Why this version exists.")] = "",
    publish: PublishOption = False,
    json_out: JsonOption = False,
) -> None:
    """Accept or reject drafts, store a register version and show which ratings it moves.

    Drafts from a brief the register does not hold yet join it as a new brief (with its date and
    publisher), and may supersede or retire older threats; drafts from a brief it holds update
    that brief's threats.
    """
    from scoring_rules.extract import Review, load_draft_file
    from scoring_rules.extract import publish as build_register
    from scoring_rules.threats import Brief, brief_id_for

    try:
        rv = Review.from_file(drafts)
        meta = load_draft_file(drafts)
        ids = [d.id for d in rv.drafts] if accept == "all" else _ids(accept)
        rejected = set(_ids(reject))
        for draft_id in ids:
            if draft_id not in rejected:
                rv.accept(draft_id)
        for draft_id in rejected:
            rv.reject(draft_id)
        if not rv.accepted():
            raise ResilienceError("nothing to publish: accept or edit at least one draft first")
        with _ctx() as ctx:
            base = ctx.register()
            known = {b.source for b in base.all_briefs()} | {b.id for b in base.all_briefs()}
            bid = brief_id or meta.brief_id or brief_id_for(rv.source or drafts.name)
            brief = None
            if replace or not ({rv.source, bid} & known):
                day = _as_of(brief_date, "--brief-date") if brief_date else meta.date
                if day is None and not replace:
                    raise ResilienceError(
                        f"{drafts.name} comes from a brief the register does not hold yet; give "
                        "its date with --brief-date YYYY-MM-DD (its horizons count from it)"
                    )
                if day is not None:
                    brief = Brief(
                        id=bid,
                        title=rv.title or bid,
                        publisher=publisher if publisher is not None else meta.publisher,
                        date=day,
                        source=rv.source or drafts.name,
                        outline=rv.outline,
                    )
            register = build_register(
                rv,
                base,
                replace=replace,
                brief=brief,
                supersede=_supersede(supersede),
                retire=_ids(retire),
                note=note,
            )
            _store_and_preview(
                ctx,
                register,
                note=note if publish else (note or f"reviewed from {drafts.name}"),
                publish=publish,
                json_out=json_out,
                summary={
                    "accepted": [d.id for d in rv.accepted()],
                    "rejected": [d.id for d in rv.rejected()],
                },
            )
    except ResilienceError as exc:
        _fail(exc)


@app.command("add-brief")
def add_brief_cmd(
    register_file: Annotated[
        Path, typer.Argument(help="A reviewed register file of one brief (YAML).")
    ],
    supersede: SupersedeOption = None,
    retire: RetireOption = None,
    note: Annotated[str, typer.Option(help="Why this version exists.")] = "",
    publish: PublishOption = False,
    json_out: JsonOption = False,
) -> None:
    """Add a reviewed brief's threats to the current register, beside the briefs it holds."""
    from scoring_rules.briefs import add_brief, register_as_brief
    from scoring_rules.threats import load_register

    try:
        brief, threats = register_as_brief(load_register(register_file))
        with _ctx() as ctx:
            register = add_brief(
                ctx.register(),
                brief,
                threats,
                supersede=_supersede(supersede),
                retire=_ids(retire),
                note=note,
            )
            _store_and_preview(
                ctx,
                register,
                note=note
                if publish
                else (note or f"brief {brief.id} added from {register_file.name}"),
                publish=publish,
                json_out=json_out,
                summary={"added": [t.id for t in threats]},
            )
    except ResilienceError as exc:
        _fail(exc)


@app.command()
def report(
    client: Annotated[str | None, typer.Argument(help="Client id (omit with --portfolio).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf or html")] = "pdf",
    out_path: Annotated[Path, typer.Option("--out", help="File or folder to write.")] = Path("."),
    portfolio: Annotated[bool, typer.Option("--portfolio", help="The whole book.")] = False,
) -> None:
    """A client report (or, with --portfolio, the book's) ready to send, in PDF or HTML."""
    from engine.report import report_command

    if portfolio == (client is not None):
        _fail(ResilienceError("give a CLIENT, or --portfolio for the whole book"))
        return
    with _session() as ctx:
        path = report_command(ctx, client, fmt, out_path, portfolio=portfolio)
    console.print(f"Wrote {path}")


@app.command()
def export(
    client: Annotated[str, typer.Argument(help="Client id.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "xlsx",
    out_path: Annotated[Path, typer.Option("--out", help="File or folder to write.")] = Path("."),
) -> None:
    """A client's scores and items as CSV or XLSX (client text neutralised, no formulas)."""
    from engine.report import export_command

    with _session() as ctx:
        path = export_command(ctx, client, fmt, out_path)
    console.print(f"Wrote {path}")


KindOption = Annotated[
    str, typer.Option("--kind", help="What the file lists: assets (sites) or routes (sea lanes).")
]


def _print_report(outcome: Any) -> None:
    r = outcome.report
    console.print(
        f"{r.filename}: {r.rows_total} rows, {r.rows_accepted} valid, "
        f"{r.rows_rejected} rejected ({r.format or '?'}"
        + (f", {r.encoding}" if r.encoding else "")
        + ")"
    )
    for line in r.file_errors:
        console.print(styled("  ", ("file:", "red"), f" {line}"))
    for w in r.warnings:
        console.print(styled("  ", ("warning:", "yellow"), f" {w}"))
    if r.problems:
        t = Table(title="Problems (row numbers are the file's; the header is row 1)")
        for col in ("row", "column", "value", "problem", "accepted"):
            t.add_column(col)
        for p in r.problems[:200]:
            t.add_row(str(p.row), p.header or p.column, p.value, p.message, p.accepted)
        console.print(t)
        if len(r.problems) > 200:
            console.print(f"  ... and {len(r.problems) - 200} more (use --json for all)")


def _pairs(items: list[str], option: str, example: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        left, sep, right = item.rpartition("=")
        if not sep or not left.strip():
            _fail(ResilienceError(f"{option} {item!r}: write it as {example}"))
        out.append((left.strip(), right.strip()))
    return out


def _mapping_options(
    maps: list[str], value_maps: list[str]
) -> tuple[dict[str, str | None], dict[str, dict[str, str]]]:
    columns: dict[str, str | None] = {
        header: (target or None)
        for header, target in _pairs(maps, "--map", "'Your header=column' (empty column: ignore)")
    }
    values: dict[str, dict[str, str]] = {}
    for left, accepted in _pairs(value_maps, "--value-map", "'column:Your value=accepted'"):
        column, sep, value = left.partition(":")
        if not sep or not column.strip() or not value.strip() or not accepted:
            _fail(
                ResilienceError(
                    f"--value-map {left + '=' + accepted!r}: write it as "
                    "'column:Your value=accepted value', e.g. 'asset_type:Production site=plant'"
                )
            )
        values.setdefault(column.strip(), {})[value.strip()] = accepted
    return columns, values


def _print_plan(plan: Any) -> None:
    console.print(
        f"Preview ({plan.mode}): {plan.summary()}, {plan.unchanged} unchanged; "
        f"{plan.n_items} {plan.kind} after; {plan.rating_line()}",
        markup=False,
    )
    if plan.not_found:
        shown = ", ".join(plan.not_found[:10])
        console.print(f"  not in the current list (nothing to delete): {shown}", markup=False)


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet file.")],
    client: Annotated[str, typer.Option("--client", help="The client the file belongs to.")],
    kind: KindOption = "assets",
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="replace: the file is the new list; upsert: add the file's rows and update "
            "those with a known id; delete: remove the rows with the file's ids.",
        ),
    ] = "replace",
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="'Your header=column' (repeatable), e.g. 'Replacement value USD=value_usd'; "
            "'Header=' ignores a column.",
        ),
    ] = None,
    value_maps: Annotated[
        list[str] | None,
        typer.Option(
            "--value-map",
            help="'column:Your value=accepted' (repeatable), e.g. "
            "'asset_type:Production site=plant'.",
        ),
    ] = None,
    template_name: Annotated[
        str | None,
        typer.Option("--template", help="Use the client's saved mapping template NAME."),
    ] = None,
    save_template: Annotated[
        str | None,
        typer.Option(
            "--save-template", help="Save this upload's --map/--value-map as template NAME."
        ),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="The workbook sheet to read (XLSX).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and preview only; load nothing.")
    ] = False,
    valid_only: Annotated[
        bool,
        typer.Option("--valid-only", help="Load the valid rows even if some rows are rejected."),
    ] = False,
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Write the rejected rows here (CSV) to fix and upload again."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Check an asset or route list, preview what it changes, and load it as a new version.

    The preview ("N added, M updated, K removed" and the rating change) is printed before
    anything loads. Exit code 0 when loaded (or, with --dry-run, when every row is valid and the
    file would change something), 1 when nothing was.
    """
    from engine import upload_service
    from engine.uploads import MODES, check_and_plan, dry_run_reason

    if mode not in MODES:
        _fail(ResilienceError(f"--mode {mode!r}: use {', '.join(MODES)}"))
    if kind not in ("assets", "routes"):
        _fail(ResilienceError(f"--kind {kind!r}: use assets or routes"))
    columns, values = _mapping_options(maps or [], value_maps or [])
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(ResilienceError(f"cannot read {file}: {exc.strerror}"))
        return
    served = None
    if dry_run and not save_template:
        # the store's warm checker service checks and previews it: this process imports
        # neither the checking code nor the engine's (engine/upload_service.py)
        try:
            served = upload_service.dry_run(
                state.db,
                client,
                data,
                file.name,
                kind,  # type: ignore[arg-type]
                columns,
                values,
                template=template_name,
                sheet=sheet,
                mode=mode,  # type: ignore[arg-type]
                valid_only=valid_only,
            )
        except ResilienceError as exc:
            _fail(exc)
    if served is not None:
        outcome, rejected_csv = served
        plan = outcome.plan
        if quarantine is not None and outcome.report.rows_rejected:
            quarantine.write_bytes(rejected_csv)
        if plan is not None and not json_out:
            _print_report(outcome)
            _print_plan(plan)
    else:
        with _session() as ctx:
            prepared, outcome = check_and_plan(
                ctx,
                client,
                data,
                file.name,
                kind,  # type: ignore[arg-type]
                columns,
                values,
                template=template_name,
                save_template=save_template,
                sheet=sheet,
                mode=mode,  # type: ignore[arg-type]
                valid_only=valid_only,
                scope=base.everyone(),
            )
            if quarantine is not None and prepared.report.rows_rejected:
                quarantine.write_bytes(prepared.quarantine_csv)
            plan = outcome.plan
            if plan is not None and not json_out:
                _print_report(outcome)
                _print_plan(plan)
            if plan is None:
                pass
            elif dry_run:
                outcome.reason = dry_run_reason(plan)
            else:
                outcome = ctx.commit_upload(
                    client,
                    prepared,
                    kind,  # type: ignore[arg-type]
                    mode=mode,  # type: ignore[arg-type]
                    valid_only=valid_only,
                    planned=plan,
                    by=state.user,
                    scope=base.everyone(),
                )
                if outcome.loaded:
                    from engine import publication

                    alerted = publication.announce(
                        ctx,
                        "exposures",
                        outcome.version,
                        state.user,
                        note=file.name,
                        subject=client,
                    )
                    if not json_out:
                        _print_alerted(alerted)
    ok = outcome.loaded or (
        dry_run
        and outcome.report.ok
        and not outcome.report.rows_rejected
        and plan is not None
        and plan.changes
    )
    if json_out:
        _emit(outcome.as_dict())
    else:
        if plan is None:
            _print_report(outcome)
        if outcome.loaded:
            line = f" {outcome.rows_loaded} {kind} as version {outcome.version}"
            if outcome.before and outcome.after:
                line += (
                    f"; rating {outcome.before.band} {outcome.before.score:.1f} -> "
                    f"{outcome.after.band} {outcome.after.score:.1f}"
                )
            elif outcome.after:
                line += f"; rating {outcome.after.band} {outcome.after.score:.1f}"
            console.print(styled(("Loaded", "green"), line))
            if outcome.diff:
                d = outcome.diff
                console.print(
                    f"Changes from version {d.old_version}: {d.count('added')} added, "
                    f"{d.count('changed')} updated, {d.count('removed')} removed",
                    markup=False,
                )
        else:
            console.print(f"Nothing loaded: {outcome.reason}", markup=False)
    if not ok:
        raise typer.Exit(1)


@app.command()
def versions(
    client: Annotated[str, typer.Argument(help="Client id.")], json_out: JsonOption = False
) -> None:
    """A client's exposure versions (the current one marked)."""
    with _session() as ctx:
        rows = ctx.exposure_history(client, scope=base.everyone())
    if json_out:
        _emit([{**v.__dict__, "created_at": str(v.created_at)} for v in rows])
        return
    t = Table(title=f"Exposure versions of {client}")
    for col in ("version", "", "created", "assets", "routes", "note"):
        t.add_column(col)
    for v in rows:
        t.add_row(
            str(v.version),
            "current" if v.current else "",
            f"{v.created_at:%Y-%m-%d %H:%M}",
            str(v.n_assets),
            str(v.n_routes),
            v.note,
        )
    console.print(t)


@app.command()
def diff(
    client: Annotated[str, typer.Argument(help="Client id.")],
    old: Annotated[int, typer.Argument(help="Earlier version.")],
    new: Annotated[int, typer.Argument(help="Later version.")],
    json_out: JsonOption = False,
) -> None:
    """What changed between two exposure versions, and how the rating moved."""
    with _session() as ctx:
        d = ctx.diff_versions(client, old, new, scope=base.everyone())
    if json_out:
        _emit(d.as_dict())
        return
    console.print(
        f"{client}: version {old} -> {new}: {d.count('added')} added, "
        f"{d.count('removed')} removed, {d.count('changed')} changed; rating "
        f"{d.old_band} {d.old_score:.1f} -> {d.new_band} {d.new_score:.1f}"
    )
    for c in d.changes:
        extra = f" ({', '.join(c.fields)})" if c.fields else ""
        console.print(f"  {c.change:8} {c.kind} {c.item_id}{extra}")


@app.command()
def rollback(
    client: Annotated[str, typer.Argument(help="Client id.")],
    version: Annotated[int, typer.Argument(help="The version to make current.")],
    note: NoteOption = "",
) -> None:
    """Make an earlier exposure version current again (nothing is deleted)."""
    with _session() as ctx:
        from engine import publication

        done = publication.rollback_exposures(ctx, client, version, note=note, by=state.user)
        assert done.alerts is not None
        _print_alerted(done.alerts)
        run = ctx.current_run()
        r = ctx.rating(run.run_id, client, scope=base.everyone())
    console.print(f"{client}: version {version} is current; rating {r.band} {r.score:.1f}")


@app.command()
def template(
    kind: KindOption = "assets",
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    out_path: Annotated[Path | None, typer.Option("--out", help="File to write.")] = None,
) -> None:
    """An upload template with an example row (XLSX: with a sheet describing each column)."""
    from exposures.upload import templates

    if kind not in ("assets", "routes") or fmt not in ("csv", "xlsx"):
        _fail(ResilienceError("use --kind assets|routes and --format csv|xlsx"))
        return
    data = templates(kind, fmt)
    target = out_path or Path(f"{kind}_template.{fmt}")
    target.write_bytes(data)
    console.print(f"Wrote {target}")


from engine import alerts_cli  # noqa: E402 - history, alerts, follow

app.registered_commands.extend(alerts_cli.commands.registered_commands)
app.add_typer(users_app, name="users")
app.add_typer(scenarios_app, name="scenarios")

rules_app = typer.Typer(
    help="The scoring rules: check, preview and publish a rules file; history; roll back.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")
register_app = typer.Typer(
    help="The threat register: history and roll back (add briefs with `review`, `add-brief`).",
    no_args_is_help=True,
)
app.add_typer(register_app, name="register")


def _history(kind: str, json_out: bool) -> None:
    with _session() as ctx:
        hist = ctx.history(kind)
        current = ctx.rules_version() if kind == "rules" else ctx.register_version()
    rows = [
        {**r, "created_at": str(r["created_at"]), "current": r["version"] == current}
        for r in hist.iter_rows(named=True)
    ]
    if json_out:
        _emit(rows)
        return
    t = Table(title=f"{kind.capitalize()} versions (drafts are never roll-back targets)")
    for col in ("version", "", "status", "stored", "note"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["version"]),
            "current" if r["current"] else "",
            r["status"],
            r["created_at"][:16],
            r["note"],
        )
    out.print(t)


def _rollback_doc(kind: str, version: int, note: str) -> None:
    with _session() as ctx:
        ctx.rollback(kind, version, note=note, by=state.user)
        run = ctx.current_run()
    out.print(
        f"{kind.capitalize()} version {version} is current again; ratings in run {run.run_id}."
    )


@register_app.command("history")
def register_history(json_out: JsonOption = False) -> None:
    """The register's versions: published, drafts (previews left out); the current one marked."""
    _history("register", json_out)


@register_app.command("rollback")
def register_rollback(
    version: Annotated[int, typer.Argument(help="A published version to make current again.")],
    note: NoteOption = "",
) -> None:
    """Make an earlier published register version current again."""
    _rollback_doc("register", version, note)


@rules_app.command("history")
def rules_history(json_out: JsonOption = False) -> None:
    """The rules' versions: published, drafts (previews left out); the current one marked."""
    _history("rules", json_out)


@rules_app.command("rollback")
def rules_rollback(
    version: Annotated[int, typer.Argument(help="A published version to make current again.")],
    note: NoteOption = "",
) -> None:
    """Make an earlier published rules version current again."""
    _rollback_doc("rules", version, note)


@rules_app.command("publish")
def rules_publish(
    file: Annotated[Path, typer.Argument(help="A rules YAML file.")],
    note: NoteOption = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Preview the ratings it moves; publish nothing.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Preview which ratings a rules file moves, then publish it with a note."""
    from engine import publication
    from engine.store import Scope
    from scoring_rules.rules import load_rules

    with _session() as ctx:
        rules = load_rules(file)
        if not dry_run:
            publication.required_note(note, "publishing the rules")
        pv = ctx.preview_document("rules", rules, scope=Scope.everything())
        version = None if dry_run else ctx.publish_rules(rules, note, by=state.user)
    if json_out:
        _emit(
            {
                "rules_version": version,
                "published": version is not None,
                "clients": [_move_dict(r) for r in pv.rows],
            }
        )
        return
    out.print(_before_after("Ratings these rules move", pv.rows))
    if version is None:
        out.print("Preview only (--dry-run): nothing was published.")
    else:
        out.print(f"Rules version {version} published.")


@app.command("audit")
def audit_cmd(
    json_out: JsonOption = False,
    document: Annotated[
        str | None,
        typer.Option(
            "--document",
            help="Only entries about one kind of document: register, rules, scenario, "
            "exposures, client or user.",
        ),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's entries.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, latest first.")] = 100,
) -> None:
    """Who published or rolled back what, when and why (and client and account changes)."""
    with _session() as ctx:
        entries = ctx.audit_entries(kind=document, user=user, limit=limit)
    if json_out:
        _emit([e.as_dict() for e in entries])
        return
    t = Table(title="Audit log, latest first")
    for col in ("at", "user", "action", "document", "version", "note"):
        t.add_column(col)
    for e in entries:
        t.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.user,
            e.action,
            e.document,
            "" if e.version is None else str(e.version),
            e.note,
        )
    out.print(t)


@rules_app.command("examples")
def rules_examples(
    file: Annotated[
        Path | None,
        typer.Argument(help="A rules YAML file; default the published rules."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Run every worked example of the rules through the scoring SQL: expected against computed.

    Exits 1 when any example's computed value differs from its expected one.
    """
    from engine.examples import run_examples
    from scoring_rules.rules import load_rules

    with _session() as ctx:
        rules = load_rules(file) if file is not None else ctx.rules()
        results = run_examples(rules)
    if json_out:
        _emit(
            {
                "rules": rules.version,
                "examples": [
                    {
                        "name": r.name,
                        "kind": r.kind,
                        "expected": r.expected,
                        "computed": r.computed,
                        "tolerance": r.tolerance,
                        "ok": r.ok,
                    }
                    for r in results
                ],
            }
        )
    else:
        t = Table(title=f"Worked examples of rules {rules.version}, computed by the scoring SQL")
        for col in ("", "example", "expected", "computed"):
            t.add_column(col)
        for r in results:
            t.add_row(
                "ok" if r.ok else "DIFFERS",
                r.name,
                ", ".join(f"{k} {_num(v)}" for k, v in r.expected.items()),
                ", ".join(f"{k} {_num(r.computed.get(k))}" for k in r.expected),
            )
        out.print(t)
    bad = [r.name for r in results if not r.ok]
    if bad:
        err.print(f"Error: {len(bad)} worked example(s) differ: {'; '.join(bad)}", markup=False)
        raise typer.Exit(1)


def _num(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    app()
