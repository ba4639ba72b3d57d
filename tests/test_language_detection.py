"""The language of a new check from its first message (issue 17 item 4): greetings and
ordinary sentences tell it; a bare name does not."""

from __future__ import annotations

import pytest

from rules.language import detect
from rules.models import Lang
from rules.ruleset import RuleSet


@pytest.mark.parametrize(
    ("opener", "lang"),
    [
        ("Hi there", "en"),
        ("Good evening", "en"),
        ("Good morning!", "en"),
        ("hello", "en"),
        ("Hey, quick question", "en"),
        ("I want to check a trip to Oulu", "en"),
        ("We are going to a fair in Hamburg", "en"),
        ("Can you help me?", "en"),
        ("a conference in Bologna", "en"),
        ("study trip", "en"),
        ("New check", "en"),
        ("A delegation from Oulu is visiting", "en"),
        ("Hej!", "sv"),
        ("God morgon", "sv"),
        ("God kväll", "sv"),
        ("Tjena", "sv"),
        ("Hallå där", "sv"),
        ("Jag ska resa till Uleåborg", "sv"),
        ("Jag vill kolla en resa", "sv"),
        ("Vi ska på studiebesök i Tromsø", "sv"),
        ("en konferens i Bologna", "sv"),
        ("Kan du hjälpa mig?", "sv"),
        ("Ny kontroll", "sv"),
        ("studieresa", "sv"),
        ("Hej, I want to check a trip", "en"),
        ("Oulu", None),
        ("SERN", None),
        ("Tromsø", None),
        ("Bologna 12", None),
        ("Oulun kaupunki", None),
        ("ok", None),
        ("workshop", None),
        ("", None),
        ("!!!", None),
    ],
)
def test_the_first_message_tells_the_language(
    rules: RuleSet, opener: str, lang: Lang | None
) -> None:
    assert detect(opener, rules) == lang


def test_every_greeting_in_the_vocabulary_tells_its_own_language(rules: RuleSet) -> None:
    both = set(rules.vocabulary.greetings.sv) & set(rules.vocabulary.greetings.en)
    for lang in ("sv", "en"):
        for greeting in rules.vocabulary.greetings(lang):
            if greeting not in both:
                assert detect(greeting, rules) == lang, greeting
