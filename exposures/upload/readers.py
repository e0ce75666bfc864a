"""Bytes in, a table of strings out: CSV (as spreadsheets export it), XLSX and Parquet.

The file type is sniffed from the bytes, never trusted from the name. Anything else (legacy .xls,
encrypted or macro-enabled workbooks, PDFs, executables, archives) is refused with a message that
says what the file is and what to upload instead. Every limit (size, rows, zip entries, expansion)
is checked before the parser that could be hurt by it runs.

Untrusted bytes are read here only inside the upload sandbox (``exposures.upload.sandbox``).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import polars as pl

from exposures.upload.report import UploadRefused

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_BYTES = 50 * MB
MAX_ROWS = 1_000_000
MAX_COLUMNS = 500

# XLSX (zip) limits, checked before any XML is parsed.
XLSX_MAX_ENTRIES = 200
XLSX_MAX_UNCOMPRESSED = 200 * MB
XLSX_MAX_RATIO = 100
XLSX_RATIO_MIN_SIZE = 1 * MB
XLSX_MAX_CELLS = 20_000_000
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384

PARQUET_MAX_UNCOMPRESSED = 200 * MB

CSV_FIELD_LIMIT = 131_072

Format = Literal["csv", "xlsx", "parquet"]


@dataclass
class RawTable:
    """Every cell of the user's table as a string, with the row numbers the user sees.

    ``frame`` has one Utf8 column per header, named ``c0``, ``c1``... (empty cells are ``""``),
    and ``__row``: the 1-based row number in the user's file (header row = 1 for CSV and Parquet,
    the sheet's own row number for XLSX). Blank rows are left out but keep their numbers.
    """

    headers: list[str]
    frame: pl.DataFrame
    format: Format
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    decimal_comma: bool = False
    number_format: str | None = None  # set by convert: the separators detected
    sheet: str | None = None  # the workbook sheet read
    warnings: list[str] = field(default_factory=list)

    @property
    def row_numbers(self) -> list[int]:
        return self.frame["__row"].to_list()

    @property
    def rows(self) -> list[list[str]]:
        names = [f"c{i}" for i in range(len(self.headers))]
        return [list(r) for r in self.frame.select(names).iter_rows()]

    def __len__(self) -> int:
        return self.frame.height


def safe_filename(filename: str) -> str:
    """The file name to show: its last path part, without control or invisible characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = name.strip()
    if len(name) > 100:
        name = name[:97] + "..."
    return name or "upload"


def read_table(
    data: bytes,
    filename: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    sheet: str | None = None,
) -> RawTable:
    """Read an uploaded file (CSV, XLSX or Parquet, sniffed from the bytes) into a ``RawTable``.

    Raises ``UploadRefused`` (an ``ExposureError``) naming what is wrong and how to fix it.
    """
    size = len(data)
    if size == 0:
        raise UploadRefused("the file is empty (0 bytes)")
    if size > max_bytes:
        raise UploadRefused(
            f"the file is {size:,} bytes, over the limit of {max_bytes:,} bytes "
            f"({max_bytes / MB:g} MB); split it into smaller files"
        )
    kind = sniff(data)
    warnings: list[str] = []
    ext = safe_filename(filename).rsplit(".", 1)[-1].lower() if "." in filename else ""
    if kind == "csv" and ext in ("xlsx", "xlsm", "parquet", "pq"):
        warnings.append(f"the file is named .{ext} but holds text; it was read as CSV")
    if sheet is not None and kind != "xlsx":
        warnings.append(
            f"--sheet {sheet!r} was ignored: the file is {kind.upper()}, not a workbook"
        )
    if kind == "xlsx":
        table = _read_xlsx(data, max_rows, sheet)
    elif kind == "parquet":
        table = _read_parquet(data, max_rows)
    else:
        table = _read_csv(data, max_rows)
    table.warnings[:0] = warnings
    return table


# --------------------------------------------------------------------------------------------
# Sniffing

