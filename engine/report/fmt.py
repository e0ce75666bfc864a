"""How numbers, dates, references and likelihoods read in the reports (one place for wording)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from engine.models import EvidenceRef
from scoring_rules.rules import Rules

MODAL_WORDS = {"may", "could", "might", "can", "would"}

# What the reports call the sum over items of value x risk of disruption, and the line that says
# what it is: a probability-weighted measure of exposure, never a forecast of loss.
VALUE_AT_RISK = "value at risk of disruption"


def value_at_risk_note(outlook_months: float) -> str:
    """The one-line explanation printed wherever the value at risk of disruption is shown."""
    return (
        f"Probability-weighted: each site's value and each route's annual trade, times its "
        f"chance of disruption over the {outlook_months:.0f}-month outlook, summed. It shows how "
        f"much of the business the threats bear on; it is not a forecast of loss."
    )


def usd(value: float | None, *, precise: bool = False) -> str:
    """US$ amounts the way a risk report prints them: US$5.2bn, US$310m, US$95k."""
    if value is None:
        return "-"
    v = abs(float(value))
    sign = "-" if value < 0 else ""
    if v >= 1e9:
        text = f"{v / 1e9:.2f}bn" if precise or v < 1e10 else f"{v / 1e9:.1f}bn"
    elif v >= 1e6:
        text = f"{v / 1e6:.1f}m" if v < 1e8 else f"{v / 1e6:.0f}m"
    elif v >= 1e3:
        text = f"{v / 1e3:.0f}k"
    else:
        text = f"{v:.0f}"
    return f"{sign}US${text}"


def pct(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.{digits}f}%"


def long_date(day: dt.date) -> str:
    """14 January 2020."""
    return f"{day.day} {day:%B %Y}"


def brief_refs(evidence: Iterable[EvidenceRef], with_brief: bool = False) -> str:
    """'triggers ¶6, in-brief ¶3': the brief's section id and paragraph for each piece; with
    ``with_brief`` (a register of several briefs) each run of pieces from one brief is preceded
    by the brief's label: 'PGI, 14 January 2020: triggers ¶6'."""
    parts = []
    last = None
    for e in evidence:
        ref = f"{e.section} ¶{e.paragraph}"
        label = e.brief_label if with_brief else ""
        if label and label != last:
            ref = f"{label}: {ref}"
            last = label
        parts.append(ref)
    return ", ".join(parts)


NAMES = {
    "oil_gas": "oil and gas",
    "data_centre": "data centre",
}
# Trailing words that an affiliation id joins to its first word with a hyphen (X_ALIGNED).
_HYPHENATED = {"ALIGNED", "BACKED", "LINKED", "OWNED"}


def _affiliation(identifier: str) -> str:
    """An upper-case affiliation id in words: US -> US, US_ALLY -> US ally, GCC -> GCC,
    NEUTRAL -> neutral, ABC_ALIGNED -> Abc-aligned. Acronyms (up to three letters) stay upper case,
    longer first words are capitalised, later words lower case."""
    words = identifier.split("_")
    first = words[0] if len(words[0]) <= 3 else words[0].capitalize()
    if len(words) == 1:
        return first if len(first) <= 3 else first.lower()
    rest = [w.lower() for w in words[1:]]
    if len(words) == 2 and words[1] in _HYPHENATED:
        return f"{first}-{rest[0]}"
    return " ".join([first, *rest])


def humanise(identifier: str | None) -> str:
    """shipping_disruption -> shipping disruption; oil_gas -> oil and gas; US_ALLY -> US ally."""
    if not identifier:
        return "-"
    if identifier in NAMES:
        return NAMES[identifier]
    if identifier.isupper():
        return _affiliation(identifier)
    return identifier.replace("_", " ")


def sentence(text: str) -> str:
    """Upper-case the first letter only (Jinja's capitalize lower-cases the rest)."""
    return text[:1].upper() + text[1:] if text else text


def join_words(words: list[str]) -> str:
    """a; a and b; a, b and c."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def likelihood_range(p_low: float, p_high: float) -> str:
    return f"{p_low * 100:.0f}–{p_high * 100:.0f}%"


def likelihood_phrase(
    likelihood: str, words: str, p_low: float, p_high: float, rules: Rules
) -> str:
    """How likely the brief says a threat is, in its own words, and what we carry for it."""
    words = words.strip()
    rng = likelihood_range(p_low, p_high)
    if words.lower().startswith("scenario:"):
        return f"assumed by the scenario ({words.split(':', 1)[1].strip()}; {rng})"
    if likelihood == "not_assessed":
        if words.lower().startswith("not assessed"):
            rest = words[len("not assessed") :].strip()
            rest = rest.removeprefix("in the brief").strip()
            note = f" {rest}" if rest else ""
            return f"the brief gives no likelihood{note}; we carry the wide {rng} range"
        first = words.split()[0].lower() if words else ""
        said = (
            f"the brief says only that it “{words}” happen"
            if first in MODAL_WORDS
            else f"the brief calls it “{words}”"
        )
        return f"{said} and gives no probability, so we carry the wide {rng} range"
    term = likelihood.replace("_", " ")
    read_as = "" if words.lower() == term else f", which we read as “{term}”"
    yardstick = "PHIA yardstick" if "PHIA" in rules.likelihood.yardstick else "yardstick"
    return f"the brief judges this “{words}”{read_as} ({rng} on the {yardstick})"


def band_label(rules: Rules, band: str) -> str:
    for b in rules.bands:
        if b.band == band:
            return b.label
    return ""


def band_scale(rules: Rules) -> list[dict[str, object]]:
    """The bands best first, each with its score range: A 90–100, B 75–90, ..."""
    ordered = sorted(rules.bands, key=lambda b: -b.min_score)
    out = []
    upper = 100.0
    for b in ordered:
        out.append({"band": b.band, "label": b.label, "low": b.min_score, "high": upper})
        upper = b.min_score
    return out
