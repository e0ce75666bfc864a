"""The `resilience scenarios` command group: list, show, add, edit, draft, preview, publish,
history, rollback, remove.

Bare ``resilience scenarios`` lists them. ``add`` and ``edit`` publish at once; ``draft`` stores a
version that is not current, ``preview`` shows which ratings it would move and ``publish`` makes
it current (the publication workflow of engine/publication.py, which the app's scenarios page
calls too). Each command parses its arguments and calls the
``Context``; engine/cli.py mounts the group with ``app.add_typer(scenarios_app, ...)``. Text an
analyst wrote (titles, notes, YAML) is printed as text: no console markup or control character in
it takes effect.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from engine import cli_base as cli
from engine.audit import os_user
from engine.errors import ResilienceError
from engine.terminal import styled
from engine.text import clean

if TYPE_CHECKING:  # pydantic models and the gazetteer: `resilience --help` stays fast
    from engine.models import ScenarioInfo
    from scoring_rules.scenarios import Scenario

scenarios_app = typer.Typer(
    name="scenarios",
    help="The scenarios a run can apply: list, show, add, edit, draft, preview, publish, history, "
    "rollback, remove.",
    invoke_without_command=True,
)

NoteOption = Annotated[str, typer.Option("--note", help="What changed and why (required).")]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by", help="Who makes the change (default $RESILIENCE_USER, else the login name)."
    ),
]
IdArg = Annotated[str, typer.Argument(help="Scenario id (see `resilience scenarios`).")]


def _text(value: object) -> str:
    """Analyst text for the console on one line: control and bidi characters dropped (the
    console shows every string literally, markup included; engine/terminal.py)."""
    return clean(str(value))


def _by(by: str | None) -> str:
    """--by, else the command's user (``resilience --as NAME``, $RESILIENCE_USER, the login)."""
    return by or cli.state.user or os_user()


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise ResilienceError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ResilienceError(f"{path}: not UTF-8 text; save the scenario as UTF-8") from None
    except OSError as exc:
        raise ResilienceError(f"cannot read {path}: {exc.strerror}") from None


def _info_dict(i: ScenarioInfo) -> dict[str, Any]:
    return i.model_dump(mode="json")


