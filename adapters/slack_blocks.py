"""Engine replies as Slack Block Kit: questions with buttons or checkboxes, the decision, the
App Home view; and reading back what a user typed, pressed or ticked."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from adapters.chat_kit.choices import NONE_VALUE, ticked_answer
from bot.messages import Choice, CitedLine, DecisionDetails, DecisionView, Outgoing
from bot.storage import StoredDecision
from rules.models import Lang

Block = dict[str, Any]
T = TypeVar("T")

# Slack's limits (https://docs.slack.dev/reference/block-kit): a section's text, a header's,
# a button's label and value, elements in an actions block, options in a checkboxes element.
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_LABEL = 75
MAX_VALUE = 2000
MAX_OPTION_VALUE = 150
MAX_ACTIONS = 25
MAX_OPTIONS = 10
# The notification text sent with the blocks; Slack shows no more than this in a preview.
MAX_FALLBACK = 3000

# Action ids; each is unique in a message (answer buttons are numbered).
ANSWER_ACTION = "tripcheck.answer"
GOALS_ACTION = "tripcheck.goals"
DONE_ACTION = "tripcheck.done"
ANSWER_ACTION_PATTERN = re.compile(rf"^{re.escape(ANSWER_ACTION)}\.\d+$")
GOALS_ACTION_PATTERN = re.compile(rf"^{re.escape(GOALS_ACTION)}\.\d+$")
_TAG = "tq"
# Slack's markup in a message as received: <https://x|label>, <@U123>, <#C123|general>.
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


class Texts(Protocol):
    """The engine's texts (`Engine.text`): a text id in a language, with its values."""

    def __call__(self, text_id: str, lang: Lang, /, **values: object) -> str: ...


