"""The consoles the command line prints through: every string is shown as the text it holds.

Rich reads ``[bold]``, ``[link=...]`` and ``:emoji:`` codes in printed strings as markup. Client
names, threat titles, file warnings and error messages contain user text, so a ``SafeConsole``
never interprets markup or emoji codes in any string it renders (printed, or in a table cell,
title or caption) and removes control and bidi characters from it first (``engine.text.clean``).
Styling comes only from ``styled``/``Text`` pieces the code builds itself.
"""

from __future__ import annotations

import logging
from typing import Any

from rich.console import Console
from rich.style import Style
from rich.text import Text

from engine.text import clean


class SafeConsole(Console):
    """A Rich console that renders every string literally, without control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        kwargs.setdefault("soft_wrap", True)
        super().__init__(markup=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(clean(text, multiline=True), **kwargs)


def styled(*parts: str | tuple[str, str | Style]) -> Text:
    """One line from pieces: a plain string, or ``(text, style)``; each piece is cleaned and
    shown literally (``Text.assemble`` never parses markup)."""
    pieces: list[str | tuple[str, str | Style]] = []
    for part in parts:
        if isinstance(part, tuple):
            pieces.append((clean(part[0], multiline=True), part[1]))
        else:
            pieces.append(clean(part, multiline=True))
    return Text.assemble(*pieces)


class CleanFormatter(logging.Formatter):
    """Log lines on the terminal without control characters (a logged name may hold ESC)."""

    def format(self, record: logging.LogRecord) -> str:
        return clean(super().format(record), multiline=True)
