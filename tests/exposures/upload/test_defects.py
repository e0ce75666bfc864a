"""Regression tests for the upload defects of issues 12 and 13, each named after its defect."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import psutil

from exposures.upload import sandbox
from exposures.upload.pipeline import check_upload
from exposures.upload.readers import CSV_FIELD_LIMIT

from . import sandbox_hooks

HEADER = ["asset_id", "name", "asset_type", "country", "value_usd", "criticality"]
ROW = ["A1", "Real site", "office", "France", "100", "3"]
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def _inline_row(r: int, cells: list[str]) -> str:
    out = []
    for i, value in enumerate(cells):
        ref = f"{chr(65 + i)}{r}"
        out.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{r}">{"".join(out)}</row>'


def _sheet(rows: str, extra: str = "") -> str:
    return f'<?xml version="1.0"?><worksheet {NS}><sheetData>{rows}{extra}</sheetData></worksheet>'


def workbook(
    sheets: list[tuple[str, str, str]],
    *,
    targets: list[str] | None = None,
    parts: dict[str, str] | None = None,
) -> bytes:
    """A minimal XLSX: sheets as (name, state, sheet XML); ``targets`` overrides rels paths."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        entries = "".join(
            f'<sheet name="{name}" sheetId="{i + 1}" r:id="rId{i + 1}"'
            + (f' state="{state}"' if state != "visible" else "")
            + "/>"
            for i, (name, state, _xml) in enumerate(sheets)
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {NS} {RNS}><sheets>{entries}</sheets></workbook>',
        )
        paths = targets or [f"worksheets/sheet{i + 1}.xml" for i in range(len(sheets))]
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="{REL}" Target="{path}"/>'
            for i, path in enumerate(paths)
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships">{rels}</Relationships>',
        )
        for i, (_name, _state, xml) in enumerate(sheets):
            z.writestr(f"xl/worksheets/sheet{i + 1}.xml", xml)
        for name, xml in (parts or {}).items():
            z.writestr(name, xml)
    return buf.getvalue()


TABLE = _inline_row(1, HEADER) + _inline_row(2, ROW)


def test_hidden_first_sheet_is_not_read_and_its_warning_says_hidden() -> None:
    decoy = _inline_row(1, HEADER) + _inline_row(2, ["D1", "Decoy", "office", "Iraq", "1", "1"])
    data = workbook(
        [
            ("Decoy", "hidden", _sheet(decoy)),
            ("Secret", "veryHidden", _sheet(decoy)),
            ("Sites", "visible", _sheet(TABLE)),
        ]
    )
    result = check_upload(data, "book.xlsx", "assets")
    assert result.frame["asset_id"].to_list() == ["A1"]
    assert result.report.warnings == [
        "sheet 'Decoy' is hidden and was not read; if the table is on it, unhide it or choose "
        "it with --sheet 'Decoy'",
        "sheet 'Secret' is very hidden (only a macro can show it) and was not read; if the "
        "table is on it, unhide it or choose it with --sheet 'Secret'",
    ]
    chosen = check_upload(data, "book.xlsx", "assets", sheet="Decoy")
    assert chosen.frame["asset_id"].to_list() == ["D1"]
    assert chosen.report.warnings[0] == (
        "sheet 'Decoy' is hidden; it was read because --sheet names it"
    )
    missing = check_upload(data, "book.xlsx", "assets", sheet="Nope")
    assert missing.report.file_errors == [
        "the workbook has no sheet 'Nope'; its sheets are 'Decoy' (hidden), 'Secret' "
        "(veryHidden), 'Sites'"
    ]


def test_single_quoted_far_cell_reference_does_not_bypass_the_extent_check() -> None:
    far = "<row r='1048576'><c r='XFD1048576' t='inlineStr'><is><t>x</t></is></c></row>"
    data = workbook([("Sites", "visible", _sheet(TABLE, far))])
    result = check_upload(data, "far.xlsx", "assets")
    assert result.report.file_errors == [
        "sheet 'Sites' reaches row 1,048,576, more than 1,000,000 data rows; split it into "
        "smaller files (or delete stray cells far below the table)"
    ]


def test_character_reference_in_a_cell_address_does_not_bypass_the_extent_check() -> None:
    far = '<row r="1048576"><c r="&#88;FD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    data = workbook([("Sites", "visible", _sheet(TABLE, far))])
    result = check_upload(data, "far.xlsx", "assets")
    assert result.report.file_errors == [
        "sheet 'Sites' reaches row 1,048,576, more than 1,000,000 data rows; split it into "
        "smaller files (or delete stray cells far below the table)"
    ]


def test_rels_path_in_another_case_does_not_bypass_the_extent_check() -> None:
    far = "<row r='1048576'><c r='A1048576' t='inlineStr'><is><t>x</t></is></c></row>"
    data = workbook([("Sites", "visible", _sheet(TABLE, far))], targets=["WORKSHEETS/SHEET1.XML"])
    result = check_upload(data, "case.xlsx", "assets")
    assert result.report.file_errors == [
        "sheet 'Sites' reaches row 1,048,576, more than 1,000,000 data rows; split it into "
        "smaller files (or delete stray cells far below the table)"
    ]


