"""The check as a Slack modal, end to end: our server and the fake Slack Web API over loopback
HTTP, every request signed as Slack signs it.

The modal is opened by `/tripcheck form`, by the form button (App Home, under the first
question) and by the message shortcut; its partner and place menus ask our server for options;
a choice updates the view with the questions that now apply; a submission is answered with
inline errors (nothing recorded) or records the decision the chat would, posted in the DM."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio

from adapters import slack
from adapters.slack_modal import FORM_CALLBACK, OPEN_ACTION, SHORTCUT_CALLBACK
from bot.engine import Engine
from bot.storage import StoredDecision
from rules.fields import TABLE, applies
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.drivers.slack import (
    CHANNEL,
    TOKEN,
    Bot,
    SlackUser,
    new_ts,
    slack_settings,
)
from tests.fake_slack import TEAM_ID, FakeSlack, dm_channel
from tests.servers import running
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK
from tripcheck.server import create_app

SVEN, ANNA = "U0SVEN", "U0ANNA"
# Sven's and Anna's twins, who give the same answers in the chat.
SVEN_CHATS, ANNA_CHATS = "U0SVENCHAT", "U0ANNACHAT"
LOCALES = {SVEN: "sv-SE", SVEN_CHATS: "sv-SE", ANNA: "en-GB", ANNA_CHATS: "en-GB"}
LANG_OF: dict[str, Lang] = {SVEN: "sv", ANNA: "en"}
_triggers = itertools.count(1)

# The chat's answers (tests/test_conversation.py) as the form gives them: options chosen by
# value, partner and place searched for by what the chat typed.
FORM_ANSWERS: dict[Lang, dict[str, Any]] = {
    "sv": {
        "kind": "trip",
        "title": "Styrelsemöte i Bottenviksbågen",
        "department": "Kommunstaben",
        "partner": ("search", "bottenviksbagen"),
        "destination": ("search", "Uleåborg"),
        "contributes_development": "yes",
        "external_monitoring": "no",
        "influence": "yes",
        "goals": ["8"],
        "physical_necessary": "no",
        "digital_alternative": "yes",
        "travellers": "2",
        "travel_mode": "flight",
        "equality_considered": "yes",
        "in_annual_plan": "yes",
    },
    "en": {
        "kind": "trip",
        "title": "Study visit on social economy",
        "department": "Arbetsmarknadsförvaltningen",
        "partner": ("search", "Sweden Emilia Romagna Network"),
        "destination": ("search", "Bologna"),
        "contributes_development": "yes",
        "external_monitoring": "yes",
        "influence": "no",
        "goals": ["9", "2"],
        "physical_necessary": "yes",
        "travellers": "3",
        "travel_mode": "flight",
        "equality_considered": "yes",
        "in_annual_plan": "yes",
    },
}
CHAT_ANSWERS: dict[Lang, dict[str, str]] = {"sv": dict(SWEDISH_CHECK), "en": dict(ENGLISH_CHECK)}


@pytest_asyncio.fixture
async def bot(rules: RuleSet, place_index: PlaceIndex) -> AsyncIterator[Bot]:
    """Our app (the Slack channel only) on a fresh in-memory database, and a fake Slack."""
    fake = FakeSlack(TOKEN, locales=LOCALES)
    async with running(fake.app) as fake_url:
        fake.url = fake_url
        storage = await SQLiteStorage.open(":memory:")
        engine = Engine(rules, storage, places=place_index)
        settings = slack_settings(f"{fake_url}/api/")
        channel = slack.channel(settings, engine)
        assert channel is not None
        app = create_app(settings, engine, [channel])
        async with running(app) as url, httpx.AsyncClient(timeout=5.0) as http:
            yield Bot(url, fake, engine, channel, http)


@dataclass
class FormUser:
    """A person in the workspace who opens the form and fills it in, as Slack's client would:
    typing, choosing options, searching partner and place menus."""

    bot: Bot
    user_id: str
    view_id: str = ""

    @property
    def view(self) -> dict[str, Any]:
        return self.bot.fake.views[self.view_id]

    def fields(self) -> list[str]:
        """The questions the modal shows now, in order."""
        return [
            b["block_id"].removeprefix(f"{FORM_CALLBACK}.")
            for b in self.view["blocks"]
            if b["type"] == "input"
        ]

    def element(self, field: str) -> dict[str, Any]:
        block = next(b for b in self.view["blocks"] if b.get("block_id") == _block(field))
        return block["element"]  # type: ignore[no-any-return]

    async def post(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.bot.deliver(body, "application/x-www-form-urlencoded")

    def _opened(self, before: int) -> None:
        opened = self.bot.fake.calls_to("views.open")
        assert len(opened) == before + 1, "no modal opened"
        self.view_id = list(self.bot.fake.views)[-1]

    async def command(self, text: str) -> str:
        """Types /tripcheck `text`; the trigger id the modal must be opened with."""
        trigger = _trigger()
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "channel_id": "C0GENERAL",
            "user_id": self.user_id,
            "command": "/tripcheck",
            "text": text,
            "api_app_id": "A0TRIPCHECK",
            "response_url": self.bot.fake.response_url_for(next(_triggers)),
            "trigger_id": trigger,
        }
        before = len(self.bot.fake.calls_to("views.open"))
        await self.bot.deliver(urlencode(form).encode(), "application/x-www-form-urlencoded")
        self._opened(before)
        return trigger

    async def press_form_button(self, message: dict[str, Any]) -> str:
        """Presses the form button of a message (or of the App Home view)."""
        block, button = next(
            (b, e)
            for b in message["blocks"]
            for e in [b.get("accessory"), *(b.get("elements") or [])]
            if isinstance(e, dict) and e.get("action_id") == OPEN_ACTION
        )
        trigger = _trigger()
        payload = {
            "type": "block_actions",
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TRIPCHECK",
            "team": {"id": TEAM_ID},
            "trigger_id": trigger,
            "container": {"type": "message", "channel_id": dm_channel(self.user_id)},
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block.get("block_id", "b"),
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        before = len(self.bot.fake.calls_to("views.open"))
        await self.post(payload)
        self._opened(before)
        return trigger

    async def shortcut(self, text: str) -> str:
        """ "Kontrollera den här resan" on a message with `text` in a channel."""
        trigger = _trigger()
        payload = {
            "type": "message_action",
            "callback_id": SHORTCUT_CALLBACK,
            "trigger_id": trigger,
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "channel": {"id": CHANNEL},
            "message_ts": new_ts(),
            "message": {"type": "message", "user": "U0OTHER", "text": text, "ts": new_ts()},
            "response_url": "https://hooks.slack.com/app/T0LULEA/1/x",
        }
        before = len(self.bot.fake.calls_to("views.open"))
        await self.post(payload)
        self._opened(before)
        return trigger

    async def search(self, field: str, query: str) -> list[dict[str, Any]]:
        """Types `query` into a partner or place menu: the options our server answers with."""
        payload = {
            "type": "block_suggestion",
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "api_app_id": "A0TRIPCHECK",
            "action_id": self.element(field)["action_id"],
            "block_id": _block(field),
            "value": query,
            "view": self.view,
        }
        response = await self.post(payload)
        return response.json()["options"]  # type: ignore[no-any-return]

    async def state(self, answers: dict[str, Any]) -> dict[str, Any]:
        """The view's state as Slack sends it: `answers` given to the questions it shows,
        the others as the view shows them (their initial values, or nothing)."""
        values: dict[str, Any] = {}
        for field in self.fields():
            element = self.element(field)
            if field in answers:
                entry = await self._entry(field, answers)
            else:
                entry = _initial(element)
            values[_block(field)] = {element["action_id"]: entry}
        return values

    async def _entry(self, field: str, answers: dict[str, Any]) -> dict[str, Any]:
        element = self.element(field)
        kind, answer = element["type"], answers[field]
        if kind == "plain_text_input":
            return {"type": kind, "value": answer}
        if kind == "checkboxes":
            ticked = [o for o in element["options"] if o["value"] in answer]
            return {"type": kind, "selected_options": ticked}
        if kind == "external_select":
            _, query = answer
            options = await self.search(field, query)
            return {"type": kind, "selected_option": options[0]}
        return {"type": kind, "selected_option": _option_for(element, answer)}

    def _view_with(self, state: dict[str, Any]) -> dict[str, Any]:
        return {**self.view, "state": {"values": state}}

    async def choose(self, field: str, answers: dict[str, Any]) -> None:
        """Makes the choice for `field` (the others as given): Slack sends the action."""
        state = await self.state(answers)
        element = self.element(field)
        payload = {
            "type": "block_actions",
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "api_app_id": "A0TRIPCHECK",
            "trigger_id": _trigger(),
            "container": {"type": "view", "view_id": self.view_id},
            "view": self._view_with(state),
            "actions": [
                {
                    "type": element["type"],
                    "action_id": element["action_id"],
                    "block_id": _block(field),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        await self.post(payload)

    async def fill_in(self, answers: dict[str, Any]) -> None:
        """Answers every question shown, choosing the choices one by one until no new
        question appears (as a person does, the view updating after each choice)."""
        answered: set[str] = set()
        while True:
            pending = [
                f
                for f in self.fields()
                if f in answers
                and f not in answered
                and self.element(f)["type"] != "plain_text_input"
            ]
            if not pending:
                return
            answered.add(pending[0])
            await self.choose(pending[0], answers)

    async def submit(self, answers: dict[str, Any]) -> httpx.Response:
        state = await self.state(answers)
        payload = {
            "type": "view_submission",
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "api_app_id": "A0TRIPCHECK",
            "trigger_id": _trigger(),
            "view": self._view_with(state),
        }
        return await self.post(payload)


def _option_for(element: dict[str, Any], answer: str) -> dict[str, Any]:
    """The option chosen for `answer`: the one with that value, else the one it names."""
    options = element["options"]
    by_value = [o for o in options if o["value"] == answer]
    by_label = [o for o in options if o["text"]["text"].lower() == answer.lower()]
    [option] = by_value or by_label
    return option  # type: ignore[no-any-return]


def answers_for(lang: Lang) -> dict[str, Any]:
    """What the form is given: the chat's answers, with options chosen and names searched."""
    return {**CHAT_ANSWERS[lang], **FORM_ANSWERS[lang]}


