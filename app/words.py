"""Plain words for the codes the engine stores: sectors, countries, regions, threats, ranges.

Pages show these instead of ids ("sea.hormuz" reads "Strait of Hormuz", "oil_gas · GBR" reads
"Oil and gas · United Kingdom", a threat id reads as the register's title). The wording of the
reports (``engine.report.fmt``) is reused, so the app and the PDF say the same thing.
"""

from __future__ import annotations

import re
from functools import cache

import pycountry

from engine.models import Rating
from engine.report.facts import region_name
from engine.report.fmt import humanise, sentence
from engine.text import clean

SECTORS = {
    "oil_gas": "Oil and gas",
    "it_services": "IT services",
    "telecoms": "Telecommunications",
}


def sector(code: str | None) -> str:
    """oil_gas -> Oil and gas; shipping -> Shipping."""
    if not code:
        return "-"
    return SECTORS.get(code, sentence(humanise(code)))


@cache
def country(iso3: str | None) -> str:
    """GBR -> United Kingdom (pycountry's common name where it has one); unknown codes as given."""
    if not iso3:
        return "-"
    found = pycountry.countries.get(alpha_3=iso3.upper())
    if found is None:
        return iso3
    return str(getattr(found, "common_name", None) or found.name)


def region(region_id: str | None) -> str:
    """sea.hormuz -> Strait of Hormuz; IRQ -> Iraq; world -> worldwide."""
    return region_name(region_id)


def kind(code: str | None) -> str:
    """An asset type, commodity or category code in words: crude_oil -> crude oil."""
    return humanise(code)


def place(city: str | None, iso3: str | None) -> str:
    """Basra, Iraq (or the country alone)."""
    name = country(iso3) if iso3 else ""
    return ", ".join(p for p in (clean(city or ""), name) if p) or "-"


def client_line(r: Rating) -> str:
    """Oil and gas · headquartered in the United Kingdom."""
    return f"{sector(r.sector)} · headquartered in {country(r.hq_country)}"


def plural(n: int, noun: str, many: str | None = None) -> str:
    """1 section, 2 sections; 1 valid row, 3 valid rows."""
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"


def score(value: float) -> str:
    """A resilience score with its scale: 66.5 / 100."""
    return f"{value:.1f} / 100"


def risk(value: float) -> str:
    """An item's chance of disruption over the outlook, as a percentage."""
    return f"{value:.0%}"


RISK_MEANING = (
    "Risk of disruption: the chance, over the rules' outlook window, that the threats in the "
    "register disrupt the item beyond what it can tolerate (central estimate)."
)
SCORE_MEANING = (
    "Resilience score, 0 (critical) to 100 (no threat reaches it): 100 x (1 - risk), where risk "
    "combines the value-weighted expected disruption with the worst critical item."
)


def range_meaning(r: Rating) -> str:
    """The one line that says what the range shows."""
    if r.band_low == r.band_high:
        bands = f"band {r.band_low} throughout"
    else:
        bands = f"bands {r.band_low} to {r.band_high}"
    return (
        f"Range: {bands}, scores {r.score_low:.0f} to {r.score_high:.0f} out of 100, from the "
        "least to the most likely reading of the brief's likelihood words."
    )


NOT_ASSESSED = (
    "Not assessed: the brief says only that this may happen (\u201cmay\u201d, \u201ccould\u201d), "
    "without a probability, so the rules give it a wide likelihood range."
)


def likelihood(code: str, words: str) -> str:
    """realistic_possibility -> realistic possibility; not_assessed -> explained in words."""
    if code == "not_assessed":
        return f"not assessed (the brief says \u201c{clean(words)}\u201d, with no probability)"
    return f"{humanise(code)} (the brief says \u201c{clean(words)}\u201d)"


_FIELD_FIXES = {
    "horizon": "set the horizon's last month after its first month (months after the brief)",
    "intensity": "give each place an intensity from 0 (no effect) to 1 (full effect)",
    "regions": "give the threat at least one place, each with an intensity from 0 to 1",
    "likelihood": "choose a likelihood from the list",
    "likelihood_words": "quote the brief's own likelihood word(s)",
    "severity": "choose a severity from 1 (minor) to 5 (severe)",
    "summary": "write a summary of at least 10 characters in your own words",
    "title": "give the threat a title of at least 5 characters",
}
_RULE_LINE = re.compile(
    r"^(?:.*?, )?threats\.(\d+)\.([\w.]+): (?:Value error, )?(.*?)(?: \(got [^)]*\))?$"
)


def rule_error(text: str, titles: list[str]) -> str:
    """A register check's message in the product's words: which threat (by title), what is
    wrong and how to fix it, instead of "threats.0.horizon: Value error ... (got dict)".
    ``titles``: the threats' titles in register order. Lines of another shape are kept."""
    out = []
    for line in str(text).splitlines():
        m = _RULE_LINE.match(line.strip())
        if m is None:
            out.append(line)
            continue
        index, key, message = int(m.group(1)), m.group(2), m.group(3)
        message = message.replace("to_months", "the last month").replace(
            "from_months", "the first month"
        )
        name = titles[index] if 0 <= index < len(titles) else f"threat {index + 1}"
        field = next((k for k in reversed(key.split(".")) if not k.isdigit()), key)
        fix = _FIELD_FIXES.get(field, "correct it in the form and apply again")
        what = humanise(field)
        out.append(
            f"\u201c{clean(name)}\u201d: the {what} is not accepted ({message}). To fix: {fix}."
        )
    return "\n".join(out)