_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document, not a table; upload a CSV, XLSX or Parquet file"),
    (b"\x7fELF", "a program (ELF executable), not a table"),
    (b"\xca\xfe\xba\xbe", "a program (Mach-O or Java class), not a table"),
    (b"\xcf\xfa\xed\xfe", "a program (Mach-O executable), not a table"),
    (b"\xfe\xed\xfa\xcf", "a program (Mach-O executable), not a table"),
    (b"\x1f\x8b", "a gzip archive; unpack it and upload the CSV, XLSX or Parquet file inside"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; unpack it and upload the file inside"),
    (b"Rar!", "a RAR archive; unpack it and upload the file inside"),
    (b"BZh", "a bzip2 archive; unpack it and upload the file inside"),
    (b"\xfd7zXZ\x00", "an xz archive; unpack it and upload the file inside"),
    (b"\x89PNG", "a PNG image, not a table"),
    (b"\xff\xd8\xff", "a JPEG image, not a table"),
    (b"GIF8", "a GIF image, not a table"),
    (b"{\\rtf", "an RTF document, not a table; save it as CSV"),
    (b"SQLite format 3\x00", "an SQLite database, not a table; export the table as CSV"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def sniff(data: bytes) -> Format:
    """``xlsx``, ``parquet`` or ``csv`` from the first bytes; refuses every other kind of file."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise UploadRefused(
                "the workbook is password-protected (encrypted); remove the password in Excel "
                "(File > Info > Protect Workbook) and upload it again, or save it as CSV"
            )
        raise UploadRefused(
            "the file is a legacy Excel 97-2003 workbook (.xls) or another OLE document; "
            "save it as .xlsx or CSV and upload that"
        )
    for magic, what in _REFUSED_MAGIC:
        if data.startswith(magic):
            raise UploadRefused(f"the file is {what}")
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        raise UploadRefused("the file is a program (Windows executable), not a table")
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype", b"<?xml", b"<table", b"<workbook")):
        raise UploadRefused(
            "the file is an HTML or XML document, not a CSV, XLSX or Parquet file; "
            "open it in Excel and save it as .xlsx or CSV"
        )
    return "csv"


# --------------------------------------------------------------------------------------------
# CSV


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as a spreadsheet would have written them; returns (text, encoding name).

    UTF-8 (with or without BOM), UTF-16 LE/BE (by BOM, or by the pattern of NUL bytes when there
    is none), and cp1252 when the bytes are not UTF-8 but read as plausible Windows text.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return _decode(data[3:], "utf-8", "UTF-8 (with BOM)"), "utf-8-sig"
    if data.startswith(b"\xff\xfe"):
        return _decode(data[2:], "utf-16-le", "UTF-16 LE"), "utf-16-le"
    if data.startswith(b"\xfe\xff"):
        return _decode(data[2:], "utf-16-be", "UTF-16 BE"), "utf-16-be"
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        label = "UTF-16 LE" if utf16 == "utf-16-le" else "UTF-16 BE"
        return _decode(data, utf16, label), utf16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        bad = err.start
    if not _has_utf8_multibyte(data) and _plausible_cp1252(data):
        return data.decode("cp1252"), "cp1252"
    raise UploadRefused(
        f"the file is not valid UTF-8 text: the byte at offset {bad:,} "
        f"(0x{data[bad]:02X}) cannot be decoded; save the file as 'CSV UTF-8'"
    )


def _decode(data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise UploadRefused(
            f"the file looks like {label} text but the bytes at offset {err.start:,} "
            f"cannot be decoded as {label}; save the file as 'CSV UTF-8'"
        ) from None


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0 : pairs * 2 : 2].count(0)
    odd_nuls = sample[1 : pairs * 2 : 2].count(0)
    if odd_nuls >= 0.3 * pairs and even_nuls <= 0.05 * pairs:
        return "utf-16-le"
    if even_nuls >= 0.3 * pairs and odd_nuls <= 0.05 * pairs:
        return "utf-16-be"
    return None


_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _has_utf8_multibyte(data: bytes) -> bool:
    """True when the bytes hold well-formed UTF-8 sequences: then a bad byte is corruption."""
    return _UTF8_MULTIBYTE.search(data) is not None


def _plausible_cp1252(data: bytes) -> bool:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n" for ch in text):
        return False
    import charset_normalizer

    best = charset_normalizer.from_bytes(data, cp_isolation=["cp1252"]).best()
    return best is not None and best.chaos <= 0.2


_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def sniff_delimiter(header_line: str) -> str:
    """The delimiter used most often, outside quotes, in the header line (comma on a tie)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


_LINE = re.compile(r"[^\r\n]+")


def _first_line(text: str) -> str:
    """The first line with something on it (lazily: the file may be 50 MB)."""
    for match in _LINE.finditer(text):
        if match.group(0).strip():
            return match.group(0)
    return ""


def _read_csv(data: bytes, max_rows: int) -> RawTable:
    text, encoding = decode_text(data)
    if not text.strip():
        raise UploadRefused("the file holds no text (only blank lines or spaces)")
    first = _first_line(text)
    sep_hint = re.fullmatch(r"\s*sep=(.)\s*", first)
    delimiter = sep_hint.group(1) if sep_hint else sniff_delimiter(first)
    has_nul = "\x00" in text
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    headers: list[str] | None = None
    header_row = 0
    width = 0
    rows: list[list[str]] = []
    numbers: list[int] = []
    ragged: list[str] = []
    ragged_more = 0
    record = 0
    line = 0
    try:
        for record, row in enumerate(reader, start=1):
            line = reader.line_num
            if sep_hint and record == 1:
                continue
            if has_nul and any("\x00" in cell for cell in row):
                raise UploadRefused(
                    f"row {record} contains a NUL byte (\\x00), which never occurs in a CSV "
                    "table; the file may be damaged or not text: save it again as 'CSV UTF-8'"
                )
            if not (row and row[0].strip()) and not "".join(row).strip():
                continue  # a blank row (it keeps its number)
            if headers is None:
                while row and not row[-1].strip():
                    row.pop()
                headers, header_row, width = row, record, len(row)
                if width > MAX_COLUMNS:
                    raise UploadRefused(
                        f"the header row has {width:,} columns; the limit is {MAX_COLUMNS}"
                    )
                continue
            if len(row) != width:
                if len(row) > width and not any(c.strip() for c in row[width:]):
                    row = row[:width]
                elif len(ragged) < 5:
                    ragged.append(
                        f"row {record} has {len(row)} cells but the header row has {width}"
                    )
                    continue
                else:
                    ragged_more += 1
                    continue
            rows.append(row)
            numbers.append(record)
            if len(rows) > max_rows:
                raise UploadRefused(
                    f"the file has more than {max_rows:,} data rows; split it into smaller files"
                )
    except csv.Error as err:
        message = str(err)
        if "field larger than field limit" in message and text.count('"') % 2 == 0:
            raise UploadRefused(
                f"row {record + 1}: a cell is longer than {CSV_FIELD_LIMIT:,} characters (the "
                "limit for one cell); no site or route field is that long: check that the "
                "delimiter and line breaks are right, or remove the oversized cell"
            ) from None
        raise UploadRefused(_csv_error_message(message, record + 1, line + 1)) from None
    if headers is None:
        raise UploadRefused("the file holds no text (only blank lines or spaces)")
    if ragged:
        name = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
        if ragged_more:
            ragged.append(f"... and {ragged_more:,} more rows with the wrong number of cells")
        ragged.append(
            f"every row needs one cell per column: check these rows for an unquoted {name} "
            "inside a value, or a missing one"
        )
        raise UploadRefused(ragged)
    frame = _frame(rows, numbers, width)
    return RawTable(
        headers=[h.strip() for h in headers],
        frame=frame,
        format="csv",
        header_row=header_row,
        encoding=encoding,
        delimiter=delimiter,
        decimal_comma=delimiter == ";",
    )


def _csv_error_message(error: str, record: int, line: int) -> str:
    where = f"row {record}" + (f" (line {line})" if line != record else "")
    if "unexpected end of data" in error or "field larger than field limit" in error:
        return (
            f'{where}: a quoted cell opens here and is never closed (unbalanced "); '
            'close the quote, or double any " inside a quoted cell'
        )
    if "expected after" in error:
        return (
            f"{where}: text follows the closing quote of a cell; put the whole cell in quotes "
            'and double any " inside it'
        )
    if "NUL" in error or "null byte" in error:
        return f"{where} contains a NUL byte (\\x00); save the file again as 'CSV UTF-8'"
    return f"{where}: the CSV cannot be parsed ({error})"


def _frame(rows: list[list[str]], numbers: list[int], width: int) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {f"c{i}": pl.String() for i in range(width)}
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return frame.with_columns(pl.Series("__row", numbers, dtype=pl.Int64))


# --------------------------------------------------------------------------------------------
# XLSX


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _col_letters(index: int) -> str:
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass
class SheetInfo:
    """One sheet as the workbook declares it."""

    name: str
    state: str  # visible | hidden | veryHidden
    path: str | None  # the zip part holding its cells, as the reader finds it
    kind: str = "worksheet"  # worksheet | chartsheet | macrosheet | dialogsheet


@dataclass
class SheetScan:
    """What the scan of one sheet's XML found (attributes read as the XML parser reads them)."""

    max_row: int = 0
    max_col: int = 0
    min_col: int = EXCEL_MAX_COLS + 1
    cells: int = 0
    dimension: str | None = None
    formulas: list[tuple[str, str, bool]] = field(default_factory=list)  # ref, formula, has value
    formulas_total: int = 0
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> #N/A
    shared_refs: list[tuple[str, int]] = field(default_factory=list)  # (ref, index) of t="s"
    max_shared: int = -1
    max_shared_ref: str = ""


_CELL_RE = re.compile(r"([A-Z]{1,4})([0-9]{1,8})")
_EXCEL_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!"}
)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _expat(
    on_start: Callable[..., Any],
    on_end: Callable[..., Any] | None = None,
    on_text: Callable[..., Any] | None = None,
) -> Any:
    """An expat parser that refuses DTDs and entities (the parts were checked already)."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.buffer_text = True

    def refuse(*_args: object) -> None:
        raise UploadRefused("a workbook part declares a DTD or XML entities (an XML bomb); refused")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = on_start
    if on_end is not None:
        parser.EndElementHandler = on_end
    if on_text is not None:
        parser.CharacterDataHandler = on_text
    return parser


def _parse_part(zf: zipfile.ZipFile, name: str, parser: Any) -> None:
    from xml.parsers import expat

    try:
        with zf.open(name) as stream:
            parser.ParseFile(stream)
    except expat.ExpatError:
        raise UploadRefused(
            f"the workbook part {_show(name)} is not well-formed XML (damaged workbook); "
            "save it again from Excel"
        ) from None


def scan_sheet(zf: zipfile.ZipFile, name: str) -> SheetScan:
    """Read a sheet part with an XML parser: the extent of its cells, formulas, error cells and
    shared-string references. Attribute values are read as the parser decodes them (either
    quote, character references), so a crafted reference cannot slip past."""
    scan = SheetScan()
    state: dict[str, object] = {"ref": None, "t": None, "f": None, "v": None, "in": None}
    next_col = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "c":
            scan.cells += 1
            ref = attrs.get("r")
            if ref is not None:
                m = _CELL_RE.fullmatch(ref.strip().upper().replace("$", ""))
                if not m:
                    raise UploadRefused(
                        f"the sheet {_show(name)} has a cell reference {_show(ref)} that is not "
                        "a cell address; the workbook is damaged or crafted"
                    )
                col, row = _col_index(m.group(1).encode()), int(m.group(2))
            else:
                col, row = next_col[0] + 1, max(scan.max_row, 1)
            next_col[0] = col
            scan.max_row = max(scan.max_row, row)
            scan.max_col = max(scan.max_col, col)
            scan.min_col = min(scan.min_col, col)
            state.update(ref=(row, col), t=attrs.get("t"), f=None, v=None, **{"in": None})
        elif local == "row":
            next_col[0] = 0
            r = attrs.get("r")
            if r is not None:
                if not r.strip().isdigit():
                    raise UploadRefused(
                        f"the sheet {_show(name)} has a row number {_show(r)} that is not a "
                        "number; the workbook is damaged or crafted"
                    )
                scan.max_row = max(scan.max_row, int(r))
        elif local in ("f", "v"):
            state["in"] = local
            if local == "f":
                state["f"] = ""
        elif local == "dimension" and scan.dimension is None:
            scan.dimension = attrs.get("ref")

    def text(data: str) -> None:
        where = state["in"]
        if where == "f":
            state["f"] = str(state["f"] or "") + data
        elif where == "v":
            state["v"] = str(state["v"] or "") + data

    def end(tag: str) -> None:
        local = _local(tag)
        if local in ("f", "v"):
            state["in"] = None
        elif local == "c" and state["ref"] is not None:
            row, col = cast(tuple[int, int], state["ref"])
            ref = f"{_col_letters(col)}{row}"
            value = state["v"]
            if state["f"] is not None:
                scan.formulas_total += 1
                if len(scan.formulas) < 10:
                    scan.formulas.append((ref, str(state["f"]), value not in (None, "")))
            if state["t"] == "e" and value:
                scan.errors[(row, col)] = str(value).strip()
            elif state["t"] == "s" and value is not None:
                try:
                    index = int(str(value).strip())
                except ValueError:
                    index = 10**12
                if index > scan.max_shared:
                    scan.max_shared, scan.max_shared_ref = index, ref
            state["ref"] = None

    _parse_part(zf, name, _expat(start, end, text))
    return scan


def _count_shared_strings(zf: zipfile.ZipFile, name: str) -> int:
    count = [0]

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if _local(tag) == "si":
            count[0] += 1

    _parse_part(zf, name, _expat(start))
    return count[0]


def _find_part(names: set[str], path: str) -> str | None:
    """The zip entry the reader opens for ``path``: exact, else ignoring case."""
    if path in names:
        return path
    folded = path.casefold()
    matches = sorted(n for n in names if n.casefold() == folded)
    return matches[0] if matches else None


def _resolve(base: str, target: str) -> str:
    path = target.lstrip("/") if target.startswith("/") else base + target
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/".join(parts)


def workbook_sheets(zf: zipfile.ZipFile, names: set[str]) -> list[SheetInfo]:
    """Every sheet the workbook declares, in tab order, with its state and its part."""
    import defusedxml.ElementTree as safe_et

    workbook = safe_et.fromstring(
        zf.read(_find_part(names, "xl/workbook.xml") or ""), forbid_dtd=True
    )
    rels: dict[str, tuple[str, str]] = {}
    rels_part = _find_part(names, "xl/_rels/workbook.xml.rels")
    if rels_part:
        for elem in safe_et.fromstring(zf.read(rels_part), forbid_dtd=True).iter():
            if _local(elem.tag) == "Relationship":
                kind = _local(elem.attrib.get("Type", "").rsplit("/", 1)[-1])
                rels[elem.attrib.get("Id", "")] = (elem.attrib.get("Target", ""), kind)
    sheets: list[SheetInfo] = []
    for elem in workbook.iter():
        if _local(elem.tag) != "sheet":
            continue
        rel_id = next((v for k, v in elem.attrib.items() if _local(k) == "id"), None)
        target, kind = rels.get(rel_id or "", ("", "worksheet"))
        path = _find_part(names, _resolve("xl/", target)) if target else None
        sheets.append(
            SheetInfo(
                name=elem.attrib.get("name", f"Sheet{len(sheets) + 1}"),
                state=elem.attrib.get("state", "visible"),
                path=path,
                kind=kind or "worksheet",
            )
        )
    return sheets


def check_xlsx(
    data: bytes, max_rows: int = MAX_ROWS, sheet: str | None = None
) -> tuple[list[str], SheetInfo, SheetScan]:
    """Refuse a workbook that could hurt the reader; returns warnings, the sheet to read and
    what its scan found.

    Checked before any parser runs: the zip's entry count, total and per-member expansion,
    macros, encryption, DTDs or entities in any XML part (XML bombs), the shared-strings table
    and the real extent of every worksheet's cells (a lone cell at XFD1048576 would make the
    reader allocate every cell in between). Parts are found the way the reader finds them
    (names compared ignoring case). Hidden sheets, formulas, error values, external links and
    macro sheets are reported as warnings naming the sheet and cell.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise UploadRefused(
            "the file starts like an XLSX workbook but is not a readable zip archive "
            "(damaged or truncated); save it again from Excel"
        ) from None
    with zf:
        if len(infos) > XLSX_MAX_ENTRIES:
            raise UploadRefused(
                f"the workbook has {len(infos):,} parts; the limit is {XLSX_MAX_ENTRIES} "
                "(a normal workbook has fewer than 50): save the sheet alone as .xlsx or CSV"
            )
        total = sum(i.file_size for i in infos)
        if total > XLSX_MAX_UNCOMPRESSED:
            raise UploadRefused(
                f"the workbook expands to {total:,} bytes; the limit is "
                f"{XLSX_MAX_UNCOMPRESSED:,} bytes ({XLSX_MAX_UNCOMPRESSED // MB} MB)"
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > XLSX_RATIO_MIN_SIZE and ratio > XLSX_MAX_RATIO:
                raise UploadRefused(
                    f"the workbook part {_show(info.filename)} expands {ratio:,.0f} times "
                    f"(to {info.file_size:,} bytes), which only zip bombs do; refused"
                )
            if info.flag_bits & 0x1:
                raise UploadRefused(
                    "the workbook is password-protected (encrypted zip); remove the password "
                    "and upload it again, or save it as CSV"
                )
        names = {i.filename for i in infos}
        lower = {n.lower() for n in names}
        if any(n.endswith("vbaproject.bin") for n in lower):
            raise UploadRefused(
                "the workbook contains macros (.xlsm, vbaProject.bin); macro-enabled workbooks "
                "are refused: save it as a plain .xlsx workbook or CSV"
            )
        if _find_part(names, "xl/workbook.xml") is None:
            if "content.xml" in lower and "mimetype" in lower:
                what = "an OpenDocument file (.ods); save it as .xlsx or CSV"
            elif "word/document.xml" in lower:
                what = "a Word document, not a workbook"
            elif "ppt/presentation.xml" in lower:
                what = "a PowerPoint presentation, not a workbook"
            else:
                what = "a zip archive that is not an Excel workbook; unzip it and upload the file"
            raise UploadRefused(f"the file is {what}")
        try:
            for name in sorted(names):
                if name.lower().endswith((".xml", ".rels", ".vml")):
                    _check_xml_part(zf, name)
            ct_part = _find_part(names, "[Content_Types].xml")
            content_types = zf.read(ct_part) if ct_part else b""
            if b"macroEnabled" in content_types:
                raise UploadRefused(
                    "the workbook is macro-enabled (.xlsm); save it as a plain .xlsx "
                    "workbook or CSV"
                )
            sheets = workbook_sheets(zf, names)
            chosen, warnings = _choose_sheet(sheets, sheet)
            if chosen.path is None:
                candidates = sorted(
                    n
                    for n in names
                    if n.lower().startswith("xl/worksheets/") and n.lower().endswith(".xml")
                )
                if not candidates:
                    raise UploadRefused("the workbook has no worksheet; put the table on a sheet")
                chosen.path = candidates[0]
            # every worksheet part is checked, whichever the reader ends up opening
            scans: dict[str, SheetScan] = {}
            for name in sorted(names):
                low = name.lower()
                if low.startswith(
                    ("xl/worksheets/", "xl/macrosheets/", "xl/dialogsheets/")
                ) and low.endswith(".xml"):
                    scans[name] = scan_sheet(zf, name)
                    _check_extent(scans[name], max_rows, _sheet_label(sheets, name))
            scan = scans.get(chosen.path) or scan_sheet(zf, chosen.path)
            shared = _find_part(names, "xl/sharedStrings.xml")
            n_shared = _count_shared_strings(zf, shared) if shared else 0
            if scan.max_shared >= n_shared:
                raise UploadRefused(
                    f"the workbook's shared-strings table is damaged or crafted: sheet "
                    f"{chosen.name!r} cell {scan.max_shared_ref} refers to text number "
                    f"{scan.max_shared + 1:,} but the table holds {n_shared:,}; open the "
                    "workbook in Excel, save it again and upload that (or save it as CSV)"
                )
            warnings += _workbook_warnings(names, sheets, chosen, scan)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, RuntimeError):
            raise UploadRefused(
                "the workbook is damaged (a part cannot be unpacked); save it again from Excel"
            ) from None
    warnings += _dimension_warning(scan, chosen.name)
    return warnings, chosen, scan