def escape(text: str) -> str:
    """Text shown as it is in mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_text(received: str) -> str:
    """What the user typed, from a message's text as Slack sends it (links and mentions shown
    by their label, &amp; &lt; &gt; unescaped)."""

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if label:
            return label
        return "" if target.startswith(("@", "!", "#")) else target

    text = _MARKUP.sub(shown, received)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True)
class SlackMessage:
    """One chat.postMessage or chat.update: the notification text and the blocks."""

    text: str
    blocks: list[Block]


@dataclass(frozen=True)
class QuestionTag:
    """Which user's question and which step a block of buttons answers, kept in its block_id,
    so a press on an old question (or on someone else's) is recognised without storage."""

    user: str
    step: str

    def block_id(self, part: str) -> str:
        return f"{_TAG}:{part}:{self.user}:{self.step}"

    @classmethod
    def parse(cls, block_id: str) -> QuestionTag | None:
        """The tag in a block_id this module made; None for any other."""
        parts = block_id.split(":", 3)
        if len(parts) != 4 or parts[0] != _TAG or not parts[2]:
            return None
        return cls(parts[2], parts[3])


def render(reply: Outgoing, user: str, done_label: str) -> SlackMessage:
    """An engine reply as a Slack message; a question is tagged with `user` and its step, and
    a multiple-choice one ends in a `done_label` button."""
    fallback = escape(reply.text)[:MAX_FALLBACK]
    if reply.type == "decision" and reply.view is not None:
        return SlackMessage(fallback, decision_blocks(reply.view, _decision_buttons(reply, user)))
    if reply.details is not None:
        details = details_blocks(reply.details, _decision_buttons(reply, user))
        return SlackMessage(fallback, details)
    if reply.type == "question":
        return SlackMessage(fallback, question_blocks(reply, user, done_label))
    text = f":warning: {escape(reply.text)}" if reply.type == "error" else escape(reply.text)
    return SlackMessage(fallback, _sections(text))


def question_blocks(reply: Outgoing, user: str, done_label: str) -> list[Block]:
    """The question's text, then its choices: buttons, or checkboxes and Done (goals)."""
    blocks = _sections(escape(reply.text))
    tag = QuestionTag(user, reply.step or "")
    answers = [c for c in reply.choices if not reply.multi or not _tickable(c)]
    # A value Slack cannot carry gets no button; the answer can still be typed.
    buttons = [
        _button(choice.label, choice.value, f"{ANSWER_ACTION}.{number}")
        for number, choice in enumerate(answers)
        if len(choice.value) <= MAX_VALUE
    ]
    if reply.multi:
        tickable = [c for c in reply.choices if _tickable(c)]
        for number, group in enumerate(_groups(tickable, MAX_OPTIONS)):
            checkboxes = {
                "type": "checkboxes",
                "action_id": f"{GOALS_ACTION}.{number}",
                "options": [_option(c) for c in group],
            }
            blocks.append(_actions(tag.block_id(f"c{number}"), [checkboxes]))
        done = _button(done_label, "done", DONE_ACTION)
        buttons.append({**done, "style": "primary"})
    for number, row in enumerate(_groups(buttons, MAX_ACTIONS)):
        blocks.append(_actions(tag.block_id(f"b{number}"), row))
    return blocks


def answered(text: str, blocks: Sequence[Block], label: str) -> SlackMessage:
    """A question after a button was pressed: "question — label", and no buttons left."""
    kept = [dict(block) for block in blocks if block.get("type") != "actions"]
    shown = f"*{escape(label)}*"
    last = kept[-1] if kept and kept[-1].get("type") == "section" else {}
    question = str((last.get("text") or {}).get("text") or "")
    separator = "\n— " if "\n" in question else " — "
    if question and len(question) + len(separator) + len(shown) <= MAX_SECTION:
        last["text"] = {"type": "mrkdwn", "text": question + separator + shown}
    else:
        kept.extend(_sections(f"— {shown}"))
    return SlackMessage(f"{text} — {escape(label)}"[:MAX_FALLBACK], kept)


def without_buttons(text: str, blocks: Sequence[Block]) -> SlackMessage:
    """A question that can no longer be answered by pressing: its text alone."""
    return SlackMessage(text, [block for block in blocks if block.get("type") != "actions"])


@dataclass(frozen=True)
class Ticked:
    """The goals ticked when Done was pressed: the engine's answer and its words."""

    values: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def choice(self) -> str:
        """What the engine takes: "5,8", or "none" when nothing is ticked."""
        return ticked_answer(self.values)


def ticked(body: dict[str, Any]) -> Ticked:
    """The options ticked in a message's checkboxes, in the order they are shown."""
    selected: set[str] = set()
    state = body.get("state") or {}
    for block in (state.get("values") or {}).values():
        for element in block.values():
            if isinstance(element, dict) and element.get("type") == "checkboxes":
                options = element.get("selected_options") or []
                selected.update(str(o.get("value")) for o in options if isinstance(o, dict))
    values: list[str] = []
    labels: list[str] = []
    for option in _checkbox_options((body.get("message") or {}).get("blocks") or []):
        if option.get("value") in selected:
            values.append(str(option["value"]))
            labels.append(str(option.get("text", {}).get("text", option["value"])))
    return Ticked(tuple(values), tuple(labels))


def button_label(blocks: Sequence[Block], value: str) -> str | None:
    """The label of the button with this value in a message (e.g. "None" beside Done)."""
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("value") == value:
                return str(element["text"]["text"])
    return None


def decision_blocks(view: DecisionView, buttons: Sequence[Block] = ()) -> list[Block]:
    """The short recommendation as the engine rendered it: a header; the reasons with their
    plan sections, the climate line and the guidelines that matter in one section; the
    reminder that it is only a recommendation; and the Details and Share buttons."""
    lines = [f"• {escape(r.text)} _{escape(r.cite)}_" for r in view.reasons]
    if view.climate:
        lines.append(escape(view.climate))
    lines.extend(f"→ {escape(g)}" for g in view.guidelines)
    blocks: list[Block] = [_header(view.headline), *_sections("\n".join(lines))]
    footer = {"type": "mrkdwn", "text": escape(view.footer)[:MAX_SECTION]}
    blocks.append({"type": "context", "elements": [footer]})
    blocks.extend(buttons)
    return blocks


def details_blocks(details: DecisionDetails, buttons: Sequence[Block] = ()) -> list[Block]:
    """Everything behind a decision: reasons and advisories with their plan sections, every
    guideline, the climate rows (the planned way in bold) and note; then the Share button."""

    def cited(items: Sequence[CitedLine]) -> list[str]:
        return [f"• {escape(item.text)} _{escape(item.cite)}_" for item in items]

    climate = [
        f"• *{escape(row.text())}*" if row.planned else f"• {escape(row.text())}"
        for row in details.climate
    ]
    if details.climate_note:
        climate.append(escape(details.climate_note))
    parts = [
        (details.headings["reasons"], cited(details.reasons)),
        (details.headings["advisories"], cited(details.advisories)),
        (details.headings["guidelines"], [f"• {escape(g)}" for g in details.guidelines]),
        (details.climate_heading, climate),
    ]
    blocks: list[Block] = _sections(f"*{escape(details.title)}*")
    for heading, lines in parts:
        if lines:
            blocks.extend(_sections("\n".join([f"*{escape(heading)}*", *lines])))
    footer = {"type": "mrkdwn", "text": escape(details.footer)[:MAX_SECTION]}
    blocks.append({"type": "context", "elements": [footer]})
    blocks.extend(buttons)
    return blocks


def _decision_buttons(reply: Outgoing, user: str) -> list[Block]:
    """A decision's Details and Share buttons, tagged with its user and step like a question's,
    so a press reaches the engine as the choice it stands for."""
    if not reply.choices:
        return []
    tag = QuestionTag(user, reply.step or "")
    buttons = [
        _button(choice.label, choice.value, f"{ANSWER_ACTION}.{number}")
        for number, choice in enumerate(reply.choices)
    ]
    return [_actions(tag.block_id("b0"), buttons)]


def home_view(decisions: Sequence[StoredDecision], text: Texts, lang: Lang) -> dict[str, Any]:
    """The App Home tab: what Tripcheck does and the user's latest decisions, newest first."""
    # The intro is our own mrkdwn (*Messages*, `/tripcheck`), so it is not escaped.
    blocks: list[Block] = [_header("Tripcheck"), *_sections(text("slack.home.intro", lang))]
    blocks.append({"type": "divider"})
    blocks.extend(_sections(f"*{escape(text('slack.home.recent', lang))}*"))
    if not decisions:
        blocks.extend(_sections(escape(text("slack.home.empty", lang))))
    for decision in decisions:
        entry = text(
            "slack.home.entry",
            lang,
            id=decision.id,
            date=datetime.fromtimestamp(decision.created_at, UTC).date().isoformat(),
            title=decision.title or text("slack.home.untitled", lang),
            outcome=text(f"outcome.{decision.outcome}", lang),
        )
        blocks.extend(_sections(escape(entry)))
    return {"type": "home", "blocks": blocks}


# --- building blocks ----------------------------------------------------------------------


def _sections(mrkdwn: str) -> list[Block]:
    """Text in as many sections as Slack needs (3000 characters each), split between lines."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}}
        for part in _chunks(mrkdwn, MAX_SECTION)
        if part.strip()
    ]


def _chunks(text: str, limit: int) -> Iterator[str]:
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = _safe_cut(line, limit)
            if current:
                yield current
                current = ""
            yield line[:cut]
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            yield current
            current = line
        else:
            current = candidate
    if current:
        yield current


def _safe_cut(line: str, limit: int) -> int:
    """Where to cut an over-long line: at `limit`, or before an escape it would split."""
    amp = line.rfind("&", max(0, limit - len("&amp;")), limit)
    return amp if amp > 0 and ";" not in line[amp:limit] else limit


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, MAX_HEADER)}


def _plain(text: str, limit: int) -> dict[str, Any]:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": shown, "emoji": True}


def _button(label: str, value: str, action_id: str) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": _plain(label, MAX_LABEL),
        "value": value,
    }


def _option(choice: Choice) -> Block:
    return {"text": _plain(choice.label, MAX_LABEL), "value": choice.value}


def _actions(block_id: str, elements: Sequence[Block]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def _tickable(choice: Choice) -> bool:
    """A multiple-choice option shown as a checkbox (the "none" answer is a button)."""
    return choice.value != NONE_VALUE and 0 < len(choice.value) <= MAX_OPTION_VALUE


def _groups(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _checkbox_options(blocks: Sequence[Block]) -> Iterator[dict[str, Any]]:
    for block in blocks:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "checkboxes":
                yield from element.get("options") or []
