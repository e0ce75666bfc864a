"""The upload checker service: one long-lived, pre-started pool of sandboxes that every upload uses.

A one-shot CLI command used to start a sandbox child for its file, and that child imported Great
Expectations, the geocoder and the port tables before it could read five rows (8-12 s). Now a
small service process per store folder (``python -m exposures.upload.checker serve DIR``) keeps a
pool of warmed-up sandbox children waiting (``exposures.upload.sandbox``: a fresh interpreter per
file, its own user and network namespace, an address-space cap, a wall-clock alarm, no file
opened but its own code, a watchdog on its parent) and hands each file to one of them; the next
child warms up in the background. The pool has ``RESILIENCE_CHECKER_POOL`` children (default 2),
so that many files are checked at once; a file beyond them waits in line for a free checker up
to ``RESILIENCE_CHECKER_QUEUE_S`` seconds (default 60) and is then answered ``CheckerBusy``,
"the checker is busy, try again in a moment". The CLI and the app send the file's bytes over a
Unix socket and get the report and the valid rows back; neither imports the checking code. A
CLI dry run gets the whole preview back (an extension, below), so the command imports no data
library at all.

- Where: ``DIR = <store folder>/.resilience-checker/`` (owner-only, 0700), the socket ``sock``
  in it (0600), a lock file and the service's log. A path too long for a Unix socket moves DIR
  to ``$XDG_RUNTIME_DIR`` (or the temp folder) under a name made from the store folder's path.
- Start: the app starts the service when it opens the store and keeps it alive while it runs;
  a CLI command starts it on first use. Starting is serialised by a lock file, so two commands
  at once start one service. A socket nobody answers on (a service that was killed) is stale:
  it is removed and a new service started.
- Stop: after ``RESILIENCE_CHECKER_IDLE_S`` seconds (default 600) without a request, and with
  no app process alive that asked to keep it, the service exits by itself.
- Versions: every connection starts with a handshake; a service running other code than the
  caller's (an upgrade) is asked to stop and a new one is started.
- Extensions: a layer above this package names modules the services it starts import too
  (``extend``); each answers the requests its ``SERVICE_OPS`` lists, in the service's warm
  process (the engine's upload dry run: ``engine/upload_service.py``). This package imports
  none of them; inside the service, their checks and placements are done in-process.
- Wire format: a 4-byte length, a JSON header, then the binary parts the header lists (the
  file's bytes; the valid rows as Arrow IPC and the rejected rows as CSV). No pickle.

``RESILIENCE_CHECKER=local`` makes a process check each file in a sandbox child of its own
instead (the tests' default; also the fallback when the service cannot be started).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CheckerBusy, ExposureError, ResilienceError

if TYPE_CHECKING:
    import polars as pl

    from exposures.upload.pipeline import PreparedUpload

log = logging.getLogger(__name__)

PROTOCOL = 1
SOCKET_NAME = "sock"
LOCK_NAME = "lock"
LOG_NAME = "checker.log"
DEFAULT_IDLE_S = 600.0
_SUN_PATH_MAX = 107  # bytes a Unix socket path may hold (108 with the final NUL)
_HEADER_MAX = 64 * 1024 * 1024
_BLOB_MAX = 4 * 1024 * 1024 * 1024
_START_TIMEOUT_S = 30.0
_ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("core", "engine", "exposures", "scoring_rules")

_extensions: list[str] = []
"""The modules a service started by this process runs besides the check (``extend``)."""
_ops: dict[str, Callable[[dict[str, Any], list[bytes]], tuple[dict[str, Any], tuple[bytes, ...]]]]
_ops = {}
_warmed = threading.Event()
"""Set once the service's warm-up (placement, extensions) is over: a request that imports the
same libraries waits for it (shapely, imported from two threads at once, fails half-way)."""
_serving: Path | None = None
"""In the service process: the folder it serves (its own requests are answered in-process)."""


class Unavailable(ExposureError):
    """The service could not be started or reached (nothing to do with the file)."""


def mode() -> str:
    """``service`` (default) or ``local``, from ``RESILIENCE_CHECKER``."""
    value = os.environ.get("RESILIENCE_CHECKER", "service").strip().lower()
    return "local" if value == "local" else "service"


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("RESILIENCE_CHECKER_IDLE_S", DEFAULT_IDLE_S)))
    except ValueError:
        return DEFAULT_IDLE_S


def extend(module: str) -> None:
    """Have the services this process starts also import ``module`` and answer the requests
    its ``SERVICE_OPS`` name (``{op: handler(header, blobs) -> (answer, blobs)}``).

    This is how a layer above this package (the engine's upload preview) runs in the warm
    service without this package importing it; a service started by a process that named other
    extensions runs other code (``code_version``) and is replaced like an older one."""
    if module not in _extensions:
        _extensions.append(module)


def serving() -> Path | None:
    """In a service process: the folder it serves; elsewhere None."""
    return _serving


def code_version() -> str:
    """What identifies the service's code: the protocol, the interpreter, the extensions and
    every file of the product's packages (path, size, modification time)."""
    digest = hashlib.sha256(
        f"{PROTOCOL}|{sys.executable}|{sys.version}|{','.join(_extensions)}".encode()
    )
    files: list[Path] = []
    for package in _PACKAGES:
        for folder, dirs, names in os.walk(_ROOT / package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            files += [Path(folder) / n for n in sorted(names) if not n.endswith(".pyc")]
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        digest.update(f"{f.relative_to(_ROOT)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def service_dir(db_path: Path | str) -> Path:
    """The owner-only folder of the checker service of the store ``db_path`` (one service for
    the stores of one folder: it reads no store; see the module docstring)."""
    if str(db_path).startswith(("postgresql:", "postgres:")):
        # a PostgreSQL store has no folder of its own: this machine's folder for the store's
        # files ($RESILIENCE_FILES, default data/), whichever form of the URL names it
        store_folder = Path(os.environ.get("RESILIENCE_FILES", "data")).resolve()
    else:
        store_folder = Path(os.path.abspath(db_path)).parent
    folder = store_folder / ".resilience-checker"
    if len(os.fsencode(folder / SOCKET_NAME)) > _SUN_PATH_MAX:
        base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
        tag = hashlib.sha256(os.fsencode(store_folder)).hexdigest()[:16]
        folder = base / f"resilience-checker-{os.getuid()}-{tag}"
    return folder


def _secure_dir(folder: Path) -> None:
    """Make ``folder`` (0700) or check that it is a real folder of this user's, owner-only."""
    try:
        folder.mkdir(mode=0o700, parents=False, exist_ok=True)
    except FileNotFoundError:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise Unavailable(
            f"{folder} is not a folder of this user's; remove it so that the upload checker "
            "can make its own"
        )
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)


# -- the wire ------------------------------------------------------------------------------------


def _send(sock: socket.socket, header: dict[str, Any], blobs: tuple[bytes, ...] = ()) -> None:
    head = json.dumps({**header, "blobs": [len(b) for b in blobs]}).encode()
    sock.sendall(struct.pack(">I", len(head)) + head)
    for blob in blobs:
        sock.sendall(blob)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], min(n - got, 4 * 1024 * 1024))
        if k == 0:
            raise ConnectionError("the other side closed the connection")
        got += k
    return bytes(buffer)


