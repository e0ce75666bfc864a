"""Drafts accepted as they stand, from thirteen real briefs on other regions, beside the seed.

The issue's failure: a consequence sentence drafted as a worldwide, highly likely threat moved a
control client with no exposure in the brief's region from band A to D. Here every draft of
every development brief in bench/briefs is accepted unedited and published with the seed
register: the Chilean control (no site or route in any region those briefs name) stays in band
A, and a draft set to "world" carries the sentence that says the threat is worldwide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engine.book import load_demo
from engine.context import Context
from engine.store import Scope
from scoring_rules.briefs import add_brief
from scoring_rules.extract import DraftThreat, ingest
from scoring_rules.extract.evaluation import brief_date
from scoring_rules.extract.text import slugify
from scoring_rules.extract.vocabulary import default_vocabulary
from scoring_rules.threats import Brief, Register
from tests.conftest import Stores

REAL = Path(__file__).resolve().parents[2] / "bench" / "briefs"
CONTROL = "andes-verde-agro"


WORLD_WORDS = ("global", "worldwide", "around the world", "across the world", "abroad")


def _with_every_draft(base: Register, seen: list[DraftThreat]) -> Register:
    register = base
    for labels in sorted(REAL.glob("*.expected.yaml")):
        doc = yaml.safe_load(labels.read_text("utf-8"))
        date = brief_date(labels)
        assert date is not None, labels.name
        result = ingest(REAL / doc["brief"], date=date)
        slug = slugify(labels.name.removesuffix(".expected.yaml"), 6)
        brief = Brief(
            id=slug,
            title=result.document.title,
            publisher=doc["publisher"],
            date=date,
            source=doc["brief"],
            outline=result.document.outline(),
        )
        seen += result.drafts
        threats = [d.to_threat().model_copy(update={"id": f"{slug}-{d.id}"}) for d in result.drafts]
        register = add_brief(register, brief, threats, note="every draft accepted unedited")
    return register


@pytest.fixture(scope="module")
def ctx(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    c = Context(stores.new(tmp_path_factory.mktemp("extracted")))
    load_demo(c)
    c.current_run()
    yield c
    c.close()


def _bands(c: Context) -> dict[str, str]:
    run = c.current_run()
    return {r.client_id: r.band for r in c.ratings(run.run_id, Scope.everything())}


@pytest.mark.xfail(
    reason="known defect after the merges, issue 11: see its note",
    strict=False,
)
def test_the_control_stays_in_band_a_with_every_draft_accepted(ctx: Context) -> None:
    assert _bands(ctx)[CONTROL] == "A"
    seed_ids = {t.id for t in ctx.register().threats}
    drafts: list[DraftThreat] = []
    register = _with_every_draft(ctx.register(), drafts)
    added = [t for t in register.threats if t.id not in seed_ids]
    assert len(added) == len(drafts) >= 13  # at least one threat per brief
    vocab = default_vocabulary()
    for d in drafts:
        if vocab.categories[d.category].scope == "local" and d.main_region == "world":
            said = " ".join(e.text.lower() for e in d.evidence)
            assert any(w in said for w in WORLD_WORDS), (d.id, said)
    ctx.publish_register(register, note="seed and thirteen real briefs, drafts unedited")
    assert _bands(ctx)[CONTROL] == "A"
