"""Run the upload pipeline on untrusted bytes in a child process with memory and time limits.

``prepare_upload`` is the only way the server checks an uploaded file. Each file is checked by a
child of its own (``spawn``: no state shared with the server), which warms up on the templates
(imports, Great Expectations, geocoder and port tables), then waits for its one file, caps its own
address space with ``RLIMIT_AS`` (its warmed-up size plus ``memory_mb``), arms its own wall-clock
limit (``SIGALRM``) and runs ``exposures.upload.pipeline.check_upload``. A watchdog thread ends
the child as soon as its parent is gone (even after a kill -9 of the parent). The parent watches
the child's resident memory and the clock and kills it past ``memory_mb`` or ``timeout_s``.
Results come back over a pipe: the report as JSON, the valid rows as Arrow IPC bytes, the
quarantine CSV as bytes. A crash, a memory blow-up or a timeout in the child becomes a clean
``ExposureError``; the server process never parses the file.

With ``keep_warm(True)`` (the checker service, the app, the benchmark) a pool of warmed-up
children waits (``RESILIENCE_CHECKER_POOL``, default 2): that many files are checked at once,
each in the time the check itself takes, and after each check a new child warms up in the
background for the next file. The pool also bounds how many children are alive at all, so a
burst of uploads never starts a crowd of interpreters that slow each other down: a file beyond
the pool waits in line for a free checker, up to ``RESILIENCE_CHECKER_QUEUE_S`` (default 60 s),
and is then answered ``CheckerBusy`` ("the checker is busy, try again in a moment"). Without
``keep_warm`` (a one-shot CLI command) the child is started for the file.

This module imports nothing heavy at load time, so the child starts lean.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CheckerBusy, ExposureError, ResilienceError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from exposures.upload.pipeline import PreparedUpload

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 1500
WARMUP_LIMIT_S = 300.0
"""How long a checker may take to warm up (imports, tables) before its file's own time starts."""
_POLL_S = 0.05
_PARENT_POLL_S = 0.2
_CITY_WARMUP = (
    b"asset_id,name,asset_type,city,country,value_usd,criticality\r\n"
    b"w1,warm-up,office,Paris,France,1,1\r\n"
)

Pipeline = Callable[..., "PreparedUpload"]


def _oom_message(memory_mb: int) -> str:
    return (
        f"the file could not be processed: it needed more than {memory_mb:,} MB of memory; "
        "split it into smaller files or save it as CSV"
    )


DEFAULT_POOL = 2
MAX_POOL = 8
DEFAULT_QUEUE_S = 60.0
BUSY_MESSAGE = (
    "the checker is busy, try again in a moment: every upload checker is working on other "
    "files; nothing was changed"
)


def pool_size() -> int:
    """How many sandbox children check files at once (``RESILIENCE_CHECKER_POOL``, default 2,
    at least 1 and at most ``MAX_POOL``): each is a whole interpreter of its own, so a pool
    larger than the machine's cores only makes every check slower."""
    raw = os.environ.get("RESILIENCE_CHECKER_POOL", "").strip()
    if not raw:
        return DEFAULT_POOL
    try:
        size = int(raw)
    except ValueError:
        log.warning("RESILIENCE_CHECKER_POOL=%r is not a whole number; using %d", raw, DEFAULT_POOL)
        return DEFAULT_POOL
    return min(MAX_POOL, max(1, size))


def queue_seconds() -> float:
    """How long a file waits for a free checker before the caller is told the checker is busy
    (``RESILIENCE_CHECKER_QUEUE_S``, default 60)."""
    try:
        return max(0.0, float(os.environ.get("RESILIENCE_CHECKER_QUEUE_S", DEFAULT_QUEUE_S)))
    except ValueError:
        return DEFAULT_QUEUE_S


