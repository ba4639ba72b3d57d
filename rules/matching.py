"""Free-text matching against known names: exact alias, confident fuzzy match, or a grey zone."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

MatchStatus = Literal["exact", "confident", "ambiguous", "none"]

# Letters that NFKD does not decompose into a base letter plus a combining mark.
_SPECIAL_LETTERS = {
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "ı": "i",
    "ħ": "h",
    "ŀ": "l",
    "ŧ": "t",
    "ŋ": "n",
    "ĸ": "k",
    "ß": "ss",
}
# A regex finds them far faster than str.translate walks every character in Python.
_SPECIAL = re.compile("[" + "".join(_SPECIAL_LETTERS) + "]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

CONFIDENT_SCORE = 92.0
GREY_SCORE = 75.0
# Below this many characters an alias (UBC, SERN, LBR) is only matched exactly: a fuzzy hit
# on three letters is noise.
SHORT_ALIAS = 4
# A confident match must beat the next entity by this much, or the user is asked to choose.
MARGIN = 5.0


def fold_special(text: str) -> str:
    """Replaces the letters that have no decomposition (ø, æ, ł, ...) by their base letters."""
    return _SPECIAL.sub(lambda m: _SPECIAL_LETTERS[m[0]], text)


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: 'Tromsø' → 'tromso'."""
    folded = unicodedata.normalize("NFKD", fold_special(text.casefold()))
    # After NFKD the diacritics are separate combining marks; dropping non-ASCII drops them.
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub(" ", ascii_text).strip()


@dataclass(frozen=True)
class Match:
    """What a text matched: a key for exact/confident, candidate keys for the grey zone."""

    status: MatchStatus
    key: str | None = None
    candidates: tuple[str, ...] = ()


def _close_by_edits(query: str, alias: str) -> bool:
    """One typo in a name of five letters or more, two in a long one, is still a confident hit."""
    allowed = 2 if min(len(query), len(alias)) >= 12 else 1
    return min(len(query), len(alias)) >= 5 and Levenshtein.distance(query, alias) <= allowed


class Matcher:
    """Matches free text against the aliases of a set of keyed entries."""

    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._exact: dict[str, str] = {}
        self._fuzzy: list[tuple[str, str]] = []
        for key, aliases in entries:
            for alias in aliases:
                norm = normalize(alias)
                if not norm:
                    continue
                self._exact.setdefault(norm, key)
                if len(norm) > SHORT_ALIAS:
                    self._fuzzy.append((norm, key))

    def exact(self, text: str) -> str | None:
        """The key whose alias equals the text once normalised, if any."""
        return self._exact.get(normalize(text))

    def match(self, text: str) -> Match:
        """Matches text: exact alias, a confident fuzzy match, a grey zone, or nothing."""
        query = normalize(text)
        if not query:
            return Match("none")
        if query in self._exact:
            return Match("exact", self._exact[query])
        best: dict[str, float] = {}
        for alias, key in self._fuzzy:
            score = fuzz.WRatio(query, alias)
            if _close_by_edits(query, alias):
                score = max(score, CONFIDENT_SCORE)
            if score > best.get(key, 0.0):
                best[key] = score
        ranked = sorted(best.items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] < GREY_SCORE:
            return Match("none")
        top_key, top_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if top_score >= CONFIDENT_SCORE and top_score - runner_up >= MARGIN:
            return Match("confident", top_key)
        grey = tuple(key for key, score in ranked[:4] if score >= GREY_SCORE)
        return Match("ambiguous", None, grey)
