"""Property tests: arbitrary bytes and arbitrary cells never crash the pipeline.

Run in-process on read + map + validate (the sandbox adds nothing to what is checked here).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exposures.upload.pipeline import check_upload
from exposures.upload.schema import ASSET_COLUMNS

HEADER = [s.name for s in ASSET_COLUMNS]
NASTY = list("0123456789.,;-+eE \"'\t\n\rabcAZ=@\x00\u200b\u202e\ufeffé€")


def _consistent(data: bytes) -> None:
    result = check_upload(data, "fuzz.csv", "assets")
    report = result.report
    if report.file_errors:
        assert report.rows_accepted == 0
        assert result.frame.height == 0
        assert all(isinstance(e, str) and e for e in report.file_errors)
        return
    assert report.rows_total == report.rows_accepted + report.rows_rejected
    assert result.frame.height == report.rows_accepted
    assert set(HEADER) <= set(result.frame.columns)
    rejected_rows = {p.row for p in report.problems if p.severity == "error"}
    assert len(rejected_rows) == report.rows_rejected or report.problems_truncated
    assert not set(result.frame["source_row"].to_list()) & rejected_rows
    for problem in report.problems:
        assert len(problem.value) <= 80


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_a_report(data: bytes) -> None:
    _consistent(data)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.lists(st.text(alphabet=st.sampled_from(NASTY), max_size=12), min_size=12, max_size=12),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]),
)
def test_arbitrary_cells_give_a_report(rows: list[list[str]], sep: str, encoding: str) -> None:
    text = sep.join(HEADER) + "\n" + "\n".join(sep.join(row) for row in rows) + "\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    _consistent(data)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=4, max_size=3000))
def test_arbitrary_bytes_after_a_zip_or_parquet_magic(tail: bytes) -> None:
    for magic in (b"PK\x03\x04", b"PAR1"):
        _consistent(magic + tail)
