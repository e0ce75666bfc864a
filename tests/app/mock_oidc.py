"""A tiny OpenID Connect provider on 127.0.0.1, for single sign-on tests.

It speaks just enough of the authorization-code flow for Streamlit's ``st.login`` (Authlib):

* ``/.well-known/openid-configuration``: the metadata (issuer, endpoints, RS256);
* ``/authorize``: no login form; it redirects straight back to ``redirect_uri`` with a code and
  the caller's ``state``, for the identity the test chose (``provider.identity = {...}``);
* ``/token``: checks the client's credentials and the code, and returns an ID token signed RS256
  with a key generated at start (iss, sub, aud, exp, iat, nonce, then the identity's claims);
* ``/jwks``: the public key; ``/userinfo``: the identity's claims for the access token;
* ``/logout``: the end-session endpoint; it records the call and redirects to
  ``post_logout_redirect_uri``.

``forge = True`` signs ID tokens with a second key that ``/jwks`` does not publish, to check that
the relying party refuses them. Everything runs in one daemon thread; ``close()`` stops it.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "resilience-app"
CLIENT_SECRET = "mock-client-secret-0123456789"  # a test fixture's, known to both sides


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    claims: dict[str, Any]
    issued: float


class MockOIDCProvider:
    """An OIDC provider for one client (``CLIENT_ID`` / ``CLIENT_SECRET``)."""

    def __init__(
        self,
        identity: dict[str, Any] | None = None,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        lifetime_s: int = 600,
    ) -> None:
        self.identity: dict[str, Any] = dict(identity or {"sub": "nobody"})
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime_s = lifetime_s
        self.forge = False
        kid = "mock-" + secrets.token_hex(4)
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
        # same kid, another key: what a forger would send
        self._forger = RSAKey.generate_key(2048, parameters={"kid": kid})
        self.authorize_calls: list[dict[str, str]] = []
        self.logout_calls: list[dict[str, str]] = []
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mock-oidc", daemon=True
        )
        self._thread.start()

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "name"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def id_token(self, claims: dict[str, Any], nonce: str | None, now: float | None = None) -> str:
        """An ID token for ``claims`` (the registered claims are the provider's own)."""
        issued = int(now if now is not None else time.time())
        payload: dict[str, Any] = dict(claims)
        payload.setdefault("sub", "user-" + secrets.token_hex(4))
        payload |= {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": issued,
            "auth_time": issued,
            "exp": issued + self.lifetime_s,
        }
        if nonce is not None:
            payload["nonce"] = nonce
        key = self._forger if self.forge else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, payload, key)

    # -- the two steps of the code flow ------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) for a GET /authorize."""
        with self._lock:
            self.authorize_calls.append(dict(query))
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri.startswith("http"):
            return 400, {}, "unknown client or redirect_uri"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return 400, {}, "only response_type=code with scope openid"
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                claims=dict(self.identity),
                issued=time.time(),
            )
        back = {"code": code}
        if "state" in query:
            back["state"] = query["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": redirect_uri + sep + urlencode(back)}, ""

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        """(status, JSON) for a POST /token."""
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            raw = base64.b64decode(authorization[6:]).decode()
            raw_id, _, raw_secret = raw.partition(":")
            client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # a code works once
        if grant is None or time.time() - grant.issued > 60:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        access = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[access] = grant.claims
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime_s,
            "scope": "openid email profile",
            "id_token": self.id_token(grant.claims, grant.nonce),
        }

    def userinfo(self, authorization: str | None) -> tuple[int, dict[str, Any]]:
        token = (authorization or "")[7:] if (authorization or "").startswith("Bearer ") else ""
        with self._lock:
            claims = self._tokens.get(token)
        if claims is None:
            return 401, {"error": "invalid_token"}
        return 200, {"sub": claims.get("sub", "")} | claims

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> MockOIDCProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler(provider: MockOIDCProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, obj: dict[str, Any]) -> None:
            self._send(status, json.dumps(obj), {"Content-Type": "application/json"})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.metadata())
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                status, headers, body = provider.authorize(query)
                self._send(status, body, headers)
            elif url.path == "/userinfo":
                self._json(*provider.userinfo(self.headers.get("Authorization")))
            elif url.path == "/logout":
                with provider._lock:
                    provider.logout_calls.append(query)
                target = query.get("post_logout_redirect_uri")
                if target and target.startswith("http"):
                    self._send(302, "", {"Location": target})
                else:
                    self._send(200, "signed out")
            else:
                self._send(404, "not found")

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size).decode() if size else ""
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if url.path == "/token":
                self._json(*provider.token(form, self.headers.get("Authorization")))
            elif url.path == "/userinfo":
                self._json(*provider.userinfo(self.headers.get("Authorization")))
            else:
                self._send(404, "not found")

    return Handler
