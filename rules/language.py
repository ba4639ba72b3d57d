"""The language a first message is written in, from the words of the vocabulary."""

from __future__ import annotations

from functools import lru_cache

from rules.answers import GENERIC_NAME_WORDS
from rules.matching import normalize
from rules.models import LANGS, BilingualList, Lang
from rules.ruleset import RuleSet

LONGEST_CUE = 3  # words in the longest phrase looked for ("god morgon", "i want")


@lru_cache(maxsize=4)
def _cues(rules: RuleSet) -> dict[str, Lang]:
    """Every phrase of one language only: the greetings and common words, and the words of
    every other group (yes, trip, help...). A phrase both languages use tells nothing, and
    nor do the generic words of partners' names ("kaupunki" is not Swedish)."""
    vocabulary = rules.vocabulary
    groups: list[BilingualList] = [vocabulary.greetings, vocabulary.nothing]
    for named in (vocabulary.answers, vocabulary.kinds, vocabulary.modes, vocabulary.numbers):
        groups += named.values()
    groups += [words for key, words in vocabulary.commands.items() if key != GENERIC_NAME_WORDS]
    langs: dict[str, set[Lang]] = {}
    for group in groups:
        for lang in LANGS:
            for word in group(lang):
                norm = normalize(word)
                if norm:
                    langs.setdefault(norm, set()).add(lang)
    return {word: found.pop() for word, found in langs.items() if len(found) == 1}


def detect(text: str, rules: RuleSet) -> Lang | None:
    """The language of `text` when its words show one ("Hi there", "Jag ska resa till
    Uleåborg"), None when they do not ("Oulu", "SERN") or are as much one as the other."""
    cues = _cues(rules)
    tokens = normalize(text).split()
    votes: dict[Lang, int] = dict.fromkeys(LANGS, 0)
    start = 0
    while start < len(tokens):
        for size in range(min(LONGEST_CUE, len(tokens) - start), 0, -1):
            lang = cues.get(" ".join(tokens[start : start + size]))
            if lang is not None:
                votes[lang] += 1
                start += size
                break
        else:
            start += 1
    sv, en = votes["sv"], votes["en"]
    if sv == en:
        return None
    return "sv" if sv > en else "en"