def _sheet_label(sheets: list[SheetInfo], path: str) -> str:
    for s in sheets:
        if s.path == path:
            return f"sheet {s.name!r}"
    return f"the workbook part {_show(path)}"


def _choose_sheet(sheets: list[SheetInfo], wanted: str | None) -> tuple[SheetInfo, list[str]]:
    warnings: list[str] = []
    tables = [s for s in sheets if s.kind == "worksheet"]
    if not tables:
        raise UploadRefused("the workbook has no worksheet; put the table on a sheet")
    hidden = [s for s in sheets if s.state != "visible"]
    if wanted is not None:
        found = next((s for s in tables if s.name == wanted), None)
        found = found or next(
            (s for s in tables if s.name.strip().casefold() == wanted.strip().casefold()), None
        )
        if found is None:
            raise UploadRefused(
                f"the workbook has no sheet {wanted!r}; its sheets are "
                + ", ".join(
                    f"{s.name!r}" + ("" if s.state == "visible" else f" ({s.state})")
                    for s in tables
                )
            )
        if found.state != "visible":
            warnings.append(
                f"sheet {found.name!r} is {_state(found.state)}; it was read because --sheet "
                "names it"
            )
    else:
        visible = [s for s in tables if s.state == "visible"]
        if not visible:
            raise UploadRefused(
                "every sheet of the workbook is hidden ("
                + ", ".join(f"{s.name!r}: {_state(s.state)}" for s in tables)
                + "); unhide the sheet with the table, or name it with --sheet"
            )
        found = visible[0]
    for s in hidden:
        if s is not found:
            warnings.append(
                f"sheet {s.name!r} is {_state(s.state)} and was not read; if the table is on "
                f"it, unhide it or choose it with --sheet {s.name!r}"
            )
    others = [s for s in tables if s is not found and s.state == "visible"]
    if others:
        warnings.append(
            f"the workbook has {len(tables)} sheets; only {found.name!r} was read "
            f"(the others: {', '.join(repr(s.name) for s in others[:5])}; choose with --sheet)"
        )
    return found, warnings


