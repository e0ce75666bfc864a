"""Words with offsets from spaCy's blank English tokenizer."""

from __future__ import annotations

from scoring_rules.extract.text import tokenize


def test_contractions_possessives_and_punctuation() -> None:
    text = "Iran's navy cannot, and won't, close the U.S.-flag lane (MINUSMA)."
    words = [t.text for t in tokenize(text)]
    assert words == ["Iran", "navy", "can", "not", "and", "will", "not", "close", "the", "U", "S",
                     "flag", "lane", "MINUSMA"]  # fmt: skip


def test_offsets_point_into_the_text() -> None:
    text = "Protests in Port-au-Prince are likely this week."
    for t in tokenize(text, offset=100):
        if t.text not in ("not", "will", "can"):
            assert text[t.start - 100 : t.end - 100] == t.text
    assert [t.index for t in tokenize(text)] == list(range(len(tokenize(text))))