class _Pool:
    """The sandbox children of one memory limit: at most ``size`` alive at once (waiting,
    warming up or checking), and as many checks at once; a file beyond that waits in line."""

    def __init__(self, memory_mb: int, size: int) -> None:
        self.memory_mb = memory_mb
        self.size = size
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(size)
        self.idle: list[_Worker] = []  # started, not yet given a file (oldest first)
        self.checking = 0

    def fill(self) -> None:
        """Start children until ``size`` are alive (kept warm for any file)."""
        with self.lock:
            self._drop_dead()
            while len(self.idle) + self.checking < self.size:
                self.idle.append(_Worker.start(self.memory_mb))

    def _drop_dead(self) -> None:
        dead = [w for w in self.idle if not w.proc.is_alive()]
        for w in dead:
            self.idle.remove(w)
            w.stop()

    def take(self, kind: str, queue_s: float) -> _Worker:
        """A child for one file: a warmed-up one if any, else the one warming the longest, else
        a new one for ``kind``. Waits up to ``queue_s`` for a free place (``CheckerBusy``)."""
        if not self.slots.acquire(timeout=queue_s):
            raise CheckerBusy(BUSY_MESSAGE)
        try:
            with self.lock:
                self._drop_dead()
                ready = [w for w in self.idle if w.poll_ready() is not None]
                worker: _Worker | None = None
                if ready or self.idle:
                    worker = (ready or self.idle)[0]
                    self.idle.remove(worker)
                self.checking += 1
            return worker or _Worker.start(self.memory_mb, kind)
        except BaseException:
            self.give_back(None)
            raise

    def give_back(self, worker: _Worker | None) -> None:
        """The check is over: its child ends, and (kept warm) the next one starts warming now
        that it does not compete with the check."""
        if worker is not None:
            worker.stop()
        with self.lock:
            self.checking -= 1
            if _keep_warm and len(self.idle) + self.checking < self.size:
                self.idle.append(_Worker.start(self.memory_mb))
        self.slots.release()

    def stop_idle(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for w in idle:
            w.stop()

    def ready(self) -> list[float]:
        """The warm-up seconds of the children waiting warmed up (never blocks)."""
        with self.lock:
            return [r for w in self.idle if w.proc.is_alive() and (r := w.poll_ready()) is not None]


_pools_lock = threading.Lock()
_pools: dict[int, _Pool] = {}
_keep_warm = False


def _pool(memory_mb: int) -> _Pool:
    """The pool of ``memory_mb``, made with the configured size (remade when the size was
    changed and it is not checking anything)."""
    size = pool_size()
    with _pools_lock:
        pool = _pools.get(memory_mb)
        if pool is None or (pool.size != size and pool.checking == 0):
            if pool is not None:
                pool.stop_idle()
            pool = _pools[memory_mb] = _Pool(memory_mb, size)
        return pool


def keep_warm(enabled: bool = True, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
    """Keep a pool of warmed-up checkers waiting (and start them now), or stop doing so."""
    global _keep_warm
    _keep_warm = enabled
    if enabled:
        _pool(memory_mb).fill()
    else:
        with _pools_lock:
            pools = list(_pools.values())
        for pool in pools:
            pool.stop_idle()


def pool_state(memory_mb: int = DEFAULT_MEMORY_MB) -> dict[str, int]:
    """``size`` of the pool, children ``ready`` (warmed up, waiting), ``warming``, ``checking``."""
    pool = _pool(memory_mb)
    ready = len(pool.ready())
    with pool.lock:
        alive = sum(w.proc.is_alive() for w in pool.idle)
        return {
            "size": pool.size,
            "ready": ready,
            "warming": alive - ready,
            "checking": pool.checking,
        }


class _Worker:
    """One sandbox child: started, warming up or waiting for its one file."""

    def __init__(self, proc: Any, jobs: Connection, results: Connection) -> None:
        self.proc = proc
        self.jobs = jobs
        self.results = results
        self.ready: float | None = None  # warm-up seconds, once the child said it is ready

    @classmethod
    def start(cls, memory_mb: int, kind: str | None = None) -> _Worker:
        """Start a child; ``kind`` known: it warms up for that kind only (a one-shot check),
        else for both kinds and city lookups (a spare waiting for any file).

        The child is a new interpreter running this module (``python -m``), not a copy of the
        server: it imports only the upload modules, never the app or the CLI.
        """
        from multiprocessing.connection import Connection as Conn

        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [root, os.getcwd(), *filter(None, [env.get("PYTHONPATH")])]
        )
        env["GX_ANALYTICS_ENABLED"] = "false"
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "exposures.upload.sandbox",
                    str(job_r),
                    str(res_w),
                    str(memory_mb),
                    str(os.getpid()),
                    kind or "",
                ],
                pass_fds=(job_r, res_w),
                stdin=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        finally:
            os.close(job_r)
            os.close(res_w)
        return cls(_Proc(proc), Conn(job_w, readable=False), Conn(res_r, writable=False))

    def poll_ready(self) -> float | None:
        """The warm-up seconds once the child said it is ready, else None (never blocks)."""
        if self.ready is None and self.results.poll(0):
            try:
                status, seconds = self.results.recv()
            except (EOFError, OSError):
                return None
            if status == "ready":
                self.ready = float(seconds)
        return self.ready

    def stop(self) -> None:
        for conn in (self.jobs, self.results):
            with contextlib.suppress(OSError):
                conn.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)


