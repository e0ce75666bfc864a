"""The demo book: fictional clients, their sites and sea routes, for demos and tests.

The data files sit beside this module (``clients.yaml``, ``assets.csv``, ``routes.csv``); see
``README.md`` here for what each client is and why the January 2020 US–Iran brief matters to it.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR: Path = Path(__file__).resolve().parent
CLIENTS_FILE: Path = DEMO_DIR / "clients.yaml"
ASSETS_FILE: Path = DEMO_DIR / "assets.csv"
ROUTES_FILE: Path = DEMO_DIR / "routes.csv"
