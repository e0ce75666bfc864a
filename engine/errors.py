"""The engine's errors: the product's one exception tree lives in ``core.errors``; these names
stay importable from here."""

from __future__ import annotations

from core.errors import (
    AccessDenied,
    CheckerBusy,
    ConflictError,
    ExposureError,
    NotFoundError,
    ResilienceError,
    RuleError,
    StaleDraft,
    StoreBusy,
    StoreError,
)

__all__ = [
    "AccessDenied",
    "CheckerBusy",
    "ConflictError",
    "ExposureError",
    "NotFoundError",
    "ResilienceError",
    "RuleError",
    "StaleDraft",
    "StoreBusy",
    "StoreError",
]
