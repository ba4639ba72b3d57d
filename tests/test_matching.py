"""Free-text matching of partners and departments: exact, confident, grey zone, nothing."""

from __future__ import annotations

import pytest

from rules.matching import Matcher, normalize
from rules.ruleset import RuleSet


def test_normalize_ignores_case_accents_and_punctuation() -> None:
    assert normalize("  Tromsø ") == normalize("TROMSÖ") == "tromso"
    assert normalize("Novéant-sur-Moselle") == "noveant sur moselle"
    assert normalize("Arctic Mayors´ Forum") == normalize("Arctic Mayors' Forum")


@pytest.mark.parametrize(
    ("typed", "partner"),
    [
        ("Zenika", "zenica"),
        ("Puerto Cabesas", "puerto_cabezas"),
        ("Union of Baltic Cities", "ubc"),
        ("Arctic Mayor Forum", "arctic_mayors_forum"),
        ("Swedn ICT", "sweden_ict"),
    ],
)
def test_a_misspelt_partner_is_a_confident_match(rules: RuleSet, typed: str, partner: str) -> None:
    match = rules.partner_matcher.match(typed)
    assert match.status == "confident"
    assert match.key == partner


def test_a_name_that_fits_several_partners_is_the_grey_zone(rules: RuleSet) -> None:
    match = rules.partner_matcher.match("Bothnian")
    assert match.status == "ambiguous"
    assert {"bothnian_arc", "bothnian_coastal_route"} <= set(match.candidates)


def test_a_near_miss_on_a_short_name_asks_rather_than_guesses(rules: RuleSet) -> None:
    match = rules.partner_matcher.match("Oulo")
    assert match.status == "ambiguous"
    assert match.candidates[0] == "oulu"


@pytest.mark.parametrize("typed", ["xyzzy qwerty", "Barcelona", "abc", "Tokyo"])
def test_unrelated_text_matches_nothing(rules: RuleSet, typed: str) -> None:
    assert rules.partner_matcher.match(typed).status == "none"


def test_short_aliases_match_only_exactly() -> None:
    matcher = Matcher([("ubc", ["UBC"]), ("sern", ["SERN"])])
    assert matcher.match("ubc").status == "exact"
    assert matcher.match("ubx").status == "none"


def test_departments_match_by_alias_and_typo(rules: RuleSet) -> None:
    assert rules.department_matcher.match("kommunstaben").key == "Kommunstaben"
    assert rules.department_matcher.match("Kommunstabben").key == "Kommunstaben"
    assert rules.department_matcher.match("LBR").key == "Luleå Business Region"


UNIVERSITIES = [("umu", ["Umeå universitet"]), ("uit", ["UiT Norges arktiske universitet"])]


@pytest.mark.parametrize("typed", ["universitet", "Stockholms universitet", "Umeå"])
def test_a_generic_word_never_decides_a_match(typed: str) -> None:
    knowing = Matcher(UNIVERSITIES, generic_words=["universitet"])
    assert knowing.match(typed).status in ("none", "ambiguous")
    assert knowing.match("Umeå universitet").key == "umu"


def test_without_its_generic_words_a_matcher_would_guess_on_them() -> None:
    # Why the generic words are needed: a shared "universitet" alone looks like a match.
    assert Matcher(UNIVERSITIES).match("universitet").status == "confident"


def test_a_part_of_a_name_is_asked_not_taken() -> None:
    matcher = Matcher([("a5", ["Arctic Five", "Arctic 5"])], generic_words=["city"])
    assert matcher.match("Arctic").status == "ambiguous"
    assert matcher.match("Arctic Fiv").key == "a5"


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("SERN och UBC", ["sern", "ubc"]),
        ("ubc, sern", ["ubc", "sern"]),
        ("SERN–UBC", ["sern", "ubc"]),
        ("SERN och SERN", ["sern"]),
        ("Sweden Emilia Romagna Network and UBC", ["sern", "ubc"]),
        ("Zenika och SERN", ["zenica", "sern"]),
        ("inget av dem", []),
    ],
)
def test_find_all_names_every_key_in_order(text: str, keys: list[str]) -> None:
    matcher = Matcher(
        [
            ("sern", ["SERN", "Sweden Emilia Romagna Network"]),
            ("ubc", ["UBC"]),
            ("zenica", ["Zenica"]),
        ]
    )
    assert matcher.find_all(text) == keys
