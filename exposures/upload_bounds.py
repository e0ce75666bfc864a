"""The bounds on uploaded numbers (value, headcount, criticality...), from a rules file.

``scoring_rules/data/upload_bounds.yaml`` states, per kind and column, the smallest and largest
value an upload may carry; the upload check rejects a row outside them with a message that names
the row, the column and the bound. The file is checked here with pydantic (``extra="forbid"``),
so a typo is an error that names the key.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import RuleError

# the analysts' file stays with the other rules files; this module sits below scoring_rules (the
# upload check needs it), so it reads the file by its path
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "scoring_rules" / "data" / "upload_bounds.yaml"


class Bound(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class AssetBounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value_usd: Bound
    headcount: Bound
    criticality: Bound


class RouteBounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    annual_value_usd: Bound
    shipments_per_year: Bound
    criticality: Bound


class Defaults(BaseModel):
    """Values a row may leave empty, and what they become."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # An item's criticality decides whether it counts as a critical item in the rating (the
    # rules' worst_item_min_criticality), so its default is an analyst's choice, kept here.
    criticality: int = Field(ge=1, le=5)


class UploadBounds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    assets: AssetBounds
    routes: RouteBounds
    defaults: Defaults

    def as_dict(self) -> dict[str, tuple[float | None, float | None]]:
        """``"assets.value_usd" -> (min, max)`` for every bounded column."""
        out: dict[str, tuple[float | None, float | None]] = {}
        for kind in ("assets", "routes"):
            section = getattr(self, kind)
            for name in type(section).model_fields:
                b: Bound = getattr(section, name)
                out[f"{kind}.{name}"] = (b.min, b.max)
        return out


@cache
def load_upload_bounds(path: Path = DEFAULT_PATH) -> UploadBounds:
    """The bounds file, checked; ``RuleError`` names the file, the key and the fix."""
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: cannot be read as YAML ({exc})") from None
    try:
        return UploadBounds.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleError(
            f"{path}, {where}: {first['msg']} (each bound is {{min: NUMBER, max: NUMBER}})"
        ) from None


def default_criticality() -> int:
    """The criticality of an item whose row gives none (upload_bounds.yaml, defaults)."""
    return load_upload_bounds().defaults.criticality