@scenarios_app.callback()
def scenarios_list(
    typer_ctx: typer.Context,
    json_out: cli.JsonOption = False,
    all_: Annotated[bool, typer.Option("--all", help="Include retired scenarios.")] = False,
) -> None:
    """List the scenarios with their current version (bare `resilience scenarios`)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    with cli.session() as ctx:
        rows = ctx.scenario_list(include_retired=all_)
        register = ctx.register()
        missing = {sid: sc.missing_threats(register) for sid, sc in ctx.scenarios().items()}
    if json_out:
        cli.emit([_info_dict(i) for i in rows])
        return
    if not rows:
        cli.out.print("No scenarios; `resilience init` stores the built-in ones.")
        return
    t = Table(title="Scenarios")
    for col in ("scenario", "title", "version", "versions", "last change"):
        t.add_column(col)
    for i in rows:
        t.add_row(
            _text(i.scenario_id),
            _text(i.title)
            + (
                f" (not on this register: needs {', '.join(missing[i.scenario_id])})"
                if missing.get(i.scenario_id)
                else ""
            ),
            f"v{i.version}" + (" (retired)" if i.retired else ""),
            str(i.n_versions),
            f"{i.changed_at:%Y-%m-%d %H:%M} by {_text(i.changed_by)}",
        )
    cli.out.print(t)


def _describe(sc: Scenario) -> list[str]:
    lines = [_text(sc.description), ""]
    if sc.overrides:
        lines.append("Overrides:")
    for o in sc.overrides:
        parts = []
        if o.likelihood is not None:
            words = f" ({_text(o.likelihood_words)})" if o.likelihood_words else ""
            parts.append(f"likelihood {o.likelihood}{words}")
        if o.severity is not None:
            parts.append(f"severity {o.severity}")
        if o.intensity_scale is not None:
            parts.append(f"intensity x{o.intensity_scale:g}")
        if o.add_regions:
            parts.append("adds " + ", ".join(f"{r.region} {r.intensity:g}" for r in o.add_regions))
        lines.append(f"  {_text(o.threat)}: " + ("; ".join(parts) or "no change"))
    if sc.added_threats:
        lines.append("Added threats:")
    for t in sc.added_threats:
        regions = ", ".join(f"{r.region} {r.intensity:g}" for r in t.regions)
        refs = ", ".join(f"{e.section} ¶{e.paragraph}" for e in t.evidence)
        lines.append(
            f"  {_text(t.id)}: {_text(t.title)}; {t.likelihood}, severity {t.severity}; "
            f"{regions}; brief {refs}"
        )
    return lines


@scenarios_app.command("show")
def show(
    scenario_id: IdArg,
    version: Annotated[
        int | None, typer.Option("--version", help="An earlier version (default the current).")
    ] = None,
    yaml_out: Annotated[
        bool, typer.Option("--yaml", help="Print the YAML it was stored from, to edit and store.")
    ] = False,
    json_out: cli.JsonOption = False,
) -> None:
    """One scenario: what it changes, and who stored the version, when and why."""
    with cli.session() as ctx:
        history = ctx.scenario_history(scenario_id)
        if version is not None:
            ctx.scenario(scenario_id, version)  # an error naming the version when it is not there
        current = [h.version for h in history if h.current]  # none when retired: the last one
        v = version if version is not None else (current[0] if current else history[-1].version)
        stored = next(h for h in history if h.version == v)
        sc = ctx.scenario(scenario_id, stored.version)
        text = ctx.scenario_yaml(scenario_id, stored.version)
    if yaml_out:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    if json_out:
        cli.emit({**stored.model_dump(mode="json"), "scenario": sc.model_dump(mode="json")})
        return
    state = "current" if stored.current else "not current"
    cli.out.print(styled((sc.id, "bold"), f" v{stored.version} ({state}): {sc.title}"))
    for line in _describe(sc):
        cli.out.print(line)
    cli.out.print(
        f"Stored {stored.created_at:%Y-%m-%d %H:%M} by {_text(stored.created_by)}: "
        f"{_text(stored.note)}"
    )


@scenarios_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="The scenario as YAML (see `show ID --yaml`).")],
    note: NoteOption,
    by: ByOption = None,
) -> None:
    """Store a new scenario as its version 1 (checked against the register and rules first)."""
    with cli.session() as ctx:
        stored = ctx.add_scenario(_read(file), note=note, by=_by(by), where=str(file))
    cli.out.print(
        f"Stored scenario {_text(stored.scenario_id)} version {stored.version}: "
        f"{_text(stored.title)}"
    )


@scenarios_app.command("edit")
def edit(
    scenario_id: IdArg,
    file: Annotated[Path, typer.Argument(help="The new text of the scenario, as YAML.")],
    note: NoteOption,
    by: ByOption = None,
) -> None:
    """Store a file as the scenario's next version and make it current."""
    with cli.session() as ctx:
        stored = ctx.edit_scenario(scenario_id, _read(file), note=note, by=_by(by), where=str(file))
    cli.out.print(f"Stored {_text(stored.scenario_id)} version {stored.version}; it is current")


@scenarios_app.command("draft")
def draft(
    file: Annotated[Path, typer.Argument(help="The scenario as YAML (a new one, or a change).")],
    note: NoteOption,
    by: ByOption = None,
) -> None:
    """Store a file as a draft version: checked, not current, not a roll-back target."""
    from engine import publication

    with cli.session() as ctx:
        stored = publication.save_scenario_draft(
            ctx, _read(file), note=note, by=_by(by), where=str(file)
        )
    sid = _text(stored.scenario_id)
    cli.out.print(
        f"Saved draft {sid} version {stored.version} (not published); "
        f"`resilience scenarios preview {sid} {stored.version}` shows the ratings it moves"
    )