def test_formula_cell_without_saved_value_is_named_not_none_is_empty() -> None:
    rows = (
        _inline_row(1, HEADER) + '<row r="2"><c r="A2" t="inlineStr"><is><t>A1</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>Site</t></is></c>'
        '<c r="C2" t="inlineStr"><is><t>office</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>France</t></is></c>'
        '<c r="E2"><f>SUM(X1:X9)</f></c><c r="F2"><f>1+2</f><v>3</v></c></row>'
    )
    result = check_upload(workbook([("Sites", "visible", _sheet(rows))]), "f.xlsx", "assets")
    assert result.report.warnings == [
        "sheet 'Sites' cell E2 holds a formula (=SUM(X1:X9)) with no saved value, so it was "
        "read as empty: open the workbook in Excel, let it calculate, save it and upload again",
        "sheet 'Sites' cell F2 holds a formula (=1+2); its saved value was read, the formula "
        "was not run",
    ]
    assert [str(p) for p in result.report.problems] == [
        "row 2, column value_usd: '' is empty but the column is required; accepted: a number "
        "of US dollars, 0 or more"
    ]


def test_na_error_cells_are_shown_as_na_not_as_empty() -> None:
    rows = _inline_row(1, HEADER) + (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>A1</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>Site</t></is></c>'
        '<c r="C2" t="inlineStr"><is><t>office</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>France</t></is></c>'
        '<c r="E2" t="e"><f>VLOOKUP(A2,X:Y,2)</f><v>#N/A</v></c><c r="F2"><v>3</v></c></row>'
    )
    result = check_upload(workbook([("Sites", "visible", _sheet(rows))]), "na.xlsx", "assets")
    assert [(p.row, p.column, p.value) for p in result.report.problems] == [
        (2, "value_usd", "'#N/A'")
    ]
    assert (
        "sheet 'Sites' cell E2 holds the error value #N/A (a formula that failed in Excel)"
        in result.report.warnings
    )


def test_crafted_shared_strings_table_is_named_not_required_columns_missing() -> None:
    rows = (
        '<row r="1">'
        + "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(6))
        + '</row><row r="2"><c r="A2" t="s"><v>99</v></c></row>'
    )
    shared = (
        f'<?xml version="1.0"?><sst {NS} count="6" uniqueCount="6">'
        + "".join(f"<si><t>{h}</t></si>" for h in HEADER)
        + "</sst>"
    )
    data = workbook([("Sites", "visible", _sheet(rows))], parts={"xl/sharedStrings.xml": shared})
    result = check_upload(data, "sst.xlsx", "assets")
    assert result.report.file_errors == [
        "the workbook's shared-strings table is damaged or crafted: sheet 'Sites' cell A2 "
        "refers to text number 100 but the table holds 6; open the workbook in Excel, save it "
        "again and upload that (or save it as CSV)"
    ]


def test_external_links_and_macro_sheets_are_warnings() -> None:
    data = workbook(
        [("Sites", "visible", _sheet(TABLE))],
        parts={"xl/externalLinks/externalLink1.xml": f'<?xml version="1.0"?><externalLink {NS}/>'},
    )
    result = check_upload(data, "links.xlsx", "assets")
    assert result.report.warnings == [
        "the workbook links to 1 external workbook(s) ('xl/externalLinks/externalLink1.xml'); "
        "the links were not followed: only the values saved in this file were read"
    ]
    assert result.report.rows_accepted == 1


def test_49mb_unquoted_cell_is_not_called_an_unbalanced_quote() -> None:
    big = "x" * (CSV_FIELD_LIMIT + 10)
    data = ",".join(HEADER) + "\n" + ",".join(ROW) + "\n" + f"A2,{big},office,France,1,1\n"
    result = check_upload(data.encode(), "big.csv", "assets")
    assert result.report.file_errors == [
        f"row 3: a cell is longer than {CSV_FIELD_LIMIT:,} characters (the limit for one cell); "
        "no site or route field is that long: check that the delimiter and line breaks are "
        "right, or remove the oversized cell"
    ]
    quoted = ",".join(HEADER) + '\nA1,"never closed,office,France,1,1\n' + "y" * CSV_FIELD_LIMIT
    unbalanced = check_upload(quoted.encode(), "q.csv", "assets")
    assert "never closed (unbalanced" in unbalanced.report.file_errors[0]


