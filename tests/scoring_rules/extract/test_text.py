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


def test_briefs_read_at_once_in_threads_give_the_same_drafts() -> None:
    """Streamlit sessions share one analyser: reading briefs in parallel changes nothing."""
    from concurrent.futures import ThreadPoolExecutor

    from scoring_rules.extract import ingest

    texts = [
        "Protests in Lima are likely this week. Piracy off Nigeria remains a significant threat.",
        "Terrorist attacks in Burkina Faso are likely in the coming months.",
    ] * 4
    alone = [[d.model_dump() for d in ingest(t).drafts] for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda t: [d.model_dump() for d in ingest(t).drafts], texts))
    assert together == alone
