"""Client and portfolio reports: one Jinja2 template each, rendered to HTML or to PDF.

The PDF is the HTML template laid out by WeasyPrint (A4, page numbers from CSS ``@page``), so
the two formats always say the same thing. Autoescaping is on for every template and no value is
marked safe: client text (names, cities, notes) reaches the page escaped. WeasyPrint may fetch
``data:`` URIs only (the embedded figures); any other URL, local or remote, is refused, so a
report never touches the network or the file system while it renders.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from functools import cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

from engine.context import Context
from engine.report import charts
from engine.report.advice import recommendations
from engine.report.errors import ReportError
from engine.report.facts import (
    BookFacts,
    ClientFacts,
    book_facts,
    client_facts,
    region_name,
    region_phrase,
)
from engine.report.fmt import (
    band_label,
    band_scale,
    brief_refs,
    humanise,
    likelihood_phrase,
    likelihood_range,
    long_date,
    pct,
    sentence,
    usd,
    value_at_risk_note,
)
from engine.report.narrative import summarise
from scoring_rules import method

log = logging.getLogger(__name__)

Format = Literal["pdf", "html"]
TOP_ITEMS = 10
TOP_THREATS = 8


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("engine.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        usd=usd,
        pct=pct,
        long_date=long_date,
        humanise=humanise,
        region=region_name,
        place=region_phrase,
        refs=brief_refs,
        sentence=sentence,
        risk_colour=charts.risk_colour,
        category_colour=charts.category_colour,
    )
    return env


def _pdf(html: str) -> bytes:
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def warm_up() -> float:
    """Load what a first PDF pays for once per process (WeasyPrint, Pango and fontconfig, the
    report's fonts in each face, matplotlib, the decoded basemaps), so a user's first report
    does not; the seconds it took. A server calls it in the background when it starts."""
    import time

    started = time.perf_counter()
    import matplotlib.backends.backend_agg  # noqa: F401

    charts.warm_up()
    css = environment().get_template("report.css").render()
    _pdf(
        f"<html><head><style>{css}</style></head><body><h1>Warm-up</h1><p>Text, <b>bold</b>, "
        "<i>italic</i> and <code class='formula'>r = p x e</code>.</p><table><tr><th>a</th>"
        "<td>1</td></tr></table></body></html>"
    )
    return time.perf_counter() - started


def _output(template: str, context: dict[str, Any], fmt: Format) -> bytes:
    if fmt not in ("pdf", "html"):
        raise ReportError(f"report format {fmt!r} is not known; use 'pdf' or 'html'")
    html = environment().get_template(template).render(**context, fmt=fmt)
    if fmt == "html":
        return html.encode("utf-8")
    return _pdf(html)


# -- client report -------------------------------------------------------------------------------


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def client_context(facts: ClientFacts, prepared: dt.date | None = None) -> dict[str, Any]:
    """What the client template shows, worked out from the facts; ``prepared`` is the date the
    report says it was prepared on (today, UTC, by default)."""
    rules = facts.rules
    recs = recommendations(facts)
    ranked = [i for i in facts.items if i.risk > 0] or list(facts.items)
    top_items = ranked[:TOP_ITEMS]
    numbers = {i.item_id: n for n, i in enumerate(top_items, start=1) if i.kind == "asset"}
    threats = []
    total_ed = facts.expected_disruption[1]
    for t in facts.explanation.threats[:TOP_THREATS]:
        rt = facts.threats.get(t.threat_id)
        threats.append(
            {
                "driver": t,
                "range": likelihood_range(rt.p_low, rt.p_high) if rt else "",
                "severity": rt.severity if rt else None,
                "phrase": likelihood_phrase(
                    t.likelihood, t.likelihood_words, rt.p_low, rt.p_high, rules
                )
                if rt
                else t.likelihood_words,
                "attributed": t.share * total_ed,
                "region": region_name(t.main_region),
            }
        )
    rest = facts.explanation.threats[TOP_THREATS:]
    briefs = facts.register.all_briefs()
    order = [(b.id, s.id) for b in briefs for s in b.outline]
    headings = {(b.id, s.id): s.heading for b in briefs for s in b.outline}
    first = briefs[0].id
    cited = sorted(
        {(e.brief or first, e.section) for t in facts.explanation.threats for e in t.evidence},
        key=lambda k: order.index(k) if k in order else len(order),
    )
    labels = {b.id: b.label for b in briefs}
    business_value = method.business_value(rules, facts.client.business_value_usd)
    return {
        "facts": facts,
        "client": facts.client,
        "rating": facts.rating,
        "run": facts.run,
        "rules": rules,
        "register": facts.register,
        "band_label": band_label(rules, facts.rating.band),
        "bands": band_scale(rules),
        "summary": summarise(facts, recs),
        "recommendations": recs,
        "threats": threats,
        "other_threats": {"n": len(rest), "share": sum(t.share for t in rest)},
        "top_items": top_items,
        "numbers": numbers,
        "n_sites": sum(1 for i in facts.items if i.kind == "asset"),
        "n_routes": sum(1 for i in facts.items if i.kind == "route"),
        "ed": facts.expected_disruption,
        "total_value": facts.total_value,
        "scenarios": facts.scenarios,
        "map_uri": charts.exposure_map(facts, numbers),
        "chart_uri": charts.drivers_chart(facts),
        "outline": [
            ((f"{labels.get(b, b)}: " if facts.many_briefs else "") + s, headings.get((b, s), s))
            for b, s in cited
        ],
        "briefs": briefs,
        "many_briefs": facts.many_briefs,
        "yardstick": sorted(rules.likelihood.terms.items(), key=lambda kv: kv[1].low),
        "business_value": business_value,
        "stated_business_value": facts.client.business_value_usd is not None,
        "value_at_risk_note": value_at_risk_note(rules.horizon.outlook_months),
        "prepared": prepared or _today(),
    }


def render_client_report(
    ctx: Context,
    client_id: str,
    *,
    fmt: Format,
    run_id: int | None = None,
    prepared: dt.date | None = None,
) -> bytes:
    """A client-ready report on one client's rating, as PDF or HTML bytes."""
    if run_id is None:
        facts = client_facts(ctx, client_id, run_id)
        return _output("client_report.html", client_context(facts, prepared), fmt)
    return _output("client_report.html", _pinned_context(ctx, client_id, run_id, prepared), fmt)


_CONTEXTS: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()
_CONTEXTS_KEEP = 16
_CONTEXTS_LOCK = threading.Lock()


def _pinned_context(
    ctx: Context, client_id: str, run_id: int, prepared: dt.date | None
) -> dict[str, Any]:
    """The template context of one client in one run, worked out once and shared by the PDF and
    the HTML (the facts and the map and charts are most of a report's time). A run never
    changes; the scenario results it shows follow the latest scenario change, so that is in the
    key too. Keyed by the client: callers check the caller's scope first, as for any report."""
    latest_scenario = ctx.store.one("SELECT max(event_id) FROM scenario_events")
    day = prepared or _today()
    key = (str(ctx.db_path.resolve()), run_id, client_id, day, latest_scenario)
    with _CONTEXTS_LOCK:
        found = _CONTEXTS.get(key)
        if found is not None:
            _CONTEXTS.move_to_end(key)
            return found
    made = client_context(client_facts(ctx, client_id, run_id), day)
    with _CONTEXTS_LOCK:
        _CONTEXTS[key] = made
        while len(_CONTEXTS) > _CONTEXTS_KEEP:
            _CONTEXTS.popitem(last=False)
    return made


# -- portfolio report ----------------------------------------------------------------------------


def book_context(book: BookFacts, prepared: dt.date | None = None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in book.rows:
        counts[row.rating.band] = counts.get(row.rating.band, 0) + 1
    moved = [
        (r, r.rating.score - float(r.previous["score"]))
        for r in book.rows
        if r.previous is not None
    ]
    moved.sort(key=lambda m: (-abs(m[1]), m[0].rating.client_id))
    movers = [{"row": r, "delta": delta} for r, delta in moved]
    return {
        "book": book,
        "run": book.run,
        "rules": book.rules,
        "register": book.register,
        "bands": band_scale(book.rules),
        "band_counts": counts,
        "movers": movers,
        "regions": [r for r in book.regions if r.kind != "chokepoint"][:10],
        "chokepoints": book.chokepoints[:8],
        "chart_uri": charts.concentration_chart(book.regions),
        "value_at_risk_note": value_at_risk_note(book.rules.horizon.outlook_months),
        "prepared": prepared or _today(),
    }


def render_portfolio_report(
    ctx: Context,
    *,
    fmt: Format,
    client_ids: list[str] | None = None,
    prepared: dt.date | None = None,
) -> bytes:
    """The account manager's book (or the chosen clients): ranking, movers, concentrations."""
    book = book_facts(ctx, client_ids)
    return _output("portfolio_report.html", book_context(book, prepared), fmt)
