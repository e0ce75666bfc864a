"""Reading a brief: plain text, Markdown, HTML or PDF -> a ``Document`` with offsets.

A ``Document`` is the brief's text plus its structure: sections (a heading and the paragraphs under
it), paragraphs (numbered from 1 inside their section) and sentences. Every structure carries
character offsets into ``Document.text``; for plain text and Markdown that text is the file's text
exactly, for HTML and PDF it is the text we extracted (blocks separated by blank lines).

How the structure is found:
- Markdown is parsed by markdown-it-py (CommonMark): its headings are headings (the first level-1
  heading is the title), its list items bullets, its paragraphs paragraphs, with offsets from its
  line map; fenced code and raw HTML are not brief text. In plain text a short, title-like line
  without final punctuation that is followed by a paragraph is a heading (briefs pasted as plain
  text have no markup).
- Each bullet ("•", "-", "*", "1.") is one paragraph; other paragraphs are blocks of lines between
  blank lines.
- Prose that follows a bulleted section without a heading of its own opens an untitled section,
  ``background`` (or ``summary`` at the top of the brief).
- The title lines, short tag lines before the first section, and the publisher's marketing/contact
  text at the end belong to no section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field

from core.errors import ExtractError
from scoring_rules.extract.text import slugify
from scoring_rules.threats import OutlineSection

Format = Literal["text", "markdown", "html", "pdf"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Section(_Frozen):
    id: str
    heading: str
    start: int  # from the heading (or first paragraph) to the end of the last paragraph
    end: int


class Paragraph(_Frozen):
    section: str
    index: int = Field(ge=1)  # 1-based inside the section
    start: int
    end: int
    bullet: bool = False


class Sentence(_Frozen):
    section: str
    paragraph: int
    index: int = Field(ge=1)  # 1-based inside the paragraph
    start: int
    end: int


class Document(_Frozen):
    source: str
    format: Format
    title: str
    text: str
    sections: list[Section]
    paragraphs: list[Paragraph]
    sentences: list[Sentence]

    def span(self, start: int, end: int) -> str:
        return self.text[start:end]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def paragraphs_of(self, section_id: str) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.section == section_id]

    def sentences_of(self, paragraph: Paragraph) -> list[Sentence]:
        return [
            s
            for s in self.sentences
            if s.section == paragraph.section and s.paragraph == paragraph.index
        ]

    def outline(self) -> list[OutlineSection]:
        """Sections with at least one paragraph, as a register outline."""
        out = []
        for s in self.sections:
            n = len(self.paragraphs_of(s.id))
            if n:
                out.append(OutlineSection(id=s.id, heading=s.heading, paragraphs=n))
        return out


# --- blocks ---------------------------------------------------------------------------------------

BlockKind = Literal["heading", "para", "bullet"]


@dataclass
class _Block:
    kind: BlockKind
    start: int
    end: int
    level: int = 0  # markdown heading level; 0 when the heading was inferred


_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)([•\-\*\u2022\u25aa\u25cf\u2013·]|\d{1,2}[.)])\s+(?=\S)")
_RULE = re.compile(r"^\s*([-*_=])(\s*\1){2,}\s*$")
_SETEXT = re.compile(r"^\s*(=+|-+)\s*$")
_EMPHASIS = re.compile(r"[*_`]+")
_END_PUNCT = tuple(".!?:;,")


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, without the line break."""
    out = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        out.append((pos, pos + len(body)))
        pos += len(raw)
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _text_blocks(text: str, markdown: bool) -> list[_Block]:
    if markdown:
        return _markdown_blocks(text)
    return _line_blocks(text, _lines(text), markdown=False)


_MD = MarkdownIt("commonmark")


