"""Regressions (issue 13): the demo never touches real or disabled accounts; passwd; small CLI
defects (an account manager without a book, negative coordinates for `route`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.auth import DEMO_PASSWORDS, authenticate, get_user
from engine.book import demo_client_ids
from engine.cli import app
from engine.context import Context
from engine.models import ClientSpec
from tests.conftest import Stores

runner = CliRunner()
WIDE = {"COLUMNS": "300"}
WARNING = "still sign in with the public demo password"


def run(db: Path, *args: str, stdin: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, ["--db", str(db), *args], input=stdin, env=WIDE)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def db(stores: Stores, tmp_path: Path) -> Path | str:
    path = stores.new(tmp_path)
    out = run(path, "demo")
    assert "am / demo-am-2020 / account manager" in out
    assert f"Warning: admin, am, analyst, meridian {WARNING}s" in out
    return path


def add_real_client(db: Path) -> None:
    with Context(db) as ctx:
        ctx.upsert_client(
            ClientSpec(
                client_id="real-client", name="Real Client Ltd", sector="banking", hq_country="GBR"
            )
        )


def test_demo_resets_real_accounts_no_more(db: Path) -> None:
    """Regression: `demo` re-created admin, am, analyst and meridian with their public passwords,
    re-enabled them and set am's book to every client in the database."""
    run(db, "users", "disable", "am")
    add_real_client(db)
    run(db, "users", "passwd", "admin", "--password-stdin", stdin="admin-own-secret-1\n")
    out = run(db, "demo")
    assert "Existing users left as they are (not reset, not re-enabled): " in out
    assert "admin / demo-admin-2020" not in out
    with Context(db) as ctx:
        am = get_user(ctx, "am")
        assert am is not None and am.disabled is True
        assert am.book == tuple(sorted(demo_client_ids()))
        assert "real-client" not in am.book
        assert authenticate(ctx, "admin", "demo-admin-2020") is None
        assert authenticate(ctx, "admin", "admin-own-secret-1") is not None
        assert authenticate(ctx, "am", "demo-am-2020") is None  # disabled stays disabled
    out = run(db, "demo", "--reload")
    with Context(db) as ctx:
        am = get_user(ctx, "am")
        assert am is not None and am.disabled and "real-client" not in am.book


def test_demo_never_takes_over_a_real_account_of_a_demo_name(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    run(db, "init")
    with Context(db) as ctx:
        from engine.book import load_demo

        load_demo(ctx)
    run(
        db,
        "users",
        "add",
        "admin",
        "--role",
        "analyst",
        "--password-stdin",
        stdin="real-analyst-pw-1\n",
    )
    out = run(db, "demo")
    assert "Existing users left as they are (not reset, not re-enabled): admin" in out
    with Context(db) as ctx:
        admin = get_user(ctx, "admin")
        assert admin is not None and admin.role == "analyst"
        assert authenticate(ctx, "admin", "real-analyst-pw-1") is not None
        assert authenticate(ctx, "admin", DEMO_PASSWORDS["admin"]) is None


def test_make_run_warns_until_every_demo_password_is_changed(db: Path) -> None:
    for i, name in enumerate(("meridian", "am", "analyst")):
        run(db, "users", "passwd", name, "--password-stdin", stdin=f"changed-password-{i}\n")
    out = run(db, "demo")
    assert f"Warning: admin {WARNING} printed above" in out
    assert "admin / demo-admin-2020 / admin" in out and "am / demo-am-2020" not in out
    run(db, "users", "disable", "admin")
    out = run(db, "demo")
    assert WARNING not in out and "Demo sign-ins" not in out
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text("utf-8")
    run_target = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "resilience --db $(DB) demo" in run_target  # make run prints the demo's warning


def test_users_passwd(db: Path) -> None:
    out = run(db, "users", "passwd", "am", "--password-stdin", stdin="a-new-secret-99\n")
    assert out == "Password of am changed\n"
    with Context(db) as ctx:
        assert authenticate(ctx, "am", "a-new-secret-99") is not None
        assert authenticate(ctx, "am", "demo-am-2020") is None
    out = run(db, "users", "passwd", "am", "--password-stdin", stdin="demo-admin-2020\n", code=1)
    assert out == ("Error: that is one of the public demo passwords (README); choose another\n")
    out = run(db, "users", "passwd", "am", "--password-stdin", stdin="short\n", code=1)
    assert out == "Error: the password must have at least 10 characters\n"
    out = run(db, "users", "passwd", "ghost", "--password-stdin", stdin="long-enough-1\n", code=1)
    assert out == "Error: user 'ghost' does not exist\n"


def test_account_manager_without_a_book_is_an_error_not_whole_book(db: Path) -> None:
    """Regression: `users add --role account_manager` without --book printed "whole book" while
    the user saw nothing."""
    out = run(
        db,
        "users",
        "add",
        "bea",
        "--role",
        "account_manager",
        "--password-stdin",
        stdin="bea-password-1\n",
        code=1,
    )
    assert out.startswith("Error: an account manager needs --book: the ids of the clients")
    assert "whole book" not in out
    out = run(
        db,
        "users",
        "add",
        "bea",
        "--role",
        "account_manager",
        "--book",
        "andes-verde-agro",
        "--password-stdin",
        stdin="bea-password-1\n",
    )
    assert out == "User bea saved: account_manager; sees andes-verde-agro\n"
    out = run(
        db, "users", "add", "ana", "--role", "analyst", "--password-stdin", stdin="ana-password-1\n"
    )
    assert out == "User ana saved: analyst; sees the whole book\n"
    assert "bea: account_manager; sees andes-verde-agro" in run(db, "users", "list")


def test_route_takes_negative_coordinates_without_double_dash(tmp_path: Path) -> None:
    """Regression: `route "-33.9, 18.4" Rotterdam` failed with "No such option: -3"."""
    db = tmp_path / "r.duckdb"
    out = run(db, "route", "-33.9, 18.4", "Rotterdam")
    assert out.startswith("-33.9000, 18.4000 -> Rotterdam: ")
    out = run(db, "route", "Rotterdam", "-33.9,18.4")
    assert out.startswith("Rotterdam -> -33.9000, 18.4000: ")