def test_values_outside_the_rules_bounds_name_row_column_and_bound() -> None:
    data = (
        ",".join([*HEADER, "headcount"]) + "\n"
        "A1,Big,office,France,1.79e308,3,10\n"
        "A2,Crowd,office,France,100,3,2000000\n"
    ).encode()
    bounds = {"assets.value_usd": (0.0, 1e12), "assets.headcount": (0.0, 500000.0)}
    result = check_upload(data, "b.csv", "assets", bounds=bounds)
    assert [str(p) for p in result.report.problems] == [
        "row 2, column value_usd: '1.79e308' is above 1,000,000,000,000, the bound the rules set "
        "(scoring_rules/data/upload_bounds.yaml: assets.value_usd); accepted: a number from 0 "
        "to 1,000,000,000,000",
        "row 3, column headcount: '2000000' is above 500,000, the bound the rules set "
        "(scoring_rules/data/upload_bounds.yaml: assets.headcount); accepted: a whole number "
        "from 0 to 500,000",
    ]


def test_thousands_comma_in_a_semicolon_file_is_not_a_decimal() -> None:
    data = ";".join(HEADER) + "\nA1;Site;office;France;1,234;3\nA2;Two;office;France;5;3\n"
    result = check_upload(data.encode(), "semi.csv", "assets")
    assert result.frame["value_usd"].to_list() == [1234.0, 5.0]
    assert result.report.warnings == [
        "numbers such as '1,234' (row 2) were read with the separator as thousands (1234); if "
        "it is a decimal separator, write the decimals with more or fewer than three digits or "
        "use a decimal point"
    ]
    comma = ";".join(HEADER) + "\nA1;Site;office;France;1.234,5;3\nA2;Two;office;France;1.234;3\n"
    result = check_upload(comma.encode(), "semi.csv", "assets")
    assert result.frame["value_usd"].to_list() == [1234.5, 1234.0]
    assert result.report.number_format == "decimal comma (12,5), thousands with . or space"


def test_control_characters_in_names_are_removed_and_reported() -> None:
    data = (",".join(HEADER) + "\nA1,Evil \x1b[31mred\x1b[0m site,office,France,1,3\n").encode()
    result = check_upload(data, "esc.csv", "assets")
    assert result.frame["name"].to_list() == ["Evil [31mred[0m site"]
    assert [str(p) for p in result.report.problems] == [
        "row 2, column name: 'Evil \\x1b[31mred\\x1b[0m site' contained control or invisible "
        "characters (escape codes, tabs, line breaks, bidi marks), which were removed; kept as "
        "'Evil [31mred[0m site'; accepted: non-empty text"
    ]


def test_header_suggestions_cover_real_variants() -> None:
    from exposures.upload.mapping import map_columns

    sites = map_columns(
        ["Site ref", "Site", "Type of site", "Lat", "Long", "City", "Country",
         "Replacement value USD", "Critical (1-5)", "Staff", "Backup site?"],
        "assets",
    )  # fmt: skip
    assert sites.as_dict() == {
        "Site ref": "asset_id",
        "Site": "name",
        "Type of site": "asset_type",
        "Lat": "lat",
        "Long": "lon",
        "City": "city",
        "Country": "country",
        "Replacement value USD": "value_usd",
        "Critical (1-5)": "criticality",
        "Staff": "headcount",
        "Backup site?": "mitigations:backup_site",
    }
    lanes = map_columns(
        ["Lane", "From port", "To port", "Cargo", "Annual value (USD)", "Voyages per year"],
        "routes",
    )
    assert lanes.as_dict() == {
        "Lane": "route_id",
        "From port": "origin",
        "To port": "destination",
        "Cargo": "commodity",
        "Annual value (USD)": "annual_value_usd",
        "Voyages per year": "shipments_per_year",
    }


def test_value_suggestions_are_offered_for_confirmation() -> None:
    data = ",".join(HEADER) + "\nA1,S,Production site,France,1,3\nA2,T,Head office,France,1,3\n"
    result = check_upload(data.encode(), "v.csv", "assets")
    assert result.report.value_suggestions == {
        "asset_type": {"Production site": "plant", "Head office": "office"}
    }
    confirmed = check_upload(
        data.encode(), "v.csv", "assets", values={"asset_type": {"production site": "plant"}}
    )
    assert confirmed.frame["asset_type"].to_list() == ["plant"]


def test_sandbox_child_dies_with_its_parent() -> None:
    script = textwrap.dedent(
        """
        from exposures.upload.sandbox import prepare_upload
        from tests.exposures.upload import sandbox_hooks
        prepare_upload(b"a\\n1\\n", "a.csv", "assets", pipeline=sandbox_hooks.sleeps)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        children: list[psutil.Process] = []
        while time.monotonic() < deadline and not children:
            children = psutil.Process(parent.pid).children()
            time.sleep(0.2)
        assert children, "the sandbox child never started"
        child = children[0]
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        gone, alive = psutil.wait_procs([child], timeout=15)
        assert gone and not alive, "the sandbox child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_sandbox_child_has_its_own_wall_clock_limit() -> None:
    worker = sandbox._Worker.start(700, "assets")
    try:
        worker.jobs.send((b"a\n1\n", "a.csv", "assets", None, {}, 2.0, sandbox_hooks.sleeps))
        worker.proc.join(120)  # warm-up, then 2 s of the file: the child's own alarm ends it
        assert worker.proc.exitcode == -signal.SIGALRM
    finally:
        worker.stop()
