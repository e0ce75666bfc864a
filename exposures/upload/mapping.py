"""Map the user's headers onto the canonical columns; templates and column documentation.

Headers are matched on a normal form (case, spaces, underscores and punctuation ignored) against
each column's known variants; an explicit mapping ``{user header: canonical}`` wins. Headers are
data, never identifiers: a header that looks like SQL or holds control characters is ignored
with a message, and duplicate headers that would feed one column are refused.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from exposures.upload.report import UploadRefused
from exposures.upload.schema import ColumnSpec, columns, id_column

MAX_HEADER_LENGTH = 100
_UNSAFE_HEADER = re.compile(r"[;\"`\\]|--|/\*|\*/")
_SQL_WORDS = re.compile(
    r"\b(select|insert|update|delete|drop|alter|create|truncate|union|exec|execute|grant)\b"
    r".*\b(from|into|table|set|select|all|database|schema|to)\b",
    re.IGNORECASE | re.DOTALL,
)


def normalise_header(header: str) -> str:
    """Case-, space-, underscore- and punctuation-insensitive form of a header."""
    text = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in text if ch.isalnum())


_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
_UNIT_WORDS = re.compile(
    r"(?:\s|^)(?:in\s+)?(?:usd|us\$|\$|us\s+dollars|dollars|eur|km|deg|degrees|1\s*-\s*5|"
    r"per\s+cent|%|\?)\s*$"
)
_FILLER_WORDS = re.compile(r"\b(?:of|the|a|no|number|num|nr)\b")


def header_variants(header: str) -> list[str]:
    """Normal forms of a header to look up, most literal first: as written; without units in
    brackets or at the end (``Critical (1-5)``, ``Replacement value USD``); without filler words
    (``Type of site`` -> ``typesite``)."""
    text = unicodedata.normalize("NFKC", header).casefold().strip()
    out = [normalise_header(text)]
    bare = _BRACKETS.sub(" ", text).strip()
    for _ in range(3):
        shorter = _UNIT_WORDS.sub("", bare).strip()
        if shorter == bare:
            break
        bare = shorter
    out.append(normalise_header(bare))
    out.append(normalise_header(_FILLER_WORDS.sub(" ", bare)))
    return [v for i, v in enumerate(out) if v and v not in out[:i]]


def _lookup(aliases: dict[str, str], header: str) -> str | None:
    for variant in header_variants(header):
        if variant in aliases:
            return aliases[variant]
    return None


@dataclass
class ColumnMap:
    """Which column of the user's file feeds each canonical column."""

    kind: str
    headers: list[str]
    by_canonical: dict[str, int] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    name_from_id: bool = False  # no name column: the ids are the names
    flags: dict[str, int] = field(default_factory=dict)  # mitigation -> its yes/no column

    def header_of(self, canonical: str) -> str | None:
        index = self.by_canonical.get(canonical)
        return None if index is None else self.headers[index]

    def as_dict(self) -> dict[str, str]:
        """user's header -> canonical column (a yes/no mitigation column -> mitigations:NAME)."""
        out = {self.headers[i]: name for name, i in self.by_canonical.items()}
        out.update({self.headers[i]: f"mitigations:{m}" for m, i in self.flags.items()})
        return out


