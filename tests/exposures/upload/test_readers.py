"""Readers: sniffing, decoding, delimiters, number parsing, row numbers."""

from __future__ import annotations

import pytest

from exposures.upload.convert import parse_number
from exposures.upload.readers import (
    RawTable,
    decode_text,
    read_table,
    safe_filename,
    sniff,
    sniff_delimiter,
)
from exposures.upload.report import UploadRefused


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("12", False, 12.0),
        ("1,234,567", False, 1234567.0),
        ("1,234,567.5", False, 1234567.5),
        ("1.234.567,5", True, 1234567.5),
        ("1.234.567,5", False, 1234567.5),  # both separators: the last one is the decimal
        ("12,5", False, 12.5),  # cannot be a thousands separator
        ("12,5", True, 12.5),
        ("1,234", False, 1234.0),  # comma-delimited locales group thousands with commas
        ("1,234", True, 1.234),  # semicolon-delimited locales write decimal commas
        ("1 234 567", False, 1234567.0),
        ("1\u00a0234,5", True, 1234.5),
        ("$1,000", False, 1000.0),
        ("USD 2.5", False, 2.5),
        ("-4.5e3", False, -4500.0),
        ("+7", False, 7.0),
        (".5", False, 0.5),
        ("1e308", False, 1e308),
        ("abc", False, "is not a number"),
        ("1,23,4", False, "is not a number (check the decimal and thousands separators)"),
        ("1.2.3,4", True, "is not a number (check the decimal and thousands separators)"),
        ("NaN", False, "is not a number (NaN); leave the cell empty if the value is unknown"),
        ("-Infinity", False, "is infinite; give a finite number"),
        ("1e309", False, "is too large (it overflows to infinity)"),
        ("2020-01-03", False, "is a date, not a number (is the cell formatted as a date?)"),
        ("03/01/2020", False, "is a date, not a number (is the cell formatted as a date?)"),
    ],
)
def test_parse_number(text: str, decimal_comma: bool, expected: float | str) -> None:
    assert parse_number(text, decimal_comma) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a,b,c", ","),
        ("a;b;c", ";"),
        ("a\tb\tc", "\t"),
        ("a|b|c", "|"),
        ('"x;y",b,c', ","),  # delimiters inside quotes do not count
        ("single", ","),
        ("a;b,c;d", ";"),
    ],
)
def test_sniff_delimiter(line: str, expected: str) -> None:
    assert sniff_delimiter(line) == expected


def test_decode_text_variants() -> None:
    text = "id,name\nA1,Zürich\n"
    assert decode_text(text.encode()) == (text, "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + text.encode()) == (text, "utf-8-sig")
    assert decode_text(b"\xff\xfe" + text.encode("utf-16-le")) == (text, "utf-16-le")
    assert decode_text(b"\xfe\xff" + text.encode("utf-16-be")) == (text, "utf-16-be")
    assert decode_text(text.encode("utf-16-le")) == (text, "utf-16-le")
    assert decode_text(text.encode("utf-16-be")) == (text, "utf-16-be")
    assert decode_text(text.encode("cp1252")) == (text, "cp1252")


def test_damaged_utf16_names_the_offset() -> None:
    data = b"\xff\xfe" + "id,name\n".encode("utf-16-le") + b"\x00\xd8"  # a lone surrogate
    with pytest.raises(UploadRefused) as err:
        decode_text(data)
    assert err.value.errors == [
        "the file looks like UTF-16 LE text but the bytes at offset 16 cannot be decoded as "
        "UTF-16 LE; save the file as 'CSV UTF-8'"
    ]


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"PK\x03\x04rest", "xlsx"), (b"PAR1rest", "parquet"), (b"a,b\n1,2\n", "csv")],
)
def test_sniff_by_bytes(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_the_extension_is_not_trusted() -> None:
    with pytest.raises(UploadRefused, match="the file is a PDF document"):
        read_table(b"%PDF-1.4\n", "assets.csv")


def test_raw_table_keeps_strings_and_row_numbers() -> None:
    table = read_table(b"id,value\n\nA1,1.50\n\n,\nA2,\n", "x.csv")
    assert isinstance(table, RawTable)
    assert table.headers == ["id", "value"]
    assert table.rows == [["A1", "1.50"], ["A2", ""]]
    assert table.row_numbers == [3, 6]  # blank lines keep their numbers, as in a spreadsheet
    assert len(table) == 2


def test_trailing_delimiters_are_tolerated() -> None:
    table = read_table(b"id,value,\nA1,1,\nA2,2,,,\n", "x.csv")
    assert table.headers == ["id", "value"]
    assert table.rows == [["A1", "1"], ["A2", "2"]]


def test_many_ragged_rows_are_summarised() -> None:
    data = b"a,b,c\n" + b"1,2\n" * 8
    with pytest.raises(UploadRefused) as err:
        read_table(data, "x.csv")
    assert err.value.errors[5:] == [
        "... and 3 more rows with the wrong number of cells",
        "every row needs one cell per column: check these rows for an unquoted comma inside a "
        "value, or a missing one",
    ]


def test_unbalanced_quote_in_a_large_file_names_the_row_and_line() -> None:
    data = b'id,name\nA1,"two\nlines"\nA2,"never closed\n' + b"A3,x\n" * 50_000
    with pytest.raises(UploadRefused) as err:
        read_table(data, "x.csv")
    assert err.value.errors == [
        'row 3 (line 4): a quoted cell opens here and is never closed (unbalanced "); close the '
        'quote, or double any " inside a quoted cell'
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.csv", "x.csv"),
        ("C:\\Users\\me\\x.csv", "x.csv"),
        ("x.csv\x00.exe", "x.csv.exe"),
        ("a\u200bb.csv", "ab.csv"),
        ("", "upload"),
        ("y" * 200 + ".csv", "y" * 97 + "..."),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected
