"""Words with offsets (spaCy's English tokenizer), a small lemmatiser and a phrase matcher."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from spacy.tokenizer import Tokenizer

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


@cache
def _tokenizer() -> Tokenizer:
    """spaCy's rule-based English tokenizer (``spacy.blank("en")``: no model, nothing fetched)."""
    import spacy

    tok: Tokenizer = spacy.blank("en").tokenizer
    return tok


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Words with offsets: spaCy's English tokenizer, then runs of letters and digits inside each
    of its tokens ("U.S.-flag" -> U, S, flag). Punctuation and a possessive 's are dropped; a
    contraction's n't is the word "not" and its stem the full word ("won't" -> will, not)."""
    out: list[Token] = []
    doc = _tokenizer()(text)
    for st in doc:
        if st.is_space or st.is_punct:
            continue
        low = st.text.lower().replace("’", "'")
        if low in ("'s", "'"):
            continue
        if low == "n't":
            out.append(Token("not", offset + st.idx, offset + st.idx + len(st.text), len(out)))
            continue
        nxt = doc[st.i + 1] if st.i + 1 < len(doc) else None
        if nxt is not None and nxt.text.lower().replace("’", "'") == "n't" and st.norm_:
            stem = _STEMS.get(low, st.norm_)
            out.append(Token(stem, offset + st.idx, offset + st.idx + len(st.text), len(out)))
            continue
        for m in _WORD.finditer(st.text):
            out.append(
                Token(m.group(0), offset + st.idx + m.start(), offset + st.idx + m.end(), len(out))
            )
    return out


_STEMS = {"wo": "will", "ca": "can", "sha": "shall"}


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