def _state(state: str) -> str:
    return {"hidden": "hidden", "veryHidden": "very hidden (only a macro can show it)"}.get(
        state, state
    )


def _workbook_warnings(
    names: set[str], sheets: list[SheetInfo], chosen: SheetInfo, scan: SheetScan
) -> list[str]:
    out: list[str] = []
    for ref, formula, has_value in scan.formulas:
        if has_value:
            out.append(
                f"sheet {chosen.name!r} cell {ref} holds a formula (={formula[:60]}); its saved "
                "value was read, the formula was not run"
            )
        else:
            out.append(
                f"sheet {chosen.name!r} cell {ref} holds a formula (={formula[:60]}) with no "
                "saved value, so it was read as empty: open the workbook in Excel, let it "
                "calculate, save it and upload again"
            )
    if scan.formulas_total > len(scan.formulas):
        out.append(
            f"... and {scan.formulas_total - len(scan.formulas):,} more formula cells on sheet "
            f"{chosen.name!r}"
        )
    links = sorted(
        n for n in names if n.lower().startswith("xl/externallinks/") and n.lower().endswith(".xml")
    )
    if links:
        out.append(
            f"the workbook links to {len(links)} external workbook(s) "
            f"({', '.join(_show(n) for n in links[:3])}); the links were not followed: only "
            "the values saved in this file were read"
        )
    for s in sheets:
        if s.kind in ("macrosheet", "dialogsheet"):
            out.append(
                f"sheet {s.name!r} is an Excel 4.0 {s.kind.replace('sheet', ' sheet')}; it was "
                "neither read nor run"
            )
    for (row, col), value in list(scan.errors.items())[:10]:
        out.append(
            f"sheet {chosen.name!r} cell {_col_letters(col)}{row} holds the error value {value} "
            "(a formula that failed in Excel)"
        )
    return out


