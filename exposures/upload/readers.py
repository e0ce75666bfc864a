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
from dataclasses import dataclass, field
from typing import Literal

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
    data: bytes, filename: str, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS
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
    if kind == "xlsx":
        table = _read_xlsx(data, max_rows)
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
        raise UploadRefused(_csv_error_message(str(err), record + 1, line + 1)) from None
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


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="([^"]*)"')
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{1,4})([0-9]{1,8})"')
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="([0-9]{1,8})"')


def check_xlsx(data: bytes, max_rows: int = MAX_ROWS) -> list[str]:
    """Refuse a workbook that could hurt the reader; returns warnings.

    Checked before any parser runs: the zip's entry count, total and per-member expansion,
    macros, encryption, DTDs or entities in any XML part (XML bombs), and the real extent of the
    first sheet's cells (a lone cell at XFD1048576 would make the reader allocate every cell
    in between). A declared ``<dimension>`` larger than the cells is ignored with a warning: the
    reader reads only the cells that exist.
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
        if "xl/workbook.xml" not in names:
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
            content_types = (
                zf.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
            )
            if b"macroEnabled" in content_types:
                raise UploadRefused(
                    "the workbook is macro-enabled (.xlsm); save it as a plain .xlsx "
                    "workbook or CSV"
                )
            sheet = _first_sheet_path(zf, names)
            sheet_xml = zf.read(sheet)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, RuntimeError):
            raise UploadRefused(
                "the workbook is damaged (a part cannot be unpacked); save it again from Excel"
            ) from None
    return _check_sheet_extent(sheet_xml, max_rows)


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


def _first_sheet_path(zf: zipfile.ZipFile, names: set[str]) -> str:
    import defusedxml.ElementTree as safe_et

    workbook = safe_et.fromstring(zf.read("xl/workbook.xml"), forbid_dtd=True)
    rel_id = None
    for elem in workbook.iter():
        if elem.tag.rsplit("}", 1)[-1] == "sheet":
            for key, value in elem.attrib.items():
                if key.rsplit("}", 1)[-1] == "id":
                    rel_id = value
            break
    target = None
    if rel_id and "xl/_rels/workbook.xml.rels" in names:
        rels = safe_et.fromstring(zf.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
        for elem in rels.iter():
            if elem.attrib.get("Id") == rel_id:
                target = elem.attrib.get("Target", "")
    if target:
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        parts: list[str] = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        path = "/".join(parts)
        if path in names:
            return path
    candidates = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    if not candidates:
        raise UploadRefused("the workbook has no worksheet; put the table on the first sheet")
    return candidates[0]


def _check_sheet_extent(sheet_xml: bytes, max_rows: int) -> list[str]:
    warnings: list[str] = []
    max_row = 0
    max_col = 0
    min_col = EXCEL_MAX_COLS + 1
    refs = 0
    for col, row in _CELL_REF.findall(sheet_xml):
        refs += 1
        r = int(row)
        if r > max_row:
            max_row = r
        c = _col_index(col)
        if c > max_col:
            max_col = c
        if c < min_col:
            min_col = c
    for row in _ROW_REF.findall(sheet_xml):
        max_row = max(max_row, int(row))
    tags = len(_CELL_TAG.findall(sheet_xml))
    if tags > refs:  # cells without a reference are placed one after another
        max_col = max(max_col, tags - refs)
        min_col = min(min_col, 1)
    if max_row == 0:
        return warnings
    rows = max_row  # the reader pads the sheet from row 1
    cols = max(max_col - min_col + 1, 1)
    far = f"{_col_letters(max_col)}{max_row}"
    if max_row > EXCEL_MAX_ROWS or max_col > EXCEL_MAX_COLS:
        raise UploadRefused(
            f"the first sheet has a cell at {far}, beyond Excel's last cell XFD1048576; "
            "the workbook is damaged or crafted"
        )
    if rows - 1 > max_rows:
        raise UploadRefused(
            f"the first sheet reaches row {max_row:,}, more than {max_rows:,} data rows; "
            "split it into smaller files (or delete stray cells far below the table)"
        )
    if rows * cols > XLSX_MAX_CELLS:
        raise UploadRefused(
            f"the first sheet's cells span {rows:,} rows x {cols:,} columns (to {far}), "
            f"over {XLSX_MAX_CELLS:,} cells; delete stray cells far below or right of the "
            "table, or save the table alone as CSV"
        )
    dim = _DIMENSION.search(sheet_xml[:65536])
    if dim:
        declared = _area(dim.group(1).decode("ascii", "replace"))
        if declared is not None and declared > 10 * rows * cols and declared > 1_000_000:
            ref = dim.group(1).decode("ascii", "replace")[:40]
            warnings.append(
                f"the first sheet declares its used range as {ref} ({declared:,} cells) but its "
                f"cells end at {far}; only the cells that exist were read"
            )
    return warnings


def _area(ref: str) -> int | None:
    m = re.fullmatch(r"\$?([A-Z]{1,4})\$?(\d{1,8})(?::\$?([A-Z]{1,4})\$?(\d{1,8}))?", ref)
    if not m:
        return None
    c1, r1 = _col_index(m.group(1).encode()), int(m.group(2))
    c2 = _col_index(m.group(3).encode()) if m.group(3) else c1
    r2 = int(m.group(4)) if m.group(4) else r1
    return (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)


def _read_xlsx(data: bytes, max_rows: int) -> RawTable:
    warnings = check_xlsx(data, max_rows)
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)
        # skip_rows=0: no leading rows are dropped, so index i is the sheet's row i + 1
        sheet = reader.load_sheet(0, header_row=None, dtypes="string", skip_rows=0)
        frame = sheet.to_polars()
    except Exception as err:  # fastexcel raises its own exception tree
        log.info("fastexcel could not read an upload: %s", err)
        raise UploadRefused(
            "the workbook could not be read (damaged, or not a real .xlsx file); "
            "save it again from Excel as .xlsx or CSV"
        ) from None
    if len(reader.sheet_names) > 1:
        warnings.append(
            f"the workbook has {len(reader.sheet_names)} sheets; only the first, "
            f"{reader.sheet_names[0]!r}, was read"
        )
    return _table_from_sheet(frame, max_rows, warnings)


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
