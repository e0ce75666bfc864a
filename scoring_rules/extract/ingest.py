"""The public entry: a brief (file or text) in, a document and its draft threats out."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from scoring_rules.extract.analysis import Analysis, Analyzer
from scoring_rules.extract.document import Document, Format, guess_format, parse_text, read_document
from scoring_rules.extract.drafts import DraftThreat, build_drafts
from scoring_rules.extract.vocabulary import Vocabulary, default_vocabulary


@dataclass
class IngestResult:
    document: Document
    drafts: list[DraftThreat]
    analysis: Analysis | None = None

    def outline(self) -> list[dict[str, Any]]:
        return [s.model_dump() for s in self.document.outline()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.document.source,
            "title": self.document.title,
            "format": self.document.format,
            "outline": self.outline(),
            "drafts": [d.model_dump(mode="json") for d in self.drafts],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The document outline and the drafts, as JSON (for ``resilience ingest --json``)."""
        return json.dumps(self.as_dict(), indent=indent, ensure_ascii=False)


@cache
def _default_analyzer() -> Analyzer:
    return Analyzer(default_vocabulary())


def analyzer_for(vocab: Vocabulary | None) -> Analyzer:
    if vocab is None or vocab is default_vocabulary():
        return _default_analyzer()
    return Analyzer(vocab)


_SUFFIXES = (".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf")


def _looks_like_path(value: str) -> bool:
    """A short single line naming an existing file, or ending like a brief file name."""
    if "\n" in value or len(value) > 1024:
        return False
    return Path(value).is_file() or value.strip().lower().endswith(_SUFFIXES)


def read_brief(
    path_or_text: str | Path, vocab: Vocabulary | None = None, fmt: Format | None = None
) -> Document:
    """A ``Document`` from a file path, or from the brief's text itself.

    A single line ending in .txt/.md/.html/.pdf is taken as a path (and must exist).
    """
    vocab = vocab or default_vocabulary()
    if isinstance(path_or_text, Path) or _looks_like_path(path_or_text):
        return read_document(Path(path_or_text), fmt, vocab.boilerplate)
    text = str(path_or_text)
    return parse_text(text, fmt or guess_format(text), "<text>", vocab.boilerplate)


def ingest(
    path_or_text: str | Path,
    vocabulary: Vocabulary | None = None,
    fmt: Format | None = None,
    *,
    date: dt.date | None = None,
) -> IngestResult:
    """Read a brief and propose draft threats (highest extraction confidence first).

    ``date`` is the brief's own date: time frames tied to the calendar ("by year-end") are
    counted from it; without it they read as the vocabulary's default horizon."""
    vocab = vocabulary or default_vocabulary()
    doc = read_brief(path_or_text, vocab, fmt)
    analysis = analyzer_for(vocab).analyse(doc, date)
    return IngestResult(doc, build_drafts(analysis, vocab), analysis)


def ingest_to_yaml(
    brief_path: str | Path,
    out_path: str | Path,
    vocabulary: Vocabulary | None = None,
    *,
    date: dt.date | None = None,
    publisher: str = "",
) -> IngestResult:
    """Ingest a brief file and write its drafts (with the brief's outline, and its date and
    publisher when given) to a YAML file."""
    from scoring_rules.extract.review import save_drafts

    result = ingest(Path(brief_path), vocabulary, date=date)
    save_drafts(
        result.drafts, Path(out_path), document=result.document, date=date, publisher=publisher
    )
    return result
