"""Safety in review: which clients a draft register moves although the brief names none of
their places.

Before a reviewed brief is published the analyst sees every client whose rating would move. A
client none of whose sites or routes lies in a place the brief's accepted threats name (worldwide
threats aside) is flagged: it moves only through worldwide threats, or because other threats of
the register changed (superseded, retired or lapsed by the new date). Such moves are the ones a
mis-drafted "world" or a wrong country produces, so they are shown for a second look.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.context import REQUIRED, Context
from engine.models import ScenarioRow
from engine.store import Scope
from exposures.gazetteer import WORLD
from scoring_rules.threats import Register

# Reads: run_classes, run_profiles, geo_regions.
# Produces: per client of the run, which of the regions $regions its items lie in.
CLIENT_PLACES = """
SELECT k.client_id, list(DISTINCT g.region_id ORDER BY g.region_id) AS inside
FROM run_classes k
JOIN run_profiles p ON p.run_id = k.run_id AND p.profile_id = k.profile_id
JOIN geo_regions g ON g.geo_key = p.geo_key
WHERE k.run_id = $r AND list_contains($regions, g.region_id)
GROUP BY k.client_id
"""


@dataclass(frozen=True)
class Flag:
    client_id: str
    name: str
    delta: float
    reason: str


def brief_places(register: Register, threat_ids: Iterable[str]) -> list[str]:
    """The regions (not the world) the given threats of the register name."""
    wanted = set(threat_ids)
    return sorted(
        {r.region for t in register.threats if t.id in wanted for r in t.regions} - {WORLD}
    )


def outside_places(
    ctx: Context,
    rows: list[ScenarioRow],
    after_run: int,
    register: Register,
    threat_ids: Iterable[str],
    scope: Scope = REQUIRED,
) -> list[Flag]:
    """The moved clients (``rows``: before/after of a preview) none of whose items lies in a
    place the threats ``threat_ids`` of ``register`` name, the largest move first."""
    ids = list(threat_ids)
    places = brief_places(register, ids)
    inside: dict[str, list[str]] = {}
    if places:
        frame = ctx.store.frame(CLIENT_PLACES, {"r": after_run, "regions": places})
        inside = {r["client_id"]: r["inside"] for r in frame.iter_rows(named=True)}
    worldwide = [
        t.title
        for t in register.threats
        if t.id in set(ids) and any(r.region == WORLD for r in t.regions)
    ]
    out = []
    for row in rows:
        if not scope.allows(row.client_id) or abs(row.delta) < 0.05:
            continue
        if inside.get(row.client_id):
            continue
        reason = (
            "none of its sites or routes lies in a place the brief names; it moves through "
            "worldwide threats (" + "; ".join(worldwide) + ") or other changes to the register"
            if worldwide
            else "none of its sites or routes lies in a place the brief names; it moves "
            "because other threats of the register changed (superseded, retired or lapsed)"
        )
        out.append(Flag(row.client_id, row.name, row.delta, reason))
    return sorted(out, key=lambda f: (-abs(f.delta), f.client_id))
