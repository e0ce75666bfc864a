"""Users, passwords and scopes (engine/auth.py) and the `resilience users` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from argon2 import PasswordHasher
from typer.testing import CliRunner

from engine import auth
from engine.auth import (
    DEMO_PASSWORDS,
    AuthError,
    User,
    add_user,
    authenticate,
    create_demo_users,
    get_user,
    scope_for,
    set_disabled,
)
from engine.auth import users as auth_users
from engine.context import Context
from engine.errors import AccessDenied, StoreError
from engine.store import Scope
from engine.users_cli import users_app

from .conftest import PASSWORDS, copy_db


@pytest.fixture
def ctx(demo_template: Path, tmp_path: Path) -> Iterator[Context]:
    c = Context(copy_db(demo_template, tmp_path / "db"))
    yield c
    c.close()


def test_demo_users_exist_with_documented_passwords(tmp_path: Path) -> None:
    from engine.book import load_demo

    ctx = Context(tmp_path / "fresh.duckdb")
    load_demo(ctx)
    create_demo_users(ctx)
    for name, password in DEMO_PASSWORDS.items():
        user = authenticate(ctx, name, password)
        assert user is not None and user.username == name
    meridian = get_user(ctx, "meridian")
    assert meridian == User("meridian", "client", "meridian-basin-petroleum")
    am = get_user(ctx, "am")
    assert am is not None and am.role == "account_manager" and len(am.book) == 10
    ctx.close()


def test_create_demo_users_again_leaves_existing_users_alone(ctx: Context) -> None:
    """Regression (issue 13): a second demo run reset the demo users' passwords."""
    auth.set_password(ctx, "am", "something-else-1")
    assert create_demo_users(ctx) == []
    assert authenticate(ctx, "am", DEMO_PASSWORDS["am"]) is None
    assert authenticate(ctx, "am", "something-else-1") is not None
    assert [u.username for u in auth.list_users(ctx)] == ["admin", "am", "analyst", "meridian"]


def test_wrong_password_unknown_user_and_disabled_user_are_refused(ctx: Context) -> None:
    assert authenticate(ctx, "am", "demo-am-2021") is None
    assert authenticate(ctx, "nobody", DEMO_PASSWORDS["am"]) is None
    assert authenticate(ctx, "am", "") is None
    assert authenticate(ctx, "am", "x" * 5000) is None
    set_disabled(ctx, "am")
    assert authenticate(ctx, "am", PASSWORDS["am"]) is None
    set_disabled(ctx, "am", False)
    assert authenticate(ctx, "am", PASSWORDS["am"]) is not None


def test_unknown_user_costs_a_hash_verification(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = auth_users._verify

    def counting(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(auth_users, "_verify", counting)
    assert authenticate(ctx, "nobody", "whatever-password") is None
    assert authenticate(ctx, "am", "whatever-password") is None
    set_disabled(ctx, "analyst")
    assert authenticate(ctx, "analyst", DEMO_PASSWORDS["analyst"]) is None
    assert len(calls) == 3
    dummy = auth._dummy_hash()  # made on first use (not at import: the CLI starts fast)
    assert calls[0] == dummy and calls[2] == dummy
    assert calls[1] != dummy


def test_passwords_are_stored_as_argon2id_and_weak_hashes_upgraded(ctx: Context) -> None:
    stored = ctx.store.one("SELECT password_hash FROM users WHERE username = 'am'")
    assert stored.startswith("$argon2id$") and DEMO_PASSWORDS["am"] not in stored
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("weakly-hashed-1")
    ctx.store.execute("UPDATE users SET password_hash = $h WHERE username = 'am'", {"h": weak})
    assert authenticate(ctx, "am", "weakly-hashed-1") is not None
    upgraded = ctx.store.one("SELECT password_hash FROM users WHERE username = 'am'")
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "Bad Name"}, "username 'Bad Name' is not allowed"),
        ({"role": "superuser"}, "role 'superuser' is not known"),
        ({"password": "short"}, "at least 10 characters"),
        ({"role": "client"}, "a client user needs --client"),
        ({"role": "client", "client_id": "no-such-client"}, "'no-such-client' is not in the book"),
        ({"role": "analyst", "client_id": "andes-verde-agro"}, "has no --client"),
        ({"role": "analyst", "book": ["andes-verde-agro"]}, "--book is for account managers"),
        ({"role": "account_manager", "book": ["ghost"]}, "'ghost' is not in the book"),
        ({"username": "am"}, "user 'am' already exists"),
        ({"role": "account_manager", "book": None}, "an account manager needs --book"),
    ],
)
def test_add_user_refuses_bad_input(ctx: Context, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "username": "new-user",
        "password": "long-enough-1",
        "role": "analyst",
    } | kwargs
    with pytest.raises(AuthError, match=message):
        add_user(ctx, **args)  # type: ignore[arg-type]


