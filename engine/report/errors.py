"""Errors of the reports and exports (``core.errors``, the product's one exception tree)."""

from __future__ import annotations

from core.errors import ReportError

__all__ = ["ReportError"]
