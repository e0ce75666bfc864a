"""Neutralising spreadsheet formula injection (CSV/XLSX injection) in exported cells.

OWASP (CSV Injection): a cell whose text starts with ``=``, ``+``, ``-``, ``@``, tab (0x09),
carriage return (0x0D) or line feed (0x0A) may be run as a formula by a spreadsheet; prefix such a
cell with a single quote so it is shown as text. We also treat the full-width forms of the four
signs (U+FF1D, U+FF0B, U+FF0D, U+FF20) as dangerous, since some spreadsheet applications fold them
to ASCII, and look past leading spaces (" =1+1"), which some applications strip.

Only text is touched: numbers, booleans, dates and ``None`` pass through unchanged, so numbers stay
numbers. The XLSX writer must also be told not to turn strings into formulas or links
(xlsxwriter ``strings_to_formulas=False``, ``strings_to_urls=False``); see exports.py.
"""

from __future__ import annotations

from typing import TypeVar

DANGEROUS_FIRST = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
PREFIX = "'"

T = TypeVar("T")


def is_dangerous(text: str) -> bool:
    """Whether a spreadsheet could read this text as a formula."""
    if not text:
        return False
    if text[0] in DANGEROUS_FIRST:
        return True
    stripped = text.lstrip(" \u00a0")
    return bool(stripped) and stripped[0] in DANGEROUS_FIRST


def neutralise(value: T) -> T | str:
    """The value, with a leading apostrophe if it is text a spreadsheet could run as a formula."""
    if isinstance(value, str) and is_dangerous(value):
        return PREFIX + value
    return value
