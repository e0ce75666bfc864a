"""The app behind the README's reverse proxy (deploy/nginx-resilience.conf, Debian's nginx) and
hostile client text in a real browser (marked ``browser``).

* Through the proxy (TLS with a certificate made here): every response carries the CSP,
  X-Frame-Options and the other headers; Streamlit's cookies are Secure; /_stcore/metrics is
  closed; sign-in over the proxied websocket works.
* Regression (issue 13): a client named ``![x](http://127.0.0.1:PORT/img.png)`` (and threat
  titles, summaries and headings holding such images) made the browser fetch them; here a loopback
  HTTP server counts requests while every page shows that client, directly (no CSP to hide a
  fetch) and through the proxy: none may reach it.
* Regression (issue 13): the report download link worked without any session while the page
  showed it. Now no link exists until the session clicks, and the one it gets expires.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from .conftest import APP, copy_db
from .live import (
    CHROMIUM,
    TIMEOUT_MS,
    ServerDidNotStart,
    chromium,
    free_port,
    settle,
    streamlit_server,
)

pytestmark = pytest.mark.browser

REPO = APP.parents[1]
CONF = REPO / "deploy" / "nginx-resilience.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CLIENT = "image-co"
TTL_S = 4

if not CHROMIUM.exists() or not Path(NGINX).exists():
    pytest.skip(
        "needs Debian's chromium and nginx (make system-deps installs both)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page  # noqa: E402

from . import browsing  # noqa: E402


class Counter(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def image_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def nginx(directory: Path, app_url: str) -> Iterator[str]:
    """Debian's nginx in the foreground with the README's site file, on a free port."""
    cert, key = self_signed(directory)
    port = free_port()
    site = (
        CONF.read_text("utf-8")
        .replace("@SERVER_NAME@", "localhost 127.0.0.1")
        .replace("@HTTPS_PORT@", str(port))
        .replace("@TLS_CERT@", str(cert))
        .replace("@TLS_KEY@", str(key))
        .replace("@APP_PORT@", app_url.rsplit(":", 1)[1])
    )
    (directory / "site.conf").write_text(site, "utf-8")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / sub).mkdir(exist_ok=True)
    main = f"""
