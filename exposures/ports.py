"""Resolve a client's port text to a :class:`Port`: a UN/LOCODE, a port name or coordinates.

Accepted forms (case-insensitive):

- a UN/LOCODE, with or without the space: ``SARTA``, ``SA RTA``;
- a port name from searoute's bundled port list (3,955 ports, each with a LOCODE), or one of the
  aliases below: ``Ras Tanura``, ``Rotterdam``, ``Basra``; a country may be added to pick between
  namesakes: ``Hamburg, US``, ``Hamburg (Germany)``;
- coordinates as ``lat, lon`` in decimal degrees: ``26.64, 50.16``, ``26.64N 50.16E``.

Anything else raises :class:`ExposureError` with up to three fuzzy suggestions (rapidfuzz).

The port list comes from ``searoute.data.ports_dict`` (fields: ``name``, ``port`` = UN/LOCODE,
``cty`` = country name, ``t`` = terminal flag, ``x`` = lon, ``y`` = lat). A few LOCODEs occur
twice (``INBOM`` is both "Mumbai" and "Bombay"); a LOCODE lookup prefers the entry flagged as a
terminal (``t == 1``). Names shared by several ports ("Hamburg": Germany and the US) resolve the
same way, unless a country is given.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import pycountry
from rapidfuzz import fuzz, process

from core.errors import ExposureError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Port:
    locode: str | None
    name: str
    lat: float
    lon: float
    country_iso3: str | None

    def label(self) -> str:
        """``Rotterdam (NLRTM)``, or the bare name when the port has no LOCODE."""
        return f"{self.name} ({self.locode})" if self.locode else self.name


# Common names that are missing from searoute's list (or misspelt there), mapped to its LOCODE.
_ALIASES: dict[str, str] = {
    "basra": "IQUQR",  # Iraq's main port, Umm Qasr, in Basra governorate
    "basrah": "IQUQR",
    "port of basra": "IQUQR",
    "al basrah": "IQUQR",
    "genoa": "ITGOA",
    "antwerp": "BEANR",
    "busan": "KRPUS",
    "gothenburg": "SEGOT",
    "goteborg": "SEGOT",
    "lisbon": "PTLIS",
    "venezia": "ITVCE",
    "leghorn": "ITLIV",
    "saigon": "VNSGN",
    "ho chi minh": "VNSGN",
    "kolkata": "INCCU",
    "rangoon": "MMRGN",
    "port klang": "MYPKG",
    "klang": "MYPKG",
    "zeebrugge": "BEZEE",
    "rio de janeiro": "BRRIO",
    "marseilles": "FRMRS",
    "seattle": "USSEA",
    "jnpt": "INNSA",
    "jawaharlal nehru": "INNSA",
    "mina al ahmadi": "KWMEA",
    "kuwait city": "KWSWK",
    "sokhna": "EGSOK",
}

# Ports missing from searoute's list altogether: (LOCODE or None, name, lat, lon, ISO alpha-3),
# keyed by every name they answer to. Coordinates are public (WGS84, decimal degrees).
_EXTRA_PORTS: tuple[tuple[tuple[str, ...], str | None, str, float, float, str], ...] = (
    (
        ("al basrah oil terminal", "basrah oil terminal", "basra oil terminal", "abot"),
        None,
        "Al Basrah Oil Terminal",
        29.682,
        48.809,
        "IRQ",
    ),
    (("kharg island", "kharg"), "IRKHK", "Kharg Island", 29.233, 50.317, "IRN"),
    (("yanbu",), "SAYNB", "Yanbu", 24.083, 38.050, "SAU"),
    (("duqm",), "OMDQM", "Duqm", 19.660, 57.720, "OMN"),
    (("ruwais",), "AERUW", "Ruwais", 24.110, 52.730, "ARE"),
    (("khalifa port", "khalifa"), "AEKHL", "Khalifa Port", 24.810, 54.650, "ARE"),
    (("ceyhan",), "TRCEY", "Ceyhan", 36.880, 35.930, "TUR"),
    (("tanger med", "tanger mediterranee"), "MAPTM", "Tanger Med", 35.890, -5.500, "MAR"),
)

_LOCODE_RE = re.compile(r"^([A-Za-z]{2})\s?([A-Za-z2-9]{3})$")
_NUM = r"([+-]?\d+(?:\.\d+)?)\s*°?\s*([NSEWnsew])?"
_COORD_RE = re.compile(rf"^\s*{_NUM}\s*[,;\s]\s*{_NUM}\s*$")
_QUALIFIED_RE = re.compile(r"^(.+?)\s*(?:,\s*|\(\s*)([^,()]+?)\s*\)?$")


def _norm(text: str) -> str:
    """Lower-case, drop accents and punctuation, ``Göteborg-Hamn`` is ``goteborg hamn``."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^0-9a-z]+", " ", ascii_text.casefold())
    return " ".join(cleaned.split())


@cache
def _iso3(prefix: str, country_name: str) -> str | None:
    # searoute's country names are right where its LOCODE prefixes are wrong (a few rows);
    # the prefix covers the names pycountry does not know ("Russia", "Turkey", "Ivory_coast").
    try:
        return str(pycountry.countries.lookup(country_name.replace("_", " ")).alpha_3)
    except LookupError:
        pass
    country = pycountry.countries.get(alpha_2=prefix)
    return str(country.alpha_3) if country is not None else None


@dataclass(frozen=True)
class _Index:
    by_locode: dict[str, Port]
    by_name: dict[str, tuple[Port, ...]]  # normalised name -> ports, preferred first
    choices: tuple[str, ...]  # the keys of by_name, for fuzzy matching


