"""The checker service: the same result as the in-process check, and it survives what happens
to long-lived processes (killed, stale socket, two callers at once, an older version)."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import ExposureError
from exposures.upload import checker
from exposures.upload.pipeline import check_upload
from exposures.upload.sandbox import prepare_upload as local_prepare_upload

from .conftest import BADFILES, corpus_bytes

pytestmark = pytest.mark.slow  # each service warms a sandboxed checker (seconds)

BOOK = Path(__file__).resolve().parents[2] / "engine" / "data"
SITES_MAP: dict[str, str | None] = {"Site": "asset_id"}
SITES_VALUES = {"asset_type": {"Production site": "plant"}}


def _pid_alive(pid: int) -> bool:
    return checker._alive(pid)  # a zombie is not alive


def _wait_dead(pid: int, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A store folder's checker folder; every service started in it is stopped afterwards."""
    where = checker.service_dir(tmp_path / "store.duckdb")
    yield where
    sock = checker._try_connect(where / checker.SOCKET_NAME)  # never starts one
    if sock is not None:
        with sock:
            pid = int(checker._hello(sock)["pid"])
        checker.stop(where)
        if not _wait_dead(pid, 10):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One service for the equality tests (they do not disturb it)."""
    where = checker.service_dir(tmp_path_factory.mktemp("shared") / "store.duckdb")
    yield where
    checker.stop(where)


def _same(service: object, local: object) -> None:
    assert service.report == local.report  # type: ignore[attr-defined]
    assert service.frame.equals(local.frame)  # type: ignore[attr-defined]
    assert service.quarantine_csv == local.quarantine_csv  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "kind", "mapping", "values"),
    [
        ("client_book_sites.csv", "assets", SITES_MAP, SITES_VALUES),
        ("client_book_lanes.csv", "routes", None, None),
        ("formula_payloads.csv", "assets", None, None),
        ("cp1252.csv", "assets", None, None),
        ("decimal_commas.csv", "assets", None, None),
        ("header_variants.csv", "assets", None, None),
        ("route_header_variants.csv", "routes", None, None),
        ("unknown_port.csv", "routes", None, None),
    ],
)
def test_the_service_gives_the_in_process_result(
    shared: Path,
    name: str,
    kind: str,
    mapping: dict[str, str | None] | None,
    values: dict[str, dict[str, str]] | None,
) -> None:
    data = (BOOK / name if name.startswith("client_book") else BADFILES / name).read_bytes()
    bounds = {"assets.value_usd": (0.0, 1e13), "assets.criticality": (1.0, 5.0)}
    served = checker.prepare_upload(shared, data, name, kind, mapping, values=values, bounds=bounds)
    local = check_upload(data, name, kind, mapping, values=values, bounds=bounds)
    _same(served, local)
    assert served.stats["service_pid"] > 0
    assert served.stats["child_network_namespace"] == 1.0


def test_a_workbook_through_the_service(shared: Path, binary_corpus: dict[str, Path]) -> None:
    for name in ("valid.xlsx", "excel_dates.xlsx", "valid.parquet", "zip_bomb.xlsx"):
        data = corpus_bytes(name, binary_corpus)
        _same(
            checker.prepare_upload(shared, data, name, "assets"), check_upload(data, name, "assets")
        )


def test_the_folder_and_socket_are_owner_only(shared: Path) -> None:
    checker.ensure_started(shared)
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o700
    sock = shared / checker.SOCKET_NAME
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600


def test_a_refusal_comes_back_as_the_sandbox_says_it(shared: Path) -> None:
    with pytest.raises(ExposureError, match="unknown upload kind 'ships'"):
        checker.prepare_upload(shared, b"a\n1\n", "a.csv", "ships")
    data = (BADFILES / "valid_assets.csv").read_bytes()
    served = checker.prepare_upload(shared, data, "x.csv", "assets", max_bytes=10)
    local = local_prepare_upload(data, "x.csv", "assets", max_bytes=10)
    assert served.report.file_errors == local.report.file_errors != []


def test_a_killed_service_is_restarted(folder: Path) -> None:
    data = (BADFILES / "valid_assets.csv").read_bytes()
    first = checker.prepare_upload(folder, data, "a.csv", "assets")
    old_pid = int(first.stats["service_pid"])
    os.kill(old_pid, signal.SIGKILL)
    assert _wait_dead(old_pid)
    assert (folder / checker.SOCKET_NAME).exists()  # left behind: stale
    second = checker.prepare_upload(folder, data, "a.csv", "assets")
    assert int(second.stats["service_pid"]) != old_pid
    _same(second, first)


def test_a_stale_socket_is_replaced(folder: Path) -> None:
    checker._secure_dir(folder)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.fsencode(folder / checker.SOCKET_NAME))
    stale.close()  # the file stays; nobody listens
    data = (BADFILES / "valid_assets.csv").read_bytes()
    result = checker.prepare_upload(folder, data, "a.csv", "assets")
    assert result.report.rows_accepted == check_upload(data, "a.csv", "assets").report.rows_accepted


def test_two_callers_at_once_start_one_service(folder: Path) -> None:
    data = (BADFILES / "valid_assets.csv").read_bytes()
    results: list[object] = []
    errors: list[BaseException] = []

    def call() -> None:
        code = (
            "import sys\n"
            "from pathlib import Path\n"
            "from exposures.upload import checker\n"
            "r = checker.prepare_upload(Path(sys.argv[1]), sys.stdin.buffer.read(), 'a.csv', "
            "'assets')\n"
            "print(int(r.stats['service_pid']), r.report.rows_accepted)\n"
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", code, str(folder)],
                input=data,
                capture_output=True,
                timeout=600,
                check=True,
            )
            results.append(done.stdout.decode().split())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    accepted = str(check_upload(data, "a.csv", "assets").report.rows_accepted)
    assert [r[1] for r in results] == [accepted, accepted]
    assert results[0][0] == results[1][0]  # one service answered both


def test_a_service_of_older_code_is_replaced(folder: Path) -> None:
    checker._secure_dir(folder)
    old = checker._Service(folder, idle_s=600)
    old.version = "an-older-version"
    thread = threading.Thread(target=old.serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (folder / checker.SOCKET_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    data = (BADFILES / "valid_assets.csv").read_bytes()
    result = checker.prepare_upload(folder, data, "a.csv", "assets")
    thread.join(60)
    assert not thread.is_alive()  # the old service was asked to stop, and did
    assert int(result.stats["service_pid"]) != os.getpid()  # a new service (a new process)
    assert checker.status(folder)["version"] == checker.code_version()


def test_an_idle_service_exits_by_itself(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENCE_CHECKER_IDLE_S", "2")
    pid = int(checker.ensure_started(folder)["pid"])
    assert _wait_dead(pid, 60)
    assert not (folder / checker.SOCKET_NAME).exists()


def test_a_keep_alive_process_keeps_the_service(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESILIENCE_CHECKER_IDLE_S", "1")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        pid = int(checker.ensure_started(folder, keep_alive_pid=holder.pid)["pid"])
        time.sleep(4)
        assert _pid_alive(pid)  # idle, but an app process asked to keep it
        holder.kill()
        holder.wait()
        assert _wait_dead(pid, 60)
    finally:
        holder.kill()


def test_a_cli_check_imports_no_checking_code(tmp_path: Path) -> None:
    """The CLI process sends the file to the service: no Great Expectations, pandas or app."""
    db = tmp_path / "store.duckdb"
    book = BOOK / "client_book_sites.csv"
    code = (
        "import sys\n"
        "from engine.cli import app\n"
        "db, book = sys.argv[1], sys.argv[2]\n"
        "app(['--db', db, 'clients', 'add', 'acme', '--name', 'Acme', '--sector', 'oil_gas',"
        " '--hq', 'USA'], standalone_mode=False)\n"
        "try:\n"
        "    app(['--db', db, 'upload', book, '--client', 'acme', '--map', 'Site=asset_id',"
        " '--value-map', 'asset_type:Production site=plant', '--dry-run'],"
        " standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'great_expectations', "
        "'pandas', 'app', 'streamlit', 'fastexcel', 'searoute', 'scipy'})\n"
        "print('IMPORTED', bad)\n"
    )
    env = {**os.environ, "RESILIENCE_CHECKER": "service"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(db), str(book)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert "Preview (replace): 8 added, 0 updated, 0 removed" in done.stdout, (
            done.stdout + done.stderr
        )
        assert "IMPORTED []" in done.stdout, done.stdout
    finally:
        checker.stop(checker.service_dir(db))


def test_the_service_places_rows_as_this_process_would(shared: Path) -> None:
    import polars as pl

    from exposures.prepare import asset_geo_keys

    rows = pl.DataFrame(
        {
            "lat": [26.56, 51.5072, None, 33.3152, 30.4],
            "lon": [56.25, -0.1276, None, 44.3661, 47.9],
            "country_iso3": ["OMN", "GBR", "KWT", "IRQ", "IRQ"],
            "subdivision": [None, None, None, "IQ-BG", "IQ-BA"],
            "geo_precision": ["coordinates", "city", "country", "coordinates", "coordinates"],
        }
    )
    keys, regions = checker.place_assets(shared, rows)
    local_keys, local_regions = asset_geo_keys(rows)
    assert keys.to_list() == local_keys.to_list()
    assert len(set(keys.to_list())) == 5
    order = ["geo_key", "region_id"]
    assert regions.sort(order).equals(local_regions.sort(order))
    assert "IRQ" in set(regions["region_id"].to_list())


def test_rows_the_service_cannot_place_are_refused_with_the_same_words(shared: Path) -> None:
    import polars as pl

    rows = pl.DataFrame(
        {
            "lat": [95.0],
            "lon": [10.0],
            "country_iso3": ["GBR"],
            "subdivision": [None],
            "geo_precision": ["coordinates"],
        },
        schema_overrides={"subdivision": pl.String},
    )
    with pytest.raises(ExposureError, match=r"1 point\(s\) have coordinates out of range"):
        checker.place_assets(shared, rows)


def test_a_preview_through_the_service_is_the_preview_of_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service places the rows of the new version (the 9 kept and the 2 new sites); the
    staged rows, classes, regions and the rating change are those this process works out."""
    import polars as pl

    from engine.book import load_demo
    from engine.context import EVERYONE, Context

    nine = "meridian-basin-petroleum"
    two = (
        b"asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality\n"
        b"NEW-1,Muscat office,office,,,Muscat,Oman,2500000,2\n"
        b"NEW-2,Basra depot,warehouse,30.5,47.8,,Iraq,3000000,3\n"
    )
    db = tmp_path / "store.duckdb"
    with Context(db) as ctx:
        load_demo(ctx)
    plans = {}
    try:
        for how in ("local", "service"):
            monkeypatch.setenv("RESILIENCE_CHECKER", how)
            with Context(db) as ctx:
                prepared = ctx.prepare_upload(
                    nine, two, "two.csv", "assets", mode="upsert", scope=EVERYONE
                )
                plans[how] = ctx.plan_upload(
                    nine, prepared, "assets", mode="upsert", scope=EVERYONE
                )
        served, local = plans["service"], plans["local"]
        assert served.summary() == "2 added, 0 updated, 0 removed"
        assert served.n_items == 11
        assert served.as_dict() == local.as_dict()  # counts, ids and the rating change
        assert served.staged is not None and local.staged is not None
        assert served.staged.assets is not None and local.staged.assets is not None
        assert served.staged.assets.equals(local.staged.assets)
        assert served.staged.classes.equals(local.staged.classes)

        def regions(parts: list[pl.DataFrame]) -> pl.DataFrame:
            return pl.concat(parts).unique().sort(["geo_key", "region_id"])

        assert regions(served.staged.regions).equals(regions(local.staged.regions))
        with Context(db) as ctx:
            outcome = ctx.commit_upload(
                nine, prepared, "assets", mode="upsert", planned=served, scope=EVERYONE
            )
            assert outcome.loaded, outcome.reason
            assert outcome.after is not None and served.after is not None
            assert outcome.after.score == pytest.approx(served.after["score"])
            assert (
                ctx.store.one(
                    "SELECT count(*) FROM assets WHERE client_id = $c AND version = $v",
                    {"c": nine, "v": outcome.version},
                )
                == 11
            )
    finally:
        checker.stop(checker.service_dir(db))


def test_without_a_usable_service_the_file_is_checked_in_a_child_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from engine.context import Context
    from engine.models import ClientSpec
    from engine.store import Scope

    monkeypatch.setenv("RESILIENCE_CHECKER", "service")
    db = tmp_path / "store.duckdb"
    checker.service_dir(db).write_text("not a folder")  # the service cannot live here
    data = (BADFILES / "valid_assets.csv").read_bytes()
    with Context(db) as ctx:
        ctx.init()
        ctx.upsert_client(ClientSpec(client_id="c", name="C", sector="retail", hq_country="GBR"))
        result = ctx.prepare_upload("c", data, "a.csv", "assets", scope=Scope.everything())
    assert result.report == check_upload(data, "a.csv", "assets").report
    assert "service_pid" not in result.stats
    assert "checking the file in a sandbox child of this process" in caplog.text