def _initial(element: dict[str, Any]) -> dict[str, Any]:
    """An input's state before the user touches it: what the view put in it."""
    kind = element["type"]
    if kind == "plain_text_input":
        return {"type": kind, "value": element.get("initial_value")}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": element.get("initial_options", [])}
    return {"type": kind, "selected_option": element.get("initial_option")}


def _trigger() -> str:
    return f"{int(time.time())}.{next(_triggers)}.trigger"


def _block(field: str) -> str:
    return f"{FORM_CALLBACK}.{field}"


async def decisions_of(bot: Bot, user: str) -> list[StoredDecision]:
    return await bot.engine.recent_decisions("slack", user)


# --- opening the modal ----------------------------------------------------------------------


@pytest.mark.parametrize("user", [SVEN, ANNA])
async def test_tripcheck_form_opens_the_modal_with_every_field(bot: Bot, user: str) -> None:
    person = FormUser(bot, user)
    trigger = await person.command("form" if user == ANNA else "formulär")
    [opened] = bot.fake.calls_to("views.open")
    assert opened["trigger_id"] == trigger
    lang = LANG_OF[user]
    view = person.view
    assert view["title"]["text"] == bot.engine.text("forms.title", lang)
    assert view["submit"]["text"] == bot.engine.text("forms.submit", lang)
    # Every question that applies before anything is chosen, in the chat's order.
    assert person.fields() == [f.name for f in TABLE if applies(f.name, {})]
    assert person.fields()[:5] == ["kind", "title", "department", "partner", "destination"]
    assert person.element("partner")["type"] == "external_select"
    assert person.element("destination")["type"] == "external_select"
    labels = [o["text"]["text"] for o in person.element("kind")["options"]]
    assert labels == [bot.engine.text(f"kind.{k}", lang) for k in ("trip", "project", "activity")]
    # The check goes on in the DM, where no message was posted for the form.
    assert not bot.fake.calls_to("chat.postMessage")
    # Goals are ticked, once a checklist answer makes them apply.
    await person.fill_in({"contributes_development": "yes"})
    assert person.element("goals")["type"] == "checkboxes"


