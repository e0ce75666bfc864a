"""Rating history, movers and alerts on the demo book after publishes that move ratings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from engine import alerts, history, publication
from engine.auth import create_demo_users, get_user, scope_for
from engine.book import load_demo
from engine.cli import app
from engine.context import Context
from engine.errors import AccessDenied
from engine.store import Scope
from scoring_rules.threats import parse_register
from tests.conftest import Stores
from tests.mailbox import mailbox

OIL = "meridian-basin-petroleum"
TELECOM = "zagros-link-telecom"
IRAQ = "iraq-security-volatility"
runner = CliRunner()


@pytest.fixture(scope="module")
def template(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    path = stores.new(tmp_path_factory.mktemp("hist"))
    with Context(path) as c:
        load_demo(c)
        create_demo_users(c)
    return path


@pytest.fixture
def db(stores: Stores, template: Path | str, tmp_path: Path) -> Path | str:
    return stores.copy(template, tmp_path)


@pytest.fixture
def ctx(db: Path | str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.delenv("RESILIENCE_SMTP_HOST", raising=False)
    with Context(db) as c:
        yield c


def calmer_iraq(ctx: Context, term: str = "remote_chance") -> tuple[int, alerts.PublishOutcome]:
    """Publish (as the analyst) a register where Iraq's security outlook is judged ``term``
    (from 'likely'): the version, and whom the publish's alerts told."""
    doc = ctx.register().model_dump()
    for t in doc["threats"]:
        if t["id"] == IRAQ:
            t["likelihood"] = term
    register = parse_register(doc, "test")
    done = publication.publish(ctx, "register", register, note="Iraq calmer", by="analyst")
    assert done.alerts is not None
    return done.version, done.alerts


def test_the_demo_load_starts_the_history(ctx: Context) -> None:
    pubs = history.publications(ctx)
    assert [(p.document, p.by_user) for p in pubs] == [("baseline", "system")]
    points = history.client_history(ctx, OIL)
    assert len(points) == 1
    assert (points[0].band, round(points[0].score, 1), points[0].change) == ("E", 37.0, None)


def test_a_register_publish_moves_the_oil_company_and_says_why(ctx: Context) -> None:
    v, outcome = calmer_iraq(ctx)
    assert outcome.publication.document == "register" and outcome.publication.version == v
    points = history.client_history(ctx, OIL)
    assert [(p.band, round(p.score, 1)) for p in points] == [("E", 37.0), ("D", 46.3)]
    last = points[-1]
    assert round(last.change or 0, 1) == 9.4 and last.band_before == "E" and last.moved
    assert last.published == "threat register version 2" and last.by_user == "analyst"
    assert last.causes == [
        "threat register version 1 -> 2 (Iraq calmer)",
        "changed threat: Unstable and unpredictable security conditions across Iraq "
        "(likelihood likely -> remote chance)",
    ]
    # an airline with no Iraqi site keeps its rating within rounding: no move, and its cause
    # list names no Iraqi threat
    andes = history.client_history(ctx, "andes-verde-agro")[-1]
    assert not andes.moved


def test_movers_since_the_last_publication(ctx: Context) -> None:
    assert history.movers(ctx)[2] == []  # one publication: nothing to compare
    v, _ = calmer_iraq(ctx)
    before, after, moves = history.movers(ctx)
    assert before is not None and before.document == "baseline"
    assert after is not None and after.version == v
    by_id = {m.client_id: m for m in moves}
    assert round(by_id[OIL].change, 1) == 9.4
    assert (by_id[OIL].before.band, by_id[OIL].after.band) == ("E", "D")
    assert round(by_id[TELECOM].change, 1) == 9.4
    assert "andes-verde-agro" not in by_id
    # a client user's scope: only its own client
    user = get_user(ctx, "meridian")
    assert user is not None
    scoped = history.movers(ctx, scope_for(user))[2]
    assert [m.client_id for m in scoped] == [OIL]


