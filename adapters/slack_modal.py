"""The check as a Slack modal: opened by `/tripcheck form`, by the "Fyll i som formulär" button
(App Home, under the first question) or by the message shortcut, whose message prefills it.

Partner and place are `external_select` menus fed by the engine's typeahead; a choice that
changes which questions apply (`dispatch_action`) updates the view (`views.update`); a
submission is read by the engine, which answers with errors shown inline
(`response_action: errors`) or records the decision, which is then posted in the user's DM.
Each view is opened right after the request is acknowledged: a trigger id lasts 3 s."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat_kit.choices import ticked_answer
from adapters.slack_blocks import SlackMessage, escape, plain_text
from bot.engine import Engine
from bot.forms import FieldError, Form, FormField, FormResult
from bot.messages import ConversationKey
from rules.models import Lang

log = logging.getLogger("tripcheck.slack")

Block = dict[str, Any]
FORM_CALLBACK = "tripcheck.form"
SHORTCUT_CALLBACK = "tripcheck.check_message"
OPEN_ACTION = "tripcheck.form.open"
FIELD_ACTION = "tripcheck.form.field"
FIELD_ACTION_PATTERN = re.compile(rf"^{re.escape(FIELD_ACTION)}\.[a-z_]+$")
# Block Kit's limits for a modal: title, submit and close texts; an input's label and hint;
# option texts and values; options of a radio group (more: a select menu); blocks in a view;
# private_metadata.
MAX_TITLE = 24
MAX_LABEL = 2000
MAX_OPTION_TEXT = 75
MAX_RADIO = 5
MAX_BLOCKS = 100
MAX_METADATA = 3000
MAX_TEXT_INPUT = 3000
# Characters typed before a place is looked up (a partner list shows at once).
PLACE_QUERY_LENGTH = 2

# What the modal needs from the Slack channel: the user's language, their DM, a Web API call
# that logs instead of raising, and posting engine replies in the DM.
LangOf = Callable[[str], Awaitable[Lang]]
DmOf = Callable[[str], Awaitable[str | None]]
Call = Callable[[str, Awaitable[Any]], Awaitable[Any]]
PostReplies = Callable[[ConversationKey, FormResult], Awaitable[None]]
# Tracks a listener's work (so shutdown and tests wait for it) and logs what goes wrong.
Work = Callable[[str], AbstractContextManager[None]]


class SlackForms:
    """The modal's listeners; `register` adds them to the bolt app."""

    def __init__(
        self,
        engine: Engine,
        client: AsyncWebClient,
        *,
        lang_of: LangOf,
        dm_of: DmOf,
        call: Call,
        post: PostReplies,
        work: Work,
    ) -> None:
        self.engine = engine
        self.client = client
        self._lang_of = lang_of
        self._dm_of = dm_of
        self._call = call
        self._post = post
        self._work = work

    def register(self, app: AsyncApp) -> None:
        app.action(OPEN_ACTION)(self._on_open_button)
        app.shortcut(SHORTCUT_CALLBACK)(self._on_shortcut)
        app.options(FIELD_ACTION_PATTERN)(self._on_suggest)
        app.action(FIELD_ACTION_PATTERN)(self._on_change)
        app.view(FORM_CALLBACK)(self._on_submit)

    def asks_for_form(self, text: str) -> bool:
        """Whether /tripcheck's text asks for the form ("form", "formulär")."""
        return self.engine.asks_for_form(text)

    async def open(self, user: str, trigger_id: str, values: Mapping[str, str]) -> None:
        """Opens the form for `user`, prefilled with `values`."""
        lang = await self._lang_of(user)
        form = await self.engine.form(_key(user), lang, values)
        view = form_view(form, values)
        await self._call("views.open", self.client.views_open(trigger_id=trigger_id, view=view))

    # --- listeners ----------------------------------------------------------------------

    async def _on_open_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """The button in App Home or under the first question."""
        with self._work("form button"):
            await ack()
            user, trigger = _user(body), str(body.get("trigger_id") or "")
            if user and trigger:
                await self.open(user, trigger, {})

    async def _on_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """The message shortcut "Kontrollera den här resan": its text prefills the form."""
        with self._work("shortcut"):
            await ack()
            user, trigger = _user(body), str(body.get("trigger_id") or "")
            if not user or not trigger:
                return
            text = str((body.get("message") or {}).get("text") or "")
            lang = await self._lang_of(user)
            await self.open(user, trigger, self.engine.prefill(plain_text(text), lang))

    async def _on_suggest(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Typeahead for partner and place, as the chat would read what is typed."""
        with self._work("form options"):
            name = _field_of(str(body.get("action_id") or ""))
            lang = _metadata(body.get("view")).get("lang")
            options = self.engine.suggest(name, str(body.get("value") or ""), _lang(lang))
            await ack(options=[_option(o.label, o.value) for o in options])

    async def _on_change(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A choice made: the view again with the questions that now apply."""
        with self._work("form choice"):
            await ack()
            view = body.get("view") or {}
            user = _user(body)
            if not user or not view.get("id"):
                return
            metadata = _metadata(view)
            values = {**metadata.get("kept", {}), **read_state(view)}
            form = await self.engine.form(_key(user), _lang(metadata.get("lang")), values)
            update = self.client.views_update(
                view_id=str(view["id"]), hash=view.get("hash"), view=form_view(form, values)
            )
            # A hash_conflict: a newer update is on its way; this one is not needed.
            await self._call("views.update", update)

    async def _on_submit(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """The form sent: errors inline (nothing recorded), or the decision, posted in the
        DM. Slack waits for the answer, so the submission is read before the ack."""
        with self._work("form submission"):
            view = body.get("view") or {}
            user = _user(body)
            metadata = _metadata(view)
            lang = _lang(metadata.get("lang"))
            values = {**metadata.get("kept", {}), **read_state(view)}
            dm = await self._dm_of(user) if user else None
            if not user or dm is None:
                await ack(response_action="errors", errors=_first_error(view, lang, self.engine))
                return
            key = ConversationKey("slack", dm, user)
            result = await self.engine.submit_form(key, lang, values)
            if result.failed:
                failed = {_first_block(view): self.engine.text("forms.failed", lang)}
                await ack(response_action="errors", errors=failed)
            elif result.errors:
                shown = _block_ids(view)
                inline = errors_by_block(result.errors, shown)
                if inline is not None:
                    await ack(response_action="errors", errors=inline)
                else:
                    # An error on a question the view does not show yet: the view that shows it.
                    await ack(response_action="update", view=form_view(result.form, values, result))
            else:
                await ack()
                await self._post(key, result)


# --- the view -----------------------------------------------------------------------------


def form_view(
    form: Form, values: Mapping[str, str], result: FormResult | None = None
) -> dict[str, Any]:
    """The modal for `form`; the values of questions it does not show are kept in its
    metadata, so a question that applies again gets its answer back. With `result`, each
    error is shown under its question."""
    shown = {f.name for f in form.fields}
    kept = {name: value for name, value in values.items() if name not in shown and value}
    metadata = json.dumps({"lang": form.lang, "kept": kept}, ensure_ascii=False)
    if len(metadata) > MAX_METADATA:
        metadata = json.dumps({"lang": form.lang, "kept": {}})
    blocks: list[Block] = [{"type": "section", "text": _plain_text(form.intro, MAX_TEXT_INPUT)}]
    errors = result.errors if result is not None else {}
    general = errors.get("")
    if general is not None:
        blocks.append(_warning(general))
    for item in form.fields:
        blocks.append(_input(item, form))
        error = errors.get(item.name)
        if error is not None:
            blocks.append(_warning(error))
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": _plain_text(form.title, MAX_TITLE),
        "submit": _plain_text(form.submit, MAX_TITLE),
        "close": _plain_text(form.close, MAX_TITLE),
        "private_metadata": metadata,
        "blocks": blocks[:MAX_BLOCKS],
    }


def _input(item: FormField, form: Form) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id(item.name),
        "label": _plain_text(item.label, MAX_LABEL),
        "optional": not item.required,
        "element": _element(item, form),
    }
    if item.hint and item.hint != item.label:
        block["hint"] = _plain_text(item.hint, MAX_LABEL)
    if not item.free_text:
        # A choice may change which questions apply: Slack tells us, and the view is updated.
        block["dispatch_action"] = True
    return block


