"""User and brief text made safe to show: control characters and bidi controls removed.

Client names, item names, threat titles and brief summaries come from outside (a client's upload,
an analyst's brief). Shown on a terminal, an ESC byte starts an escape sequence (colours, cursor
moves, hidden hyperlinks); bidirectional controls (U+202E and friends) reorder what the reader
sees ("Trojan Source"). ``clean`` removes both, so the text shows as the characters it holds:

* C0 controls (U+0000-U+001F) and DEL (U+007F), except that line feed and tab are kept when
  ``multiline`` is asked for; otherwise a line break or tab becomes one space;
* C1 controls (U+0080-U+009F), which some terminals read as escape sequences (U+009B is CSI);
* bidirectional formatting controls: U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069;
* the line and paragraph separators U+2028 and U+2029 (a space, or a line feed in multiline).

Markup is a separate concern of each front end: the CLI prints with Rich markup off
(``engine.cli``), the app escapes Markdown (``app.ui.plain``), HTML reports escape HTML.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Removed outright: C0 controls but tab, LF, CR; DEL; C1 controls; bidi controls.
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI_CONTROLS + "]")
_BREAKS = re.compile("\r\n|[\r\n\t\u2028\u2029]")
_MULTILINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029]")


# The same characters as a Rust (polars) regex class, for whole text columns at once.
POLARS_DROP = (
    r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x{9F}\x{61C}\x{200E}\x{200F}\x{202A}-\x{202E}"
    r"\x{2066}-\x{2069}]"
)
POLARS_BREAKS = r"\r\n|[\r\n\t\x{2028}\x{2029}]"


def clean(text: object, *, multiline: bool = False) -> str:
    """``text`` as a string with control and bidi characters removed (see the module doc).

    Single-line (the default): line breaks and tabs become spaces. ``multiline``: line breaks
    become ``\\n`` and tabs stay.
    """
    s = text if isinstance(text, str) else str(text)
    if multiline:
        return _DROP.sub("", _MULTILINE_BREAKS.sub("\n", s))
    return _DROP.sub("", _BREAKS.sub(" ", s))


def is_clean(text: str, *, multiline: bool = False) -> bool:
    """Whether ``clean`` would leave ``text`` as it is."""
    return clean(text, multiline=multiline) == text
