"""The signed session cookie that keeps a person signed in across a reload.

A browser reload opens a new Streamlit session, which used to sign the person out. After a local
sign-in the page now stores a cookie holding a token signed with the server's secret
(``itsdangerous``, HMAC-SHA1 over the payload and its issue time): the username, a random session
id and whether a public demo password must still be replaced. A new session accepts the token
only when its signature is right and it was issued less than ``IDLE_TIMEOUT_S`` ago; the page
issues a fresh one while the person is active (at most once a minute), so the cookie lapses after
the same idle time as the session. Who the user is, their role and their clients are still read
from the database on every run: a token names a username, nothing more, and a disabled user is
refused however good their token.

Signing out clears the cookie in the browser and revokes the token's session id, in this process
at once and in the store (engine/auth/sessions.py), which every app process reads when a token
is presented: a copy of it taken before is no use on any server of the deployment. Any change
to a token (payload, timestamp
or signature) makes it invalid, and the sign-in page shows.

The secret is ``RESILIENCE_SESSION_SECRET`` when set (give every app process of a deployment the
same one), else a random key created once beside the database file (``<db>.session-key``, mode
600), or on a PostgreSQL store in this machine's folder for it (``$RESILIENCE_FILES/postgres-<hash>
.files/session-key``): app processes on one machine share it; give processes on several machines
the same ``RESILIENCE_SESSION_SECRET``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE = "resilience_session"
SALT = "resilience.session.v1"
REFRESH_S = 60.0  # a fresh token at most this often while the person is active
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-.]{20,1024}$")

_revoked: set[str] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class Remembered:
    """What a valid token says: who, which sign-in, and since when it was last refreshed."""

    username: str
    sid: str
    must_change_password: bool
    issued_at: float


def secret_for(db: Path) -> bytes:
    """The signing key: the environment's, else the one beside the database file (made once)."""
    return secret_in(db.with_name(db.name + ".session-key"))


def secret_in(path: Path) -> bytes:
    """The signing key: the environment's, else the one in ``path`` (made once, mode 600). App
    processes that start together make it once between them: the key is written whole to a file
    of its own, then linked into place, so a process never reads a half-written key."""
    env = os.environ.get("RESILIENCE_SESSION_SECRET")
    if env:
        return env.encode()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another process's key came first
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


def _serializer(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def issue(secret: bytes, username: str, sid: str, must_change_password: bool) -> str:
    """A signed token for this sign-in (URL-safe characters only)."""
    return str(_serializer(secret).dumps({"u": username, "s": sid, "m": must_change_password}))


def new_sid() -> str:
    return secrets.token_urlsafe(16)


def read(secret: bytes, token: str | None, max_age_s: float) -> Remembered | None:
    """The token's content when it is well formed, signed with ``secret``, younger than
    ``max_age_s`` and not revoked; otherwise None (the caller shows the sign-in page)."""
    if not token or not TOKEN_RE.match(token):
        return None
    try:
        payload, issued = _serializer(secret).loads(
            token, max_age=max(1, int(max_age_s)), return_timestamp=True
        )
    except BadData:
        return None
    if not isinstance(payload, dict):
        return None
    username, sid, must = payload.get("u"), payload.get("s"), payload.get("m")
    if not isinstance(username, str) or not isinstance(sid, str) or not isinstance(must, bool):
        return None
    with _lock:
        if sid in _revoked:
            return None
    return Remembered(username, sid, must, issued.timestamp())


def revoke(sid: str) -> None:
    with _lock:
        _revoked.add(sid)


def set_script(token: str, max_age_s: float, *, secure: bool = False) -> str:
    """The script that stores the token in the browser (first-party, path /, SameSite=Strict).

    The cookie is Secure when ``secure`` (the server knows the request came over HTTPS: see
    ``app.session.over_https``), and in any case when the page itself was loaded over HTTPS.
    ``token`` is checked to hold URL-safe characters only."""
    if not TOKEN_RE.match(token):
        raise ValueError("not a session token")
    flag = "'; Secure'" if secure else "location.protocol==='https:'?'; Secure':''"
    return (
        f"<script>(function(){{var s={flag};"
        f"document.cookie='{COOKIE}={token}; Path=/; Max-Age={max(1, int(max_age_s))}; "
        "SameSite=Strict'+s;})();</script>"
    )


def clear_script(*, secure: bool = False) -> str:
    """The script that removes the cookie (with the same attributes it was set with)."""
    flag = "'; Secure'" if secure else "location.protocol==='https:'?'; Secure':''"
    return (
        f"<script>(function(){{var s={flag};"
        f"document.cookie='{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict'+s;"
        "})();</script>"
    )