def _element(item: FormField, form: Form) -> Block:
    action_id = f"{FIELD_ACTION}.{item.name}"
    if item.typeahead:
        element: Block = {
            "type": "external_select",
            "action_id": action_id,
            "placeholder": _plain_text(form.search, 150),
            "min_query_length": 0 if item.name == "partner" else PLACE_QUERY_LENGTH,
        }
        if item.selected is not None:
            element["initial_option"] = _option(item.selected.label, item.selected.value)
        return element
    if item.multi:
        options = [_option(c.label, c.value) for c in item.choices if c.value != "none"]
        element = {"type": "checkboxes", "action_id": action_id, "options": options}
        ticked = set(item.value.split(","))
        initial = [o for o in options if o["value"] in ticked]
        if initial:
            element["initial_options"] = initial
        return element
    if item.choices:
        options = [_option(c.label, c.value) for c in item.choices]
        kind = "radio_buttons" if len(options) <= MAX_RADIO else "static_select"
        element = {"type": kind, "action_id": action_id, "options": options}
        if kind == "static_select":
            element["placeholder"] = _plain_text(form.choose, 150)
        chosen = next((o for o in options if o["value"] == item.value), None)
        if chosen is not None:
            element["initial_option"] = chosen
        return element
    element = {"type": "plain_text_input", "action_id": action_id}
    if item.value:
        element["initial_value"] = item.value[:MAX_TEXT_INPUT]
    return element