@cache
def _index() -> _Index:
    from searoute.data.ports_dict import node_list

    ranked: list[tuple[int, Port]] = []
    for props in node_list.values():
        code = str(props["port"]).upper()
        locode = code if len(code) == 5 else None  # one row carries a bare "EG"
        port = Port(
            locode=locode,
            name=str(props["name"]),
            lat=float(props["y"]),
            lon=float(props["x"]),
            country_iso3=_iso3(code[:2], str(props["cty"])),
        )
        terminal = props.get("t")
        rank = 0 if terminal == 1 else 1 if terminal == 0 else 2
        ranked.append((rank, port))
    ranked.sort(key=lambda item: item[0])  # stable: terminals first, then list order

    by_locode: dict[str, Port] = {}
    by_name: dict[str, list[Port]] = {}
    for _, port in ranked:
        if port.locode is not None:
            by_locode.setdefault(port.locode, port)
        by_name.setdefault(_norm(port.name), []).append(port)

    for names, locode, name, lat, lon, iso3 in _EXTRA_PORTS:
        port = Port(locode, name, lat, lon, iso3)
        if locode is not None:
            by_locode.setdefault(locode, port)
        for alias in names:
            by_name.setdefault(_norm(alias), []).insert(0, port)
    for alias, locode in _ALIASES.items():
        by_name.setdefault(_norm(alias), []).append(by_locode[locode])

    frozen = {key: tuple(ports) for key, ports in by_name.items()}
    log.debug("port index: %d LOCODEs, %d names", len(by_locode), len(frozen))
    return _Index(by_locode, frozen, tuple(frozen))


def _parse_coordinates(text: str) -> Port | None:
    match = _COORD_RE.match(text)
    if match is None:
        return None
    a, a_hemi, b, b_hemi = match.groups()
    lat, lon = float(a), float(b)
    hemis = ((a_hemi or "").upper(), (b_hemi or "").upper())
    if hemis[0] in ("E", "W") or hemis[1] in ("N", "S"):
        lat, lon = lon, lat  # "50.16E 26.64N": hemisphere letters say which is which
        hemis = (hemis[1], hemis[0])
    if hemis[0] == "S":
        lat = -abs(lat)
    if hemis[1] == "W":
        lon = -abs(lon)
    if not -90.0 <= lat <= 90.0:
        hint = " (coordinates are 'lat, lon': did you swap them?)" if -90 <= lon <= 90 else ""
        raise ExposureError(f"port coordinates {text!r}: latitude {lat} is outside -90..90{hint}")
    if not -180.0 <= lon <= 180.0:
        raise ExposureError(f"port coordinates {text!r}: longitude {lon} is outside -180..180")
    return Port(None, f"{lat:.4f}, {lon:.4f}", lat, lon, None)


def _country_iso3(text: str) -> str | None:
    try:
        country = pycountry.countries.lookup(text.strip())
    except LookupError:
        return None
    return str(country.alpha_3)


def _by_name(text: str) -> Port | None:
    index = _index()
    key = _norm(text)
    for candidate in (key, key.removeprefix("port of "), key.removesuffix(" port")):
        if candidate in index.by_name:
            return index.by_name[candidate][0]
    qualified = _QUALIFIED_RE.match(text)
    if qualified is not None:
        iso3 = _country_iso3(qualified.group(2))
        if iso3 is not None:
            for port in index.by_name.get(_norm(qualified.group(1)), ()):
                if port.country_iso3 == iso3:
                    return port
    return None


def _lookup(text: str) -> Port | None:
    stripped = text.strip()
    coords = _parse_coordinates(stripped)
    if coords is not None:
        return coords
    locode = _LOCODE_RE.match(stripped)
    if locode is not None:
        port = _index().by_locode.get((locode.group(1) + locode.group(2)).upper())
        if port is not None:
            return port
    return _by_name(stripped)


def suggest_ports(text: str, limit: int = 3) -> list[Port]:
    """Up to ``limit`` known ports whose name (or LOCODE) is closest to ``text``, best first.

    Scores are rapidfuzz ``ratio`` (0-100); a candidate needs 60 and must be within 15 points of
    the best one, so a clear match ("Rotterdm") is not padded with far-fetched ones.
    """
    index = _index()
    key = _norm(text)
    if not key or limit <= 0:
        return []
    scored: list[tuple[float, Port]] = []
    compact = key.replace(" ", "").upper()
    if len(compact) == 5:
        for code, score, _ in process.extract(
            compact, list(index.by_locode), scorer=fuzz.ratio, limit=limit, score_cutoff=80
        ):
            scored.append((score, index.by_locode[code]))
    for name, score, _ in process.extract(
        key, index.choices, scorer=fuzz.ratio, limit=limit * 3, score_cutoff=60
    ):
        scored.append((score, index.by_name[name][0]))
    if not scored:
        return []
    scored.sort(key=lambda item: -item[0])
    best = scored[0][0]
    unique: list[Port] = []
    for score, port in scored:
        if score >= best - 15 and port not in unique:
            unique.append(port)
    return unique[:limit]


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def resolve_port(text: str) -> Port:
    """The port ``text`` names: a UN/LOCODE, a port name or ``lat, lon`` coordinates.

    Raises :class:`ExposureError` for anything else, with up to three suggestions.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExposureError("empty port: give a UN/LOCODE (NLRTM), a port name or 'lat, lon'")
    port = _lookup(text)
    if port is not None:
        return port
    suggestions = suggest_ports(text)
    if suggestions:
        hint = f"did you mean {_or_list([p.label() for p in suggestions])}?"
    else:
        hint = "give a UN/LOCODE (e.g. NLRTM), a port name or coordinates 'lat, lon'"
    raise ExposureError(f"unknown port {text.strip()!r}; {hint}")
