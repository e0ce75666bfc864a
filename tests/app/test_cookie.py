"""The signed session cookie (app.cookie): what a token must be to sign anyone in."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer

from app import cookie

SECRET = b"k" * 32


def test_a_fresh_token_names_its_user_and_sign_in() -> None:
    token = cookie.issue(SECRET, "am", "sid-1", False)
    found = cookie.read(SECRET, token, 1800)
    assert found is not None
    assert (found.username, found.sid, found.must_change_password) == ("am", "sid-1", False)
    assert abs(found.issued_at - time.time()) < 5


@pytest.mark.parametrize("where", [0, 5, -3, -1])
def test_any_changed_character_makes_the_token_worthless(where: int) -> None:
    token = cookie.issue(SECRET, "am", "sid-2", False)
    i = where % len(token)
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    assert cookie.read(SECRET, tampered, 1800) is None


def test_a_token_for_another_user_cannot_be_forged_without_the_secret() -> None:
    forged = URLSafeTimedSerializer(b"guessed", salt=cookie.SALT).dumps(
        {"u": "admin", "s": "x", "m": False}
    )
    assert cookie.read(SECRET, str(forged), 1800) is None
    assert cookie.read(SECRET, "", 1800) is None
    assert cookie.read(SECRET, "<script>alert(1)</script>", 1800) is None


def test_a_token_older_than_the_idle_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = cookie.issue(SECRET, "am", "sid-3", False)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 60)
    assert cookie.read(SECRET, token, 30 * 60) is None
    assert cookie.read(SECRET, token, 40 * 60) is not None


def test_a_revoked_sign_in_stays_signed_out() -> None:
    token = cookie.issue(SECRET, "am", "sid-4", False)
    cookie.revoke("sid-4")
    assert cookie.read(SECRET, token, 1800) is None


def test_the_secret_is_made_once_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESILIENCE_SESSION_SECRET", raising=False)
    db = tmp_path / "r.duckdb"
    first = cookie.secret_for(db)
    assert len(first) == 64 and cookie.secret_for(db) == first
    assert (tmp_path / "r.duckdb.session-key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("RESILIENCE_SESSION_SECRET", "from-the-environment")
    assert cookie.secret_for(db) == b"from-the-environment"


def test_the_cookie_script_carries_only_a_token() -> None:
    token = cookie.issue(SECRET, "am", "sid-5", False)
    script = cookie.set_script(token, 1800)
    assert f"resilience_session={token}; Path=/; Max-Age=1800; SameSite=Strict" in script
    with pytest.raises(ValueError, match="not a session token"):
        cookie.set_script("x'; alert(1); '", 1800)
    assert "Max-Age=0" in cookie.clear_script()
    # without word from the server the page's own protocol decides; with it, always Secure
    assert "var s=location.protocol==='https:'?'; Secure':'';" in script
    secure = cookie.set_script(token, 1800, secure=True)
    assert "var s='; Secure';" in secure and "SameSite=Strict'+s;" in secure
    assert "var s='; Secure';" in cookie.clear_script(secure=True)


def test_the_server_knows_a_request_came_over_https() -> None:
    from app.session import over_https

    plain = {"tls_served": False, "configured": ""}
    # from the reverse proxy on this machine (Streamlit reports no address for loopback)
    assert over_https("https", None, **plain)
    assert over_https("HTTPS, http", None, **plain)
    assert not over_https("http", None, **plain)
    assert not over_https(None, None, **plain)
    # a browser elsewhere that sends the header itself is not believed
    assert not over_https("https", "203.0.113.9", **plain)
    # Streamlit serving TLS itself, or the server's setting
    assert over_https(None, "203.0.113.9", tls_served=True, configured="")
    assert over_https(None, "203.0.113.9", tls_served=False, configured="true")
    assert not over_https(None, "203.0.113.9", tls_served=False, configured="no")
