"""A client's scores and items as CSV or XLSX, safe to open in a spreadsheet.

Every text cell loses its control and bidi characters (:func:`engine.text.clean`), then goes
through :func:`engine.report.safe.neutralise` (a leading apostrophe on text that could start a
formula). The XLSX is written with xlsxwriter told never to turn strings into
formulas, links or numbers, and every cell is written with the writer for its type, so numbers
stay numbers and no cell holds a formula or a hyperlink.

CSV: one row per item (the client's rating repeated on each row), UTF-8 with a byte-order mark so
spreadsheet applications read accents correctly, text quoted, numbers bare.
XLSX: sheet "Items" (as the CSV), sheet "Threat drivers", sheet "Rating" (the rating and the
versions that reproduce it).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any, Literal

from engine.context import Context
from engine.report.errors import ReportError
from engine.report.facts import ClientFacts, client_facts, region_name
from engine.report.fmt import brief_refs
from engine.report.safe import neutralise
from engine.text import clean

ExportFormat = Literal["csv", "xlsx"]

ITEM_COLUMNS: tuple[str, ...] = (
    "run_id",
    "as_of",
    "client_id",
    "client_name",
    "client_band",
    "client_score",
    "item_kind",
    "item_id",
    "name",
    "type",
    "city",
    "country",
    "origin",
    "destination",
    "lat",
    "lon",
    "value_usd",
    "criticality",
    "service_id",
    "service_name",
    "tolerance_days",
    "mitigations",
    "risk_low",
    "risk",
    "risk_high",
    "expected_disruption_usd",
    "top_threat_id",
    "top_threat_title",
    "top_threat_category",
    "region_id",
    "region_name",
)
DRIVER_COLUMNS: tuple[str, ...] = (
    "threat_id",
    "title",
    "category",
    "likelihood",
    "likelihood_words",
    "p_low",
    "p_high",
    "share",
    "attributed_usd",
    "main_region_id",
    "main_region_name",
    "brief_references",
    "summary",
)
MONEY = {"value_usd", "expected_disruption_usd", "attributed_usd"}
SHARES = {"risk_low", "risk", "risk_high", "share", "p_low", "p_high"}


def item_rows(facts: ClientFacts) -> list[dict[str, Any]]:
    r = facts.rating
    rows = []
    for i in facts.items:
        threat = facts.threats.get(i.top_threat) if i.top_threat else None
        rows.append(
            {
                "run_id": facts.run.run_id,
                "as_of": facts.run.as_of.isoformat(),
                "client_id": facts.client.client_id,
                "client_name": facts.client.name,
                "client_band": r.band,
                "client_score": round(r.score, 2),
                "item_kind": i.kind,
                "item_id": i.item_id,
                "name": i.name,
                "type": i.item_type,
                "city": i.city,
                "country": i.country_iso3 or i.country,
                "origin": i.origin,
                "destination": i.destination,
                "lat": i.lat,
                "lon": i.lon,
                "value_usd": i.value_usd,
                "criticality": i.criticality,
                "service_id": i.service_id,
                "service_name": i.service_name,
                "tolerance_days": i.tolerance_days,
                "mitigations": ";".join(i.mitigations) or None,
                "risk_low": round(i.risk_low, 6),
                "risk": round(i.risk, 6),
                "risk_high": round(i.risk_high, 6),
                "expected_disruption_usd": round(i.expected_disruption_usd, 2),
                "top_threat_id": i.top_threat,
                "top_threat_title": threat.title if threat else None,
                "top_threat_category": threat.category if threat else None,
                "region_id": i.top_region,
                "region_name": region_name(i.top_region) if i.top_region else None,
            }
        )
    return rows


def driver_rows(facts: ClientFacts) -> list[dict[str, Any]]:
    total = facts.expected_disruption[1]
    rows = []
    for t in facts.explanation.threats:
        rt = facts.threats.get(t.threat_id)
        rows.append(
            {
                "threat_id": t.threat_id,
                "title": t.title,
                "category": t.category,
                "likelihood": t.likelihood,
                "likelihood_words": t.likelihood_words,
                "p_low": rt.p_low if rt else None,
                "p_high": rt.p_high if rt else None,
                "share": round(t.share, 6),
                "attributed_usd": round(t.share * total, 2),
                "main_region_id": t.main_region,
                "main_region_name": region_name(t.main_region),
                "brief_references": brief_refs(t.evidence, facts.many_briefs),
                "summary": t.evidence[0].summary if t.evidence else None,
            }
        )
    return rows


def rating_rows(facts: ClientFacts) -> list[tuple[str, Any]]:
    r, run = facts.rating, facts.run
    low, central, high = facts.expected_disruption
    return [
        ("client_id", facts.client.client_id),
        ("client_name", facts.client.name),
        ("band", r.band),
        ("band_range", f"{r.band_low} to {r.band_high}"),
        ("score", round(r.score, 4)),
        ("score_low", round(r.score_low, 4)),
        ("score_high", round(r.score_high, 4)),
        ("risk", round(r.risk, 6)),
        ("expected_disruption_usd", round(central, 2)),
        ("expected_disruption_low_usd", round(low, 2)),
        ("expected_disruption_high_usd", round(high, 2)),
        ("total_value_usd", r.total_value_usd),
        ("items", r.n_items),
        ("as_of", run.as_of.isoformat()),
        ("run_id", run.run_id),
        ("register_version", run.register_version),
        ("register_title", facts.register.title),
        ("rules_version", run.rules_version),
        ("rules_label", facts.rules.version),
        ("exposure_version", r.exposure_version),
    ]


def _clean(value: Any) -> Any:
    """A cell as written: non-finite numbers blank; text without control or bidi characters
    (an ESC sequence or U+202E would act in a terminal or reorder the cell), then neutralised."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        value = clean(value, multiline=True)
    return neutralise(value)