class _Proc:
    """The child process, seen as ``multiprocessing.Process`` shows one."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()


def wait_warm(timeout_s: float = 120.0, memory_mb: int = DEFAULT_MEMORY_MB) -> float:
    """Wait until every checker of the kept-warm pool has warmed up (the pool full); returns the
    warm-up seconds of the one that started last.

    The ready messages are read here, so the next check does not wait for them."""
    if not _keep_warm:
        raise ExposureError("no checker is kept warm; call keep_warm(True) first")
    pool = _pool(memory_mb)
    deadline = time.monotonic() + timeout_s
    while True:
        with pool.lock:
            workers = list(pool.idle)
            full = len(workers) >= pool.size
        for w in workers:
            if not w.proc.is_alive():
                raise ExposureError("the upload checker failed while warming up")
            w.poll_ready()
        if full and workers and all(w.ready is not None for w in workers):
            return float(workers[-1].ready or 0.0)
        if time.monotonic() > deadline:
            raise ExposureError(f"the upload checker did not warm up within {timeout_s:g} s")
        time.sleep(_POLL_S)


def job_options(
    *,
    values: dict[str, dict[str, str]] | None = None,
    sheet: str | None = None,
    ids_only: bool = False,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``check_upload`` that an upload sets (the rest keep defaults)."""
    options: dict[str, Any] = {"values": values, "sheet": sheet, "ids_only": ids_only}
    if bounds is not None:
        options["bounds"] = bounds
    if max_bytes is not None:
        options["max_bytes"] = max_bytes
    if max_rows is not None:
        options["max_rows"] = max_rows
    return options


def run_in_child(
    data: bytes,
    filename: str,
    kind: str,
    mapping: dict[str, str | None] | None,
    options: dict[str, Any],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    pipeline: Pipeline | None = None,
    queue_s: float | None = None,
) -> dict[str, Any]:
    """Check one file in a sandbox child of its own; the child's raw answer (``report`` as
    JSON, ``frame`` as Arrow IPC bytes, ``quarantine`` CSV bytes, ``stats``).

    A file that cannot be used is a report with ``file_errors``; a child that crashes, runs out
    of memory or time raises ``ExposureError``. Used by ``prepare_upload`` and by the checker
    service (``exposures.upload.checker``), which sends the answer on without decoding it.

    At most ``pool_size()`` files are checked at once; a file beyond that waits for a free
    checker up to ``queue_s`` (default ``queue_seconds()``), then ``CheckerBusy``.
    """
    pool = _pool(memory_mb)
    worker = pool.take(kind, queue_seconds() if queue_s is None else queue_s)
    try:
        worker.jobs.send((data, filename, kind, mapping, options, timeout_s, pipeline))
        message = _wait(
            worker.proc, worker.results, timeout_s, memory_mb, warming=worker.ready is None
        )
    except (BrokenPipeError, EOFError, OSError):
        message = ("crash", "the sandbox child was gone before it received the file")
    finally:
        pool.give_back(worker)
    status, payload = message
    if status == "ok":
        return dict(payload)
    if status == "refused":
        raise ExposureError(payload)
    if status == "oom":
        raise ExposureError(_oom_message(memory_mb))
    log.error("upload sandbox failed:\n%s", payload)
    raise ExposureError(INTERNAL_ERROR)


INTERNAL_ERROR = (
    "the file could not be processed: an internal error occurred while reading it; "
    "nothing was changed (the error is logged)"
)


def prepare_upload(
    data: bytes,
    filename: str,
    kind: str,
    mapping: dict[str, str | None] | None = None,
    *,
    values: dict[str, dict[str, str]] | None = None,
    sheet: str | None = None,
    ids_only: bool = False,
    bounds: dict[str, tuple[float | None, float | None]] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    pipeline: Pipeline | None = None,
) -> PreparedUpload:
    """Read, map and validate an uploaded file in a sandboxed child process of this process.

    Returns a ``PreparedUpload`` (report, valid canonical frame, quarantine CSV, stats including
    the child's ``child_peak_rss_mb``). A file that cannot be used gives a report with
    ``file_errors``; only a child that crashes, runs out of memory or time raises
    ``ExposureError``. ``pipeline`` replaces ``check_upload`` (a module-level function, for tests).
    The CLI and the app use the long-lived checker service instead
    (``exposures.upload.checker.prepare_upload``), which runs this same sandbox.
    """
    from exposures.upload.schema import columns

    columns(kind)  # an unknown kind is refused before a process is started
    started = time.perf_counter()
    options = job_options(
        values=values,
        sheet=sheet,
        ids_only=ids_only,
        bounds=bounds,
        max_bytes=max_bytes,
        max_rows=max_rows,
    )
    payload = run_in_child(
        data,
        filename,
        kind,
        mapping,
        options,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        pipeline=pipeline,
    )
    result = unpack(payload)
    result.stats["total_seconds"] = round(time.perf_counter() - started, 3)
    return result