def _check_extent(scan: SheetScan, max_rows: int, label: str) -> None:
    if scan.max_row == 0:
        return
    min_col = min(scan.min_col, scan.max_col)
    cols = max(scan.max_col - min_col + 1, 1)
    far = f"{_col_letters(scan.max_col)}{scan.max_row}"
    if scan.max_row > EXCEL_MAX_ROWS or scan.max_col > EXCEL_MAX_COLS:
        raise UploadRefused(
            f"{label} has a cell at {far}, beyond Excel's last cell XFD1048576; "
            "the workbook is damaged or crafted"
        )
    if scan.max_row - 1 > max_rows:
        raise UploadRefused(
            f"{label} reaches row {scan.max_row:,}, more than {max_rows:,} data rows; "
            "split it into smaller files (or delete stray cells far below the table)"
        )
    if scan.max_row * cols > XLSX_MAX_CELLS:
        raise UploadRefused(
            f"{label} has cells spanning {scan.max_row:,} rows x {cols:,} columns (to {far}), "
            f"over {XLSX_MAX_CELLS:,} cells; delete stray cells far below or right of the "
            "table, or save the table alone as CSV"
        )


def _dimension_warning(scan: SheetScan, sheet: str) -> list[str]:
    if not scan.dimension or scan.max_row == 0:
        return []
    declared = _area(scan.dimension.strip().upper())
    cols = max(scan.max_col - min(scan.min_col, scan.max_col) + 1, 1)
    far = f"{_col_letters(scan.max_col)}{scan.max_row}"
    if declared is not None and declared > 10 * scan.max_row * cols and declared > 1_000_000:
        return [
            f"sheet {sheet!r} declares its used range as {scan.dimension[:40]} ({declared:,} "
            f"cells) but its cells end at {far}; only the cells that exist were read"
        ]
    return []