@scenarios_app.command("preview")
def preview(
    scenario_id: IdArg,
    version: Annotated[int, typer.Argument(help="The stored version (a draft) to preview.")],
    json_out: cli.JsonOption = False,
) -> None:
    """Which ratings publishing a version would move, against the scenario's current version."""
    from engine import publication

    with cli.session() as ctx:
        pv = publication.preview_scenario(ctx, scenario_id, version, scope=cli.everyone())
    if json_out:
        cli.emit(
            {
                "scenario_id": scenario_id,
                "version": pv.version,
                "before_run": pv.before_run,
                "after_run": pv.after_run,
                "clients": [
                    {
                        "client_id": r.client_id,
                        "before": {"band": r.before.band, "score": round(r.before.score, 2)},
                        "after": {"band": r.after.band, "score": round(r.after.score, 2)},
                        "delta": round(r.delta, 2),
                    }
                    for r in pv.rows
                ],
            }
        )
        return
    t = Table(title=f"Ratings version {version} of {_text(scenario_id)} would move")
    for col in ("client", "now", "with this version", "change"):
        t.add_column(col)
    for r in pv.rows:
        t.add_row(
            _text(r.name),
            f"{r.before.band} {r.before.score:.1f}",
            f"{r.after.band} {r.after.score:.1f}",
            f"{r.delta:+.1f}",
        )
    cli.out.print(t)
    moved = sum(1 for r in pv.rows if r.before.band != r.after.band)
    cli.out.print(f"{moved} of {len(pv.rows)} clients change band. Nothing was published.")


@scenarios_app.command("publish")
def publish(
    scenario_id: IdArg,
    version: Annotated[int, typer.Argument(help="The draft version to make current.")],
    note: NoteOption,
    by: ByOption = None,
) -> None:
    """Make a draft version current (the audit log records who, when and why)."""
    from engine import publication

    with cli.session() as ctx:
        publication.publish_scenario(ctx, scenario_id, version, note=note, by=_by(by))
    cli.out.print(f"Published {_text(scenario_id)} version {version}; it is current")


@scenarios_app.command("history")
def history(scenario_id: IdArg, json_out: cli.JsonOption = False) -> None:
    """A scenario's versions, and every change to it with who, when and why."""
    with cli.session() as ctx:
        versions = ctx.scenario_history(scenario_id)
        events = ctx.scenario_events(scenario_id)
    if json_out:
        cli.emit(
            {
                "versions": [v.model_dump(mode="json") for v in versions],
                "changes": [e.model_dump(mode="json") for e in events],
            }
        )
        return
    t = Table(title=f"Versions of {_text(scenario_id)}")
    for col in ("version", "", "stored", "by", "title", "note"):
        t.add_column(col)
    for v in versions:
        t.add_row(
            str(v.version),
            "current" if v.current else ("draft" if v.status == "draft" else ""),
            f"{v.created_at:%Y-%m-%d %H:%M}",
            _text(v.created_by),
            _text(v.title),
            _text(v.note),
        )
    cli.out.print(t)
    cli.out.print("Changes:")
    for e in events:
        cli.out.print(
            f"  {e.changed_at:%Y-%m-%d %H:%M} {_text(e.by_user)}: {e.action} -> v{e.version}"
            f" ({_text(e.note)})"
        )


@scenarios_app.command("rollback")
def rollback(
    scenario_id: IdArg,
    version: Annotated[int, typer.Argument(help="The version to make current again.")],
    note: Annotated[str, typer.Option("--note", help="Why (required).")] = "",
    by: ByOption = None,
) -> None:
    """Make an earlier version current again (a retired scenario comes back with it)."""
    with cli.session() as ctx:
        ctx.rollback_scenario(scenario_id, version, by=_by(by), note=note)
    cli.out.print(f"{_text(scenario_id)}: version {version} is current again")


@scenarios_app.command("remove")
def remove(
    scenario_id: IdArg,
    note: Annotated[str, typer.Option("--note", help="Why.")] = "",
    by: ByOption = None,
) -> None:
    """Retire a scenario: it no longer runs or lists; its history and past runs stay."""
    with cli.session() as ctx:
        ctx.retire_scenario(scenario_id, by=_by(by), note=note)
        last = ctx.scenario_history(scenario_id)[-1].version
    cli.out.print(
        f"{_text(scenario_id)} is retired; `resilience scenarios rollback {_text(scenario_id)} "
        f"{last}` brings it back"
    )