def test_an_upload_and_a_rules_change_are_causes(ctx: Context) -> None:
    assets = ctx.store.frame(
        "SELECT asset_id, name, asset_type, lat, lon, city, country, value_usd, criticality, "
        "headcount, mitigations FROM assets WHERE client_id = $c AND version = 1",
        {"c": OIL},
    ).with_columns(pl.col("mitigations").list.join(";"))
    extra = pl.DataFrame(
        {
            "asset_id": ["basra-hub"],
            "name": ["Basra hub"],
            "asset_type": ["plant"],
            "lat": [30.5],
            "lon": [47.8],
            "city": [None],
            "country": ["IRQ"],
            "value_usd": [5e9],
            "criticality": [5],
            "headcount": [100],
            "mitigations": [""],
        },
        schema=assets.schema,
    )
    routes = ctx.store.frame(
        "SELECT route_id, name, origin, destination, commodity, annual_value_usd, "
        "shipments_per_year, criticality FROM routes WHERE client_id = $c AND version = 1",
        {"c": OIL},
    )
    v = ctx.load_exposures(OIL, pl.concat([assets, extra]), routes, note="Basra hub added")
    alerts.after_publish(ctx, "exposures", v, "am", subject=OIL, note="sites.csv")
    last = history.client_history(ctx, OIL)[-1]
    assert last.published == f"exposure list version 2 of {OIL}"
    assert last.causes[0] == "exposure list version 1 -> 2 (Basra hub added; 10 sites, 5 routes)"
    assert last.change is not None and last.change < -5
    rules = ctx.rules().model_dump()
    rules["likelihood"]["terms"]["likely"] = {"low": 0.4, "high": 0.5}
    from scoring_rules.rules import parse_rules

    publication.publish(
        ctx, "rules", parse_rules(rules, "test"), note="likely read lower", by="analyst"
    )
    last = history.client_history(ctx, OIL)[-1]
    assert last.causes[0] == "scoring rules version 1 -> 2 (likely read lower)"
    assert last.change is not None and last.change > 0


def test_causes_name_the_published_versions_whatever_previews_were_stored(ctx: Context) -> None:
    """A preview and a draft are stored versions too: the cause names the version published
    before and the one published now, and a roll-back only when there was one."""
    from engine import publication
    from scoring_rules.rules import parse_rules

    alerts.follow(ctx, "am", OIL, min_points=0.1)

    def likely(low: float, high: float) -> Any:
        doc = ctx.rules(1).model_dump()
        doc["likelihood"]["terms"]["likely"] = {"low": low, "high": high}
        return parse_rules(doc, "test")

    lower, higher = likely(0.4, 0.5), likely(0.8, 0.9)
    assert publication.preview(ctx, "rules", lower, scope=Scope.everything()).version == 2
    published = publication.publish(ctx, "rules", higher, note="likely read higher", by="analyst")
    assert published.version == 3
    out = published.alerts
    assert out is not None
    assert out.notified[0].cause.startswith("scoring rules version 1 -> 3 (likely read higher)")
    # the preview stored before, published now: a lower number, and no roll-back
    published = publication.publish(
        ctx, "rules", lower, note="likely read lower after all", by="analyst"
    )
    assert published.version == 2
    out = published.alerts
    assert out is not None
    assert out.notified[0].cause.startswith(
        "scoring rules version 3 -> 2 (likely read lower after all)"
    )
    # a real roll-back says so, with its own note (not the one version 3 was published with)
    out = publication.rollback(
        ctx, "rules", 3, note="back to the higher reading", by="analyst"
    ).alerts
    assert out is not None
    assert out.notified[0].cause.startswith(
        "scoring rules version 2 -> 3 (a roll-back) (back to the higher reading)"
    )
    # the history tells each move the same way, as it was at that publication
    causes = [p.causes[0] for p in history.client_history(ctx, OIL)[1:]]
    assert causes == [
        "scoring rules version 1 -> 3 (likely read higher)",
        "scoring rules version 3 -> 2 (likely read lower after all)",
        "scoring rules version 2 -> 3 (a roll-back) (back to the higher reading)",
    ]