async def test_the_form_button_under_the_first_question_opens_the_modal(bot: Bot) -> None:
    sven = SlackUser(bot, SVEN)
    [_, first] = await sven.say("hej")
    offer = next(b for b in first["blocks"] if b.get("accessory", {}).get("action_id"))
    assert offer["accessory"]["text"]["text"] == "Fyll i som formulär"
    trigger = await FormUser(bot, SVEN).press_form_button(first)
    assert bot.fake.calls_to("views.open")[-1]["trigger_id"] == trigger
    # The next questions come without the offer.
    replies = await sven.press("trip")
    assert not any("accessory" in b for m in replies for b in m["blocks"])


@pytest.mark.parametrize("user", [SVEN, ANNA])
async def test_the_form_button_in_app_home_opens_the_modal(bot: Bot, user: str) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": dm_channel(user), "tab": "home"}
    await bot.send_event(event)
    home = bot.fake.homes[user]
    buttons = [e for b in home["blocks"] for e in b.get("elements") or [] if "action_id" in e]
    assert [b["text"]["text"] for b in buttons] == [bot.engine.text("forms.open", LANG_OF[user])]
    person = FormUser(bot, user)
    await person.press_form_button(home)
    assert person.fields()[0] == "kind"


async def test_the_message_shortcut_prefills_the_title_and_what_the_sentence_says(
    bot: Bot,
) -> None:
    text = "Jag ska på Bottenviksbågens styrelsemöte i Uleåborg, vi är två och tänkte flyga"
    sven = FormUser(bot, SVEN)
    await sven.shortcut(text)
    assert sven.element("title")["initial_value"] == text
    assert sven.element("partner")["initial_option"]["text"]["text"].startswith("Bottenviksbågen")
    assert sven.element("destination")["initial_option"]["text"]["text"] == "Oulu, Finland"
    # The travel details apply only once the check qualifies: kept until they do.
    assert "travellers" not in sven.fields()
    answers = {"contributes_development": "yes", "goals": ["8"]}
    await sven.fill_in(answers)
    assert {"physical_necessary", "travellers", "travel_mode"} <= set(sven.fields())
    assert sven.element("travel_mode")["initial_option"]["value"] == "flight"
    assert sven.element("travellers")["initial_value"] == "vi är två"