def _recv(sock: socket.socket) -> tuple[dict[str, Any], list[bytes]]:
    (size,) = struct.unpack(">I", _recv_exact(sock, 4))
    if size > _HEADER_MAX:
        raise ConnectionError(f"a message header of {size:,} bytes is too large")
    header = json.loads(_recv_exact(sock, size))
    if not isinstance(header, dict):
        raise ConnectionError("a message header is not an object")
    lengths = header.pop("blobs", [])
    if not isinstance(lengths, list) or sum(int(n) for n in lengths) > _BLOB_MAX:
        raise ConnectionError("a message's parts are too large")
    return header, [_recv_exact(sock, int(n)) for n in lengths]


# -- the client ----------------------------------------------------------------------------------


def _try_connect(path: Path, timeout_s: float = 30.0) -> socket.socket | None:
    """A connection to the socket at ``path``, or None when nobody listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(os.fsencode(path))
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        sock.close()
        return None
    except OSError as exc:
        sock.close()
        raise Unavailable(f"the upload checker's socket {path} cannot be used: {exc}") from exc
    return sock


def _hello(sock: socket.socket, keep_alive_pid: int | None = None) -> dict[str, Any]:
    _send(sock, {"op": "hello", "version": code_version(), "keep_alive_pid": keep_alive_pid})
    header, _ = _recv(sock)
    return header


def _spawn(folder: Path) -> int:
    """Start the service for ``folder`` as a daemon (a session of its own, its parent gone, so
    it is nobody's zombie when it ends), logging to its file; returns its pid."""
    argv = [sys.executable, "-m", "exposures.upload.checker", "serve", str(folder)]
    for module in _extensions:
        argv += ["--extension", module]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["GX_ANALYTICS_ENABLED"] = "false"
    log_fd = os.open(folder / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    pid_r, pid_w = os.pipe()
    child = os.fork()
    if child == 0:  # the go-between: a new session, the service, then gone at once
        try:
            os.close(pid_r)
            os.setsid()
            service = os.fork()
            if service == 0:
                os.dup2(null_fd, 0)
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                os.chdir(_ROOT)
                os.execve(sys.executable, argv, env)  # other descriptors close on exec
            os.write(pid_w, str(service).encode())
        finally:
            os._exit(0)
    for fd in (pid_w, log_fd, null_fd):
        os.close(fd)
    os.waitpid(child, 0)
    try:
        return int(os.read(pid_r, 32) or b"0")
    finally:
        os.close(pid_r)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _start(folder: Path) -> None:
    """Start the service unless one answers; one starter at a time (a lock file)."""
    import fcntl

    path = folder / SOCKET_NAME
    lock_fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        sock = _try_connect(path)
        if sock is not None:  # another command started it meanwhile
            sock.close()
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # stale: left by a service that was killed
        pid = _spawn(folder)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            sock = _try_connect(path)
            if sock is not None:
                sock.close()
                return
            if not _alive(pid):
                raise Unavailable(
                    f"the upload checker stopped while starting; see {folder / LOG_NAME}"
                )
            time.sleep(0.02)
        raise Unavailable(
            f"the upload checker did not start within {_START_TIMEOUT_S:g} s; see "
            f"{folder / LOG_NAME}"
        )
    finally:
        os.close(lock_fd)


def connect(
    folder: Path, keep_alive_pid: int | None = None
) -> tuple[socket.socket, dict[str, Any]]:
    """A connection to the service of ``folder`` running this code, started if need be."""
    try:
        _secure_dir(folder)
    except OSError as exc:
        raise Unavailable(f"the upload checker's folder {folder} cannot be used: {exc}") from exc
    path = folder / SOCKET_NAME
    for _attempt in range(3):
        sock = _try_connect(path)
        if sock is not None:
            try:
                info = _hello(sock, keep_alive_pid)
            except (ConnectionError, OSError, ValueError):
                sock.close()
                info = None
            if info is not None and info.get("version") == code_version():
                return sock, info
            if info is not None:  # older (or newer) code: ask it to go, then start ours
                log.info("upload checker %s runs other code; restarting it", info.get("pid"))
                with contextlib.suppress(ConnectionError, OSError):
                    _send(sock, {"op": "stop"})
                    _recv(sock)
                sock.close()
                _wait_gone(path)
                continue
        _start(folder)
    raise Unavailable(
        f"the upload checker could not be reached; see {folder / LOG_NAME} (or set "
        "RESILIENCE_CHECKER=local)"
    )


def _wait_gone(path: Path, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def ensure_started(folder: Path, keep_alive_pid: int | None = None) -> dict[str, Any]:
    """Start the service of ``folder`` (if it is not running) and return its hello."""
    sock, info = connect(folder, keep_alive_pid)
    sock.close()
    return info


def status(folder: Path) -> dict[str, Any]:
    """The service's state: ``warm`` (a checker is waiting, warmed up), ``pid``, ``version``."""
    sock, _ = connect(folder)
    try:
        _send(sock, {"op": "status"})
        header, _ = _recv(sock)
        return header
    finally:
        sock.close()


def wait_warm(folder: Path, timeout_s: float = 180.0) -> float:
    """Wait until the service has a warmed-up checker waiting; returns its warm-up seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = status(folder)
        if state.get("warm") is not None:
            return float(state["warm"])
        if time.monotonic() > deadline:
            raise ExposureError(f"the upload checker did not warm up within {timeout_s:g} s")
        time.sleep(0.1)


def stop(folder: Path) -> None:
    """Ask the service of ``folder`` to exit (finishing the checks it is running)."""
    sock = _try_connect(folder / SOCKET_NAME)
    if sock is None:
        return
    with contextlib.suppress(ConnectionError, OSError), sock:
        _send(sock, {"op": "stop"})
        _recv(sock)
    _wait_gone(folder / SOCKET_NAME)


def prepare_upload(
    folder: Path,
    data: bytes,
    filename: str,
    kind: str,
    mapping: dict[str, str | None] | None = None,
    *,
    values: dict[str, dict[str, str]] | None = None,
    sheet: str | None = None,
    ids_only: bool = False,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
    timeout_s: float | None = None,
    memory_mb: int | None = None,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> PreparedUpload:
    """``sandbox.prepare_upload`` through the service of ``folder``: the same result.

    A service that dies during the check (killed, crashed) is restarted and the file sent
    again, once; what the sandbox says about the file (refused, out of memory, too slow) is an
    ``ExposureError`` as it is from ``sandbox.prepare_upload``.
    """
    from exposures.upload import sandbox
    from exposures.upload.schema import columns

    columns(kind)
    started = time.perf_counter()
    timeout = sandbox.DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
    if _serving is not None and folder == _serving:  # an extension of this very service
        options = sandbox.job_options(
            values=values,
            sheet=sheet,
            ids_only=ids_only,
            bounds=bounds,
            max_bytes=max_bytes,
            max_rows=max_rows,
        )
        memory = sandbox.DEFAULT_MEMORY_MB if memory_mb is None else memory_mb
        payload = sandbox.run_in_child(
            data, filename, kind, mapping, options, timeout_s=timeout, memory_mb=memory
        )
        result = sandbox.unpack(payload)
        result.stats["service_pid"] = float(os.getpid())
        result.stats["total_seconds"] = round(time.perf_counter() - started, 3)
        return result
    queue_s = sandbox.queue_seconds()
    header = {
        "op": "check",
        "filename": filename,
        "kind": kind,
        "mapping": mapping,
        "options": sandbox.job_options(
            values=values,
            sheet=sheet,
            ids_only=ids_only,
            bounds=bounds,
            max_bytes=max_bytes,
            max_rows=max_rows,
        ),
        "timeout_s": timeout,
        "memory_mb": sandbox.DEFAULT_MEMORY_MB if memory_mb is None else memory_mb,
        "queue_s": queue_s,
    }
    for attempt in (1, 2):
        sock, info = connect(folder)
        # the wait for a free checker, the file's own limit, a checker still warming up
        sock.settimeout(queue_s + timeout + sandbox.WARMUP_LIMIT_S + 60.0)
        try:
            _send(sock, header, (data,))
            answer, blobs = _recv(sock)
        except TimeoutError as exc:  # the service enforces the file's limits: it is stuck
            raise CheckerBusy(sandbox.BUSY_MESSAGE) from exc
        except (ConnectionError, OSError, ValueError) as exc:
            if attempt == 2:
                raise ExposureError(
                    "the file could not be processed: the upload checker stopped twice; "
                    f"nothing was changed (see {folder / LOG_NAME})"
                ) from exc
            log.warning("upload checker %s went away (%s); restarting it", info.get("pid"), exc)
            continue
        finally:
            sock.close()
        if answer.get("status") == "busy":
            raise CheckerBusy(str(answer.get("message") or sandbox.BUSY_MESSAGE))
        if answer.get("status") != "ok":
            raise ExposureError(str(answer.get("message") or sandbox.INTERNAL_ERROR))
        result = sandbox.unpack(
            {
                "report": answer["report"],
                "frame": blobs[0],
                "quarantine": blobs[1],
                "stats": answer.get("stats", {}),
            }
        )
        result.stats["service_pid"] = float(info.get("pid", 0))
        result.stats["total_seconds"] = round(time.perf_counter() - started, 3)
        return result
    raise AssertionError("not reached")


PLACE_COLUMNS = ("lat", "lon", "country_iso3", "subdivision", "geo_precision")
"""What placing an asset needs (``exposures.prepare.asset_geo_keys``)."""


def place_assets(folder: Path, assets: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """``exposures.prepare.asset_geo_keys`` of located asset rows, worked out by the service
    of ``folder``, which keeps the region index and the gazetteer loaded: the key of each row's
    geo profile (in row order) and the ``geo_regions`` rows of those profiles.

    The rows are the store's own (checked by an upload, or kept from a stored version); a row
    that cannot be placed is an ``ExposureError`` with the words ``asset_geo_keys`` uses.
    """
    import io

    import polars as pl

    if _serving is not None and folder == _serving:  # an extension of this very service
        from exposures.prepare import asset_geo_keys

        return asset_geo_keys(assets.select(PLACE_COLUMNS))
    buffer = io.BytesIO()
    assets.select(PLACE_COLUMNS).write_ipc(buffer)
    try:
        _, blobs = request(folder, {"op": "place"}, (buffer.getvalue(),), timeout_s=120.0)
    except Unavailable:
        raise
    except ResilienceError as exc:  # what the service refuses is about the rows
        raise ExposureError(str(exc)) from exc
    if len(blobs) != 2:
        raise Unavailable("the upload checker placed no rows")
    keys = pl.read_ipc(io.BytesIO(blobs[0]))["geo_key"]
    regions = pl.read_ipc(io.BytesIO(blobs[1]))
    if keys.len() != assets.height:
        raise Unavailable(f"the upload checker placed {keys.len()} of {assets.height} rows")
    return keys, regions


def _place(blob: bytes) -> tuple[bytes, bytes]:
    """The service's side of ``place_assets``."""
    import io

    import polars as pl

    from exposures.prepare import asset_geo_keys

    keys, regions = asset_geo_keys(pl.read_ipc(io.BytesIO(blob)))
    out_keys, out_regions = io.BytesIO(), io.BytesIO()
    pl.DataFrame({"geo_key": keys}).write_ipc(out_keys)
    regions.write_ipc(out_regions)
    return out_keys.getvalue(), out_regions.getvalue()


def request(
    folder: Path, header: dict[str, Any], blobs: tuple[bytes, ...] = (), *, timeout_s: float
) -> tuple[dict[str, Any], list[bytes]]:
    """Send one request of an extension (``extend``) to the service of ``folder`` (started if
    need be) and return its answer.

    ``Unavailable`` when the service cannot be reached, goes away or does not know the request
    (the caller then does the work itself); ``ResilienceError`` with the service's words when the
    request was refused (the product's own error: an unknown client, a file the checker
    refuses)."""
    sock, info = connect(folder)
    try:
        sock.settimeout(timeout_s)
        _send(sock, header, blobs)
        answer, parts = _recv(sock)
    except (ConnectionError, OSError, ValueError) as exc:
        raise Unavailable(
            f"the upload checker {info.get('pid')} did not answer {header.get('op')!r}: {exc}"
        ) from exc
    finally:
        sock.close()
    status = answer.get("status")
    if status == "refused":
        raise ResilienceError(str(answer.get("message")))
    if status != "ok":
        raise Unavailable(str(answer.get("message") or f"the upload checker failed {header}"))
    return answer, parts


def _load_extensions(modules: list[str]) -> None:
    """In the service: import each extension and take its requests (``extend``)."""
    import importlib

    for module in modules:
        extend(module)
        _ops.update(getattr(importlib.import_module(module), "SERVICE_OPS", {}))


def _warm_extensions() -> None:
    """Run each extension's ``warm_up()`` (its imports, say) before its first request."""
    import importlib

    for module in _extensions:
        warm = getattr(importlib.import_module(module), "warm_up", None)
        if warm is None:
            continue
        started = time.perf_counter()
        try:
            warm()
        except Exception:  # the first request does (and reports) it anyway
            log.exception("warming up %s failed", module)
            continue
        log.info("%s warm in %.1f s", module, time.perf_counter() - started)


def _warm_placement() -> None:
    """Load the region index and the gazetteer once, before the first rows are placed."""
    import polars as pl

    started = time.perf_counter()
    try:
        from exposures.prepare import asset_geo_keys

        asset_geo_keys(
            pl.DataFrame(
                {
                    "lat": [51.5],
                    "lon": [-0.12],
                    "country_iso3": ["GBR"],
                    "subdivision": [None],
                    "geo_precision": ["coordinates"],
                },
                schema={c: pl.Float64 if c in ("lat", "lon") else pl.String for c in PLACE_COLUMNS},
            )
        )
    except Exception:  # the first request places (and reports) it anyway
        log.exception("warming up the asset placement failed")
        return
    log.info("asset placement warm in %.1f s", time.perf_counter() - started)


# -- the service ---------------------------------------------------------------------------------


class _Service:
    def __init__(self, folder: Path, idle_s: float) -> None:
        self.folder = folder
        self.path = folder / SOCKET_NAME
        self.idle_s = idle_s
        self.version = code_version()
        self.lock = threading.Lock()
        self.active = 0
        self.last = time.monotonic()
        self.keep_alive: set[int] = set()
        self.stopping = threading.Event()
        self.inode: int | None = None
        self.listener: socket.socket | None = None

    def serve(self) -> None:
        from exposures.upload import sandbox

        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is made 0600
        try:
            listener.bind(os.fsencode(self.path))
        except OSError as exc:
            log.info("another checker holds %s (%s)", self.path, exc)
            return
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self.inode = os.stat(self.path).st_ino
        listener.listen(16)
        listener.settimeout(0.5)
        self.listener = listener
        log.info("upload checker %d serving %s (code %s)", os.getpid(), self.path, self.version)
        sandbox.keep_warm(True)

        def warm() -> None:
            try:
                _warm_placement()
                _warm_extensions()
            finally:
                _warmed.set()

        threading.Thread(target=warm, daemon=True).start()
        try:
            while not self.stopping.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    if self._should_exit():
                        break
                    continue
                with self.lock:
                    self.active += 1
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        finally:
            self._close()
            deadline = time.monotonic() + 300
            while self.active and time.monotonic() < deadline:
                time.sleep(0.1)  # let checks in flight answer
            sandbox.keep_warm(False)
            log.info("upload checker %d stopped", os.getpid())

    def _should_exit(self) -> bool:
        try:
            if os.stat(self.path).st_ino != self.inode:
                log.info("the socket was replaced; exiting")
                return True
        except FileNotFoundError:
            log.info("the socket was removed; exiting")
            return True
        with self.lock:
            if self.active:
                return False
            alive = set()
            for pid in self.keep_alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, 0)
                    alive.add(pid)
            self.keep_alive = alive
            if alive:
                return False
            return time.monotonic() - self.last > self.idle_s

    def _close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self._unlink()

    def _unlink(self) -> None:
        """Remove the socket (if it is still this service's): no new caller reaches it."""
        with contextlib.suppress(FileNotFoundError):
            if os.stat(self.path).st_ino == self.inode:
                self.path.unlink()

    def _handle(self, conn: socket.socket) -> None:
        try:
            with conn:
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                _pid, uid, _gid = struct.unpack("3i", creds)
                if uid != os.getuid():
                    log.warning("refused a connection from user %d", uid)
                    return
                conn.settimeout(None)
                while True:
                    try:
                        header, blobs = _recv(conn)
                    except (ConnectionError, OSError, ValueError):
                        return
                    if not self._answer(conn, header, blobs):
                        return
        finally:
            with self.lock:
                self.active -= 1
                self.last = time.monotonic()

    def _answer(self, conn: socket.socket, header: dict[str, Any], blobs: list[bytes]) -> bool:
        from exposures.upload import sandbox

        op = header.get("op")
        if op == "hello":
            pid = header.get("keep_alive_pid")
            if isinstance(pid, int) and pid > 0:
                with self.lock:
                    self.keep_alive.add(pid)
            _send(conn, {"version": self.version, "pid": os.getpid()})
            return True
        if op == "status":
            _send(
                conn,
                {
                    "version": self.version,
                    "pid": os.getpid(),
                    "warm": sandbox.spare_ready(),
                    "pool": sandbox.pool_state(),
                },
            )
            return True
        if op == "stop":
            self.stopping.set()
            self._unlink()  # the accept loop sees stopping and closes the listener
            _send(conn, {"stopping": True})
            return False
        if op == "place" and len(blobs) == 1:
            _warmed.wait(sandbox.WARMUP_LIMIT_S)
            try:
                keys, regions = _place(blobs[0])
            except ExposureError as exc:
                _send(conn, {"status": "refused", "message": str(exc)})
                return True
            except Exception as exc:
                log.exception("placing rows failed")
                _send(conn, {"status": "error", "message": f"placing the rows failed: {exc}"})
                return True
            _send(conn, {"status": "ok"}, (keys, regions))
            return True
        handler = _ops.get(str(op))
        if handler is not None:
            _warmed.wait(sandbox.WARMUP_LIMIT_S)
            try:
                answer, parts = handler(header, blobs)
            except ResilienceError as exc:
                _send(conn, {"status": "refused", "message": str(exc)})
                return True
            except Exception as exc:
                log.exception("request %r failed", op)
                _send(conn, {"status": "error", "message": f"the request {op!r} failed: {exc}"})
                return True
            _send(conn, {"status": "ok", **answer}, parts)
            return True
        if op != "check" or len(blobs) != 1:
            _send(conn, {"status": "error", "message": f"unknown request {op!r}"})
            return False
        options = dict(header.get("options") or {})
        if options.get("bounds"):
            options["bounds"] = {k: tuple(v) for k, v in options["bounds"].items()}
        try:
            payload = sandbox.run_in_child(
                blobs[0],
                str(header.get("filename") or ""),
                str(header.get("kind")),
                header.get("mapping"),
                options,
                timeout_s=float(header.get("timeout_s") or sandbox.DEFAULT_TIMEOUT_S),
                memory_mb=int(header.get("memory_mb") or sandbox.DEFAULT_MEMORY_MB),
                queue_s=_queue_s(header.get("queue_s")),
            )
        except CheckerBusy as exc:
            _send(conn, {"status": "busy", "message": str(exc)})
            return True
        except ExposureError as exc:
            _send(conn, {"status": "error", "message": str(exc)})
            return True
        _send(
            conn,
            {"status": "ok", "report": payload["report"], "stats": payload["stats"]},
            (payload["frame"], payload["quarantine"]),
        )
        return True


def _queue_s(value: object) -> float:
    """The caller's wait for a free checker (its own setting), bounded to ten minutes."""
    from exposures.upload import sandbox

    try:
        return min(600.0, max(0.0, float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return sandbox.queue_seconds()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m exposures.upload.checker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the upload checker of a folder")
    serve.add_argument("folder", type=Path)
    serve.add_argument("--idle", type=float, default=None, help="seconds idle before exiting")
    serve.add_argument(
        "--extension", action="append", default=[], help="a module whose requests to answer too"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    folder: Path = args.folder
    _secure_dir(folder)
    global _serving
    _serving = folder
    _load_extensions(args.extension)
    _Service(folder, args.idle if args.idle is not None else idle_seconds()).serve()


if __name__ == "__main__":
    # run the importable module's main, not this ``__main__`` copy's: the service's state (the
    # folder it serves, its extensions' requests) is then the state the extensions see
    from exposures.upload import checker as _module

    _module.main()