def test_follow_rules(ctx: Context) -> None:
    with pytest.raises(AccessDenied, match="follows only its own client"):
        alerts.follow(ctx, "meridian", TELECOM)
    with pytest.raises(alerts.AlertError, match="has the analyst role"):
        alerts.follow(ctx, "analyst", OIL)
    with pytest.raises(alerts.AlertError, match="outside 0.1-100"):
        alerts.follow(ctx, "am", OIL, min_points=0)
    with pytest.raises(alerts.AlertError, match="no active user 'nobody'"):
        alerts.follow(ctx, "nobody", OIL)
    f = alerts.follow(ctx, "am", OIL, min_points=5)
    assert f.threshold == "score moves 5 points or more"
    f = alerts.follow(ctx, "am", OIL)  # changes the threshold, one follow
    assert [x.threshold for x in alerts.follows(ctx, "am")] == ["band change"]
    assert alerts.unfollow(ctx, "am", OIL) and not alerts.unfollow(ctx, "am", OIL)
    with pytest.raises(alerts.AlertError, match="not an email address"):
        alerts.set_email(ctx, "am", "am at example")


def test_thresholds_and_in_app_only_without_smtp(ctx: Context) -> None:
    alerts.follow(ctx, "am", OIL)  # band: E -> D moves
    alerts.follow(ctx, "am", TELECOM)  # band: D -> D does not
    alerts.follow(ctx, "meridian", OIL, min_points=10)  # 9.4 points: below
    alerts.follow(ctx, "admin", TELECOM, min_points=9)  # 9.4 points: reached
    _, out = calmer_iraq(ctx)
    got = sorted((n.username, n.client_id) for n in out.notified)
    assert got == [("admin", TELECOM), ("am", OIL)]
    am = alerts.notifications(ctx, "am")
    assert len(am) == 1
    n = am[0]
    assert n.headline == (
        "Meridian Basin Petroleum plc: band E -> D, score 37.0 -> 46.3 (+9.4 points)"
    )
    assert n.cause.startswith("threat register version 1 -> 2 (Iraq calmer); changed threat: ")
    assert n.cause.endswith("(published by analyst)")
    assert n.email_status == "in-app only: no SMTP server is configured"
    assert "alerts are in the app only" in out.email
    assert alerts.notifications(ctx, "meridian") == []
    assert alerts.mark_read(ctx, "am") == 1
    assert alerts.notifications(ctx, "am", unread_only=True) == []


