"""The bounds on uploaded numbers: defined in ``exposures.upload_bounds`` (the upload check, below
this package, needs them); these names stay importable from here."""

from __future__ import annotations

from exposures.upload_bounds import (
    DEFAULT_PATH,
    AssetBounds,
    Bound,
    Defaults,
    RouteBounds,
    UploadBounds,
    default_criticality,
    load_upload_bounds,
)

__all__ = [
    "DEFAULT_PATH",
    "AssetBounds",
    "Bound",
    "Defaults",
    "RouteBounds",
    "UploadBounds",
    "default_criticality",
    "load_upload_bounds",
]
