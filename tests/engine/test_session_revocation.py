"""Signing out revokes the session in every app process of the store (engine/auth/sessions.py),
not in a set of the process that signed out: another server, or one started later, refuses a
copy of the token too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.auth.sessions import revoke_session, session_revoked
from engine.context import Context
from tests.conftest import Stores

ROOT = Path(__file__).resolve().parents[2]

_REVOKE = (
    "import sys\n"
    "from engine.context import Context\n"
    "from engine.auth.sessions import revoke_session\n"
    "with Context(sys.argv[1]) as ctx:\n"
    "    revoke_session(ctx, sys.argv[2], 'am', 1800)\n"
)


@pytest.fixture
def db(stores: Stores, tmp_path: Path) -> Path | str:
    path = stores.new(tmp_path)
    with Context(path) as ctx:
        ctx.store.migrate()
    return path


def _other_process_revokes(db: Path | str, sid: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _REVOKE, str(db), sid],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr


def test_a_sign_out_in_another_process_is_seen_here(db: Path | str) -> None:
    with Context(db) as here:  # this server, open before the other one signs the person out
        assert not session_revoked(here, "sid-of-am")
        _other_process_revokes(db, "sid-of-am")
        assert session_revoked(here, "sid-of-am")
        assert not session_revoked(here, "sid-of-someone-else")
        # the id itself is not stored: only its hash
        stored = here.store.rows("SELECT sid_hash, username FROM revoked_sessions")
        assert len(stored) == 1 and stored[0][1] == "am"
        assert "sid-of-am" not in stored[0][0] and len(stored[0][0]) == 64


def test_a_revocation_is_kept_until_the_token_lapses_then_removed(db: Path | str) -> None:
    with Context(db) as ctx:
        revoke_session(ctx, "old-sid", "am", 1)
        ctx.store.execute(
            "UPDATE revoked_sessions SET expires_at = expires_at - INTERVAL 1 DAY"
        )  # its token lapsed long ago
        assert session_revoked(ctx, "old-sid")  # (until a new sign-out prunes it)
        revoke_session(ctx, "new-sid", "ana", 1800)
        assert not session_revoked(ctx, "old-sid")
        assert session_revoked(ctx, "new-sid")
        revoke_session(ctx, "new-sid", "ana", 1800)  # signing out twice is no error
        assert ctx.store.one("SELECT count(*) FROM revoked_sessions") == 1
