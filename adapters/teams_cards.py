"""Engine replies as Teams messages: Adaptive Cards for questions and the decision, plain
messages for the rest; and reading back what a user clicked or ticked on a card.

A card's Action.Submit data carries everything needed afterwards (the question and its step, the
labels, whose question it is), because Teams does not send the card back with a click: that is
how a click answers only its own question, and how the card can then be replaced by "question —
your answer" without storing every card we send. The decision card maps the decision's rendered
view (and the details card its details); it never rebuilds the decision."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.chat_kit.choices import NONE_VALUE, ticked_answer
from bot.messages import Choice, CitedLine, DecisionDetails, DecisionView, Outgoing

Card = dict[str, Any]
Element = dict[str, Any]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Teams renders Adaptive Cards up to 1.5 on desktop, web and mobile.
CARD_VERSION = "1.5"
# Keys in a submit's data (and input ids): the chosen value; the multi-select input and its
# Done button; the step of the question; and what the answered card shows.
CHOICE = "tripcheck_choice"
PICKED = "tripcheck_picked"
DONE = "tripcheck_done"
STEP = "tripcheck_step"
ANSWERED = "tripcheck_card"
# Teams shows at most this many buttons in a row; a question with more gets a drop-down list.
MAX_BUTTONS = 6


@dataclass(frozen=True)
class TeamsMessage:
    """One activity to send: a plain text (HTML-escaped, as textFormat "xml") or a card."""

    text: str | None = None
    card: Card | None = None


@dataclass(frozen=True)
class CardLabels:
    """The button and list texts a question card needs, in the conversation's language."""

    done: str
    choose: str
    placeholder: str


@dataclass(frozen=True)
class Submitted:
    """A click on one of our cards: the engine's choice, the step of the question it answers
    (None on cards sent before cards named their step), and what the answered card shows."""

    choice: str
    step: str | None
    user: str | None
    question: str
    answer: str


def xml_text(text: str) -> str:
    """Text shown as it is in a Teams message with textFormat "xml": escaped, line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def render(reply: Outgoing, labels: CardLabels, user: str) -> TeamsMessage:
    """An engine reply as a Teams message; a question's card is tagged with `user`, whose
    clicks alone count, and with its step."""
    if reply.view is not None:
        return TeamsMessage(card=decision_card(reply.view, decision_actions(reply, user)))
    if reply.details is not None:
        return TeamsMessage(card=details_card(reply.details, decision_actions(reply, user)))
    if reply.type == "question" and reply.choices:
        return TeamsMessage(card=question_card(reply, labels, user))
    text = f"⚠️ {reply.text}" if reply.type == "error" else reply.text
    return TeamsMessage(text=xml_text(text))


def question_card(reply: Outgoing, labels: CardLabels, user: str) -> Card:
    """The question's text, then its choices: buttons; a drop-down list and a Choose button
    when there are many; for several answers (goals) checkboxes and Done."""
    body = _text_blocks(reply.text)
    actions: list[Element] = []
    step = {STEP: reply.step or ""}
    tickable = [c for c in reply.choices if c.value != NONE_VALUE] if reply.multi else []
    answers = [c for c in reply.choices if c not in tickable]
    if tickable:
        body.append(_choice_set(PICKED, tickable, multi=True))
    if len(answers) > MAX_BUTTONS:
        body.append(_choice_set(CHOICE, answers, placeholder=labels.placeholder))
        actions.append(_submit(labels.choose, step, _answered(user, reply.text, answers)))
    else:
        for choice in answers:
            data = {**step, CHOICE: choice.value}
            actions.append(_submit(choice.label, data, _answered(user, reply.text, [choice])))
    if tickable:
        done_data = {**step, DONE: True}
        done = _submit(labels.done, done_data, _answered(user, reply.text, reply.choices))
        actions.append({**done, "style": "positive"})
    return _card(body, actions)


def read_submit(value: object) -> Submitted | None:
    """The choice in a card click's `value`, or None when the value is not from our cards.

    Done sends the ticked values joined by commas ("5,8"), or "none" when nothing is ticked."""
    if not isinstance(value, dict):
        return None
    answered = value.get(ANSWERED)
    shown = answered if isinstance(answered, dict) else {}
    if value.get(DONE) is True:
        picked = value.get(PICKED)
        ticked = [v.strip() for v in picked.split(",")] if isinstance(picked, str) else []
        choice = ticked_answer([v for v in ticked if v])
        values = choice.split(",")
    else:
        chosen = value.get(CHOICE)
        if not isinstance(chosen, str) or not chosen:
            return None
        choice = chosen
        values = [chosen]
    names = shown.get("labels")
    names = names if isinstance(names, dict) else {}
    answer = ", ".join(str(names.get(v, v)) for v in values)
    user = shown.get("user")
    question = shown.get("question")
    step = value.get(STEP)
    return Submitted(
        choice=choice,
        step=step if isinstance(step, str) else None,
        user=user if isinstance(user, str) else None,
        question=question if isinstance(question, str) else "",
        answer=answer,
    )


def answered_card(submitted: Submitted, answer_text: str) -> Card:
    """A question after it was answered: its text and the answer, and no buttons left."""
    body = _text_blocks(submitted.question)
    body.append(_text(answer_text, weight="Bolder", color="Good"))
    return _card(body, [])


def question_only(question: str) -> Card:
    """A question whose buttons no longer answer anything: its text alone."""
    return _card(_text_blocks(question), [])


def decision_card(view: DecisionView, actions: Sequence[Element] = ()) -> Card:
    """The short recommendation from its view: the outcome, each reason with its plan section
    on one line, the climate line, the guidelines that matter, the reminder that it is only a
    recommendation, and the Details and Share buttons."""
    body: list[Element] = [_text(view.headline, size="Large", weight="Bolder")]
    body.extend(_cited_line(reason) for reason in view.reasons)
    if view.climate:
        body.append(_text(view.climate, spacing="Medium"))
    body.extend(_text(f"→ {guideline}") for guideline in view.guidelines)
    body.append(_text(view.footer, isSubtle=True, size="Small", spacing="Medium"))
    return _card(body, list(actions))


def details_card(details: DecisionDetails, actions: Sequence[Element] = ()) -> Card:
    """Everything behind a decision: the reasons and advisories with their plan sections, the
    guidelines, the climate comparison as facts, and the Share button."""
    body: list[Element] = [_text(details.title, weight="Bolder")]
    for heading, items, color in (
        (details.headings["reasons"], details.reasons, None),
        (details.headings["advisories"], details.advisories, "Attention"),
    ):
        if items:
            body.append(_text(heading, weight="Bolder", spacing="Medium", color=color))
            body.extend(element for item in items for element in _cited(item))
    if details.guidelines:
        body.append(_text(details.headings["guidelines"], weight="Bolder", spacing="Medium"))
        body.extend(_text(f"• {guideline}") for guideline in details.guidelines)
    if details.climate:
        body.append(_text(details.climate_heading, weight="Bolder", spacing="Medium"))
        # A fact's title starts a line: "Digital meeting", where running text has "digital".
        facts = [{"title": _capitalized(row.label), "value": row.value} for row in details.climate]
        body.append({"type": "FactSet", "facts": facts})
    if details.climate_note:
        body.append(_text(details.climate_note))
    body.append(_text(details.footer, isSubtle=True, size="Small", spacing="Medium"))
    return _card(body, list(actions))


def decision_actions(reply: Outgoing, user: str) -> list[Element]:
    """A decision's Details and Share buttons: submits with the decision's step, like a
    question's answers, so a click reaches the engine as the choice it stands for."""
    step = {STEP: reply.step or ""}
    return [
        _submit(choice.label, {**step, CHOICE: choice.value}, _answered(user, reply.text, [choice]))
        for choice in reply.choices
    ]