def _aliases(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for spec in columns(kind):
        table[normalise_header(spec.name)] = spec.name
        for alias in spec.aliases:
            table.setdefault(alias, spec.name)
    return table


# yes/no columns that state one mitigation ("Backup site?": Yes) -> that mitigation
MITIGATION_FLAGS: dict[str, str] = {
    "backupsite": "backup_site",
    "backup": "backup_site",
    "hasbackupsite": "backup_site",
    "backuplocation": "backup_site",
    "drsite": "backup_site",
    "continuityplan": "continuity_plan",
    "bcp": "continuity_plan",
    "businesscontinuityplan": "continuity_plan",
    "testedcontinuityplan": "continuity_plan",
    "cybercertification": "cyber_certification",
    "cybercertified": "cyber_certification",
    "iso27001": "cyber_certification",
    "insured": "insurance",
    "insurance": "insurance",
}


def mitigation_flag(header: str) -> str | None:
    """The mitigation a yes/no header states (``Backup site?`` -> backup_site), or None."""
    for variant in header_variants(header):
        if variant in MITIGATION_FLAGS:
            return MITIGATION_FLAGS[variant]
    return None


def unsafe_header_reason(header: str) -> str | None:
    """Why a header cannot be used (SQL-looking, control characters, too long), or None."""
    if len(header) > MAX_HEADER_LENGTH:
        return f"is longer than {MAX_HEADER_LENGTH} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in header):
        return "contains control or invisible characters"
    bad = _UNSAFE_HEADER.search(header)
    if bad:
        return f"contains {bad.group(0)!r}, which is not allowed in a column name"
    if _SQL_WORDS.search(header):
        return "looks like an SQL statement, not a column name"
    return None


def _show(header: str) -> str:
    text = repr(header)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(header: str, kind: str) -> str | None:
    """The canonical column a misspelt header most likely means, or None."""
    from rapidfuzz import fuzz, process

    aliases = _aliases(kind)
    found = _lookup(aliases, header)
    if found:
        return found
    key = header_variants(header)[-1] if header_variants(header) else ""
    if len(key) < 3:
        return None
    best = process.extractOne(key, list(aliases), scorer=fuzz.ratio, score_cutoff=75)
    return aliases[best[0]] if best else None


def suggestions(headers: list[str], cmap: ColumnMap) -> dict[str, str]:
    """For each header that was not mapped: the canonical column it probably means."""
    out: dict[str, str] = {}
    for i in cmap.ignored:
        header = headers[i]
        if not header.strip() or unsafe_header_reason(header):
            continue
        guess = suggest(header, cmap.kind)
        if guess and guess not in cmap.by_canonical:
            out[header] = guess
    return out


def map_columns(
    headers: list[str],
    kind: str,
    mapping: dict[str, str | None] | None = None,
    *,
    ids_only: bool = False,
) -> ColumnMap:
    """Match ``headers`` to the canonical columns of ``kind``.

    ``mapping`` maps a user header to a canonical column (or to None to ignore the column); it
    wins over the automatic match. Raises ``UploadRefused`` when a required column is missing,
    two headers feed one column, or the mapping names a header or column that does not exist.
    """
    specs = {s.name: s for s in columns(kind)}
    aliases = _aliases(kind)
    result = ColumnMap(kind=kind, headers=list(headers))
    errors: list[str] = []
    explicit: dict[int, str | None] = {}
    for user, canonical in (mapping or {}).items():
        reason = unsafe_header_reason(user)
        if reason:
            errors.append(f"mapping: the header {_show(user)} {reason}")
            continue
        if canonical is not None and canonical not in specs:
            errors.append(
                f"mapping: {canonical!r} is not a column of {kind}; accepted: {', '.join(specs)}"
            )
            continue
        matches = [i for i, h in enumerate(headers) if h == user]
        if not matches:
            matches = [
                i for i, h in enumerate(headers) if h.strip().casefold() == user.strip().casefold()
            ]
        if not matches:
            errors.append(
                f"mapping: the file has no header {_show(user)}; its headers are "
                + ", ".join(_show(h) for h in headers[:30])
            )
            continue
        for i in matches:
            explicit[i] = canonical
    if errors:
        raise UploadRefused(errors)

    claims: dict[str, list[int]] = {}
    unknown: list[int] = []
    for i, header in enumerate(headers):
        col = f"column {i + 1}"
        if i in explicit:
            target = explicit[i]
            if target is None:
                result.ignored.append(i)
            else:
                claims.setdefault(target, []).append(i)
            continue
        if not header.strip():
            result.ignored.append(i)
            result.warnings.append(f"{col} has no header; its values were ignored")
            continue
        reason = unsafe_header_reason(header)
        if reason:
            result.ignored.append(i)
            result.warnings.append(f"{col} header {_show(header)} {reason}; the column was ignored")
            continue
        target = _lookup(aliases, header)
        if target is None:
            flag = mitigation_flag(header) if kind == "assets" else None
            if flag is not None and flag not in result.flags:
                result.flags[flag] = i
                continue
            unknown.append(i)
            continue
        claims.setdefault(target, []).append(i)

    explicit_targets = {t for t in explicit.values() if t is not None}
    for canonical, idxs in claims.items():
        if len(idxs) > 1 and canonical in explicit_targets:
            keep = [i for i in idxs if explicit.get(i) == canonical]
            for i in idxs:
                if i not in keep:
                    result.ignored.append(i)
                    result.warnings.append(
                        f"column {i + 1} {_show(headers[i])} was ignored: the mapping feeds "
                        f"{canonical} from {_show(headers[keep[0]])}"
                    )
            idxs = keep
        if len(idxs) > 1:
            listed = " and ".join(f"column {i + 1} {_show(headers[i])}" for i in idxs)
            errors.append(
                f"{listed} both map to {canonical}; remove or rename one, or pass a mapping "
                "that says which to use"
            )
            continue
        result.by_canonical[canonical] = idxs[0]

    for i in unknown:
        result.ignored.append(i)
        guess = suggest(headers[i], kind)
        hint = ""
        if guess and guess not in result.by_canonical:
            hint = f"; did you mean {guess}? (pass --map {_show(headers[i] + '=' + guess)})"
        result.warnings.append(
            f"column {i + 1} {_show(headers[i])} is not a known {kind} column and was ignored"
            + hint
        )

    key = id_column(kind)
    unsafe_ignored = any("the column was ignored" in w for w in result.warnings)
    if (
        not ids_only
        and not unsafe_ignored
        and "name" not in result.by_canonical
        and "name" not in claims
        and key in result.by_canonical
    ):
        result.name_from_id = True
        result.warnings.append(
            f"the file has no name column; each row's {key} "
            f"({_show(headers[result.by_canonical[key]])}) is used as its name"
        )
    for spec in specs.values():
        if ids_only and spec.name != key:
            continue
        if spec.name == "name" and result.name_from_id:
            continue
        if spec.required and spec.name not in result.by_canonical and spec.name not in claims:
            candidates = [headers[i] for i in unknown if suggest(headers[i], kind) == spec.name]
            if candidates:
                hint = (
                    f"; the column {_show(candidates[0])} may be it: rename it or pass "
                    f"--map {_show(candidates[0] + '=' + spec.name)}"
                )
            elif spec.name == key and "name" in result.by_canonical:
                named = headers[result.by_canonical["name"]]
                hint = (
                    f"; add a column of ids, or use the names as ids with "
                    f"--map {_show(named + '=' + key)}"
                )
            else:
                hint = f"; add a column named {spec.name}, or pass --map 'HEADER={spec.name}'"
            errors.append(f"the required column {spec.name} is missing{hint}")
    if errors:
        raise UploadRefused(errors, result.warnings)
    result.ignored.sort()
    return result


# --------------------------------------------------------------------------------------------
# Templates and documentation


def column_docs(kind: str) -> list[dict[str, str]]:
    """One entry per canonical column: name, required, type, accepted values, example, doc."""
    return [
        {
            "column": spec.name,
            "required": "yes" if spec.required else "no",
            "type": _type_label(spec),
            "accepted": spec.accepted,
            "example": spec.example,
            "description": spec.doc,
            "also_recognised": ", ".join(spec.aliases[:8]),
        }
        for spec in columns(kind)
    ]


def _type_label(spec: ColumnSpec) -> str:
    return {
        "str": "text",
        "id": "text (id)",
        "float": "number",
        "int": "whole number",
        "enum": "one of a list",
        "mitigations": "list",
    }[spec.type]


def template_csv(kind: str) -> bytes:
    """A UTF-8 CSV template: the header row and one example row."""
    specs = columns(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([s.name for s in specs])
    writer.writerow([s.example for s in specs])
    return out.getvalue().encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    """An XLSX template: the header row and an example row, and a sheet describing each column.

    Every cell is written as a string or a number explicitly: nothing becomes a formula or a link.
    """
    import xlsxwriter

    specs = columns(kind)
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(kind)
    for c, spec in enumerate(specs):
        sheet.write_string(0, c, spec.name, bold)
        if spec.type in ("float", "int"):
            sheet.write_number(1, c, float(spec.example))
        else:
            sheet.write_string(1, c, spec.example)
        sheet.set_column(c, c, max(12, len(spec.name) + 2))
    docs = column_docs(kind)
    about = book.add_worksheet("columns")
    keys = list(docs[0])
    for c, key in enumerate(keys):
        about.write_string(0, c, key, bold)
    for r, doc in enumerate(docs, start=1):
        for c, key in enumerate(keys):
            about.write_string(r, c, doc[key])
    about.set_column(0, 0, 20)
    about.set_column(3, 3, 60)
    about.set_column(5, 5, 80)
    book.close()
    return buf.getvalue()


def templates(kind: str, fmt: str = "csv") -> bytes:
    """The upload template for ``kind`` as ``csv`` or ``xlsx`` bytes."""
    if fmt == "csv":
        return template_csv(kind)
    if fmt == "xlsx":
        return template_xlsx(kind)
    raise UploadRefused(f"unknown template format {fmt!r}; accepted: csv, xlsx")