# --- typeahead and questions that apply sometimes ----------------------------------------------


@pytest.mark.parametrize("user", [SVEN, ANNA])
async def test_partner_and_place_menus_offer_what_the_chat_would_read(bot: Bot, user: str) -> None:
    person = FormUser(bot, user)
    await person.command("form")
    lang = LANG_OF[user]
    everyone = await person.search("partner", "")
    labels = [o["text"]["text"] for o in everyone]
    assert labels[0] == bot.engine.text("partner.none", lang).capitalize()
    assert len(labels) > 10
    [arc, *_] = await person.search("partner", "bottenviksbagen")
    assert "Bottenviksbågen" in arc["text"]["text"]
    typo = await person.search("partner", "Emilia Romagna")
    assert any("Emilia" in o["text"]["text"] for o in typo)
    places = await person.search("destination", "Uleåborg")
    assert [o["text"]["text"] for o in places] == ["Oulu, Finland"]
    nothing = await person.search("destination", "Qqzxw")
    kept = bot.engine.text("forms.keep_typed", lang, text="Qqzxw")
    assert [o["text"]["text"] for o in nothing] in ([], ["Qqzxw"], [kept])


async def test_a_choice_updates_the_view_with_the_questions_that_now_apply(bot: Bot) -> None:
    sven = FormUser(bot, SVEN)
    await sven.command("formulär")
    assert "eu_funding_checked" not in sven.fields()
    await sven.choose("kind", {"kind": "project"})
    [update] = bot.fake.calls_to("views.update")
    assert update["view_id"] == sven.view_id
    # A project that adds value is asked about EU funding.
    await sven.fill_in({"kind": "project", "contributes_development": "yes", "goals": ["8"]})
    assert "eu_funding_checked" in sven.fields()
    # A digital meeting has no travel details, whatever else is answered.
    digital = {"destination": ("search", "Teams"), "contributes_development": "yes", "goals": ["8"]}
    await sven.fill_in(digital)
    assert "travel_mode" not in sven.fields() and "physical_necessary" not in sven.fields()


# --- submitting -----------------------------------------------------------------------------


