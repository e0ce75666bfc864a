"""CSV and XLSX exports: the right rows and types, and no live formula or link from client text."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
from pypdf import PdfReader

from engine.context import EVERYONE, Context
from engine.report import export_client, render_client_report

from .conftest import HOSTILE_CLIENT_NAME, HOSTILE_ID, HOSTILE_NAMES


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheet applications
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_every_item_with_its_risk_top_threat_and_region(report_ctx: Context) -> None:
    cid = "meridian-basin-petroleum"
    rows = read_csv(export_client(report_ctx, cid, "csv"))
    run = report_ctx.current_run()
    rating = report_ctx.rating(run.run_id, cid, scope=EVERYONE)
    assert len(rows) == rating.n_items
    first = rows[0]
    assert first["client_id"] == cid
    assert first["client_band"] == rating.band
    assert first["as_of"] == "2020-01-14"
    assert float(first["risk"]) >= float(rows[-1]["risk"])
    # the riskiest item: the Baghdad office, where the months-long protests bear hardest
    assert (first["item_id"], first["top_threat_id"], first["region_id"]) == (
        "AST-006",
        "iraq-lebanon-protests",
        "IRQ",
    )
    hormuz = [r for r in rows if r["region_id"] == "sea.hormuz"]
    assert hormuz and all(r["item_kind"] == "route" for r in hormuz)
    assert {r["item_kind"] for r in rows} == {"asset", "route"}
    total = sum(float(r["value_usd"]) for r in rows)
    assert abs(total - rating.total_value_usd) < 1.0


def test_csv_numbers_are_bare_and_text_is_quoted(report_ctx: Context) -> None:
    text = export_client(report_ctx, "andes-verde-agro", "csv").decode("utf-8-sig")
    line = text.splitlines()[1]
    assert re.match(r'^\d+,"2020-01-14","andes-verde-agro",', line)


def test_xlsx_has_items_then_threat_drivers_and_numbers_stay_numbers(
    report_ctx: Context,
) -> None:
    data = export_client(report_ctx, "nordhavn-container-lines", "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Items", "Threat drivers", "Rating"]
    items = book["Items"]
    header = [c.value for c in items[1]]
    assert header[:3] == ["run_id", "as_of", "client_id"]
    value_col = header.index("value_usd") + 1
    risk_col = header.index("risk") + 1
    for row in items.iter_rows(min_row=2):
        assert isinstance(row[value_col - 1].value, int | float)
        assert 0.0 <= row[risk_col - 1].value <= 1.0
    drivers = book["Threat drivers"]
    assert [c.value for c in drivers[1]][:2] == ["threat_id", "title"]
    shares = [r[7].value for r in drivers.iter_rows(min_row=2)]
    assert abs(sum(shares) - 1.0) < 1e-4


def test_hostile_names_reach_no_spreadsheet_as_formulas_or_links(hostile_ctx: Context) -> None:
    data = export_client(hostile_ctx, HOSTILE_ID, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    seen = set()
    for sheet in book.worksheets:
        assert not sheet._hyperlinks
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    assert "'" + HOSTILE_CLIENT_NAME in seen
    for name in HOSTILE_NAMES:
        expected = name if name.startswith("<") else "'" + name
        assert expected in seen
    assert "'-1" in seen  # an id that looks like a negative number is text, neutralised
    # and the raw bytes hold no formula element at all
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name)


def test_hostile_names_in_csv_start_with_an_apostrophe(hostile_ctx: Context) -> None:
    rows = read_csv(export_client(hostile_ctx, HOSTILE_ID, "csv"))
    names = {r["name"] for r in rows}
    assert names == {n if n.startswith("<") else "'" + n for n in HOSTILE_NAMES}
    for r in rows:
        assert r["client_name"] == "'" + HOSTILE_CLIENT_NAME
        for value in r.values():
            assert not value or value[0] not in "=+-@\t\r\n"


def test_hostile_names_show_literally_in_html_and_pdf(hostile_ctx: Context) -> None:
    html = render_client_report(hostile_ctx, HOSTILE_ID, fmt="html").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "<i>Trading</i>" not in html
    assert "@Hostile &lt;i&gt;Trading&lt;/i&gt; &amp; Co" in html
    assert "=HYPERLINK(&#34;http://x&#34;)" in html
    pdf = render_client_report(hostile_ctx, HOSTILE_ID, fmt="pdf")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(p.extract_text() or "" for p in reader.pages)
    for name in (
        "<script>alert(1)</script>",
        '=HYPERLINK("http://x")',
        "@SUM(1)",
        HOSTILE_CLIENT_NAME,
    ):
        assert name in text
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object().get("/Subtype") != "/Link"
