"""Words with offsets (spaCy's English tokenizer), a small lemmatiser, and a phrase matcher on
spaCy's ``PhraseMatcher`` (``spacy.blank("en")``: rules only, no model, nothing fetched)."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokenizer import Tokenizer
    from spacy.tokens import Doc

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
    tok: Tokenizer = _nlp().tokenizer
    return tok


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Words with offsets: spaCy's English tokenizer, then runs of letters and digits inside each
    of its tokens ("U.S.-flag" -> U, S, flag). Punctuation and a possessive 's are dropped; a
    contraction's n't is the word "not" and its stem the full word ("won't" -> will, not)."""
    out: list[Token] = []
    with _SPACY_LOCK:
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


# spaCy's shared vocabulary (its string store) grows as words are seen; one reader at a time
_SPACY_LOCK = threading.RLock()


@cache
def _nlp() -> Language:
    """spaCy's blank English pipeline: its vocabulary backs the phrase matchers."""
    import spacy

    nlp: Language = spacy.blank("en")
    return nlp


class _Layer:
    """One spaCy ``PhraseMatcher`` on lemma keys and the patterns it was given."""

    def __init__(self) -> None:
        from spacy.matcher import PhraseMatcher as SpacyPhraseMatcher

        self.matcher = SpacyPhraseMatcher(_nlp().vocab, attr="LEMMA")
        self.patterns: dict[int, tuple[int, Pattern[Any]]] = {}  # match id -> (order, pattern)


def _keyed_doc(words: Sequence[str], keys: Sequence[str]) -> Doc:
    from spacy.tokens import Doc as SpacyDoc

    doc = SpacyDoc(_nlp().vocab, words=list(words))
    for token, key in zip(doc, keys, strict=True):
        token.lemma_ = key
    return doc


class PhraseMatcher(Generic[T]):
    """Finds vocabulary phrases in a token list; the longest match wins, matches do not overlap.

    Candidates come from spaCy's ``PhraseMatcher`` on a key per word (the folded word, or its
    lemma with ``use_lemma``); the vocabulary's case rules then apply (a word in capitals matches
    only in capitals, a capitalised place word only capitalised), and among overlapping matches
    the longest is kept (the first added among equals)."""

    def __init__(self, use_lemma: bool = True) -> None:
        self.use_lemma = use_lemma
        self._layers: list[_Layer] = []  # shared with the matcher this one was copied from
        self._own: _Layer | None = None
        self._count = 0

    def _key(self, word: str) -> str:
        return lemma(fold(word)) if self.use_lemma else fold(word)

    def add(self, phrase: str, payload: T) -> None:
        words = tuple(phrase_words(phrase))
        if not words:
            return
        if self._own is None:
            self._own = _Layer()
            self._layers = [*self._layers, self._own]
        key = f"{id(self._own)}:{len(self._own.patterns)}"
        with _SPACY_LOCK:
            self._own.matcher.add(key, [_keyed_doc(words, [self._key(w) for w in words])])
            match_id = _nlp().vocab.strings[key]
        self._own.patterns[match_id] = (self._count, Pattern(words, payload, self.use_lemma))
        self._count += 1

    def add_all(self, phrases: Iterable[str], payload: T) -> None:
        for p in phrases:
            self.add(p, payload)

    def copy(self) -> PhraseMatcher[T]:
        """A matcher that knows these phrases and takes more of its own (this one is unchanged)."""
        clone: PhraseMatcher[T] = PhraseMatcher(self.use_lemma)
        clone._layers = list(self._layers)
        clone._count = self._count
        return clone

    def __len__(self) -> int:
        return sum(len(layer.patterns) for layer in self._layers)

    def find(self, tokens: Sequence[Token]) -> list[Match[T]]:
        """Non-overlapping matches, the longest first where two overlap: in "the Gulf of
        Guinea", "Gulf of Guinea" wins over "the Gulf"."""
        if not tokens or not self._layers:
            return []
        candidates: list[tuple[int, int, int, Pattern[T]]] = []
        with _SPACY_LOCK:
            doc = _keyed_doc(
                [t.text for t in tokens],
                [lemma(t.lower) if self.use_lemma else t.lower for t in tokens],
            )
            found = [(layer, m) for layer in self._layers for m in layer.matcher(doc)]
        for layer, (match_id, first, end) in found:
            order, pattern = layer.patterns[match_id]
            n = end - first
            if all(pattern.word_matches(k, tokens[first + k]) for k in range(n)):
                candidates.append((first, end - 1, order, pattern))
        taken: set[int] = set()
        out: list[Match[T]] = []
        for first, last, _order, pattern in sorted(
            candidates, key=lambda c: (c[0] - c[1], c[0], c[2])
        ):
            span = range(first, last + 1)
            if any(k in taken for k in span):
                continue
            taken.update(span)
            out.append(Match(first, last, tokens[first].start, tokens[last].end, pattern.payload))
        return sorted(out, key=lambda m: m.first)


def slugify(text: str, max_words: int = 8) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+", fold(text)) if w]
    return "-".join(words[:max_words]) or "section"
