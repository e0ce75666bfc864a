"""Errors of the reports and exports (part of the product's one exception tree)."""

from __future__ import annotations

from engine.errors import ResilienceError


class ReportError(ResilienceError):
    """A report or export cannot be produced or written as asked (format, path...)."""