@pytest.mark.parametrize("user", [SVEN, ANNA])
async def test_an_invalid_submission_gets_inline_errors_and_records_nothing(
    bot: Bot, user: str
) -> None:
    person = FormUser(bot, user)
    await person.command("form")
    lang = LANG_OF[user]
    answers = {**answers_for(lang), "travellers": "ett gäng", "title": "!!!"}
    await person.fill_in(answers)
    response = await person.submit(answers)
    body = response.json()
    assert body["response_action"] == "errors"
    assert body["errors"] == {
        _block("title"): bot.engine.text("hint.title", lang),
        _block("travellers"): bot.engine.text("hint.travellers", lang),
    }
    assert await decisions_of(bot, user) == []
    assert not bot.fake.calls_to("chat.postMessage")


async def test_an_empty_submission_asks_for_every_required_answer(bot: Bot) -> None:
    sven = FormUser(bot, SVEN)
    await sven.command("formulär")
    body = (await sven.submit({})).json()
    required = bot.engine.text("forms.required", "sv")
    assert body["errors"][_block("kind")] == required
    assert body["errors"][_block("destination")] == required
    assert _block("partner") not in body["errors"]  # no partner is an answer
    assert await decisions_of(bot, SVEN) == []


async def _chat_decision(bot: Bot, user: str, lang: Lang) -> StoredDecision:
    """The check made in the chat with the answers of tests/test_conversation.py."""
    person = SlackUser(bot, user)
    await person.say("hej" if lang == "sv" else "hello")
    script = CHAT_ANSWERS[lang]
    while (step := await person.step()) != "confirm":
        assert step in script, step
        await person.say(script[step])
    await person.say("spara" if lang == "sv" else "save")
    [decision] = await decisions_of(bot, user)
    return decision


def _comparable(decision: StoredDecision) -> dict[str, Any]:
    """A decision without who, when and where it was made, or how each answer was typed."""
    data = decision.model_dump(
        exclude={"id", "channel", "chat", "user_id", "created_at", "transcript", "answers"}
    )
    data["answers"] = {name: answer["value"] for name, answer in decision.answers.items()}
    return data


@pytest.mark.parametrize(("user", "twin"), [(SVEN, SVEN_CHATS), (ANNA, ANNA_CHATS)])
async def test_a_valid_submission_records_the_decision_the_chat_records(
    bot: Bot, user: str, twin: str
) -> None:
    lang = LANG_OF[user]
    person = FormUser(bot, user)
    await person.command("form")
    answers = answers_for(lang)
    await person.fill_in(answers)
    response = await person.submit(answers)
    assert response.status_code == 200 and not response.content.strip(b"{} ")
    [recorded] = await decisions_of(bot, user)
    assert recorded.chat == dm_channel(user)
    assert _comparable(recorded) == _comparable(await _chat_decision(bot, twin, lang))
    # The decision is posted in the DM, as the chat posts it.
    posted = bot.fake.posted(dm_channel(user))
    assert posted and posted[0]["blocks"][0]["type"] == "header"
    assert any(f"{recorded.id}" in m["text"] for m in posted)


async def test_an_error_on_a_question_not_shown_yet_updates_the_view_to_show_it(
    bot: Bot,
) -> None:
    sven = FormUser(bot, SVEN)
    await sven.command("formulär")
    # Every answer given, but the view not updated once (each update still on its way):
    # the questions the answers make apply are not in the view, nor answered.
    before = set(sven.fields())
    body = (await sven.submit(answers_for("sv"))).json()
    assert body["response_action"] == "update"
    shown = body["view"]["blocks"]
    required = bot.engine.text("forms.required", "sv")
    warned = {
        block["block_id"].removeprefix(f"{FORM_CALLBACK}.")
        for block, after in itertools.pairwise(shown)
        if block["type"] == "input" and after["type"] == "context"
        if required in after["elements"][0]["text"]
    }
    assert warned and not warned & before
    assert await decisions_of(bot, SVEN) == []


@pytest.mark.parametrize("name", ["slack_modal.py", "teams_form_card.py"])
def test_the_form_adapters_use_only_the_engines_public_api(name: str) -> None:
    code = (Path(__file__).resolve().parents[1] / "adapters" / name).read_text(encoding="utf-8")
    for internal in ("engine.storage", "engine.dialogue", "engine.rules", "engine.forms"):
        assert internal not in code, internal