def read_state(view: Mapping[str, Any]) -> dict[str, str]:
    """The values of a view's inputs by field: typed text, the chosen option's value, the
    ticked values joined ("5,8", or "none")."""
    values: dict[str, str] = {}
    state = (view.get("state") or {}).get("values") or {}
    for actions in state.values():
        if not isinstance(actions, dict):
            continue
        for action_id, element in actions.items():
            name = _field_of(str(action_id))
            if not name or not isinstance(element, dict):
                continue
            values[name] = _value_of(element)
    return values


def _value_of(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind == "checkboxes":
        ticked = [str(o.get("value") or "") for o in element.get("selected_options") or []]
        return ticked_answer([v for v in ticked if v])
    if kind == "plain_text_input":
        return str(element.get("value") or "")
    option = element.get("selected_option") or {}
    return str(option.get("value") or "") if isinstance(option, dict) else ""


def errors_by_block(errors: Mapping[str, FieldError], shown: set[str]) -> dict[str, str] | None:
    """Slack's inline errors by block id; None when an error is on a question not shown."""
    inline: dict[str, str] = {}
    first = next(iter(sorted(shown)), None)
    for name, error in errors.items():
        target = block_id(name) if name else first
        if target is None or target not in shown:
            return None
        inline[target] = error.message
    return inline


def block_id(name: str) -> str:
    return f"{FORM_CALLBACK}.{name}"


def _block_ids(view: Mapping[str, Any]) -> set[str]:
    return {str(b.get("block_id")) for b in view.get("blocks") or [] if b.get("type") == "input"}


def _first_block(view: Mapping[str, Any]) -> str:
    blocks = [b for b in view.get("blocks") or [] if b.get("type") == "input"]
    return str(blocks[0].get("block_id")) if blocks else block_id("title")


def _first_error(view: Mapping[str, Any], lang: Lang, engine: Engine) -> dict[str, str]:
    return {_first_block(view): engine.text("forms.failed", lang)}


def _warning(error: FieldError) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f":warning: {escape(error.message)}"}],
    }


def _option(label: str, value: str) -> Block:
    return {"text": _plain_text(label, MAX_OPTION_TEXT), "value": value}


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": shown or " ", "emoji": True}


def _field_of(action_id: str) -> str:
    prefix = f"{FIELD_ACTION}."
    return action_id[len(prefix) :] if action_id.startswith(prefix) else ""


def _metadata(view: object) -> dict[str, Any]:
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        return {}
    kept = data.get("kept")
    data["kept"] = {str(k): str(v) for k, v in kept.items()} if isinstance(kept, dict) else {}
    return data


def _lang(value: object) -> Lang:
    return "en" if value == "en" else "sv"


def _user(body: Mapping[str, Any]) -> str:
    user = body.get("user") or {}
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def _key(user: str) -> ConversationKey:
    # The last department is kept per user and channel; the chat does not matter for it.
    return ConversationKey("slack", "", user)


def form_button(label: str) -> Block:
    """The button that opens the form (App Home, under the first question)."""
    return {
        "type": "button",
        "action_id": OPEN_ACTION,
        "text": _plain_text(label, MAX_OPTION_TEXT),
        "value": "form",
    }


def with_form_button(view: dict[str, Any], label: str) -> dict[str, Any]:
    """The App Home view with the form's button after its introduction."""
    blocks = list(view.get("blocks") or [])
    divider = next((n for n, b in enumerate(blocks) if b.get("type") == "divider"), len(blocks))
    button = {"type": "actions", "block_id": OPEN_ACTION, "elements": [form_button(label)]}
    return {**view, "blocks": [*blocks[:divider], button, *blocks[divider:]]}


def with_form_offer(message: SlackMessage, engine: Engine, lang: Lang) -> SlackMessage:
    """The first question with a line offering the form, its button beside it."""
    offer = {
        "type": "section",
        "block_id": "tripcheck.form.offer",
        "text": {"type": "mrkdwn", "text": escape(engine.text("forms.offer", lang))},
        "accessory": form_button(engine.text("forms.open", lang)),
    }
    return SlackMessage(message.text, [*message.blocks, offer])
