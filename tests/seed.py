"""Where the tests find the seed brief: ../shared/seeds beside the checkout (CI lays it there),
or the folder named by RESILIENCE_SEED_DIR. Its text is never copied into the repository."""

from __future__ import annotations

import os
from pathlib import Path

SEED_NAME = "000_1229fbeb5111b044.txt"


def seed_path() -> Path:
    base = os.environ.get("RESILIENCE_SEED_DIR")
    seeds = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "seeds"
    return seeds / SEED_NAME
