"""Benchmark of the client report: render one client's PDF on the demo book.

    python bench/report_bench.py [--client meridian-basin-petroleum] [--repeat 3]

Loads the demo book into a temporary database and scores it, then renders the client's PDF
report. Prints ``key: value`` lines:

  report_import_s       importing the renderers (WeasyPrint with Pango and fontconfig, matplotlib)
  report_pdf_first_s    the first render in this process: the four scenario runs scored on
                        demand, fonts loaded, caches filled
  report_pdf_s          median of the following renders (what a user waits for)
  report_html_s         median HTML render (same numbers and figures, no layout)
  report_pdf_pages      pages in the PDF
  report_pdf_kb         size of the PDF
  target_report_pdf_s   3       (target: report_pdf_s <= 3 s)
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.book import load_demo
from engine.context import Context
from engine.report import render_client_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", default="meridian-basin-petroleum")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context(Path(tmp) / "r.duckdb")
        load_demo(ctx)
        ctx.current_run()

        started = time.perf_counter()
        import matplotlib.backends.backend_agg  # noqa: F401
        import weasyprint  # noqa: F401

        imported = time.perf_counter() - started
        started = time.perf_counter()
        pdf = render_client_report(ctx, args.client, fmt="pdf")
        first = time.perf_counter() - started

        pdf_times, html_times = [], []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            pdf = render_client_report(ctx, args.client, fmt="pdf")
            pdf_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            render_client_report(ctx, args.client, fmt="html")
            html_times.append(time.perf_counter() - started)
        ctx.close()

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"report_import_s: {imported:.2f}")
    print(f"report_pdf_first_s: {first:.2f}")
    print(f"report_pdf_s: {statistics.median(pdf_times):.2f}")
    print(f"report_html_s: {statistics.median(html_times):.2f}")
    print(f"report_pdf_pages: {pages}")
    print(f"report_pdf_kb: {len(pdf) / 1024:.0f}")
    print("target_report_pdf_s: 3")


if __name__ == "__main__":
    main()