def _markdown_blocks(text: str) -> list[_Block]:
    """Headings, list items and paragraphs as markdown-it-py parses them (CommonMark), with
    offsets from its line map. Inside a paragraph, lines opened by a bullet character CommonMark
    does not know ("•", "▪") are bullets of their own, as in plain text."""
    lines = _lines(text)
    blocks: list[_Block] = []
    in_item = 0
    item_first = False
    tokens = _MD.parse(text)
    for k, tok in enumerate(tokens):
        if tok.type == "list_item_open":
            in_item += 1
            item_first = True
            continue
        if tok.type == "list_item_close":
            in_item -= 1
            continue
        if not tok.map or tok.type not in ("heading_open", "paragraph_open", "code_block"):
            continue
        first, last = tok.map[0], min(tok.map[1], len(lines)) - 1
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            ls, le = lines[first]
            m = _MD_HEADING.match(text[ls:le])
            if m:
                s, e = _trim(text, ls + m.start(2), ls + m.end(2))
            else:  # setext: the text above the underline
                s, e = _trim(text, ls, lines[max(first, last - 1)][1])
            if k + 1 < len(tokens) and tokens[k + 1].content.strip() and s < e:
                blocks.append(_Block("heading", s, e, level))
            continue
        span = lines[first : last + 1]
        if in_item and item_first and tok.type == "paragraph_open":
            item_first = False
            ls, le = span[0]
            b = _BULLET.match(text[ls:le])
            s, e = _trim(text, ls + (b.end() if b else 0), span[-1][1])
            inner = _line_blocks(text, [(s, le), *span[1:]], markdown=False)
            if inner and inner[0].kind == "para":
                inner[0].kind = "bullet"
            blocks += inner
            continue
        blocks += _line_blocks(text, span, markdown=False)
    return blocks


def _line_blocks(text: str, lines: list[tuple[int, int]], markdown: bool) -> list[_Block]:
    """Blocks from lines: blank lines and rules end a paragraph, bullet lines open a bullet."""
    blocks: list[_Block] = []
    current: _Block | None = None
    for ls, le in lines:
        line = text[ls:le]
        if not line.strip() or (_RULE.match(line) and not (markdown and _SETEXT.match(line))):
            current = None
            continue
        if markdown and _SETEXT.match(line) and current is not None and current.kind == "para":
            # the previous line was a setext heading
            current.kind = "heading"
            current.level = 1 if line.strip().startswith("=") else 2
            current = None
            continue
        if markdown:
            m = _MD_HEADING.match(line)
            if m:
                s, e = _trim(text, ls + m.start(2), ls + m.end(2))
                blocks.append(_Block("heading", s, e, len(m.group(1))))
                current = None
                continue
        b = _BULLET.match(line)
        if b:
            s, e = _trim(text, ls + b.end(), le)
            current = _Block("bullet", s, e)
            blocks.append(current)
            continue
        s, e = _trim(text, ls, le)
        if current is not None:
            current.end = e
            continue
        current = _Block("para", s, e)
        blocks.append(current)
    return blocks


# --- HTML -----------------------------------------------------------------------------------------

_HTML_SKIP = {
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "footer",
    "svg",
    "form",
    "button",
    "head",
    "aside",
}
_HTML_BLOCKS = {
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "section",
    "article",
    "br",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "pre",
    "header",
    "main",
    "ul",
    "ol",
    "table",
    "figcaption",
    "hr",
    "body",
}


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[BlockKind, int, str]] = []
        self.page_title = ""
        self._skip = 0
        self._in_title = False
        self._buf: list[str] = []
        self._kind: BlockKind = "para"
        self._level = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        if text:
            self.items.append((self._kind, self._level, text))
        self._buf = []
        self._kind, self._level = "para", 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _HTML_SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if tag in _HTML_BLOCKS:
            self._flush()
            if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
                self._kind, self._level = "heading", int(tag[1])
            elif tag == "li":
                self._kind = "bullet"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag in _HTML_BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page_title += data
        if not self._skip:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _html_to_blocks(html: str) -> tuple[str, list[_Block], str]:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    text, blocks = _join_items(parser.items)
    return text, blocks, " ".join(parser.page_title.split())


def _join_items(items: Iterable[tuple[BlockKind, int, str]]) -> tuple[str, list[_Block]]:
    parts: list[str] = []
    blocks: list[_Block] = []
    pos = 0
    for kind, level, body in items:
        if parts:
            parts.append("\n\n")
            pos += 2
        blocks.append(_Block(kind, pos, pos + len(body), level))
        parts.append(body)
        pos += len(body)
    return "".join(parts), blocks


# --- PDF ------------------------------------------------------------------------------------------


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # pragma: no cover - pypdf is a declared dependency
        raise ExtractError("reading PDF briefs needs the pypdf package") from exc
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many kinds on broken files
        raise ExtractError(f"{path}: cannot read this PDF ({exc})") from exc
    return "\n\n".join(_reflow_pdf_page(p) for p in pages)


