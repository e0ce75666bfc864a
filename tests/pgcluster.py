"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary folder,
pg_ctl on a Unix socket in it (no TCP port), stopped and removed afterwards.

Debian's PostgreSQL (``apt-get install postgresql``, which ``make system-deps`` does) puts
``initdb`` and ``pg_ctl`` under /usr/lib/postgresql/NN/bin. PostgreSQL refuses to run as root:
when the tests run as root the cluster belongs to the ``postgres`` user the package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

PORT = 5433  # a Unix socket only: the number names the socket file, nothing listens on TCP


def pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def missing_reason() -> str | None:
    """Why a cluster cannot be started here (None: it can)."""
    if pg_bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql; make system-deps does)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


def _as_owner(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.socket = folder  # the socket file is folder/.s.PGSQL.<PORT>

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket}&port={PORT}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        bin_dir = pg_bin()
        assert bin_dir is not None
        out = subprocess.run(
            _as_owner(
                [
                    str(bin_dir / "psql"),
                    "-X",
                    "-q",
                    "-At",
                    "-h",
                    str(self.socket),
                    "-p",
                    str(PORT),
                    "-U",
                    "postgres",
                    "-d",
                    database,
                    "-c",
                    sql,
                ]
            ),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return out.stdout

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = "t_" + uuid.uuid4().hex[:16]
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)


@contextlib.contextmanager
def cluster(max_connections: int = 200, *, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster, yield it, stop it and delete its files. Tests run it without fsync
    (``durable=False``); the concurrency benchmark runs it as a deployment would."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise RuntimeError(missing_reason() or "PostgreSQL is not installed")
    folder = Path(tempfile.mkdtemp(prefix="resilience-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    c = Cluster(folder)
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(c.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        capture_output=True,
        check=True,
        timeout=120,
    )
    options = f"-k {folder} -p {PORT} -c listen_addresses='' -c max_connections={max_connections}"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(c.data),
                "-o",
                options,
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        check=True,
        timeout=120,
    )
    try:
        yield c
    finally:
        subprocess.run(
            _as_owner(
                [str(bin_dir / "pg_ctl"), "-D", str(c.data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)
