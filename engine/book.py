"""Load a book of clients from files: a clients YAML, an assets CSV and a routes CSV.

The demo book (engine/demo/) is one such book. Each client's assets and routes become its first
exposure version.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import yaml
from pydantic import ValidationError

from engine.context import Context
from engine.errors import ExposureError
from engine.models import ClientSpec
from engine.store import Scope
from scoring_rules.threats import format_validation_error

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).parent / "demo"


def _read_csv(path: Path) -> pl.DataFrame:
    if not path.exists():
        return pl.DataFrame({"client_id": []}, schema={"client_id": pl.String})
    return pl.read_csv(path, infer_schema=False)


def load_book(ctx: Context, directory: Path) -> list[str]:
    """Create or update every client of the book and load its exposures as a new version."""
    doc = yaml.safe_load((directory / "clients.yaml").read_text("utf-8"))
    specs = []
    for i, item in enumerate(doc or []):
        try:
            specs.append(ClientSpec.model_validate(item))
        except ValidationError as exc:
            raise ExposureError(
                format_validation_error(f"{directory / 'clients.yaml'}[{i}]", exc)
            ) from exc
    assets = _read_csv(directory / "assets.csv")
    routes = _read_csv(directory / "routes.csv")
    known = {s.client_id for s in specs}
    for frame, name in ((assets, "assets.csv"), (routes, "routes.csv")):
        unknown = set(frame["client_id"].to_list()) - known
        if unknown:
            raise ExposureError(
                f"{directory / name}: client_id {sorted(unknown)[0]!r} is not in clients.yaml"
            )
    for spec in specs:
        ctx.upsert_client(spec)
        a = assets.filter(pl.col("client_id") == spec.client_id).drop("client_id")
        r = routes.filter(pl.col("client_id") == spec.client_id).drop("client_id")
        version = ctx.load_exposures(
            spec.client_id, a, r, note=f"loaded from {directory.name}", source=str(directory)
        )
        log.info(
            "loaded %s: %d assets, %d routes (version %d)",
            spec.client_id,
            a.height,
            r.height,
            version,
        )
    return [s.client_id for s in specs]


def demo_client_ids() -> list[str]:
    """The client ids of the demo book, in file order."""
    doc = yaml.safe_load((DEMO_DIR / "clients.yaml").read_text("utf-8")) or []
    return [str(c["client_id"]) for c in doc]


def load_demo(ctx: Context, *, reload: bool = False) -> list[str]:
    """Load the demo book; when it is already there, leave it as it is unless ``reload``."""
    ctx.init()
    if not reload:
        wanted = set(demo_client_ids())
        present = {
            c.client_id
            for c in ctx.clients(scope=Scope.everything())
            if ctx.exposure_version(c.client_id)
        }
        if wanted <= present:
            log.info("the demo book is already loaded")
            return sorted(wanted)
    return load_book(ctx, DEMO_DIR)
