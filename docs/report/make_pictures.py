"""Write the pages of the demo reports as PNGs beside this file (docs/report/).

    .venv/bin/python docs/report/make_pictures.py [--client meridian-basin-petroleum] [--dpi 110]

Loads the demo book into a temporary database, renders the client's PDF report and the
portfolio PDF, and turns each page into ``<client>-page-N.png`` and ``portfolio-page-N.png``
with ``pdftoppm`` (poppler-utils; only these pictures need it). Pictures of pages a report no
longer has are removed, so the folder always shows the reports as they are.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def pages(pdf: bytes, stem: str, dpi: int, work: Path) -> list[Path]:
    source = work / f"{stem}.pdf"
    source.write_bytes(pdf)
    for old in HERE.glob(f"{stem}-page-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(HERE / f"{stem}-page")], check=True
    )
    made = sorted(HERE.glob(f"{stem}-page-*.png"))
    for path in made:  # pdftoppm pads the number to the page count's width: 1, not 01
        number = path.stem.rsplit("-", 1)[1]
        plain = HERE / f"{stem}-page-{int(number)}.png"
        if plain != path:
            path.rename(plain)
    return sorted(HERE.glob(f"{stem}-page-*.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", default="meridian-basin-petroleum")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm is missing: apt-get install -y poppler-utils")
    from engine.book import load_demo
    from engine.context import Context
    from engine.report import render_client_report, render_portfolio_report

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with Context(work / "r.duckdb") as ctx:
            load_demo(ctx)
            client = render_client_report(ctx, args.client, fmt="pdf")
            portfolio = render_portfolio_report(ctx, fmt="pdf")
        for pdf, stem in ((client, args.client), (portfolio, "portfolio")):
            for path in pages(pdf, stem, args.dpi, work):
                print(path.relative_to(HERE.parents[1]))


if __name__ == "__main__":
    main()