def _cited_line(item: CitedLine) -> Element:
    """A reason and its plan section in one paragraph, the section subtle."""
    return {
        "type": "RichTextBlock",
        "inlines": [
            {"type": "TextRun", "text": f"• {item.text} "},
            {"type": "TextRun", "text": item.cite, "isSubtle": True, "italic": True},
        ],
    }


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _cited(item: CitedLine) -> list[Element]:
    return [
        _text(f"• {item.text}"),
        _text(item.cite, isSubtle=True, size="Small", spacing="None"),
    ]


def _answered(user: str, question: str, choices: Sequence[Choice]) -> dict[str, Any]:
    return {"user": user, "question": question, "labels": {c.value: c.label for c in choices}}


def _submit(title: str, data: dict[str, Any], answered: dict[str, Any]) -> Element:
    return {"type": "Action.Submit", "title": title, "data": {**data, ANSWERED: answered}}


def _choice_set(
    input_id: str, choices: Sequence[Choice], *, multi: bool = False, placeholder: str = ""
) -> Element:
    element: Element = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "choices": [{"title": c.label, "value": c.value} for c in choices],
        "isMultiSelect": multi,
        "style": "expanded" if multi else "compact",
        "wrap": True,
    }
    if placeholder:
        element["placeholder"] = placeholder
    if not multi:
        # A drop-down list with nothing chosen would send no answer at all.
        element["value"] = choices[0].value
    return element


def _text_blocks(text: str) -> list[Element]:
    # One block per line: a single line break inside a TextBlock is not shown in every client.
    lines = text.split("\n") or [""]
    return [_text(line, spacing="None" if n else "Default") for n, line in enumerate(lines)]


def _text(text: str, **style: Any) -> Element:
    block: Element = {"type": "TextBlock", "text": text, "wrap": True}
    block.update({name: value for name, value in style.items() if value is not None})
    return block


def _card(body: list[Element], actions: list[Element]) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
        # Full width: the decision's reasons and the summary read badly in a narrow card.
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card
