"""The functions behind `resilience report` and `resilience export`: files and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.context import Context
from engine.errors import NotFoundError, ResilienceError
from engine.report import ReportError, export_command, report_command
from engine.report.render import _pdf


def test_report_command_writes_the_pdf(report_ctx: Context, out_dir: Path) -> None:
    path = report_command(report_ctx, "cedar-souk-retail", "pdf", out_dir / "cedar.pdf", False)
    assert path == out_dir / "cedar.pdf"
    assert path.read_bytes().startswith(b"%PDF-")
    assert not list(out_dir.glob(".*.part"))  # no temporary file left behind


def test_report_command_names_the_file_when_given_a_folder(
    report_ctx: Context, out_dir: Path
) -> None:
    path = report_command(report_ctx, "cedar-souk-retail", "html", out_dir, False)
    assert path.name == "cedar-souk-retail-report-2020-01-14.html"
    portfolio = report_command(report_ctx, None, "html", out_dir, True)
    assert portfolio.name == "portfolio-report-2020-01-14.html"
    assert "Cedar Souk Retail SAL" in portfolio.read_text("utf-8")


def test_export_command_writes_csv_and_xlsx(report_ctx: Context, out_dir: Path) -> None:
    csv_path = export_command(report_ctx, "aurelian-airways", "csv", out_dir)
    assert csv_path.name == "aurelian-airways-export-2020-01-14.csv"
    xlsx_path = export_command(report_ctx, "aurelian-airways", "xlsx", out_dir / "a.xlsx")
    assert xlsx_path.read_bytes().startswith(b"PK")


def test_unknown_client_is_a_clear_error(report_ctx: Context, out_dir: Path) -> None:
    with pytest.raises(NotFoundError, match="unknown client 'nobody'"):
        report_command(report_ctx, "nobody", "pdf", out_dir, False)
    with pytest.raises(NotFoundError, match="unknown client 'nobody'"):
        export_command(report_ctx, "nobody", "csv", out_dir)
    assert not list(out_dir.iterdir())


def test_unwritable_paths_are_clear_errors(report_ctx: Context, out_dir: Path) -> None:
    with pytest.raises(ReportError, match="folder .*missing does not exist"):
        export_command(report_ctx, "aurelian-airways", "csv", out_dir / "missing" / "x.csv")
    blocker = out_dir / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="is not a folder"):
        report_command(report_ctx, "aurelian-airways", "html", blocker / "x.html", False)


def test_bad_formats_and_missing_client_are_clear_errors(
    report_ctx: Context, out_dir: Path
) -> None:
    with pytest.raises(ReportError, match="report format 'docx' is not known"):
        report_command(report_ctx, "aurelian-airways", "docx", out_dir, False)
    with pytest.raises(ReportError, match="export format 'pdf' is not known"):
        export_command(report_ctx, "aurelian-airways", "pdf", out_dir)
    with pytest.raises(ReportError, match="name a client"):
        report_command(report_ctx, None, "pdf", out_dir, False)
    assert issubclass(ReportError, ResilienceError)


def test_pdf_rendering_fetches_no_file_and_no_url(out_dir: Path) -> None:
    import io

    from PIL import Image
    from pypdf import PdfReader

    local = out_dir / "local.png"
    Image.new("RGB", (8, 8), "red").save(local)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, format="PNG")
    inline = "data:image/png;base64," + __import__("base64").b64encode(buf.getvalue()).decode()
    html = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body>'
        f'<img src="{local.as_uri()}"><img src="http://127.0.0.1:9/x.png">'
        f'<img src="{inline}"><p>text</p></body></html>'
    )
    reader = PdfReader(io.BytesIO(_pdf(html)))
    # only the data: URI is embedded; the local file and the URL were never read
    assert sum(len(p.images) for p in reader.pages) == 1