user root;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/site.conf;
}}
"""
    (directory / "nginx.conf").write_text(main, "utf-8")
    check = subprocess.run(
        [NGINX, "-t", "-p", str(directory), "-c", str(directory / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", context=_tls(), timeout=2),
            ):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((directory / "error.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, context=_tls(), timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@pytest.fixture(scope="module")
def hostile_db(
    demo_template: Path, image_server: int, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    import polars as pl

    from engine.context import Context
    from engine.models import ClientSpec
    from scoring_rules.threats import Register

    image = f"![x](http://127.0.0.1:{image_server}/img.png)"
    db = copy_db(demo_template, tmp_path_factory.mktemp("proxy") / "db")
    with Context(db) as ctx:
        ctx.upsert_client(
            ClientSpec(client_id=CLIENT, name=image, sector="oil_gas", hq_country="GBR")
        )
        assets = pl.DataFrame(
            {
                "asset_id": ["I-1"],
                "name": [f"Terminal {image}"],
                "asset_type": ["terminal"],
                "lat": ["30.50"],
                "lon": ["47.80"],
                "country": ["IRQ"],
                "value_usd": ["5000000"],
                "criticality": ["5"],
            }
        )
        ctx.load_exposures(CLIENT, assets, None, note="image test")
        doc = ctx.register().model_dump(mode="json")
        doc["title"] = f"Brief {image}"
        for section in doc["outline"]:
            section["heading"] = f"Heading {image}"
        for threat in doc["threats"]:
            threat["title"] = f"Threat {image}"
            for ev in threat["evidence"]:
                ev["summary"] = f"Summary of the paragraph {image}"
        ctx.publish_register(Register.model_validate(doc), "image test", publish=True)
        ctx.current_run()
    return db


@pytest.fixture(scope="module")
def app_url(hostile_db: Path) -> Iterator[str]:
    import os

    os.environ["RESILIENCE_DOWNLOAD_TTL_S"] = str(TTL_S)  # the server inherits it
    try:
        with streamlit_server(hostile_db, hostile_db.parent / "server.log") as url:
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))
    finally:
        os.environ.pop("RESILIENCE_DOWNLOAD_TTL_S", None)


@pytest.fixture(scope="module")
def proxy_url(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nginx(tmp_path_factory.mktemp("nginx"), app_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def sign_in(browser: Browser, url: str, username: str, path: str = "") -> Page:
    return browsing.sign_in(
        browser, url, username, path, ignore_https_errors=True, accept_downloads=True
    )


PAGES = ["Portfolio", "Scenarios", "Threat register", "Upload", "Client"]


def test_the_proxy_adds_tls_headers_secure_cookies_and_closes_metrics(
    proxy_url: str, app_url: str
) -> None:
    status, headers, _ = fetch(proxy_url + "/")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "img-src 'self' data: blob:" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert headers["referrer-policy"] == "no-referrer"
    status, headers, body = fetch(proxy_url + "/_stcore/metrics")
    assert status == 404 and b"streamlit" not in body.lower()
    assert headers["x-frame-options"] == "DENY"  # on errors too
    assert fetch(proxy_url + "/_stcore/metrics?x=1")[0] == 404
    # the app itself still has the endpoint: only the proxy closes it
    with urllib.request.urlopen(app_url + "/_stcore/metrics", timeout=10) as r:
        assert r.status == 200


def test_signing_in_through_the_proxy_with_secure_cookies(browser: Browser, proxy_url: str) -> None:
    page = sign_in(browser, proxy_url, "am")
    assert page.get_by_role("heading", name="Portfolio").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    # Streamlit's own (the proxy marks them), and the session cookie the page stores
    assert sorted(cookies) == ["_streamlit_xsrf", "resilience_session"], cookies
    xsrf, session = cookies["_streamlit_xsrf"], cookies["resilience_session"]
    assert xsrf["secure"] and xsrf["sameSite"] == "Lax", xsrf
    assert session["secure"] and session["sameSite"] == "Strict", session
    assert not session["httpOnly"] and session["path"] == "/"
    # the server itself knew the page came over TLS (the proxy's X-Forwarded-Proto): the script
    # it sent sets Secure outright rather than leaving it to the page's protocol
    assert "var s='; Secure';" in page.content()
    responses: list[dict[str, str]] = []
    page.on(
        "response", lambda r: responses.append(r.all_headers()) if r.url.endswith("/") else None
    )
    page.reload()
    settle(page)
    assert responses and responses[0]["x-frame-options"] == "DENY"
    page.context.close()


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_markdown_images_in_client_and_brief_text_fetch_nothing(
    browser: Browser, app_url: str, proxy_url: str, via: str
) -> None:
    Counter.hits.clear()
    url = app_url if via == "direct" else proxy_url
    # the deep link survives signing in: the client page opens on the hostile client
    page = sign_in(browser, url, "admin", f"/client?client={CLIENT}")
    refused: list[str] = []  # the CSP must not break the app's own pages (charts, maps, fonts)
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    seen_client = False
    for name in PAGES:
        page.get_by_role("heading", level=1).first.wait_for()
        if page.get_by_text("The threats that matter").count():
            for expander in page.get_by_test_id("stExpander").all()[:3]:
                expander.click()
            settle(page)
            title = page.get_by_role("heading", level=1).first.inner_text()
            assert title.startswith("![x](http://127.0.0.1:")  # shown as the text it is
            assert page.get_by_text("Summary of the paragraph ![x](").count() >= 1
            seen_client = seen_client or title.startswith("![x](")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
        settle(page)
    assert seen_client
    assert refused == [], "\n".join(refused)
    assert Counter.hits == []
    assert page.locator("img[src*='img.png']").count() == 0
    page.context.close()


def test_the_report_link_needs_the_session_and_expires(browser: Browser, proxy_url: str) -> None:
    page = sign_in(browser, proxy_url, "meridian")
    button = page.get_by_role("button", name="Download the report (PDF)")
    button.wait_for()
    # no link to the file exists on the page before the session asks for it
    assert page.locator("a[href*='/media/']").count() == 0
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    download = info.value
    assert download.path().read_bytes().startswith(b"%PDF")
    link = download.url
    assert "/media/" in link
    status, _, body = fetch(link)  # short-lived: it is still there just after the click
    assert status == 200 and body.startswith(b"%PDF")
    time.sleep(TTL_S + 2)
    assert fetch(link)[0] == 404  # and then gone, for anyone
    page.context.close()
