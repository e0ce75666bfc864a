"""Brief -> draft threats: read a brief, find its judgements, let an analyst review and publish.

    from scoring_rules.extract import ingest, Review, publish
    result = ingest("brief.md")               # or the brief's text itself
    review = Review.from_result(result)
    review.accept(result.drafts[0])
    register = publish(review, base_register)

Rule- and lexicon-based: every word it recognises lives in
``scoring_rules/data/extract_vocabulary.yaml``, which analysts extend.
"""

from scoring_rules.extract.analysis import Analysis, Analyzer, Finding
from scoring_rules.extract.document import (
    Document,
    ExtractError,
    Paragraph,
    Section,
    Sentence,
    parse_text,
    read_document,
)
from scoring_rules.extract.drafts import DraftThreat, EvidenceSpan, build_drafts
from scoring_rules.extract.ingest import IngestResult, ingest, ingest_to_yaml, read_brief
from scoring_rules.extract.review import (
    DraftFile,
    Review,
    edit_draft,
    load_draft_file,
    load_drafts,
    publish,
    save_drafts,
)
from scoring_rules.extract.vocabulary import (
    Vocabulary,
    default_vocabulary,
    extend_vocabulary,
    load_vocabulary,
)

__all__ = [
    "Analysis",
    "Analyzer",
    "Document",
    "DraftFile",
    "DraftThreat",
    "EvidenceSpan",
    "ExtractError",
    "Finding",
    "IngestResult",
    "Paragraph",
    "Review",
    "Section",
    "Sentence",
    "Vocabulary",
    "build_drafts",
    "default_vocabulary",
    "edit_draft",
    "extend_vocabulary",
    "ingest",
    "ingest_to_yaml",
    "load_draft_file",
    "load_drafts",
    "load_vocabulary",
    "parse_text",
    "publish",
    "read_brief",
    "read_document",
    "save_drafts",
]
