"""Free-text matching against known names: exact alias, confident fuzzy match, or a grey zone."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process
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
_PUNCTUATION = re.compile(r"[^\w\s]|_")

CONFIDENT_SCORE = 92.0
GREY_SCORE = 75.0
# Below this many characters an alias (UBC, SERN, LBR) is only matched exactly: a fuzzy hit
# on three letters is noise.
SHORT_ALIAS = 4
# A confident match must beat the next entity by this much, or the user is asked to choose.
MARGIN = 5.0
# Words this short ("of", "the", "och") do not tell two names apart.
SHORT_WORD = 3
# What a fuzzy match loses for each alias whose generic word ("universitet") the text lacks.
GENERIC_PENALTY = 5.0
# Below this raw score an alias can neither match nor be the runner-up that blocks a confident
# match (every adjustment in `Matcher.match` only lowers a score, besides close spelling).
RELEVANT_SCORE = min(GREY_SCORE, CONFIDENT_SCORE - MARGIN)


def fold_special(text: str) -> str:
    """Replaces the letters that have no decomposition (ø, æ, ł, ...) by their base letters."""
    return _SPECIAL.sub(lambda m: _SPECIAL_LETTERS[m[0]], text)


# Texts up to this length have their normal form remembered.
_SHORT = 64


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: 'Tromsø' → 'tromso'."""
    # A turn normalises the same short words many times (answers, commands, labels): those
    # are remembered; a long text is worked out each time, so memory stays small.
    return _normalize_short(text) if len(text) <= _SHORT else _normalize(text)


@lru_cache(maxsize=4096)
def _normalize_short(text: str) -> str:
    return _normalize(text)


def _normalize(text: str) -> str:
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


def _fuzzy_score(query: str, alias: str) -> float:
    score = fuzz.WRatio(query, alias)
    if _close_by_edits(query, alias):
        score = max(score, CONFIDENT_SCORE)
    return score


class Matcher:
    """Matches free text against the aliases of a set of keyed entries.

    `generic_words` (stad, university, kaupunki, ...) recur in many names: a fuzzy match must
    hold with them left out of both sides too, so a shared generic word never decides it
    ("Stockholms universitet" is not "Umeå universitet"; "universitet" alone is nothing).
    """

    def __init__(
        self, entries: Iterable[tuple[str, Iterable[str]]], generic_words: Iterable[str] = ()
    ) -> None:
        self._generic = frozenset(normalize(word) for word in generic_words)
        self._exact: dict[str, str] = {}
        self._fuzzy: list[tuple[str, str, str]] = []
        self.longest_alias = 0
        for key, aliases in entries:
            for alias in aliases:
                norm = normalize(alias)
                if not norm:
                    continue
                self._exact.setdefault(norm, key)
                self.longest_alias = max(self.longest_alias, len(norm.split()))
                if len(norm) > SHORT_ALIAS:
                    self._fuzzy.append((norm, self._distinctive(norm), key))
        self._fuzzy_aliases = [alias for alias, _, _ in self._fuzzy]

    def _distinctive(self, norm: str) -> str:
        """The name without its generic words: 'umea universitet' → 'umea'."""
        return " ".join(word for word in norm.split() if word not in self._generic)

    def _generic_words_of(self, alias: str) -> set[str]:
        return {word for word in alias.split() if word in self._generic}

    def _lacks_a_distinctive_word(self, query: str, alias: str) -> bool:
        """Whether the query is some of the alias's words without a distinctive one: not a
        generic word, and not a short one such as "of" or "the" (a digit counts: "Arctic 5").
        Only a matcher that knows its generic words can tell a distinctive one."""
        if not self._generic:
            return False
        words, alias_words = set(query.split()), set(alias.split())
        missing = alias_words - words - self._generic
        return words < alias_words and any(len(w) > SHORT_WORD or w.isdigit() for w in missing)

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
        distinctive = self._distinctive(query)
        if not distinctive:
            return Match("none")
        best: dict[str, float] = {}
        query_words = set(query.split())
        for index in self._relevant(query):
            alias, alias_distinctive, key = self._fuzzy[index]
            score = _fuzzy_score(query, alias)
            if not self._generic_words_of(alias) <= query_words:
                # A kind of name the query does not say: "Oulo" is the town, not its university.
                score -= GENERIC_PENALTY
            if self._generic and score >= GREY_SCORE:
                # The names must be alike apart from their generic words too.
                apart = _fuzzy_score(distinctive, alias_distinctive or alias)
                score = score if apart >= GREY_SCORE else apart
            if self._lacks_a_distinctive_word(query, alias):
                # "Arctic" is a part of "Arctic Five", not a spelling of it: ask.
                score = min(score, CONFIDENT_SCORE - 1)
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

    def _relevant(self, query: str) -> list[int]:
        """The aliases worth scoring one by one, in table order: those rapidfuzz finds alike
        (in C, over every alias at once) or a typo or two away."""
        aliases = self._fuzzy_aliases
        alike = process.extract(
            query, aliases, scorer=fuzz.WRatio, score_cutoff=RELEVANT_SCORE, limit=None
        )
        close = process.extract(
            query, aliases, scorer=Levenshtein.distance, score_cutoff=2, limit=None
        )
        return sorted({index for _, _, index in alike} | {index for _, _, index in close})

    def find_all(self, text: str) -> list[str]:
        """Every key a longer text names, in order ("SERN och UBC" → sern, ubc): aliases found
        as whole phrases (the longest first), then confident fuzzy matches of what is left."""
        # Any punctuation separates names ("SERN–UBC"); normalize() alone would drop the dash.
        spaced = _PUNCTUATION.sub(" ", unicodedata.normalize("NFC", text))
        tokens = normalize(spaced).split()
        found: list[tuple[int, str]] = []
        left: list[int] = []
        start = 0
        while start < len(tokens):
            for size in range(min(self.longest_alias, len(tokens) - start), 0, -1):
                key = self._exact.get(" ".join(tokens[start : start + size]))
                if key is not None:
                    found.append((start, key))
                    start += size
                    break
            else:
                left.append(start)
                start += 1
        found += self._fuzzy_in(tokens, left)
        keys: list[str] = []
        for _, key in sorted(found):
            if key not in keys:
                keys.append(key)
        return keys

    def _fuzzy_in(self, tokens: list[str], positions: list[int]) -> list[tuple[int, str]]:
        """Confident matches among the given tokens: each run of consecutive ones as a whole,
        else its windows of up to three tokens."""
        found: list[tuple[int, str]] = []
        free = set(positions)
        matched: dict[str, Match] = {}  # a run of one token is also its own window

        def confident(start: int, stop: int) -> str | None:
            words = " ".join(tokens[start:stop])
            if words not in matched:
                matched[words] = self.match(words)
            match = matched[words]
            return match.key if match.status == "confident" else None

        runs: list[list[int]] = []
        for i in positions:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            key = confident(run[0], run[-1] + 1)
            if key is not None:
                found.append((run[0], key))
                free -= set(run)
        for size in (3, 2, 1):
            for start in sorted(free):
                window = range(start, start + size)
                if not all(i in free for i in window):
                    continue
                key = confident(start, start + size)
                if key is not None:
                    found.append((start, key))
                    free -= set(window)
        return found