def spare_ready(memory_mb: int = DEFAULT_MEMORY_MB) -> float | None:
    """The warm-up seconds of a kept-warm checker ready for a file, else None (never blocks)."""
    ready = _pool(memory_mb).ready()
    return min(ready) if ready else None


def _timeout_message(timeout_s: float) -> str:
    return (
        f"the file could not be processed: it took longer than {timeout_s:g} s; "
        "split it into smaller files"
    )


def _wait(
    proc: Any, receiver: Connection, timeout_s: float, memory_mb: int, *, warming: bool = False
) -> tuple[str, Any]:
    """The child's answer. ``timeout_s`` counts from when the child is warm (a child still
    warming up, e.g. started for a second file at once, has ``WARMUP_LIMIT_S`` more)."""
    import psutil

    deadline = time.monotonic() + timeout_s + (WARMUP_LIMIT_S if warming else 0.0)
    try:
        watched = psutil.Process(proc.pid)
    except psutil.Error:
        watched = None
    while True:
        if receiver.poll(_POLL_S):
            try:
                message: tuple[str, Any] = receiver.recv()
            except (EOFError, OSError):
                break  # the child died while sending
            if message[0] == "ready":  # warmed up (a spare says so before its file comes)
                deadline = time.monotonic() + timeout_s
                continue
            return message
        if not proc.is_alive():
            if receiver.poll(0):
                continue
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise ExposureError(_timeout_message(timeout_s))
        if watched is not None:
            try:
                rss = watched.memory_info().rss
            except psutil.Error:
                rss = 0
            if rss > memory_mb * MB:
                proc.kill()
                raise ExposureError(_oom_message(memory_mb))
    proc.join(5)
    code = proc.exitcode
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGALRM:  # the child's own wall-clock limit
            raise ExposureError(_timeout_message(timeout_s))
        if sig in (signal.SIGKILL, signal.SIGABRT, signal.SIGBUS):
            # SIGABRT: a native allocation failed under RLIMIT_AS; SIGKILL: the kernel's OOM killer
            raise ExposureError(_oom_message(memory_mb))
        try:
            how = f"signal {signal.Signals(sig).name}"
        except ValueError:
            how = f"signal {sig}"
    else:
        how = f"exit code {code}"
    raise ExposureError(
        f"the file could not be processed: the reader stopped unexpectedly ({how}); the file "
        "may be damaged: save it again (as CSV if possible) and retry"
    )


def unpack(payload: dict[str, Any]) -> PreparedUpload:
    import polars as pl

    from exposures.upload.pipeline import PreparedUpload
    from exposures.upload.report import ValidationReport

    report = ValidationReport.model_validate_json(payload["report"])
    frame = pl.read_ipc(io.BytesIO(payload["frame"]))
    return PreparedUpload(report, frame, payload["quarantine"], dict(payload["stats"]))


# --------------------------------------------------------------------------------------------
# The child


def _vm_size_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what the child uses now plus ``memory_mb``."""
    import resource

    base = _vm_size_bytes()
    if base is None:
        return
    limit = base + memory_mb * MB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000


def _isolate_network() -> bool:
    """Move this process into a user and network namespace of its own: no interface but a
    loopback that is down, so nothing the file makes the reader do can reach a network.

    Must run while the process has one thread (the kernel refuses a new user namespace to a
    threaded process). False where the kernel does not allow it (the audit hook still refuses
    every socket operation)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0)
    except (OSError, AttributeError):
        return False


_REFUSED_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "ctypes.dlopen",
        "urllib.Request",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _readable_roots() -> tuple[str, ...]:
    """Where the reader may still open files once it holds the file: its own code and the
    installed packages' data (a module imported late), nothing else."""
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parents[2])}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    roots.update(p for p in sys.path if p and os.path.isdir(p))
    return tuple(sorted(os.path.realpath(r).rstrip("/") + "/" for r in roots))


