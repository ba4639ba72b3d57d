"""The short decision (issue 11, item 5) on every channel, within max_lines for every outcome;
the rule of which guidelines it shows; and what the view holds."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters import slack_blocks, teams_cards, telegram_render
from adapters.terminal import _print_plain as print_plain
from bot.messages import Outgoing
from bot.render import Renderer
from rules.answers import Interpreter
from rules.check import Check, Destination, PartnerRef
from rules.evaluate import evaluate
from rules.loader import DEFAULT_DIR, RuleSetError, load_ruleset
from rules.models import Lang
from rules.ruleset import RuleSet
from rules.short_decision import TripFacts, line_budget, relevant_guidelines, request_of
from tests.fake_teams import card_texts

OULU = Destination(
    name="Oulu",
    country="FI",
    latitude=65.01236,
    longitude=25.46816,
    geonameid=643492,
    continent="EU",
)
BOLOGNA = Destination(
    name="Bologna",
    country="IT",
    latitude=44.49381,
    longitude=11.33875,
    geonameid=3181928,
    continent="EU",
)
TOKYO = Destination(
    name="Tokyo",
    country="JP",
    latitude=35.6895,
    longitude=139.69171,
    geonameid=1850147,
    continent="AS",
)
LULEA = Destination(
    name="Luleå",
    country="SE",
    latitude=65.58415,
    longitude=22.15465,
    geonameid=604490,
    hosted=True,
)
TEAMS_MEETING = Destination(name="Teams", kind="digital")
NOWHERE = Destination(name="Xyzzyville")
BASE: dict[str, Any] = {
    "kind": "trip",
    "title": "Styrelsemöte",
    "department": "Kommunstaben",
    "partner": PartnerRef(id="bothnian_arc", text="Bottenviksbågen"),
    "destination": OULU,
    "contributes_development": True,
    "external_monitoring": True,
    "influence": True,
    "goals": (5, 8, 9),
    "physical_necessary": "yes",
    "digital_alternative": None,
    "travellers": 2,
    "travel_mode": "train",
    "equality_considered": True,
    "in_annual_plan": True,
}
# Every outcome, and the longest decisions: every advisory, every guideline that may matter.
CHECKS: dict[str, dict[str, Any]] = {
    "travel by train": {},
    "travel by air, many travellers, much to consider": {
        "partner": PartnerRef(text="Okänd förening"),
        "destination": TOKYO,
        "title": "Vänort i Japan",
        "physical_necessary": "unsure",
        "digital_alternative": False,
        "travellers": 6,
        "travel_mode": "flight",
        "equality_considered": False,
        "in_annual_plan": False,
    },
    "travel by car": {
        "partner": PartnerRef(id="sern", text="SERN"),
        "destination": BOLOGNA,
        "travel_mode": "car",
        "travellers": 1,
    },
    "a project with a lower-carbon way": {
        "kind": "project",
        "travel_mode": "flight",
        "eu_funding_checked": False,
    },
    "digital": {"physical_necessary": "no", "digital_alternative": True, "travel_mode": "flight"},
    "digital, unsure": {"physical_necessary": "unsure", "digital_alternative": True},
    "a digital meeting place": {"destination": TEAMS_MEETING, "travellers": None},
    "hosted in Luleå": {"destination": LULEA, "guests_from": OULU, "travel_mode": None},
    "not qualified": {
        "contributes_development": False,
        "external_monitoring": False,
        "influence": False,
        "goals": (),
        "physical_necessary": None,
        "travellers": None,
        "travel_mode": None,
    },
    "an unknown place": {"destination": NOWHERE},
}
CASES = [(name, lang) for name in CHECKS for lang in ("sv", "en")]


def decision_reply(rules: RuleSet, name: str, lang: Lang, decision_id: int = 41) -> Outgoing:
    """The engine's decision message for one of CHECKS, as recorded with `decision_id`."""
    check = Check.model_validate({**BASE, **CHECKS[name]})
    decision = evaluate(check, rules, lang).model_copy(update={"id": decision_id})
    answers = check.model_dump()
    return Renderer(rules, Interpreter(rules, None)).decision(decision, answers)


def outcomes(rules: RuleSet) -> set[str]:
    return {str((decision_reply(rules, n, "sv").decision or {})["outcome"]) for n in CHECKS}


def test_the_decisions_measured_cover_every_outcome(rules: RuleSet) -> None:
    assert outcomes(rules) == {"travel", "digital", "not_qualified"}
    headlines = {(decision_reply(rules, n, "en").view or _no_view()).headline for n in CHECKS}
    assert rules.text("decision.headline.hosted", "en") in headlines


def _no_view() -> Any:
    raise AssertionError("a decision without its view")