def _reflow_pdf_page(page: str) -> str:
    """Re-insert the blank lines PDF text extraction loses between paragraphs.

    A line that ends a sentence and is clearly shorter than the page's long lines closes a
    paragraph; a heading-like line stands alone; hyphenated line breaks are kept as they are.
    """
    lines = [ln.rstrip() for ln in page.splitlines()]
    width = max((len(ln) for ln in lines), default=0)
    out: list[str] = []
    for i, line in enumerate(lines):
        if not line.strip():
            out.append("")
            continue
        out.append(line)
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        stripped = line.strip()
        short = len(line) < 0.8 * width
        if not nxt:
            continue
        ends_sentence = stripped.endswith((".", "!", "?", "”", '"'))
        if (
            (ends_sentence and (short or _heading_like(nxt)))
            or (_heading_like(stripped) and short and nxt[:1].isupper())
            or _BULLET.match(lines[i + 1])
        ):
            out.append("")
    return "\n".join(out)


# --- structure ------------------------------------------------------------------------------------


def _heading_like(line: str) -> bool:
    plain = _EMPHASIS.sub("", line).strip()
    if not plain or len(plain) > 90 or not plain[0].isupper():
        return False
    if plain.endswith(_END_PUNCT) or plain.endswith(("”", '"', "’", ")")):
        return False
    words = plain.split()
    return 1 <= len(words) <= 12


def _is_tag_line(line: str) -> bool:
    """Short furniture lines: bylines, tags, dates ("- Geopolitical Risk - Intelligence")."""
    words = line.split()
    return len(words) <= 8 and not line.rstrip().endswith((".", "!", "?"))


def _boilerplate_re(cues: Iterable[str]) -> re.Pattern[str]:
    parts = [re.escape(c).replace(r"\ ", r"\s+") for c in cues]
    parts += [r"[\w.+-]+@[\w-]+\.[\w.]+", r"\+\d[\d\s()]{7,}"]
    return re.compile("|".join(parts), re.IGNORECASE)


