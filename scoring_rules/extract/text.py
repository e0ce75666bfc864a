"""Words with offsets, a small lemmatiser and a phrase matcher: the extractor's only 'NLP'."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_APOSTROPHES = "'’‘`"


def fold(text: str) -> str:
    """Lower case without accents: 'Ségou' -> 'segou'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def lemma(word: str) -> str:
    """A crude English lemma: plural endings off. Applied alike to the text and the vocabulary."""
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")):
        return w[:-1]
    return w


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offsets into the document text
    end: int
    index: int  # position among the sentence's tokens

    @property
    def lower(self) -> str:
        return fold(self.text)

    @property
    def lemma(self) -> str:
        return lemma(fold(self.text))

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Runs of letters and digits. A possessive 's is dropped; n't becomes 'not'."""
    out: list[Token] = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        before = text[m.start() - 1] if m.start() > 0 else ""
        if before in _APOSTROPHES and out and out[-1].end == offset + m.start() - 1:
            if word.lower() == "s":
                continue
            if word.lower() == "t" and out[-1].text.lower().endswith("n"):
                prev = out[-1]
                stem = {"won": "will", "can": "can", "shan": "shall"}.get(
                    prev.text.lower(), prev.text[:-1]
                )
                out[-1] = Token(stem, prev.start, prev.end - 1, prev.index)
                out.append(Token("not", offset + m.start() - 2, offset + m.end(), len(out)))
                continue
        out.append(Token(word, offset + m.start(), offset + m.end(), len(out)))
    return out


def phrase_words(phrase: str) -> list[str]:
    return [m.group(0) for m in _WORD.finditer(phrase)]


@dataclass(frozen=True)
class Pattern(Generic[T]):
    words: tuple[str, ...]  # as written in the vocabulary
    payload: T
    use_lemma: bool = True

    def word_matches(self, i: int, token: Token) -> bool:
        want = self.words[i]
        if len(want) >= 2 and want.isupper():  # acronyms: exact, in capitals
            return token.text == want
        if want[:1].isupper() and not self.use_lemma and not token.capitalised:
            return False
        if self.use_lemma:
            return token.lemma == lemma(fold(want))
        return token.lower == fold(want)


@dataclass(frozen=True)
class Match(Generic[T]):
    first: int  # token index of the first word
    last: int  # token index of the last word (inclusive)
    start: int  # character offsets
    end: int
    payload: T


class PhraseMatcher(Generic[T]):
    """Finds vocabulary phrases in a token list; the longest match wins, matches do not overlap."""

    def __init__(self, use_lemma: bool = True) -> None:
        self.use_lemma = use_lemma
        self._by_first: dict[str, list[Pattern[T]]] = {}

    def _key(self, word: str) -> str:
        return lemma(fold(word)) if self.use_lemma else fold(word)

    def add(self, phrase: str, payload: T) -> None:
        words = tuple(phrase_words(phrase))
        if not words:
            return
        pattern = Pattern(words, payload, self.use_lemma)
        self._by_first.setdefault(self._key(words[0]), []).append(pattern)
        self._by_first[self._key(words[0])].sort(key=lambda p: -len(p.words))

    def add_all(self, phrases: Iterable[str], payload: T) -> None:
        for p in phrases:
            self.add(p, payload)

    def copy(self) -> PhraseMatcher[T]:
        clone: PhraseMatcher[T] = PhraseMatcher(self.use_lemma)
        clone._by_first = {k: list(v) for k, v in self._by_first.items()}
        return clone

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_first.values())

    def find(self, tokens: Sequence[Token]) -> list[Match[T]]:
        """Non-overlapping matches, the longest first where two overlap: in "the Gulf of
        Guinea", "Gulf of Guinea" wins over "the Gulf"."""
        candidates = [m for i in range(len(tokens)) if (m := self._match_at(tokens, i))]
        taken: set[int] = set()
        out: list[Match[T]] = []
        for m in sorted(candidates, key=lambda m: (m.first - m.last, m.first)):
            span = range(m.first, m.last + 1)
            if any(k in taken for k in span):
                continue
            taken.update(span)
            out.append(m)
        return sorted(out, key=lambda m: m.first)

    def _match_at(self, tokens: Sequence[Token], i: int) -> Match[T] | None:
        key = lemma(tokens[i].lower) if self.use_lemma else tokens[i].lower
        for pattern in self._by_first.get(key, []):
            n = len(pattern.words)
            if i + n > len(tokens):
                continue
            if all(pattern.word_matches(k, tokens[i + k]) for k in range(n)):
                return Match(i, i + n - 1, tokens[i].start, tokens[i + n - 1].end, pattern.payload)
        return None


def slugify(text: str, max_words: int = 8) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+", fold(text)) if w]
    return "-".join(words[:max_words]) or "section"