# --- lines as the user sees them, per channel ----------------------------------------------


def slack_lines(message: slack_blocks.SlackMessage) -> int:
    """A header, each line of each section, a context line, and a row of buttons each."""
    count = 0
    for block in message.blocks:
        if block["type"] == "section":
            count += len(block["text"]["text"].split("\n"))
        elif block["type"] in ("header", "context", "actions"):
            count += 1
    return count


def telegram_lines(parts: list[telegram_render.TelegramMessage]) -> int:
    """Each line of each message, and each row of the keyboard under it."""
    count = 0
    for part in parts:
        count += len(part.html.split("\n"))
        if part.keyboard is not None:
            count += len(part.keyboard.inline_keyboard)
    return count


def teams_lines(card: dict[str, Any]) -> int:
    """Each line of each text block, each fact, and the row of buttons."""
    count = 0
    for element in card["body"]:
        if element["type"] == "TextBlock":
            count += len(element["text"].split("\n"))
        elif element["type"] == "RichTextBlock":
            count += 1
        elif element["type"] == "FactSet":
            count += len(element["facts"])
        else:
            raise AssertionError(f"a decision card does not hold {element['type']}")
    return count + (1 if card.get("actions") else 0)


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_the_terminal_shows_at_most_max_lines(rules: RuleSet, name: str, lang: Lang) -> None:
    reply = decision_reply(rules, name, lang)
    shown = _terminal_text(reply)
    assert 3 <= len(shown) <= rules.short_decision.max_lines, shown
    assert shown[0] == (reply.view or _no_view()).headline


def _terminal_text(reply: Outgoing) -> list[str]:
    """The decision's lines as `tripcheck chat --plain` prints them."""
    stdout = io.StringIO()
    print_plain([reply], stdout)
    return stdout.getvalue().strip("\n").split("\n")


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_jsonl_and_rest_text_holds_at_most_max_lines(rules: RuleSet, name: str, lang: Lang) -> None:
    data = decision_reply(rules, name, lang).to_json()
    lines = json.loads(json.dumps(data))["text"].split("\n")
    assert len(lines) <= rules.short_decision.max_lines, lines
    assert "0,0 kg" not in data["text"] and "0.0 kg" not in data["text"]


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_slack_shows_at_most_max_lines(rules: RuleSet, name: str, lang: Lang) -> None:
    message = slack_blocks.render(decision_reply(rules, name, lang), "U0ANNA", "Done")
    assert slack_lines(message) <= rules.short_decision.max_lines, message.blocks
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["value"] for b in actions for e in b["elements"]] == ["details", "share"]


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_telegram_shows_at_most_max_lines(rules: RuleSet, name: str, lang: Lang) -> None:
    reply = decision_reply(rules, name, lang)
    keyboard = telegram_render.Keyboards().for_question(reply, "")
    parts = telegram_render.message_parts(reply, keyboard)
    assert len(parts) == 1
    assert telegram_lines(parts) <= rules.short_decision.max_lines, parts


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_teams_shows_at_most_max_lines(rules: RuleSet, name: str, lang: Lang) -> None:
    labels = teams_cards.CardLabels("Done", "Choose", "Pick")
    card = teams_cards.render(decision_reply(rules, name, lang), labels, "aad-anna").card
    assert card is not None
    assert teams_lines(card) <= rules.short_decision.max_lines, card_texts(card)
    assert [a["data"][teams_cards.CHOICE] for a in card["actions"]] == ["details", "share"]


# --- what the short form holds --------------------------------------------------------------


def test_a_long_decision_keeps_the_most_telling_reasons_and_the_guidelines_that_matter(
    rules: RuleSet,
) -> None:
    reply = decision_reply(rules, "travel by air, many travellers, much to consider", "en")
    view = reply.view or _no_view()
    decision = reply.decision or {}
    assert len(decision["reasons"]) > len(view.reasons) >= rules.short_decision.min_reasons
    assert len(decision["guidelines"]) == 5 and len(view.guidelines) == 2
    assert view.guidelines[0] == rules.text("guideline.remote_participation", "en")
    # Every advisory is a detail, and the line saying what to type counts them.
    assert view.more == rules.text(
        "decision.more.advisories", "en", count=len(decision["advisories"])
    )


def test_a_digital_recommendation_tells_what_it_avoids_in_one_line(rules: RuleSet) -> None:
    view = decision_reply(rules, "digital", "sv").view or _no_view()
    assert view.climate is not None and view.climate.startswith("Klimat: att mötas digitalt")
    assert view.guidelines == ()
    assert not any("CO2e" in reason.text for reason in view.reasons)