_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "no",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "u.n",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "gov",
    "sen",
    "rep",
    "inc",
    "ltd",
    "co",
    "corp",
    "approx",
    "cf",
    "fig",
    "al",
    "pres",
    "adm",
    "maj",
    "prof",
    "jr",
    "sr",
}
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9•])")


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], trimmed of surrounding blanks."""
    out: list[tuple[int, int]] = []
    seg_start = start
    for m in _BOUNDARY.finditer(text, start, end):
        word = re.search(r"([\w.]+)\.*$", text[seg_start : m.start() + 1])
        before = word.group(1).rstrip(".").lower() if word else ""
        if m.group(0).startswith(".") and (
            before in _ABBREV or (len(before) == 1 and before.isalpha())
        ):
            continue
        s, e = _trim(text, seg_start, m.end())
        if e > s:
            out.append((s, e))
        seg_start = m.end()
    s, e = _trim(text, seg_start, end)
    if e > s:
        out.append((s, e))
    return out


@dataclass
class _Open:
    id: str
    heading: str
    start: int
    end: int
    titled: bool
    count: int = 0
    bullets_only: bool = True


def _structure(
    text: str,
    blocks: list[_Block],
    source: str,
    fmt: Format,
    boilerplate: Iterable[str],
    fallback_title: str = "",
) -> Document:
    plain = [b for b in blocks if b.end > b.start]
    body = lambda b: text[b.start : b.end]  # noqa: E731
    # Inferred headings: short title-like single lines followed by a paragraph; the first line of
    # the brief when it looks like a title.
    for i, b in enumerate(plain):
        if b.kind != "para" or "\n" in body(b).strip() or not _heading_like(body(b)):
            continue
        nxt = plain[i + 1] if i + 1 < len(plain) else None
        if i == 0 or (
            nxt is not None
            and (nxt.kind == "bullet" or (nxt.kind == "para" and not _heading_like(body(nxt))))
        ):
            b.kind = "heading"

    # The title: a first-level (or inferred) heading that opens the brief.
    title = fallback_title
    title_idx: int | None = None
    if plain and plain[0].kind == "heading" and plain[0].level in (0, 1):
        title, title_idx = _EMPHASIS.sub("", body(plain[0])).strip(), 0

    # The publisher's marketing text at the end belongs to nothing.
    cut = len(plain)
    marker = _boilerplate_re(boilerplate)
    for i, b in enumerate(plain):
        if b.kind != "heading" and b.start >= 0.5 * len(text) and marker.search(body(b)):
            cut = i
            break
    while 0 < cut < len(plain) and plain[cut - 1].kind == "heading":
        cut -= 1  # a heading right before the marketing text belongs to it

    sections: list[Section] = []
    paragraphs: list[Paragraph] = []
    used: set[str] = set()
    current: _Open | None = None
    seen_heading = False

    def open_section(heading: str, start: int, untitled_id: str | None = None) -> _Open:
        if current is not None and current.count:
            sections.append(
                Section(
                    id=current.id, heading=current.heading, start=current.start, end=current.end
                )
            )
        elif current is not None:
            used.discard(current.id)
        base = untitled_id or slugify(heading)
        sid, n = base, 2
        while sid in used:
            sid, n = f"{base}-{n}", n + 1
        used.add(sid)
        return _Open(sid, heading, start, start, titled=untitled_id is None)

    for i, b in enumerate(plain[:cut]):
        if i == title_idx:
            continue
        if b.kind == "heading":
            heading = _EMPHASIS.sub("", body(b)).strip()
            if heading == title and not seen_heading:
                continue  # the title repeated (common in pages saved as text)
            current = open_section(heading, b.start)
            seen_heading = True
            continue
        if current is None:
            if not seen_heading and _is_tag_line(body(b)):
                continue  # a byline or tag before the first section
            current = open_section("Summary", b.start, "summary")
        elif b.kind == "para" and current.bullets_only and current.count and current.titled:
            current = open_section("Background", b.start, "background")
        current.count += 1
        current.end = b.end
        if b.kind != "bullet":
            current.bullets_only = False
        paragraphs.append(
            Paragraph(
                section=current.id,
                index=current.count,
                start=b.start,
                end=b.end,
                bullet=b.kind == "bullet",
            )
        )
    open_section("", 0, "end")  # closes the last section

    sentences: list[Sentence] = []
    for p in paragraphs:
        for k, (s, e) in enumerate(split_sentences(text, p.start, p.end), start=1):
            sentences.append(
                Sentence(section=p.section, paragraph=p.index, index=k, start=s, end=e)
            )
    return Document(
        source=source,
        format=fmt,
        title=title or (source if source != "<text>" else "Untitled brief"),
        text=text,
        sections=sections,
        paragraphs=paragraphs,
        sentences=sentences,
    )


# --- entry points ---------------------------------------------------------------------------------

_SUFFIX_FORMAT: dict[str, Format] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def guess_format(text: str) -> Format:
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or re.search(r"<(p|h[1-6]|li|div)[\s>]", head):
        return "html"
    if re.search(r"^ {0,3}#{1,6}\s", text, re.MULTILINE):
        return "markdown"
    return "text"


def parse_text(
    text: str,
    fmt: Format = "text",
    source: str = "<text>",
    boilerplate: Iterable[str] = (),
) -> Document:
    """Structure a brief given as a string (``fmt``: text, markdown or html)."""
    if fmt == "html":
        out_text, blocks, page_title = _html_to_blocks(text)
        return _structure(out_text, blocks, source, "html", boilerplate, page_title)
    if fmt == "pdf":
        raise ExtractError("a PDF brief must be given as a file path")
    blocks = _text_blocks(text, markdown=fmt == "markdown")
    return _structure(text, blocks, source, fmt, boilerplate)


def read_document(
    path: Path, fmt: Format | None = None, boilerplate: Iterable[str] = ()
) -> Document:
    """Read a brief file; the format comes from the suffix unless given."""
    path = Path(path)
    if not path.is_file():
        raise ExtractError(f"{path}: no such brief file")
    fmt = fmt or _SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt == "pdf":
        text = _pdf_text(path)
        return _structure(text, _text_blocks(text, False), path.name, "pdf", boilerplate)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExtractError(f"{path}: cannot read ({exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    fmt = fmt or guess_format(text)
    return parse_text(text, fmt, path.name, boilerplate)
