"""Cell text -> typed canonical columns, before the expectation suite runs.

Numbers are parsed as spreadsheets write them: thousands separators (``1,234,567``,
``1.234.567``, ``1 234 567``), decimal commas (``12,5``; ``1,234`` means 1.234 only in a
semicolon-delimited file, as in the locales that write those), a leading ``$``/``USD``. NaN,
infinities and overflows (``1e309``) are refused with a message; ``N/A``, ``-`` and empty cells
are missing values. The fast path is vectorised (polars); only cells it cannot read go through
the careful per-cell parser.

Text stays literal (formula-looking or HTML-looking names are data; exports neutralise them).
Ids lose control and invisible characters (zero-width, bidi marks), which is reported.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from exposures.upload.mapping import ColumnMap
from exposures.upload.readers import RawTable
from exposures.upload.report import value_repr
from exposures.upload.schema import MITIGATIONS, VALUE_SYNONYMS, ColumnSpec, columns, id_column

MISSING_TOKENS = frozenset({"", "na", "n/a", "#n/a", "null", "none", "-", "–", "—"})
_NAN_WORDS = frozenset({"nan", "+nan", "-nan"})
_INF_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_NUMBER = re.compile(r"([+-]?)([0-9.,]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009_']")
_CURRENCY = re.compile(r"^(?:US\$|USD|\$)\s*|\s*(?:USD|US\$|\$)$", re.IGNORECASE)
_INVISIBLE = r"[\p{Cc}\p{Cf}]"
MAX_EXACT_INT = 2**53


@dataclass
class Issue:
    """One problem found while converting or checking a cell (turned into a ``Problem`` later)."""

    row: int
    column: str
    message: str
    accepted: str
    severity: str = "error"
    raw: str | None = None  # the cell text when it is not the mapped column's own cell


@dataclass
class Issues:
    """Problems by (row, column); the first error for a cell wins."""

    items: list[Issue] = field(default_factory=list)
    _cells: set[tuple[int, str]] = field(default_factory=set)
    error_rows: set[int] = field(default_factory=set)

    def add(self, issue: Issue) -> None:
        key = (issue.row, issue.column)
        if issue.severity == "error":
            if key in self._cells:
                return
            self._cells.add(key)
            self.error_rows.add(issue.row)
        self.items.append(issue)

    def has(self, row: int, column: str) -> bool:
        return (row, column) in self._cells


def parse_number(text: str, decimal_comma: bool, grouping: bool = True) -> float | str:
    """The number in ``text``, or a message saying why it is not one (``str``).

    ``grouping=False`` (coordinates): a lone separator is always the decimal one."""
    s = text.strip()
    low = s.lower()
    if low in _NAN_WORDS:
        return "is not a number (NaN); leave the cell empty if the value is unknown"
    if low in _INF_WORDS:
        return "is infinite; give a finite number"
    if _DATE.fullmatch(s):
        return "is a date, not a number (is the cell formatted as a date?)"
    s = _CURRENCY.sub("", s)
    s = _SPACES.sub("", s)
    m = _NUMBER.fullmatch(s)
    if not m:
        return "is not a number"
    sign, body, exponent = m.group(1), m.group(2), m.group(3) or ""
    plain = _plain_digits(body, decimal_comma, grouping)
    if plain is None:
        return "is not a number (check the decimal and thousands separators)"
    try:
        value = float(sign + plain + exponent)
    except ValueError:
        return "is not a number"
    if not math.isfinite(value):
        return "is too large (it overflows to infinity)"
    return value


def _grouped(part: str, sep: str) -> str | None:
    groups = part.split(sep)
    if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
        return None
    return "".join(groups)


def _plain_digits(body: str, decimal_comma: bool, grouping: bool = True) -> str | None:
    """``body`` (digits with , and .) as plain ``123.45``, or None when the separators clash."""
    if body.count(",") and body.count("."):
        dec = "," if body.rfind(",") > body.rfind(".") else "."
        thou = "." if dec == "," else ","
        whole, frac = body.rsplit(dec, 1)
        if dec in whole or not frac.isdigit():
            return None
        plain = _grouped(whole, thou)
        return None if plain is None else f"{plain}.{frac}"
    for sep in (",", "."):
        n = body.count(sep)
        if n == 0:
            continue
        if n > 1:
            return _grouped(body, sep)
        whole, frac = body.split(sep)
        if not frac:
            return whole if whole.isdigit() else None
        if grouping and len(frac) == 3 and 1 <= len(whole) <= 3 and (sep == ",") != decimal_comma:
            return whole + frac  # 1,234 (1.234 in a decimal-comma file) is one thousand ...
        if not frac.isdigit() or (whole and not whole.isdigit()):
            return None
        return f"{whole or '0'}.{frac}"
    return body if body.isdigit() else None


def strip_controls(text: str) -> str:
    """``text`` without control or invisible characters (tabs and line breaks become spaces)."""
    out = re.sub(r"[\t\r\n\u2028\u2029]+", " ", text)
    return "".join(ch for ch in out if unicodedata.category(ch) not in ("Cc", "Cf"))


_EVIDENCE_COMMA = re.compile(
    r"^[+-]?(\d+,\d{1,2}|\d+,\d{4,}|\d{1,3}(\.\d{3})+,\d+|\d{1,3}(\.\d{3}){2,})$"
)
_EVIDENCE_DOT = re.compile(
    r"^[+-]?(\d+\.\d{1,2}|\d+\.\d{4,}|\d{1,3}(,\d{3})+\.\d+|\d{1,3}(,\d{3}){2,})$"
)
_AMBIGUOUS = re.compile(r"^[+-]?\d{1,3}[.,]\d{3}$")


@dataclass
class NumberFormat:
    """The decimal and thousands separators of one file, detected from its number cells."""

    decimal_comma: bool
    description: str
    ambiguous: tuple[int, str] | None = None  # (row, cell) of the first 1,234-like cell


def detect_number_format(
    cells: list[tuple[int, str]], delimiter_hint: bool, grouping: bool = True
) -> NumberFormat:
    """Decide one column's separators from its cells: ``12,5`` or ``1.234,5`` mean a decimal
    comma, ``12.5`` or ``1,234.5`` a decimal point; a column with only ``1,234``-like cells
    reads the separator as thousands (and says so), except where ``grouping`` is off
    (coordinates are never grouped in thousands)."""
    comma = dot = 0
    ambiguous: tuple[int, str] | None = None
    for row, raw in cells:
        text = _SPACES.sub("", _CURRENCY.sub("", raw.strip()))
        if _EVIDENCE_COMMA.match(text):
            comma += 1
        elif _EVIDENCE_DOT.match(text):
            dot += 1
        elif ambiguous is None and _AMBIGUOUS.match(text):
            ambiguous = (row, raw.strip())
    if comma and not dot:
        return NumberFormat(True, "decimal comma (12,5), thousands with . or space")
    if dot and not comma:
        return NumberFormat(False, "decimal point (12.5), thousands with , or space")
    if comma and dot:
        return NumberFormat(
            delimiter_hint,
            "mixed: some numbers use a decimal comma and some a decimal point",
        )
    if ambiguous is not None and grouping:
        return NumberFormat(
            False,
            "no decimals found; a separator followed by three digits is read as thousands",
            ambiguous,
        )
    return NumberFormat(delimiter_hint, "")


def normalise_choice(text: str) -> str:
    """``Data Centre`` -> ``data_centre``; synonyms mapped to the accepted value."""
    key = re.sub(r"[\s\-/]+", "_", text.strip().lower())
    return VALUE_SYNONYMS.get(key, key)


@dataclass
class Converted:
    frame: pl.DataFrame  # canonical columns + "__row"
    issues: Issues
    warnings: list[str] = field(default_factory=list)  # about the whole file


def convert(
    raw: RawTable, cmap: ColumnMap, values: dict[str, dict[str, str]] | None = None
) -> Converted:
    """Typed canonical columns from the raw strings, and the problems converting them.

    ``values`` maps, per column, a value of the file to an accepted value (``{"asset_type":
    {"Production site": "plant"}}``); it is applied before the value is checked.
    """
    issues = Issues()
    rows = raw.frame["__row"]
    out: dict[str, pl.Series] = {"__row": rows}
    warnings: list[str] = []
    formats = _number_formats(raw, cmap)
    described = [f.description for name, f in formats.items() if f.description]
    raw.number_format = described[0] if described else None
    for fmt in formats.values():
        if fmt.ambiguous is not None:
            row, cell = fmt.ambiguous
            warnings.append(
                f"numbers such as {cell!r} (row {row}) were read with the separator as "
                f"thousands ({cell.replace(',', '').replace('.', '')}); if it is a decimal "
                "separator, write the decimals with more or fewer than three digits or use a "
                "decimal point"
            )
            break
    value_maps = {
        col: {strip_controls(k).strip().casefold(): v for k, v in m.items()}
        for col, m in (values or {}).items()
    }
    for spec in columns(cmap.kind):
        index = cmap.by_canonical.get(spec.name)
        if index is None and spec.name == "name" and cmap.name_from_id:
            index = cmap.by_canonical[id_column(cmap.kind)]
        if index is None:
            out[spec.name] = _absent(spec, raw.frame.height)
            continue
        cells = raw.frame[f"c{index}"]
        if spec.name in value_maps:
            cells = _apply_value_map(cells, value_maps[spec.name])
        converter = _CONVERTERS[spec.type]
        col_fmt = formats.get(spec.name)
        decimal_comma = raw.decimal_comma if col_fmt is None else col_fmt.decimal_comma
        out[spec.name] = converter(spec, cells, rows, decimal_comma, issues)
    if cmap.flags:
        out["mitigations"] = _with_flags(out["mitigations"], raw, cmap, rows, issues)
    return Converted(pl.DataFrame(out), issues, warnings)


_YES = frozenset({"yes", "y", "true", "1", "x", "✓", "✔", "ja", "oui", "si", "sí"})
_NO = frozenset({"no", "n", "false", "0", "", "-", "none", "nein", "non"})


def _with_flags(
    mitigations: pl.Series, raw: RawTable, cmap: ColumnMap, rows: pl.Series, issues: Issues
) -> pl.Series:
    """Add the mitigations that yes/no columns state (``Backup site?`` = Yes) to the list."""
    current = [set(filter(None, (m or "").split(";"))) for m in mitigations.to_list()]
    for mitigation, index in cmap.flags.items():
        cells = raw.frame[f"c{index}"].to_list()
        for i, (row, cell) in enumerate(zip(rows.to_list(), cells, strict=True)):
            word = (cell or "").strip().casefold()
            if word in _YES:
                current[i].add(mitigation)
            elif word not in _NO:
                issues.add(
                    Issue(
                        row,
                        "mitigations",
                        f"{cmap.headers[index]!r} is {cell.strip()[:40]!r}, neither yes nor no",
                        f"yes or no (whether the site has {mitigation.replace('_', ' ')})",
                        raw=cell,
                    )
                )
    return pl.Series("mitigations", [";".join(sorted(m)) or None for m in current], dtype=pl.String)


def _apply_value_map(cells: pl.Series, mapping: dict[str, str]) -> pl.Series:
    keys = cells.str.strip_chars().str.to_lowercase()
    known = {k: v for k, v in mapping.items()}
    mapped = keys.replace_strict(known, default=None, return_dtype=pl.String)
    return pl.select(pl.coalesce(mapped, cells)).to_series().alias(cells.name)


COORDINATES = ("lat", "lon")


def _number_formats(raw: RawTable, cmap: ColumnMap) -> dict[str, NumberFormat]:
    """The separators of each number column, detected from its own cells."""
    out: dict[str, NumberFormat] = {}
    rows = raw.frame["__row"].to_list()
    for spec in columns(cmap.kind):
        index = cmap.by_canonical.get(spec.name)
        if index is None or spec.type not in ("float", "int"):
            continue
        col = raw.frame[f"c{index}"]
        has_sep = col.str.contains(r"\d[.,]\d").fill_null(False)
        cells = [(rows[i], col[i]) for i in has_sep.arg_true().head(5000).to_list()]
        out[spec.name] = detect_number_format(
            cells, raw.decimal_comma, grouping=spec.name not in COORDINATES
        )
    return out


def _absent(spec: ColumnSpec, height: int) -> pl.Series:
    dtype = _dtype(spec)
    value = spec.default if spec.default is not None else None
    return pl.Series(spec.name, [value] * height, dtype=dtype)


def _dtype(spec: ColumnSpec) -> pl.DataType:
    return {"float": pl.Float64(), "int": pl.Int64()}.get(spec.type, pl.String())


def _null_where(values: pl.Series, mask: pl.Series) -> pl.Series:
    """``values`` with nulls where ``mask`` is true."""
    out = pl.select(pl.when(mask).then(None).otherwise(values)).to_series()
    return out.alias(values.name)


def _stripped(cells: pl.Series) -> pl.Series:
    s = cells.str.strip_chars()
    return _null_where(s, (s == "").fill_null(True))


def _text(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    s = _stripped(cells)
    bad = s.str.contains("\x00", literal=True).fill_null(False)
    for row in rows.filter(bad).to_list():
        issues.add(
            Issue(row, spec.name, "contains a NUL character (\\x00)", "text without NUL characters")
        )
    controls = s.str.contains(_INVISIBLE).fill_null(False) & ~bad
    if controls.any():
        idx = controls.arg_true()
        cleaned = [strip_controls(t).strip() or None for t in s.gather(idx).to_list()]
        for row, value in zip(rows.gather(idx).to_list(), cleaned, strict=True):
            issues.add(
                Issue(
                    row,
                    spec.name,
                    "contained control or invisible characters (escape codes, tabs, line "
                    f"breaks, bidi marks), which were removed; kept as {value_repr(value)}",
                    spec.accepted,
                    severity="warning",
                )
            )
        s = s.scatter(idx, pl.Series(cleaned, dtype=pl.String))
    return s.alias(spec.name)


def _ident(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    stripped = cells.str.strip_chars()
    cleaned = stripped.str.replace_all(_INVISIBLE, "").str.strip_chars()
    changed = (cleaned != stripped).fill_null(False)
    if not cleaned.str.contains(r"^[\x20-\x7e]*$").fill_null(True).all():
        # ids are compared in Unicode NFKC form: a full-width ＬＯＮ-01 is LON-01
        cleaned = cleaned.map_elements(
            lambda t: unicodedata.normalize("NFKC", t).strip(), return_dtype=pl.String
        )
    if changed.any():
        for row, value in zip(
            rows.filter(changed).to_list(), cleaned.filter(changed).to_list(), strict=True
        ):
            issues.add(
                Issue(
                    row,
                    spec.name,
                    "contained control or invisible characters (zero-width, right-to-left "
                    f"marks), which were removed; the id is kept as {value_repr(value)}",
                    spec.accepted,
                    severity="warning",
                )
            )
    return _stripped(cleaned).alias(spec.name)


def _numbers(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    s = cells.str.strip_chars()
    fast = s.cast(pl.Float64, strict=False)
    good = fast.is_finite().fill_null(False)
    if decimal_comma:  # 1.234 means one thousand two hundred and thirty-four here
        good = good & ~s.str.contains(".", literal=True).fill_null(False)
    missing = s.str.to_lowercase().is_in(list(MISSING_TOKENS)).fill_null(True)
    slow = ~good & ~missing
    values = _null_where(fast, ~good)
    if slow.any():
        idx = slow.arg_true()
        parsed: list[float | None] = []
        for row, text in zip(rows.gather(idx).to_list(), s.gather(idx).to_list(), strict=True):
            result = parse_number(text, decimal_comma, spec.name not in COORDINATES)
            if isinstance(result, str):
                issues.add(Issue(row, spec.name, result, spec.accepted))
                parsed.append(None)
            else:
                parsed.append(result)
        values = values.scatter(idx, pl.Series(parsed, dtype=pl.Float64))
    return values.alias(spec.name)


def _floats(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    values = _numbers(spec, cells, rows, decimal_comma, issues)
    if spec.default is not None:
        values = values.fill_null(spec.default)
    return values


def _ints(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    values = _numbers(spec, cells, rows, decimal_comma, issues)
    fractional = (values != values.round()).fill_null(False)
    huge = (values.abs() > MAX_EXACT_INT).fill_null(False)
    for row in rows.filter(fractional).to_list():
        issues.add(Issue(row, spec.name, "is not a whole number", spec.accepted))
    for row in rows.filter(huge & ~fractional).to_list():
        issues.add(Issue(row, spec.name, "is too large for a whole number", spec.accepted))
    ints = _null_where(values, fractional | huge).cast(pl.Int64)
    if spec.default is not None:
        ints = ints.fill_null(int(spec.default))
    return ints.alias(spec.name)


def _choices(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    s = _stripped(cells)
    lowered = s.str.to_lowercase().str.replace_all(r"[\s\-/]+", "_")
    return lowered.replace(VALUE_SYNONYMS).alias(spec.name)


def _mitigations(
    spec: ColumnSpec, cells: pl.Series, rows: pl.Series, decimal_comma: bool, issues: Issues
) -> pl.Series:
    s = _stripped(cells)
    parsed: dict[str, tuple[str | None, str | None]] = {}
    for text in s.drop_nulls().unique().to_list():
        tokens = [t for t in re.split(r"[;,|]", text) if t.strip()]
        normal = [normalise_choice(t) for t in tokens]
        unknown = [t.strip() for t, n in zip(tokens, normal, strict=True) if n not in MITIGATIONS]
        if unknown:
            listed = ", ".join(repr(u[:40]) for u in unknown[:3])
            parsed[text] = (None, f"names an unknown mitigation ({listed})")
        else:
            parsed[text] = (";".join(sorted(set(normal))) or None, None)
    bad_values = {text for text, (_, err) in parsed.items() if err}
    if bad_values:
        mask = s.is_in(list(bad_values)).fill_null(False)
        for row, text in zip(rows.filter(mask).to_list(), s.filter(mask).to_list(), strict=True):
            issues.add(Issue(row, spec.name, parsed[text][1] or "", spec.accepted))
    mapping = {text: value for text, (value, _) in parsed.items()}
    return s.replace_strict(mapping, default=None, return_dtype=pl.String).alias(spec.name)


_Converter = Callable[[ColumnSpec, pl.Series, pl.Series, bool, Issues], pl.Series]
_CONVERTERS: dict[str, _Converter] = {
    "str": _text,
    "id": _ident,
    "float": _floats,
    "int": _ints,
    "enum": _choices,
    "mitigations": _mitigations,
}
