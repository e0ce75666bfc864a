"""Client uploads: bytes -> validated canonical frames and a row-level report.

- ``readers``: sniff and read CSV / XLSX / Parquet into strings, refusing hostile files
- ``mapping``: user headers -> canonical columns; templates and column docs
- ``convert`` / ``validate``: typed columns, the Great Expectations suites, problems
- ``pipeline.check_upload``: the pure pipeline (in-process)
- ``sandbox.prepare_upload``: the same in a child process with memory and time limits; the
  only entry point the server uses on untrusted bytes

Nothing heavy is imported here, so the sandbox child starts lean.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "prepare_upload": "exposures.upload.sandbox",
    "check_upload": "exposures.upload.pipeline",
    "PreparedUpload": "exposures.upload.pipeline",
    "ValidationReport": "exposures.upload.report",
    "Problem": "exposures.upload.report",
    "UploadRefused": "exposures.upload.report",
    "templates": "exposures.upload.mapping",
    "template_csv": "exposures.upload.mapping",
    "template_xlsx": "exposures.upload.mapping",
    "column_docs": "exposures.upload.mapping",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Lazy exports: ``from exposures.upload import prepare_upload`` imports only what it needs."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'exposures.upload' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