def _show(name: str) -> str:
    return repr("".join(ch for ch in name[:80] if ch.isprintable()))


def _check_xml_part(zf: zipfile.ZipFile, name: str) -> None:
    """Parse the prolog of one XML part with defusedxml: DTDs and entities are refused."""
    import xml.etree.ElementTree as std_et

    import defusedxml
    import defusedxml.ElementTree as safe_et

    try:
        with zf.open(name) as stream:
            for _event, _elem in safe_et.iterparse(stream, events=("start",), forbid_dtd=True):
                break
    except defusedxml.DefusedXmlException:
        raise UploadRefused(
            f"the workbook part {_show(name)} declares a DTD or XML entities (an XML bomb); "
            "refused: save the workbook again from Excel"
        ) from None
    except std_et.ParseError:
        raise UploadRefused(
            f"the workbook part {_show(name)} is not well-formed XML (damaged workbook); "
            "save it again from Excel"
        ) from None


def _area(ref: str) -> int | None:
    m = re.fullmatch(r"\$?([A-Z]{1,4})\$?(\d{1,8})(?::\$?([A-Z]{1,4})\$?(\d{1,8}))?", ref)
    if not m:
        return None
    c1, r1 = _col_index(m.group(1).encode()), int(m.group(2))
    c2 = _col_index(m.group(3).encode()) if m.group(3) else c1
    r2 = int(m.group(4)) if m.group(4) else r1
    return (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)


