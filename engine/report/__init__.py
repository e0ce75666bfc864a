"""Client and portfolio reports (PDF and HTML) and spreadsheet exports (CSV and XLSX).

API:
- :func:`render_client_report` (ctx, client_id, fmt="pdf"|"html", run_id=None, prepared=None)
  -> bytes; ``prepared`` is the date the report says it was prepared on (today by default)
- :func:`render_portfolio_report` (ctx, fmt="pdf"|"html", client_ids=None, prepared=None) -> bytes
- :func:`export_client` (ctx, client_id, fmt="csv"|"xlsx") -> bytes
- :func:`report_command` / :func:`export_command`: write the file, return its path (for the CLI)
- :func:`engine.report.safe.neutralise`: the formula-injection neutraliser for exported cells

Layout: ``facts`` reads one run's numbers once (through the facade and a few read queries in
``sql``); ``narrative`` writes the executive summary and ``advice`` the recommendations from
them; ``charts`` draws the map and charts offline (``basemap``: vendored Natural Earth outlines);
``render`` fills the Jinja2 templates (autoescaped) and lays out the PDF with WeasyPrint;
``exports`` writes the spreadsheets.
"""

from __future__ import annotations

from engine.report.commands import export_command, report_command
from engine.report.errors import ReportError
from engine.report.exports import export_client
from engine.report.render import render_client_report, render_portfolio_report

__all__ = [
    "ReportError",
    "export_client",
    "export_command",
    "render_client_report",
    "render_portfolio_report",
    "report_command",
]