def test_alert_email_through_a_local_smtp_server(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts.follow(ctx, "am", OIL)
    alerts.set_email(ctx, "am", "am@example.com")
    alerts.follow(ctx, "meridian", OIL, min_points=5)  # no address: in the app only
    with mailbox() as box:
        for k, val in box.env().items():
            monkeypatch.setenv(k, val)
        _, out = calmer_iraq(ctx)
    assert out.email == f"email through 127.0.0.1:{box.port} from alerts@resilience.test"
    by_user = {n.username: n for n in out.notified}
    assert by_user["am"].email_status == "sent to am@example.com"
    assert by_user["meridian"].email_status == (
        "in-app only: no email address set on the Alerts page"
    )
    assert len(box.messages) == 1
    msg = box.messages[0]
    assert msg["To"] == "am@example.com" and msg["From"] == "alerts@resilience.test"
    assert msg["Subject"] == (
        "Resilience alert: Meridian Basin Petroleum plc: band E -> D, score 37.0 -> 46.3 "
        "(+9.4 points)"
    )
    body = msg.get_body().get_content()  # type: ignore[union-attr]
    assert "threat register version 2, published by analyst" in body
    assert (
        "- changed threat: Unstable and unpredictable security conditions across Iraq "
        "(likelihood likely -> remote chance)" in body
    )


def test_a_dead_smtp_server_never_undoes_the_publish(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.mailbox import free_port

    port = free_port()  # nothing listens there
    monkeypatch.setenv("RESILIENCE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RESILIENCE_SMTP_PORT", str(port))
    alerts.follow(ctx, "am", OIL)
    alerts.set_email(ctx, "am", "am@example.com")
    v, out = calmer_iraq(ctx)
    assert ctx.register_version() == v
    (n,) = out.notified
    assert n.email_status.startswith(
        f"not sent to am@example.com: the SMTP server 127.0.0.1:{port}"
    )
    monkeypatch.setenv("RESILIENCE_SMTP_PORT", "twenty-five")
    _, out = calmer_iraq(ctx, "likely")
    assert out.notified[0].email_status.startswith(
        "in-app only: the SMTP setting is wrong (RESILIENCE_SMTP_PORT='twenty-five' is not a port"
    )


def test_cli_history_follow_and_alerts(db: Path) -> None:
    base = ["--db", str(db)]
    env = {"RESILIENCE_USER": "analyst", "COLUMNS": "250", "RESILIENCE_SMTP_HOST": ""}
    r = runner.invoke(app, [*base, "follow", OIL, "--user", "am"], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.strip() == (
        "am follows Meridian Basin Petroleum plc: an alert on a band change; in the app only "
        "(no email address set)."
    )
    r = runner.invoke(app, [*base, "follow", TELECOM, "--user", "meridian"], env=env)
    assert r.exit_code == 1
    assert "not available to meridian" in r.output
    with Context(db) as c:
        calmer_iraq(c)
    r = runner.invoke(app, [*base, "history", OIL, "--json"], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [(p["band"], p["score"]) for p in data["history"]] == [("E", 36.96), ("D", 46.35)]
    assert data["history"][1]["change"] == 9.39
    assert data["history"][1]["causes"][0] == "threat register version 1 -> 2 (Iraq calmer)"
    r = runner.invoke(app, [*base, "history", OIL], env=env)
    assert "Rating history of Meridian Basin Petroleum plc" in r.output
    assert "+9.4 (E->D)" in r.output
    r = runner.invoke(app, [*base, "alerts", "--json"], env=env)
    data = json.loads(r.stdout)
    assert data["smtp"] is None
    assert [(a["username"], a["band_before"], a["band_after"]) for a in data["alerts"]] == [
        ("am", "E", "D")
    ]
    r = runner.invoke(app, [*base, "alerts"], env=env)
    assert "no SMTP server is configured" in r.output and "band E -> D" in r.output
    r = runner.invoke(app, [*base, "unfollow", OIL, "--user", "am"], env=env)
    assert r.output.strip() == f"am no longer follows {OIL}."


def test_another_clients_upload_is_not_in_a_clients_history(ctx: Context) -> None:
    calmer_iraq(ctx)
    routes = ctx.store.frame(
        "SELECT route_id, name, origin, destination, commodity, annual_value_usd, "
        "shipments_per_year, criticality FROM routes WHERE client_id = $c AND version = 1",
        {"c": OIL},
    )
    ev = ctx.load_exposures(OIL, None, routes, note="routes only")
    alerts.after_publish(ctx, "exposures", ev, "meridian", subject=OIL, note="secret-file.csv")
    telecom = history.client_history(ctx, TELECOM)
    assert [p.published for p in telecom] == [
        "ratings when history began",
        "threat register version 2",
    ]
    assert OIL not in json.dumps(history.history_json(telecom))
    # an account manager of the telecom company alone: the last publication it may see is the
    # register's, and nothing names the oil company's file
    _, after, moves = history.movers(ctx, Scope.of(TELECOM))
    assert after is not None and after.document == "register"
    assert [m.client_id for m in moves] == [TELECOM]
    oil = history.client_history(ctx, OIL)
    assert oil[-1].published == f"exposure list version 2 of {OIL}"
    assert oil[-1].note == "secret-file.csv"