def _confine() -> None:
    """From now on (the file is in memory), this process writes no file, opens no file outside
    the installed code, starts no process, loads no library and touches no socket.

    A Python audit hook (it cannot be removed once added): it stops what the pure-Python parts
    of a reader could be led to do; native code is bounded by the namespace and the limits."""
    roots = _readable_roots()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in _REFUSED_EVENTS:
            raise PermissionError(f"the upload checker may not do {event}")
        if event == "open":
            path, mode, flags = (*args, None, None, None)[:3]
            if isinstance(path, int):
                return  # an already open descriptor
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            name = os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)
            real = os.path.realpath(name)
            if writes or not real.startswith(roots):
                raise PermissionError(f"the upload checker may not open {name!r}")

    sys.addaudithook(hook)


def _watch_parent(parent_pid: int) -> None:
    """End this process as soon as its parent is gone (the parent may have been kill -9ed)."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(70)
        time.sleep(_PARENT_POLL_S)


def _child_main(
    jobs: Connection, results: Connection, memory_mb: int, parent_pid: int, kind: str | None
) -> None:
    """Entry point of the sandbox child: warm up, wait for one file, limit, run, send back."""
    isolated = _isolate_network()  # first: the kernel wants a single-threaded process
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    entered = time.perf_counter()
    try:
        import resource

        from exposures.upload.mapping import template_csv
        from exposures.upload.pipeline import check_upload
        from exposures.upload_bounds import load_upload_bounds

        # Warm up on the templates before the limit applies: imports, the expectation context
        # and the suites of the rules' bounds (what an upload checks against), the geocoder's
        # and the port index's tables and the thread pools reserve address space once; the
        # limit then bounds what this file needs on top of that.
        try:
            bounds: dict[str, tuple[float | None, float | None]] | None = (
                load_upload_bounds().as_dict()
            )
        except ResilienceError:
            bounds = None  # the file's own check reports a broken rules file
        for warm_kind in (kind,) if kind else ("assets", "routes"):
            check_upload(template_csv(warm_kind), "template.csv", warm_kind, bounds=bounds)
        if kind is None:  # a spare: also the city tables (a one-shot check loads them if needed)
            check_upload(_CITY_WARMUP, "warm.csv", "assets", bounds=bounds)
        warmed = time.perf_counter()
        results.send(("ready", round(warmed - entered, 3)))
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return  # the parent closed: no file will come
        data, filename, job_kind, mapping, options, timeout_s, pipeline = job
        waited = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before = cpu.ru_utime + cpu.ru_stime
        run = pipeline or check_upload
        _limit_memory(memory_mb)
        _confine()
        signal.alarm(max(1, math.ceil(timeout_s)))  # default action: the kernel ends the child
        result = run(data, filename, job_kind, mapping, **options)
        del data
        buffer = io.BytesIO()
        result.frame.write_ipc(buffer)
        stats = dict(result.stats)
        stats["child_warmup_seconds"] = round(warmed - entered, 3)
        stats["child_check_seconds"] = round(time.perf_counter() - waited, 3)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        stats["child_check_cpu_seconds"] = round(cpu.ru_utime + cpu.ru_stime - cpu_before, 3)
        stats["child_network_namespace"] = float(isolated)
        stats["child_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
        payload = {
            "report": result.report.model_dump_json(),
            "frame": buffer.getvalue(),
            "quarantine": result.quarantine_csv,
            "stats": stats,
        }
        results.send(("ok", payload))
    except MemoryError:
        _send(results, ("oom", None))
    except ExposureError as err:
        _send(results, ("refused", str(err)))
    except BaseException:
        _send(results, ("crash", traceback.format_exc()))
    finally:
        signal.alarm(0)
        results.close()
    # (a normal return lets the child release what it registered, e.g. tqdm semaphores)


def _send(conn: Connection, message: tuple[str, Any]) -> None:
    with contextlib.suppress(OSError, ValueError, MemoryError):
        conn.send(message)


def _worker_entry(argv: list[str]) -> None:
    """``python -m exposures.upload.sandbox JOB_FD RESULT_FD MEMORY_MB PARENT_PID [KIND]``."""
    from multiprocessing.connection import Connection as Conn

    job_fd, res_fd, memory_mb, parent_pid = (int(a) for a in argv[:4])
    kind = argv[4] if len(argv) > 4 and argv[4] else None
    _child_main(
        Conn(job_fd, writable=False), Conn(res_fd, readable=False), memory_mb, parent_pid, kind
    )


if __name__ == "__main__":
    _worker_entry(sys.argv[1:])
