"""The `resilience users` command group: add, list, passwd, totp, disable.

Each command parses its arguments and calls ``engine.auth``; engine/cli.py mounts the group with
``app.add_typer(users_app, name="users")``. Every change is written to the audit log under the
command's user (``resilience --as NAME``, else $RESILIENCE_USER, else the login name).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from engine import cli_base as base
from engine.auth import (
    ROLES,
    User,
    add_user,
    disable_totp,
    enable_totp,
    list_users,
    scope_for,
    set_disabled,
    set_password,
)

users_app = typer.Typer(
    name="users",
    help="Manage the people who sign in to the app: add, list, passwd, totp, disable.",
    no_args_is_help=True,
)


def _sees(user: User) -> str:
    """Exactly what a user sees, in words (the same rule as ``scope_for``)."""
    scope = scope_for(user)
    if scope.client_ids is None:
        return "the whole book"
    if not scope.client_ids:
        return "nothing"
    return ", ".join(sorted(scope.client_ids))


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def cli_add(
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    client: Annotated[
        str | None, typer.Option("--client", help="For a client user: its client id.")
    ] = None,
    book: Annotated[
        str | None,
        typer.Option("--book", help="For an account manager: client ids, comma-separated."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Reset the user if it exists.")
    ] = False,
) -> None:
    """Add a user (the password is prompted for, or read from stdin)."""
    ids = [b.strip() for b in book.split(",") if b.strip()] if book else None
    with base.session() as ctx:
        password = _read_password(password_stdin)
        user = add_user(
            ctx,
            username,
            password,
            role,
            client_id=client,
            book=ids,
            replace=replace,
            by=base.state.user,
        )
        base.out.print(f"User {user.username} saved: {user.role}; sees {_sees(user)}")


@users_app.command("list")
def cli_list() -> None:
    """List users, their roles and what each may see."""
    with base.session() as ctx:
        for u in list_users(ctx):
            flag = " (disabled)" if u.disabled else ""
            base.out.print(f"{u.username}: {u.role}{flag}; sees {_sees(u)}")


@users_app.command("disable")
def cli_disable(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable it again instead.")] = False,
) -> None:
    """Disable a user (they can no longer sign in; open sessions end on their next click)."""
    with base.session() as ctx:
        set_disabled(ctx, username, not enable, by=base.state.user)
        base.out.print(f"User {username} {'enabled' if enable else 'disabled'}")


@users_app.command("passwd")
def cli_passwd(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set a user's password (prompted for twice, or read from stdin); the old one stops working."""
    with base.session() as ctx:
        password = _read_password(password_stdin)
        set_password(ctx, username, password, by=base.state.user)
        base.out.print(f"Password of {username} changed")


@users_app.command("totp")
def cli_totp(
    username: Annotated[str, typer.Argument(help="Sign-in name of an analyst or admin.")],
    off: Annotated[bool, typer.Option("--off", help="Turn the second factor off.")] = False,
) -> None:
    """Turn on a second factor (an authenticator app's 6-digit code) for an analyst or admin.

    Prints the otpauth:// link to add to the authenticator app (once; running it again makes a
    new secret and the old one stops working).
    """
    out = base.out
    with base.session() as ctx:
        if off:
            disable_totp(ctx, username, by=base.state.user)
            out.print(f"Second factor of {username} turned off")
            return
        uri = enable_totp(ctx, username, by=base.state.user)
        out.print(f"Second factor of {username} turned on. Add this to the authenticator app:")
        out.print(f"  {uri}")
        out.print("From the next sign-in the app asks for its 6-digit code after the password.")
