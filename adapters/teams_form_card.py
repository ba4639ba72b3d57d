"""The check as one Teams form card: an Adaptive Card 1.5 with Universal Actions
(`Action.Execute`), asked for by typing "formulär" or "form".

The card sent to the conversation is the same for everyone: who is filling it in, and a
`refresh` for the asker alone (`refresh.userIds`), so that only their Teams client asks for
the active form. Every `adaptiveCard/action` invoke (the refresh, "show the questions that
apply", the submission) is answered in the HTTP response with the card as it now is: the form,
the form with errors under their questions, or the decision card. Someone else's invoke gets
the waiting card and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.teams_cards import (
    CARD_CONTENT_TYPE,
    Card,
    Element,
    TeamsMessage,
    decision_actions,
    decision_card,
)
from bot.engine import Engine
from bot.forms import FieldError, Form, FormField, FormResult, unpick
from bot.messages import ConversationKey
from rules.models import Lang

log = logging.getLogger("tripcheck.teams")

INVOKE_NAME = "adaptiveCard/action"
# The verbs of the form's Action.Execute: the automatic refresh, "show the questions that
# apply" and the submission.
REFRESH = "tripcheck.form.refresh"
UPDATE = "tripcheck.form.update"
SUBMIT = "tripcheck.form.submit"
VERBS = frozenset({REFRESH, UPDATE, SUBMIT})
# The key of the action data that says whose form it is and in which language.
FORM = "tripcheck_form"
# Input ids: the field's; for a name that could mean several, its options' input too.
INPUT = "tripcheck_form."
OPTIONS = ".options"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
# Choices shown as radio buttons up to this many; more as a drop-down list.
MAX_EXPANDED = 5
# Teams refreshes a card automatically for at most 60 users; ours names one.
Send = Callable[[str, str, TeamsMessage], Awaitable[str | None]]
Update = Callable[[str, str, str, TeamsMessage], Awaitable[None]]


@dataclass(frozen=True)
class Asker:
    """Whose form a card is: the engine's user id (Entra object id), their Teams id (what
    `refresh.userIds` names), their name as Teams shows it, and the form's language."""

    user: str
    teams_id: str
    name: str
    lang: Lang

    def data(self) -> dict[str, Any]:
        return {"user": self.user, "teams_id": self.teams_id, "name": self.name, "lang": self.lang}

    @classmethod
    def from_data(cls, data: object) -> Asker | None:
        if not isinstance(data, dict):
            return None
        user, teams_id = data.get("user"), data.get("teams_id")
        if not isinstance(user, str) or not user or not isinstance(teams_id, str):
            return None
        name = data.get("name")
        lang: Lang = "en" if data.get("lang") == "en" else "sv"
        return cls(user, teams_id, name if isinstance(name, str) else "", lang)


@dataclass(frozen=True)
class CardTexts:
    """The form card's own texts, in the form's language."""

    errors: str
    update: str
    optional: str


@dataclass(frozen=True)
class Invoke:
    """An `adaptiveCard/action` invoke on one of our form cards, as far as the form needs it."""

    verb: str
    asker: Asker
    person: str
    conversation_id: str
    service_url: str
    card_id: str | None
    tenant: str | None
    inputs: dict[str, Any]
    # The invoke activity's own id: a submission Teams sends again is saved once.
    activity_id: str | None = None