def _read_xlsx(data: bytes, max_rows: int, sheet: str | None = None) -> RawTable:
    warnings, chosen, scan = check_xlsx(data, max_rows, sheet)
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)
        # skip_rows=0: no leading rows are dropped, so index i is the sheet's row i + 1
        loaded = reader.load_sheet(chosen.name, header_row=None, dtypes="string", skip_rows=0)
        frame = loaded.to_polars()
    except Exception as err:  # fastexcel raises its own exception tree
        log.info("fastexcel could not read an upload: %s", err)
        raise UploadRefused(
            "the workbook could not be read (damaged, or not a real .xlsx file); "
            "save it again from Excel as .xlsx or CSV"
        ) from None
    if scan.errors and frame.height:
        frame = _with_error_values(frame, scan.errors)
    table = _table_from_sheet(frame, max_rows, warnings)
    table.sheet = chosen.name
    return table


def _with_error_values(frame: pl.DataFrame, errors: dict[tuple[int, int], str]) -> pl.DataFrame:
    """Put error values (``#N/A``) back in their cells: the reader leaves them empty."""
    names = frame.columns
    by_col: dict[int, dict[int, str]] = {}
    for (row, col), value in errors.items():
        if 1 <= col <= len(names) and 1 <= row <= frame.height:
            by_col.setdefault(col, {})[row - 1] = value
    columns = []
    for col, cells in by_col.items():
        name = names[col - 1]
        values = frame[name].cast(pl.String).to_list()
        for i, value in cells.items():
            values[i] = value
        columns.append(pl.Series(name, values, dtype=pl.String))
    return frame.with_columns(columns) if columns else frame