def test_the_database_refuses_a_client_user_without_a_client(ctx: Context) -> None:
    import duckdb

    with pytest.raises(StoreError, match="breaks a rule of the stored data") as refused:
        ctx.store.execute("INSERT INTO users VALUES ('x', 'h', 'client', NULL, now(), false)")
    # DuckDB's constraint error, or PostgreSQL's through the postgres extension (a plain
    # duckdb.Error carrying the server's words)
    cause = refused.value.__cause__
    assert isinstance(cause, duckdb.ConstraintException if ctx.store.url is None else duckdb.Error)
    assert ctx.store.url is None or 'violates check constraint "users_check"' in str(cause)
    with pytest.raises(StoreError, match="breaks a rule of the stored data"):
        ctx.store.execute("INSERT INTO users VALUES ('y', 'h', 'root', NULL, now(), false)")


def test_scopes_per_role(ctx: Context) -> None:
    add_user(
        ctx,
        "am2",
        "long-enough-1",
        "account_manager",
        book=["andes-verde-agro", "aurelian-airways"],
    )
    am2 = get_user(ctx, "am2")
    assert am2 is not None
    assert scope_for(am2) == Scope.of("andes-verde-agro", "aurelian-airways")
    client = get_user(ctx, "meridian")
    assert client is not None and scope_for(client) == Scope.of("meridian-basin-petroleum")
    for name in ("analyst", "admin"):
        u = get_user(ctx, name)
        assert u is not None and scope_for(u) == Scope.everything()
    assert scope_for(User("ghost", "client", None)) == Scope.of()
    # the scope is what the facade enforces
    with pytest.raises(AccessDenied, match="not available to you"):
        ctx.client("nordhavn-container-lines", scope_for(client))
    run = ctx.current_run()
    assert [r.client_id for r in ctx.ratings(run.run_id, scope_for(am2))] == [
        "aurelian-airways",
        "andes-verde-agro",
    ]


def _cli() -> typer.Typer:
    from engine.cli import main

    app = typer.Typer()
    app.callback()(main)
    app.add_typer(users_app, name="users")
    return app


def test_cli_add_list_disable(ctx: Context) -> None:
    db = ctx.store.url or ctx.db_path  # a PostgreSQL URL with its socket, or the file
    ctx.close()
    runner = CliRunner()
    app = _cli()
    res = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "users",
            "add",
            "carol",
            "--role",
            "account_manager",
            "--book",
            "andes-verde-agro,aurelian-airways",
            "--password-stdin",
        ],
        input="carol-password-1\n",
    )
    assert res.exit_code == 0, res.output
    assert "User carol saved: account_manager; sees andes-verde-agro, aurelian-airways" in (
        res.output
    )
    res = runner.invoke(
        app,
        ["--db", str(db), "users", "add", "dave", "--role", "client", "--password-stdin"],
        input="dave-password-1\n",
    )
    assert res.exit_code == 1
    assert "a client user needs --client" in res.output
    res = runner.invoke(app, ["--db", str(db), "users", "disable", "carol"])
    assert res.exit_code == 0 and "User carol disabled" in res.output
    res = runner.invoke(app, ["--db", str(db), "users", "list"])
    assert "carol: account_manager (disabled); sees andes-verde-agro, aurelian-airways" in (
        res.output
    )
    assert "meridian: client; sees meridian-basin-petroleum" in res.output
    with Context(db) as c2:
        assert authenticate(c2, "carol", "carol-password-1") is None