def read_invoke(data: Mapping[str, Any]) -> Invoke | None:
    """The form invoke in an activity, or None when it is not one of ours."""
    if data.get("type") != "invoke" or data.get("name") != INVOKE_NAME:
        return None
    action = _mapping(_mapping(data.get("value")).get("action"))
    verb = action.get("verb")
    inputs = _mapping(action.get("data"))
    asker = Asker.from_data(inputs.get(FORM))
    sender = _mapping(data.get("from"))
    conversation = _mapping(data.get("conversation"))
    person = sender.get("aadObjectId") or sender.get("id")
    service_url = data.get("serviceUrl")
    if verb not in VERBS or asker is None or not isinstance(person, str):
        return None
    if not isinstance(service_url, str) or not isinstance(conversation.get("id"), str):
        return None
    card_id = data.get("replyToId")
    tenant = conversation.get("tenantId") or _mapping(
        _mapping(data.get("channelData")).get("tenant")
    ).get("id")
    return Invoke(
        verb=str(verb),
        asker=asker,
        person=person,
        conversation_id=conversation["id"],
        service_url=service_url,
        card_id=card_id if isinstance(card_id, str) and card_id else None,
        activity_id=data["id"] if isinstance(data.get("id"), str) and data["id"] else None,
        tenant=tenant if isinstance(tenant, str) else None,
        inputs=inputs,
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def card_response(card: Card) -> dict[str, Any]:
    """The invoke's answer: the card that replaces the one acted on (for the person acting)."""
    return {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}


class TeamsForms:
    """The form cards of the Teams channel: sending one, and answering its invokes."""

    def __init__(self, engine: Engine, *, send: Send, update: Update) -> None:
        self.engine = engine
        self._send = send
        self._update = update

    def asks_for_form(self, text: str) -> bool:
        return self.engine.asks_for_form(text)

    async def send(self, service_url: str, conversation_id: str, asker: Asker) -> None:
        """Posts the form card: waiting for everyone, refreshed into the form for the asker."""
        await self._send(service_url, conversation_id, TeamsMessage(card=self.waiting(asker)))

    async def answer(self, invoke: Invoke, key: ConversationKey) -> dict[str, Any]:
        """The card an invoke is answered with; a submission is read and saved by the engine.
        Never raises: a failure is answered with the waiting card saying so."""
        try:
            return await self._answer(invoke, key)
        except Exception:
            log.exception("teams form invoke failed")
            failed = self.engine.text("forms.failed", invoke.asker.lang)
            card = self.waiting(invoke.asker)
            card["body"].append(_text(failed, color="Attention"))
            return card_response(card)

    async def _answer(self, invoke: Invoke, key: ConversationKey) -> dict[str, Any]:
        asker = invoke.asker
        if invoke.person != asker.user:
            # Someone else's form (a channel thread): theirs to look at, not to fill in.
            return card_response(self.waiting(asker))
        values = read_inputs(invoke.inputs)
        if invoke.verb != SUBMIT:
            form = await self.engine.form(key, asker.lang, values)
            return card_response(form_card(form, asker, values, self._texts(asker.lang)))
        if invoke.activity_id is not None and not await self.engine.claim_delivery(
            "teams", f"{key.chat}|{invoke.activity_id}"
        ):
            card = self.waiting(asker)
            card["body"].append(_text(self.engine.text("forms.teams.already_sent", asker.lang)))
            return card_response(card)
        result = await self.engine.submit_form(key, asker.lang, values)
        if not result.recorded:
            texts = self._texts(asker.lang)
            return card_response(form_card(result.form, asker, values, texts, result))
        card = result_card(result, key.user)
        if invoke.card_id is not None:
            # Everyone in the conversation now sees the decision; the form refreshes no more.
            message = TeamsMessage(card=card)
            await self._update(invoke.service_url, invoke.conversation_id, invoke.card_id, message)
        return card_response(card)

    def _texts(self, lang: Lang) -> CardTexts:
        return CardTexts(
            errors=self.engine.text("forms.teams.errors", lang),
            update=self.engine.text("forms.teams.update", lang),
            optional=self.engine.text("forms.optional", lang),
        )

    def waiting(self, asker: Asker) -> Card:
        """The card everyone sees: who fills in the form; the asker's Teams refreshes it."""
        text = self.engine.text("forms.teams.waiting", asker.lang, name=asker.name or "—")
        body = [_text(self.engine.text("forms.title", asker.lang), size="Medium", weight="Bolder")]
        body.append(_text(text, isSubtle=True))
        return _card(body, [], asker)


def form_card(
    form: Form,
    asker: Asker,
    values: Mapping[str, str],
    texts: CardTexts,
    result: FormResult | None = None,
) -> Card:
    """The form: every question that applies with its input, errors under their questions."""
    errors: Mapping[str, FieldError] = result.errors if result is not None else {}
    body: list[Element] = [_text(form.title, size="Medium", weight="Bolder"), _text(form.intro)]
    if result is not None and (errors or result.failed):
        said = " ".join(r.text for r in result.replies) if result.failed else None
        body.append(_text(said or texts.errors, color="Attention", weight="Bolder"))
    general = errors.get("")
    if general is not None:
        body.append(_text(general.message, color="Attention"))
    for item in form.fields:
        error = errors.get(item.name)
        body.extend(_question(item, form, values.get(item.name, ""), error, texts))
    actions = [
        _execute(form.submit, SUBMIT, asker, style="positive"),
        _execute(texts.update, UPDATE, asker),
    ]
    return _card(body, actions, asker)


def result_card(result: FormResult, user: str) -> Card:
    """The decision card with its Details and Share buttons (the clicks of `user`, the
    engine's user id, count, as on a chat decision), then the other replies as text."""
    decision = next((r for r in result.replies if r.view is not None), None)
    if decision is not None and decision.view is not None:
        card = decision_card(decision.view, decision_actions(decision, user))
    else:
        card = _card([], [])
    card["body"].extend(_text(r.text, spacing="Medium") for r in result.replies if r.view is None)
    return card


def read_inputs(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The form's values by field from an invoke's data: an option picked for a name stands
    while the name typed beside it is unchanged."""
    values: dict[str, str] = {}
    for key, value in inputs.items():
        if isinstance(key, str) and key.startswith(INPUT) and not key.endswith(OPTIONS):
            values[key[len(INPUT) :]] = value if isinstance(value, str) else ""
    for name, typed in list(values.items()):
        picked = inputs.get(f"{INPUT}{name}{OPTIONS}")
        if isinstance(picked, str) and picked and unpick(picked)[1] == typed.strip():
            values[name] = picked
    return values


# --- building blocks ----------------------------------------------------------------------


def _question(
    item: FormField, form: Form, value: str, error: FieldError | None, texts: CardTexts
) -> list[Element]:
    label = item.label if item.required else f"{item.label} ({texts.optional})"
    elements: list[Element] = [_text(label, weight="Bolder", spacing="Medium")]
    if item.hint and item.hint != item.label:
        elements.append(_text(item.hint, isSubtle=True, spacing="None"))
    input_id = f"{INPUT}{item.name}"
    if item.choices:
        choices = [c for c in item.choices if not (item.multi and c.value == "none")]
        element: Element = {
            "type": "Input.ChoiceSet",
            "id": input_id,
            "choices": [{"title": c.label, "value": c.value} for c in choices],
            "isMultiSelect": item.multi,
            "style": "expanded" if item.multi or len(choices) <= MAX_EXPANDED else "compact",
            "wrap": True,
        }
        if item.value:
            element["value"] = item.value
        elements.append(element)
    else:
        # A name (partner, place) is typed; an option picked before is shown as its text.
        shown = unpick(value)[1] if item.typeahead else item.value
        text: Element = {"type": "Input.Text", "id": input_id, "maxLength": 200}
        if shown:
            text["value"] = shown
        if item.typeahead:
            text["placeholder"] = form.search
        elements.append(text)
    if error is not None:
        elements.append(_text(error.message, color="Attention", spacing="Small"))
        if error.options:
            elements.append(
                {
                    "type": "Input.ChoiceSet",
                    "id": f"{input_id}{OPTIONS}",
                    "choices": [{"title": o.label, "value": o.value} for o in error.options],
                    "style": "expanded",
                    "wrap": True,
                }
            )
    return elements


def _execute(title: str, verb: str, asker: Asker, **style: str) -> Element:
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": {FORM: asker.data()},
        **style,
    }


def _text(text: str, **style: Any) -> Element:
    block: Element = {"type": "TextBlock", "text": text, "wrap": True}
    block.update({name: value for name, value in style.items() if value is not None})
    return block


def _card(body: list[Element], actions: list[Element], asker: Asker | None = None) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    if asker is not None:
        # Teams asks the bot for the card as the asker should see it, for them alone.
        card["refresh"] = {
            "action": {"type": "Action.Execute", "verb": REFRESH, "data": {FORM: asker.data()}},
            "userIds": [asker.teams_id],
        }
    return card