def _table_from_sheet(sheet: pl.DataFrame, max_rows: int, warnings: list[str]) -> RawTable:
    """The header (first non-blank row) and the data rows of a sheet read from row 1."""
    names = [f"c{i}" for i in range(sheet.width)]
    frame = sheet.select(
        pl.col(old).cast(pl.String).fill_null("").alias(new)
        for old, new in zip(sheet.columns, names, strict=True)
    ).with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("__row"))
    if names:
        blank = pl.all_horizontal(pl.col(n).str.strip_chars() == "" for n in names)
        frame = frame.filter(~blank)
    if frame.is_empty():
        raise UploadRefused("the sheet is empty: put a header row and one row per item on it")
    first = frame.row(0)
    header_row = int(first[-1])
    width = len(names)
    while width and not str(first[width - 1]).strip():
        width -= 1
    if width > MAX_COLUMNS:
        raise UploadRefused(f"the header row has {width:,} columns; the limit is {MAX_COLUMNS}")
    body = frame.slice(1).select([*names[:width], "__row"])
    if body.height > max_rows:
        raise UploadRefused(
            f"the file has more than {max_rows:,} data rows; split it into smaller files"
        )
    return RawTable(
        headers=[str(h).strip() for h in first[:width]],
        frame=body,
        format="xlsx",
        header_row=header_row,
        warnings=warnings,
    )


# --------------------------------------------------------------------------------------------
# Parquet

_PARQUET_DAMAGED = (
    "the Parquet file is damaged and could not be read; export it again (or upload CSV)"
)


def _read_parquet(data: bytes, max_rows: int) -> RawTable:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if len(data) < 12 or not data.endswith(b"PAR1"):
        raise UploadRefused(
            "the Parquet file is truncated (it does not end with the PAR1 footer); "
            "upload the complete file"
        )
    try:
        pfile = pq.ParquetFile(pa.BufferReader(data))
        meta = pfile.metadata
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... on bad metadata
        log.info("pyarrow could not open an upload: %s", err)
        raise UploadRefused(_PARQUET_DAMAGED) from None
    if meta.num_rows > max_rows:
        raise UploadRefused(
            f"the file has {meta.num_rows:,} rows, more than {max_rows:,}; "
            "split it into smaller files"
        )
    if meta.num_columns > MAX_COLUMNS:
        raise UploadRefused(
            f"the file has {meta.num_columns:,} columns; the limit is {MAX_COLUMNS}"
        )
    expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if expanded > PARQUET_MAX_UNCOMPRESSED:
        raise UploadRefused(
            f"the Parquet file expands to {expanded:,} bytes; the limit is "
            f"{PARQUET_MAX_UNCOMPRESSED:,} bytes ({PARQUET_MAX_UNCOMPRESSED // MB} MB)"
        )
    try:
        table = pfile.read()
    except Exception as err:
        log.info("pyarrow could not read an upload: %s", err)
        raise UploadRefused(_PARQUET_DAMAGED) from None
    headers = [str(n) for n in table.column_names]
    if not headers:
        raise UploadRefused("the Parquet file has no columns")
    texts: dict[str, object] = {}
    for i, (name, col) in enumerate(zip(headers, table.columns, strict=True)):
        kind = col.type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise UploadRefused(
                f"the Parquet column {name[:80]!r} holds {kind} values; only plain text, "
                "number and date columns can be uploaded"
            )
        try:
            texts[f"c{i}"] = pc.fill_null(pc.cast(col, pa.string()), "")
        except Exception:
            raise UploadRefused(
                f"the Parquet column {name[:80]!r} holds {kind} values that cannot be read as text"
            ) from None
    if table.num_rows == 0:
        raise UploadRefused("the file has a header row but no data rows")
    frame = pl.DataFrame(pl.from_arrow(pa.table(texts))).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("__row")
    )
    return RawTable(headers=headers, frame=frame, format="parquet", header_row=1)