def test_the_digital_row_of_the_details_says_zero_plainly(rules: RuleSet) -> None:
    check = Check.model_validate({**BASE, **CHECKS["digital"]})
    decision = evaluate(check, rules, "sv").model_copy(update={"id": 1})
    details = Renderer(rules, Interpreter(rules, None)).decision_details(decision)
    assert details.climate[0].text() == "digitalt möte ≈ 0 kg"


def test_a_travel_decision_by_the_lowest_mode_names_no_better_one(rules: RuleSet) -> None:
    view = decision_reply(rules, "travel by train", "en").view or _no_view()
    assert view.climate is not None and "the lowest of the reasonable ways" in view.climate
    assert rules.text("guideline.lowest_climate_mode", "en") not in view.guidelines
    assert view.guidelines == (rules.text("guideline.fewest_travellers", "en"),)


def test_driving_yourselves_brings_the_safe_journey_guideline(rules: RuleSet) -> None:
    view = decision_reply(rules, "travel by car", "en").view or _no_view()
    assert view.climate is not None and view.climate.startswith("Climate: car as planned")
    # Alone and far: a flight would emit less, and a safe drive matters; fewer travellers
    # cannot be; combining errands matters too, but comes after those two.
    assert view.guidelines == (
        rules.text("guideline.lowest_climate_mode", "en"),
        rules.text("guideline.safe_journey", "en"),
    )


def test_a_planned_flight_with_a_lower_carbon_way_tells_the_saving(rules: RuleSet) -> None:
    view = decision_reply(rules, "a project with a lower-carbon way", "sv").view or _no_view()
    assert view.climate is not None and "planerat flyg" in view.climate
    assert "med tåg + buss (ca 5 h enkel väg) ≈ 13 kg sparas ≈ 169 kg" in view.climate
    assert rules.text("guideline.lowest_climate_mode", "sv") in view.guidelines


# --- which guideline changes something: the rule is data ------------------------------------

GUIDELINES = ("lowest_climate_mode", "remote_participation", "fewest_travellers")
FACTS = [
    ({}, ()),
    ({"travellers": 3}, ("fewest_travellers",)),
    ({"planned_mode": "flight", "lowest_mode": "train"}, ("lowest_climate_mode",)),
    ({"planned_mode": "train", "lowest_mode": "train"}, ()),
    ({"physical_necessary": "unsure", "travellers": 1}, ("remote_participation",)),
    ({"physical_necessary": "yes"}, ()),
]


@pytest.mark.parametrize(("facts", "relevant"), FACTS)
def test_a_guideline_is_shown_when_one_of_its_conditions_holds(
    rules: RuleSet, facts: dict[str, Any], relevant: tuple[str, ...]
) -> None:
    known: dict[str, Any] = {
        "travellers": None,
        "physical_necessary": None,
        "planned_mode": None,
        "lowest_mode": None,
        "distance_km": None,
    }
    shown = relevant_guidelines(GUIDELINES, TripFacts(**{**known, **facts}), rules.short_decision)
    assert tuple(GUIDELINES[i] for i in shown) == relevant


def test_the_conditions_are_read_from_the_rule_set(tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, copy)
    path = copy / "short_decision.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["guidelines"]["fewest_travellers"] = [{"travellers_at_least": 10}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = load_ruleset(copy)
    facts = TripFacts(4, None, None, None, None)
    assert relevant_guidelines(["fewest_travellers"], facts, edited.short_decision) == ()
    data["guidelines"]["pack_light"] = [{"travellers_at_least": 1}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RuleSetError, match="'pack_light' is not a travel guideline"):
        load_ruleset(copy)


def test_guidelines_take_the_place_of_reasons_beyond_the_minimum(rules: RuleSet) -> None:
    short = rules.short_decision
    assert line_budget(5, 0, 4, short) == (3, 0)
    assert line_budget(5, 1, 4, short) == (3, 1)
    assert line_budget(5, 3, 4, short) == (2, 2)
    assert line_budget(1, 9, 3, short) == (1, 4)


# --- the words that ask for more -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("varför?", "details"),
        ("Varför", "details"),
        ("detaljer", "details"),
        ("why?", "details"),
        ("Details", "details"),
        ("dela", "share"),
        ("share", "share"),
        ("resa", None),
        ("", None),
    ],
)
def test_the_words_for_details_and_share(rules: RuleSet, typed: str, wanted: str | None) -> None:
    assert request_of(typed, rules.short_decision) == wanted


def test_no_word_for_details_or_share_is_a_command_of_the_dialogue(rules: RuleSet) -> None:
    for words in rules.short_decision.words.values():
        for word in words.all():
            assert request_of(word, rules.short_decision) is not None
            assert word not in rules.command_words and word not in rules.answer_words
