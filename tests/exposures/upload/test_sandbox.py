"""The sandbox: results come back from the child; crashes, memory and time become ExposureError."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from engine.errors import ExposureError
from exposures.upload.pipeline import check_upload
from exposures.upload.sandbox import prepare_upload
from tests.exposures.upload import sandbox_hooks

from .conftest import BADFILES, corpus_bytes

OOM = (
    "the file could not be processed: it needed more than {mb:,} MB of memory; split it into "
    "smaller files or save it as CSV"
)


def test_results_come_back_from_the_child() -> None:
    data = (BADFILES / "formula_payloads.csv").read_bytes()
    result = prepare_upload(data, "formula_payloads.csv", "assets")
    local = check_upload(data, "formula_payloads.csv", "assets")
    assert result.report == local.report
    assert result.frame.equals(local.frame)
    assert result.quarantine_csv == local.quarantine_csv
    assert result.frame.schema["value_usd"] == pl.Float64
    assert result.stats["child_peak_rss_mb"] > 0
    assert result.stats["total_seconds"] >= result.stats["seconds"]
    assert result.report.rows_accepted == 4


def test_a_hostile_workbook_is_refused_in_the_child(binary_corpus: dict[str, Path]) -> None:
    data = corpus_bytes("far_cell.xlsx", binary_corpus)
    result = prepare_upload(data, "far_cell.xlsx", "assets")
    assert result.report.file_errors == [
        "sheet 'Assets' reaches row 1,048,576, more than 1,000,000 data rows; split it into "
        "smaller files (or delete stray cells far below the table)"
    ]
    assert result.frame.height == 0


def test_a_child_that_exits_becomes_an_exposure_error() -> None:
    with pytest.raises(ExposureError) as err:
        prepare_upload(b"a\n1\n", "a.csv", "assets", pipeline=sandbox_hooks.exits)
    assert str(err.value) == (
        "the file could not be processed: the reader stopped unexpectedly (exit code 3); the "
        "file may be damaged: save it again (as CSV if possible) and retry"
    )


def test_a_child_that_segfaults_becomes_an_exposure_error() -> None:
    with pytest.raises(ExposureError) as err:
        prepare_upload(b"a\n1\n", "a.csv", "assets", pipeline=sandbox_hooks.segfaults)
    assert str(err.value) == (
        "the file could not be processed: the reader stopped unexpectedly (signal SIGSEGV); "
        "the file may be damaged: save it again (as CSV if possible) and retry"
    )


def test_a_child_that_allocates_too_much_becomes_an_exposure_error() -> None:
    with pytest.raises(ExposureError) as err:
        prepare_upload(
            b"a\n1\n", "a.csv", "assets", memory_mb=700, pipeline=sandbox_hooks.allocates
        )
    assert str(err.value) == OOM.format(mb=700)


def test_native_memory_growth_is_stopped(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ExposureError) as err:
        prepare_upload(
            b"a\n1\n", "a.csv", "assets", memory_mb=700, pipeline=sandbox_hooks.native_allocates
        )
    assert str(err.value) == OOM.format(mb=700)


def test_a_child_that_takes_too_long_is_killed() -> None:
    with pytest.raises(ExposureError) as err:
        prepare_upload(b"a\n1\n", "a.csv", "assets", timeout_s=3, pipeline=sandbox_hooks.sleeps)
    assert str(err.value) == (
        "the file could not be processed: it took longer than 3 s; split it into smaller files"
    )


def test_a_bug_in_the_child_is_logged_not_shown(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ExposureError) as err:
        prepare_upload(b"a\n1\n", "a.csv", "assets", pipeline=sandbox_hooks.raises)
    assert str(err.value) == (
        "the file could not be processed: an internal error occurred while reading it; nothing "
        "was changed (the error is logged)"
    )
    assert "KeyError: 'a bug in the reader'" in caplog.text


def test_an_unknown_kind_is_refused_before_a_child_starts() -> None:
    with pytest.raises(ExposureError, match="unknown upload kind 'ships'"):
        prepare_upload(b"a\n1\n", "a.csv", "ships")


def test_the_server_process_never_imports_great_expectations_for_a_sandboxed_upload() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from exposures.upload.sandbox import prepare_upload\n"
        "if __name__ == '__main__':\n"
        "    r = prepare_upload(b'asset_id,name,asset_type,country,value_usd,criticality\\n"
        "A1,x,office,GBR,1,1\\n', 'a.csv', 'assets')\n"
        "    assert r.report.rows_accepted == 1, r.report\n"
        "    bad = [m for m in ('great_expectations', 'fastexcel', 'pyarrow.parquet') "
        "if m in sys.modules]\n"
        "    print('imported:', bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported: []"


@pytest.mark.parametrize(
    ("hook", "refused"),
    [
        (
            sandbox_hooks.reads_a_file,
            "PermissionError: the upload checker may not open '/etc/hostname'",
        ),
        (sandbox_hooks.writes_a_file, "PermissionError: the upload checker may not open"),
        (sandbox_hooks.connects, "PermissionError: the upload checker may not do socket.connect"),
        (
            sandbox_hooks.starts_a_process,
            "PermissionError: the upload checker may not do subprocess.Popen",
        ),
    ],
)
def test_the_checker_sees_only_the_file_it_is_given(
    hook: object, refused: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ExposureError, match="an internal error occurred while reading it"):
        prepare_upload(b"a\n1\n", "a.csv", "assets", pipeline=hook)  # type: ignore[arg-type]
    # a connection is refused at its first step: the address look-up, or the connect itself
    assert refused.replace("socket.connect", "socket.getaddrinfo") in caplog.text or (
        refused in caplog.text
    )
    assert not (Path(sandbox_hooks.__file__).parent / "written-by-the-checker.txt").exists()


def test_the_checker_has_no_network(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ExposureError):
        prepare_upload(b"a\n1\n", "a.csv", "assets", pipeline=sandbox_hooks.lists_interfaces)
    assert "RuntimeError: interfaces: [(1, 'lo')]" in caplog.text  # a namespace of its own
