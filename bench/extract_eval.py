"""How well the brief -> draft-threats extractor does.

    .venv/bin/python bench/extract_eval.py [--set dev|all] [--verbose]
                                           [--min-confidence 0.5] [--summary]

First the real public briefs, in blocks that are never pooled: the development set in
bench/briefs (labels written before the extractor was first run on them; the extraction rules
have since been changed while looking at its errors; it holds the first four held-out rounds,
bench/heldout to bench/heldout4, each moved in after its one run), then each
held-out round listed in HELDOUT_ROUNDS (none at present: a new round is added there, with its
folder, once its labels are committed, and scored once with ``--set <its name>``).
``--summary`` prints one table row per set and stops. Each block prints
``recall_category_place``, ``recall_likelihood``, ``recall_horizon`` and ``precision`` (drafts
that match a labelled threat on category and place), then how often drafts are right in each
extraction-confidence band; ``--verbose`` lists every missed threat and every false draft
with the sentence it came from. Then
per-field precision and recall over the test briefs in tests/scoring_rules/briefs (each with an
``.expected.yaml`` beside it), then the recall of the hand-made register
scoring_rules/data/register_2020-01_us_iran.yaml on the seed brief (matched on category and main
region), listing the misses.
Matching rules: scoring_rules/extract/evaluation.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring_rules.extract import ingest
from scoring_rules.extract.evaluation import (
    FIELDS,
    Score,
    evaluate_briefs,
    main_region,
    register_expected,
    register_recall,
    score,
    seed_brief_path,
    totals,
)
from scoring_rules.extract.vocabulary import default_vocabulary
from scoring_rules.threats import default_register_path, load_register

BRIEFS = ROOT / "tests" / "scoring_rules" / "briefs"
REAL = ROOT / "bench" / "briefs"
# Held-out rounds not yet seen while the rules were changed: (``--set`` name, label, folder).
# The first three rounds (bench/heldout, bench/heldout2, bench/heldout3) were scored once each,
# then moved into bench/briefs when their misses were fixed; their READMEs keep the record.
HELDOUT_ROUNDS: tuple[tuple[str, str, Path], ...] = ()
SETS: dict[str, tuple[tuple[str, Path], ...]] = {"dev": (("development set", REAL),)}
for _name, _label, _folder in HELDOUT_ROUNDS:
    SETS[_name] = ((_label, _folder),)
SETS["all"] = tuple(block for blocks in SETS.values() for block in blocks)
BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.85), (0.85, 1.01))


def _real_briefs(label: str, directory: Path, min_confidence: float, verbose: bool) -> None:
    results = evaluate_briefs(directory, min_confidence)
    t = totals(results)
    n_exp = sum(len(r.expected) for r in results)
    n_drafts = sum(len(r.drafts) for r in results)
    print(
        f"Real public briefs, {label} ({directory.relative_to(ROOT)}): {len(results)} briefs, "
        f"{n_exp} labelled threats, {n_drafts} drafts"
    )
    print(f"recall_category_place: {t['region'].recall:.2f}")
    print(f"recall_likelihood: {t['likelihood'].recall:.2f}")
    print(f"recall_horizon: {t['horizon'].recall:.2f}")
    print(f"precision: {t['region'].precision:.2f}")
    print(
        "accuracy by extraction confidence (drafts matching a labelled threat on category+place):"
    )
    for lo, hi in BANDS:
        drafts = [(r, d) for r in results for d in r.drafts if lo <= d.extraction_confidence < hi]
        right = sum(1 for r, d in drafts if d not in r.extra)
        share = f"{right / len(drafts):.2f}" if drafts else "-"
        print(f"  confidence {lo:.2f}-{min(hi, 1.0):.2f}: {share} ({right}/{len(drafts)} drafts)")
    if verbose:
        for r in results:
            print(
                f"  {r.brief}: category+place R {r.scores['region'].recall:.2f} "
                f"P {r.scores['region'].precision:.2f}"
            )
            for e in r.missed["region"]:
                print(f"    miss {e.category} {e.region}")
            for name in ("likelihood", "horizon"):
                for e in r.missed[name]:
                    if e in r.missed["region"]:
                        continue
                    got = [
                        f"{d.likelihood} {d.horizon.from_months:g}-{d.horizon.to_months:g}"
                        for d in r.drafts
                        if d.category == e.category
                    ]
                    print(
                        f"    miss [{name}] {e.category} {e.region} {e.likelihood} "
                        f"{e.horizon.from_months:g}-{e.horizon.to_months:g} "
                        f"(drafts: {'; '.join(got)})"
                    )
            for d in r.extra:
                print(
                    f"    false draft {d.category} {main_region(d.regions)} {d.likelihood} "
                    f"(confidence {d.extraction_confidence:.2f}): “{_clip(d.evidence[0].text)}”"
                )
    print()


def _calibrate(min_confidence: float) -> None:
    """Share of drafts right per confidence cell, on the development briefs only (never the
    held-out set), smoothed towards the overall share, beside the vocabulary's current values.
    Drafts whose place comes only from the surrounding text are counted apart: their share is
    the value of ``confidence.inferred_place_cap``, and they are left out of the cells."""
    vocab = default_vocabulary()
    cells: dict[tuple[str, str], list[int]] = {}
    inferred = [0, 0]
    right = total = 0
    for directory in (REAL, BRIEFS):
        for r in evaluate_briefs(directory, min_confidence):
            for d in r.drafts:
                stance, support, place = (d.extraction_basis or "none/single/named").split("/")
                ok = int(d not in r.extra)
                if place == "inferred":
                    cell = inferred
                else:
                    cell = cells.setdefault((stance, support), [0, 0])
                cell[0] += ok
                cell[1] += 1
                right += ok
                total += 1
    overall = right / total if total else 0.0
    print(
        f"Calibration on {REAL.relative_to(ROOT)} and {BRIEFS.relative_to(ROOT)} "
        f"({total} drafts, {overall:.2f} right on category+place):"
    )
    print(f"  {'cell':<22}{'right':>10}{'share':>8}{'to set':>8}{'now':>6}")
    for (stance, support), (k, n) in sorted(cells.items()):
        smoothed = (k + 2 * overall) / (n + 2)
        table = vocab.confidence.cells.get(stance)  # type: ignore[call-overload]
        now = "-" if table is None else f"{getattr(table, support):.2f}"
        print(
            f"  {stance + '/' + support:<22}{f'{k}/{n}':>10}{k / n:>8.2f}{smoothed:>8.2f}{now:>6}"
        )
    k, n = inferred
    if n:
        smoothed = (k + 2 * overall) / (n + 2)
        now = f"{vocab.confidence.inferred_place_cap:.2f}"
        label = "inferred place (cap)"
        print(f"  {label:<22}{f'{k}/{n}':>10}{k / n:>8.2f}{smoothed:>8.2f}{now:>6}")
    print()


def _summary(which: str, min_confidence: float) -> None:
    print(
        "| set | briefs | labelled threats | drafts | recall_category_place | recall_likelihood "
        "| recall_horizon | precision |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, directory in SETS[which]:
        results = evaluate_briefs(directory, min_confidence)
        t = totals(results)
        print(
            f"| {label} (`{directory.relative_to(ROOT)}`) | {len(results)} "
            f"| {sum(len(r.expected) for r in results)} | {sum(len(r.drafts) for r in results)} "
            f"| {t['region'].recall:.2f} | {t['likelihood'].recall:.2f} "
            f"| {t['horizon'].recall:.2f} | {t['region'].precision:.2f} |"
        )


def _clip(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _table(scores: dict[str, Score]) -> None:
    print(f"  {'field':<12}{'precision':>10}{'recall':>9}")
    for name, s in scores.items():
        print(
            f"  {name:<12}{s.precision:>10.2f}{s.recall:>9.2f}"
            f"   ({s.tp_precision}/{s.drafts} drafts, {s.tp_recall}/{s.expected} expected)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--verbose", action="store_true", help="per-brief figures, misses and extras")
    ap.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        help="count only drafts with at least this extraction confidence",
    )
    ap.add_argument(
        "--set",
        choices=sorted(SETS),
        default="all",
        help="which real-brief set to score: dev (bench/briefs, which now holds the three earlier "
        "held-out rounds), a held-out round named in HELDOUT_ROUNDS, or all (each in its own "
        "block; the default)",
    )
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="print the share of drafts right per confidence cell on the development briefs "
        "(the values to set in extract_vocabulary.yaml, confidence.cells), then stop",
    )
    ap.add_argument(
        "--summary",
        action="store_true",
        help="one Markdown table row per real-brief set (briefs, labels, drafts, the four "
        "figures), for the README and notes, then stop",
    )
    args = ap.parse_args(argv)
    if args.summary:
        _summary(args.set, args.min_confidence)
        return 0
    if args.calibrate:
        _calibrate(args.min_confidence)
        return 0

    for label, directory in SETS[args.set]:
        _real_briefs(label, directory, args.min_confidence, args.verbose)
    if args.set not in ("dev", "all"):
        return 0  # a held-out round alone
    results = evaluate_briefs(BRIEFS, args.min_confidence)
    groups = [
        ("all briefs", results),
        ("briefs used while writing the rules", [r for r in results if not r.held_out]),
        (
            "held-out briefs (written after the rules were frozen)",
            [r for r in results if r.held_out],
        ),
    ]
    if args.min_confidence:
        print(f"(only drafts with extraction confidence >= {args.min_confidence})")
    for label, group in groups:
        if not group:
            continue
        n_exp = sum(len(r.expected) for r in group)
        n_drafts = sum(len(r.drafts) for r in group)
        print(
            f"Test briefs, {label}: {len(group)} briefs, {n_exp} expected threats, "
            f"{n_drafts} drafts"
        )
        _table(totals(group))
        print()
    if args.verbose:
        for r in results:
            tag = " [held out]" if r.held_out else ""
            print(
                f"\n  {r.brief}{tag}: "
                + ", ".join(
                    f"{n} P {r.scores[n].precision:.2f} R {r.scores[n].recall:.2f}" for n in FIELDS
                )
            )
            for name in FIELDS:
                for e in r.missed[name]:
                    got = [d for d in r.drafts if d.category == e.category]
                    seen = (
                        "; ".join(
                            f"{main_region(d.regions)} {d.likelihood} {d.horizon.from_months:g}-"
                            f"{d.horizon.to_months:g}"
                            for d in got
                        )
                        or "no draft of that category"
                    )
                    print(
                        f"    miss [{name}] {e.category} {e.region} {e.likelihood} "
                        f"{e.horizon.from_months:g}-{e.horizon.to_months:g}  (drafts: {seen})"
                    )
            for d in r.extra:
                print(
                    f"    extra {d.category} {main_region(d.regions)} {d.likelihood} "
                    f"(confidence {d.extraction_confidence})"
                )

    print()
    reg_path = default_register_path()
    if not reg_path.is_file():
        print(f"Seed recall: skipped, no hand register at {reg_path}")
        return 0
    register = load_register(reg_path)
    seed = seed_brief_path(register, ROOT)
    if seed is None:
        print(f"Seed recall: skipped, seed brief {register.source} not found beside the checkout")
        return 0
    drafts = ingest(seed).drafts
    rr = register_recall(register, drafts)
    print(
        f"Seed brief {register.source}: {len(drafts)} drafts; hand register "
        f"{len(register.threats)} threats"
    )
    print(
        f"Seed recall (category + main region): {rr.recall:.2f} "
        f"({len(rr.matched)}/{len(register.threats)})"
    )
    for m in rr.missed:
        print(f"  missed: {m}")
    if not rr.missed:
        print("  missed: none")
    print("Seed, per field against the hand register (same cascade as above):")
    _table(score(register_expected(register), drafts).scores)
    if args.verbose:
        for hand, draft in rr.matched:
            print(f"  matched: {hand} <- {draft}")
    for x in rr.extra:
        print(f"  draft matching no hand threat: {x}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