def _csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else _clean(row[c]) for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _xlsx(facts: ClientFacts) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": False,
        },
    )
    book.set_properties({"title": "Operational resilience export", "comments": "no formulas"})
    head = book.add_format(
        {
            "bold": True,
            "bg_color": "#1F3A5F",
            "font_color": "#FFFFFF",
            "text_wrap": True,
            "valign": "top",
        }
    )
    money = book.add_format({"num_format": "#,##0"})
    share = book.add_format({"num_format": "0.0%"})

    def table(name: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
        sheet = book.add_worksheet(name)
        for c, col in enumerate(columns):
            sheet.write_string(0, c, col, head)
            width = 14 if col in MONEY | SHARES else min(40, max(10, len(col) + 2))
            sheet.set_column(
                c, c, width, money if col in MONEY else share if col in SHARES else None
            )
        for r, row in enumerate(rows, start=1):
            for c, col in enumerate(columns):
                _write(sheet, r, c, _clean(row[col]))
        sheet.freeze_panes(1, 0)
        if rows:
            sheet.autofilter(0, 0, len(rows), len(columns) - 1)

    table("Items", item_rows(facts), ITEM_COLUMNS)
    table("Threat drivers", driver_rows(facts), DRIVER_COLUMNS)
    sheet = book.add_worksheet("Rating")
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 60)
    for r, (key, value) in enumerate(rating_rows(facts)):
        sheet.write_string(r, 0, key)
        _write(sheet, r, 1, _clean(value))
    book.close()
    return out.getvalue()


def _write(sheet: Any, row: int, col: int, value: Any) -> None:
    """One cell, with the writer for its type: never ``write()``, which guesses."""
    if value is None:
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))


def export_client(
    ctx: Context, client_id: str, fmt: ExportFormat, *, run_id: int | None = None
) -> bytes:
    """A client's rating and items (with risk, top threat and region) as CSV or XLSX bytes."""
    if fmt not in ("csv", "xlsx"):
        raise ReportError(f"export format {fmt!r} is not known; use 'csv' or 'xlsx'")
    facts = client_facts(ctx, client_id, run_id, scenarios=False)
    if fmt == "csv":
        return _csv(item_rows(facts), ITEM_COLUMNS)
    return _xlsx(facts)
