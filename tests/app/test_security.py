"""Regressions (issue 13): sign-in limits nobody can use to lock the owner out, the optional
second factor, the forced change of a public demo password, and the idle timeout."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pyotp
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from app import session
from app.session import SECOND_FACTOR_KEY, SESSION_KEY, SignedIn
from engine import throttle
from engine.auth import (
    DEMO_PASSWORDS,
    AuthError,
    authenticate,
    enable_totp,
    has_totp,
    set_password,
    verify_totp,
)
from engine.cli import app as cli_app
from engine.context import Context
from engine.throttle import SignInThrottle

from .conftest import PASSWORDS, new_app, page_text, sign_in


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def titles(at: AppTest) -> list[str]:
    return [str(t.value) for t in at.title]


# -- the limits themselves (a fake clock) ---------------------------------------------------------


def test_five_wrong_passwords_no_longer_lock_the_owner_out() -> None:
    """Regression: five wrong passwords from anywhere locked any username for 60 s."""
    clock = Clock()
    limits = SignInThrottle(clock=clock)
    limits.succeeded("am", "ip:198.51.100.7", "session:owner")  # the owner signed in before
    for _ in range(5):
        clock.t += 60.0  # slow enough that the attacker's own source delay has passed
        assert limits.wait("am", "ip:203.0.113.9", "session:attacker") == 0.0
        limits.failed("am", "ip:203.0.113.9")
    # strangers are held off the account; the owner, from a known address or session, is not
    assert limits.wait("am", "ip:192.0.2.1", "session:stranger") == pytest.approx(60.0)
    assert limits.wait("am", "ip:198.51.100.7", "session:new-tab") == 0.0
    assert limits.wait("am", "ip:100.64.0.1", "session:owner") == 0.0
    # the account lock doubles with each further failure, up to an hour
    limits.failed("am", "ip:192.0.2.1")
    assert limits.account_wait("am", "ip:192.0.2.2", "session:x") == pytest.approx(120.0)


def test_one_source_guessing_many_usernames_is_slowed_exponentially() -> None:
    """Regression: there was no per-source limit (30 usernames in 64 s went through)."""
    clock = Clock()
    limits = SignInThrottle(clock=clock)
    waits = []
    for i in range(30):
        wait = limits.wait(f"user{i}", "ip:203.0.113.9", "session:a")
        waits.append(wait)
        clock.t += wait  # the attacker waits exactly as long as it must
        limits.failed(f"user{i}", "ip:203.0.113.9")
    assert waits[:4] == [0.0, 0.0, 0.0, 1.0]
    assert waits[4:9] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert waits[-1] == throttle.MAX_DELAY_S
    assert clock.t - 1000.0 > 30 * 60  # 30 guesses now take over half an hour, not 64 s
    # another source is not slowed by it
    assert limits.wait("user0", "ip:198.51.100.7", "session:b") == 0.0
    # a success clears the source's delay
    limits.succeeded("user29", "ip:203.0.113.9", "session:a")
    assert limits.source_wait("ip:203.0.113.9") == 0.0


# -- through the app ------------------------------------------------------------------------------


def test_an_attacker_cannot_lock_the_owner_out_of_the_app(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = sign_in(new_app(), "analyst")
    assert titles(owner) == ["Portfolio"]
    owner.button(key="sign_out").click().run()
    own_source, own_session = session.source, session._session_id
    # AppTest gives every app the same session id; the attacker's browser sessions are others
    monkeypatch.setattr(session, "_session_id", lambda: "session:attacker")
    for i in range(throttle.ACCOUNT_FAILURES):  # from many addresses: no source delay applies
        monkeypatch.setattr(session, "source", lambda i=i: f"ip:203.0.113.{i}")
        at = sign_in(new_app(), "analyst", "wrong-password-x")
        assert at.error[0].value == "Unknown username or wrong password."
    monkeypatch.setattr(session, "source", lambda: "ip:203.0.113.99")
    stranger = sign_in(new_app(), "analyst")  # right password, a new address: held off
    assert "Too many failed attempts" in stranger.error[0].value
    monkeypatch.setattr(session, "source", own_source)  # the owner's own address and session
    monkeypatch.setattr(session, "_session_id", own_session)
    owner.run()  # the owner's own browser session, right password: passes the lock
    owner.text_input[0].input("analyst")
    owner.text_input[1].input(PASSWORDS["analyst"])
    owner.button[0].click().run()
    assert titles(owner) == ["Portfolio"]


def test_a_public_demo_password_must_be_changed_at_first_sign_in(
    app_db: Path, app_ctx: Context
) -> None:
    set_password_raw(app_ctx, "am", DEMO_PASSWORDS["am"])
    at = sign_in(new_app(), "am", DEMO_PASSWORDS["am"])
    assert titles(at) == ["Choose a new password"]
    assert "still has its public demo password" in at.warning[0].value
    assert "Meridian" not in page_text(at)
    for page in ("views/portfolio.py", "views/client.py"):  # no page exists before the change
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    form = at.text_input
    form[0].input("demo-admin-2020")
    form[1].input("demo-admin-2020")
    at.button[0].click().run()
    assert at.error[0].value == (
        "That is one of the public demo passwords \\(README\\); choose another\\."
    )
    form = at.text_input
    form[0].input("am-own-new-secret")
    form[1].input("am-own-new-secret-typo")
    at.button[0].click().run()
    assert at.error[0].value == "The two passwords differ\\."
    form = at.text_input
    form[0].input("am-own-new-secret")
    form[1].input("am-own-new-secret")
    at.button[0].click().run()
    at.switch_page("views/portfolio.py").run()
    assert titles(at) == ["Portfolio"]
    assert authenticate(app_ctx, "am", "am-own-new-secret") is not None
    assert authenticate(app_ctx, "am", DEMO_PASSWORDS["am"]) is None


def set_password_raw(ctx: Context, username: str, password: str) -> None:
    """Put a user back on a given password (set_password refuses the demo ones)."""
    from engine.auth import _hasher

    ctx.store.execute(
        "UPDATE users SET password_hash = $h WHERE username = $u",
        {"h": _hasher.hash(password), "u": username},
    )


def test_an_idle_session_is_signed_out(app_db: Path) -> None:
    at = sign_in(new_app(), "am")
    assert titles(at) == ["Portfolio"]
    signed = at.session_state[SESSION_KEY]
    assert isinstance(signed, SignedIn)
    at.session_state[SESSION_KEY] = dataclasses.replace(
        signed, last_seen=time.time() - session.IDLE_TIMEOUT_S - 1
    )
    at.run()
    assert titles(at) == ["Operational resilience"]
    assert SESSION_KEY not in at.session_state
    assert at.info[0].value == "You were signed out after 30 minutes without activity."
    # activity keeps it alive: a run moves last_seen forward
    at = sign_in(new_app(), "am")
    before = at.session_state[SESSION_KEY].last_seen
    time.sleep(0.01)
    at.run()
    assert at.session_state[SESSION_KEY].last_seen > before


# -- the second factor ----------------------------------------------------------------------------


def test_totp_is_for_analysts_and_admins_and_each_code_works_once(app_ctx: Context) -> None:
    with pytest.raises(AuthError, match="a second factor is for analyst and admin users; am"):
        enable_totp(app_ctx, "am")
    uri = enable_totp(app_ctx, "analyst")
    assert uri.startswith("otpauth://totp/Resilience:analyst?secret=")
    totp = pyotp.parse_uri(uri)
    now = time.time()
    assert not verify_totp(app_ctx, "analyst", "000000x", at=now)
    code = totp.at(now)
    assert verify_totp(app_ctx, "analyst", code, at=now)
    assert not verify_totp(app_ctx, "analyst", code, at=now)  # replayed
    assert verify_totp(app_ctx, "analyst", totp.at(now + 30), at=now + 30)


def test_sign_in_with_a_second_factor(app_db: Path, app_ctx: Context) -> None:
    totp = pyotp.parse_uri(enable_totp(app_ctx, "admin"))
    at = sign_in(new_app(), "admin")
    assert SESSION_KEY not in at.session_state and SECOND_FACTOR_KEY in at.session_state
    assert [t.label for t in at.text_input] == ["Authenticator code"]
    at.text_input[0].input("123456" if totp.now() != "123456" else "654321")
    at.button[0].click().run()
    assert at.error[0].value == (
        "That code is not right (or was used already); enter the current one."
    )
    assert SESSION_KEY not in at.session_state
    at.text_input[0].input(totp.now())
    at.button[0].click().run()
    assert titles(at) == ["Portfolio"]
    assert isinstance(at.session_state[SESSION_KEY], SignedIn)


def test_users_totp_command(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "r.duckdb"
    assert runner.invoke(cli_app, ["--db", str(db), "demo"]).exit_code == 0
    out = runner.invoke(cli_app, ["--db", str(db), "users", "totp", "admin"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "Second factor of admin turned on. Add this to the authenticator app:"
    assert lines[1].startswith("  otpauth://totp/Resilience:admin?secret=")
    with Context(db) as ctx:
        assert has_totp(ctx, "admin")
        set_password(ctx, "admin", "admin-new-secret-1")
    out = runner.invoke(cli_app, ["--db", str(db), "users", "totp", "meridian"])
    assert out.exit_code == 1
    assert out.output == (
        "Error: a second factor is for analyst and admin users; meridian is client\n"
    )
    out = runner.invoke(cli_app, ["--db", str(db), "users", "totp", "admin", "--off"])
    assert out.output == "Second factor of admin turned off\n"
    with Context(db) as ctx:
        assert not has_totp(ctx, "admin")
