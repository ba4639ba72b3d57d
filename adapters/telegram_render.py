"""Engine replies as Telegram messages: HTML text in parts Telegram accepts, the decision from its
rendered view, inline keyboards, and reading back which button of which question was pressed."""

from __future__ import annotations

import base64
import hashlib
import html
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from adapters.chat_kit.choices import NONE_VALUE, ticked_answer
from bot.messages import Choice, DecisionDetails, DecisionView, Outgoing

# Telegram's limits: a message's text, and a button's callback data (in bytes).
MAX_MESSAGE = 4096
MAX_CALLBACK_DATA = 64
# How buttons share a row: at most this many, with at most this many characters in all.
ROW_BUTTONS = 3
ROW_CHARACTERS = 30
CHECKED = "✓ "
# Callback data: a kind, the step of the question the button belongs to, then what was pressed
# ("a:influence:no"): an answer, an answer remembered by token, a toggle, Done. The step is
# written out (the longest, "contributes_development.confirm", leaves 30 bytes), so a press
# says which question it answers even after a restart.
ANSWER = "a:"
REMEMBERED = "r:"
TOGGLE = "t:"
DONE = "d:"
SEPARATOR = ":"
_TOGGLE_UNSAFE = frozenset(":,")
# A remembered value's token: 16 bytes of its hash, in URL-safe base64 (22 characters).
TOKEN_BYTES = 16


@dataclass(frozen=True)
class TelegramMessage:
    """One sendMessage: HTML text and, on the last part of a question, its keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class Answer:
    """A pressed answer button of the question `step`; `value` is None when a remembered value
    was forgotten (a restart)."""

    step: str
    value: str | None


@dataclass(frozen=True)
class Toggle:
    """A pressed goal in a multiple-choice question: `selected` before the press."""

    step: str
    selected: tuple[str, ...]
    value: str


@dataclass(frozen=True)
class Done:
    """The Done button of a multiple-choice question, with what was ticked."""

    step: str
    selected: tuple[str, ...]

    @property
    def choice(self) -> str:
        """The answer the engine takes: "5,8", or "none" when nothing was ticked."""
        return ticked_answer(self.selected)


Pressed = Answer | Toggle | Done


def telegram_length(text: str) -> int:
    """A text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


# A line of a message: pieces of text, each plain ("") or in one of Telegram's tags ("b", "i").
Line = list[tuple[str, str]]


def message_parts(
    reply: Outgoing, keyboard: InlineKeyboardMarkup | None = None
) -> list[TelegramMessage]:
    """The reply as HTML messages of at most MAX_MESSAGE characters, split between lines.

    Every text is escaped; the only markup is ours (the decision's headline and headings, its
    plan sections). The keyboard goes on the last part, under the question."""
    if reply.view is not None:
        lines = decision_lines(reply.view)
    elif reply.details is not None:
        lines = details_lines(reply.details)
    else:
        lines = [[(line, "")] for line in reply.text.split("\n")]
    html_lines: list[str] = []
    for line in lines:
        html_lines.extend(_line_pieces(line))
    parts: list[str] = []
    current: list[str] = []
    for html_line in html_lines:
        candidate = "\n".join([*current, html_line])
        if current and telegram_length(candidate) > MAX_MESSAGE:
            parts.append("\n".join(current))
            current = [html_line]
        else:
            current.append(html_line)
    parts.append("\n".join(current))
    return [
        TelegramMessage(part, keyboard if number == len(parts) - 1 else None)
        for number, part in enumerate(parts)
    ]


def decision_lines(view: DecisionView) -> list[Line]:
    """The short decision as Telegram lines: the headline bold, each reason with its plan
    section in italics, the climate line, the guidelines that matter, the reminder in italics."""
    lines: list[Line] = [[(view.headline, "b")]]
    lines.extend([(f"• {reason.text} ", ""), (reason.cite, "i")] for reason in view.reasons)
    if view.climate:
        lines.append([(view.climate, "")])
    lines.extend([(f"→ {guideline}", "")] for guideline in view.guidelines)
    lines.append([(view.footer, "i")])
    return lines


def details_lines(details: DecisionDetails) -> list[Line]:
    """Everything behind a decision as Telegram lines: the title and headings bold, each reason
    and advisory with its plan section in italics, a climate row per line."""
    lines: list[Line] = [[(details.title, "b")]]
    for heading, items in (
        (details.headings["reasons"], details.reasons),
        (details.headings["advisories"], details.advisories),
    ):
        if items:
            lines.append([(heading, "b")])
            lines.extend([(f"• {item.text} ", ""), (item.cite, "i")] for item in items)
    if details.guidelines:
        lines.append([(details.headings["guidelines"], "b")])
        lines.extend([(f"• {guideline}", "")] for guideline in details.guidelines)
    if details.climate:
        lines.append([(details.climate_heading, "b")])
        lines.extend([(f"• {row.text()}", "b" if row.planned else "")] for row in details.climate)
    if details.climate_note:
        lines.append([(details.climate_note, "")])
    lines.append([(details.footer, "i")])
    return lines


def _line_pieces(line: Line) -> list[str]:
    """One line as HTML; a line too long for one message is cut, each of its pieces apart."""
    whole = "".join(_tagged(text, tag) for text, tag in line)
    if telegram_length(whole) <= MAX_MESSAGE:
        return [whole]
    return [piece for text, tag in line for piece in _html_pieces(text, tag)]


def _tagged(text: str, tag: str) -> str:
    return f"<{tag}>{html.escape(text)}</{tag}>" if tag and text else html.escape(text)


def _html_pieces(line: str, tag: str) -> list[str]:
    """Text in one tag as HTML; too long for one message, it is cut (never inside an escape)."""

    def render(text: str) -> str:
        return _tagged(text, tag)

    if telegram_length(render(line)) <= MAX_MESSAGE:
        return [render(line)]
    overhead = len(f"<{tag}></{tag}>") if tag else 0
    pieces: list[str] = []
    start, used = 0, overhead
    for index, character in enumerate(line):
        size = telegram_length(html.escape(character))
        if used + size > MAX_MESSAGE:
            pieces.append(render(line[start:index]))
            start, used = index, overhead
        used += size
    pieces.append(render(line[start:]))
    return pieces


def answered_html(question_html: str, question_text: str, label: str) -> str | None:
    """A question after its button was pressed: "question — label" (None if too long)."""
    separator = "\n— " if "\n" in question_text else " — "
    if telegram_length(question_text + separator + label) > MAX_MESSAGE:
        return None
    return f"{question_html}{separator}<b>{html.escape(label)}</b>"


class Keyboards:
    """Inline keyboards for questions, and which button of which question a callback's data
    stands for.

    Callback data holds at most 64 bytes: a longer value is remembered here under a short
    token. After a restart a token is forgotten; the channel then sends the button's label
    as the choice (long values are names, whose label is the value)."""

    def __init__(self, remember: int = 10_000) -> None:
        self._remembered: OrderedDict[str, str] = OrderedDict()
        self._capacity = remember

    def for_question(self, reply: Outgoing, done_label: str) -> InlineKeyboardMarkup | None:
        """The keyboard of a question (None without choices); multi questions get toggles."""
        if not reply.choices:
            return None
        step = reply.step or ""
        if SEPARATOR in step:
            raise ValueError(f"a step id cannot hold {SEPARATOR!r}: {step!r}")
        if reply.multi:
            return self._multi(step, reply.choices, done_label)
        buttons = [self._answer_button(step, c) for c in reply.choices]
        return InlineKeyboardMarkup(_rows(buttons))

    def _multi(self, step: str, choices: Sequence[Choice], done_label: str) -> InlineKeyboardMarkup:
        toggles = [c for c in choices if _toggleable(c.value)]
        others = [self._answer_button(step, c) for c in choices if not _toggleable(c.value)]
        # One goal per row: their names are long, and a column reads as a checklist.
        rows = [[_toggle_button(c.label, step, c.value, ())] for c in toggles]
        rows.extend(_rows([*others, _done_button(done_label, step, ())]))
        return InlineKeyboardMarkup(rows)

    def _answer_button(self, step: str, choice: Choice) -> InlineKeyboardButton:
        data = f"{ANSWER}{step}{SEPARATOR}{choice.value}"
        if len(data.encode()) > MAX_CALLBACK_DATA:
            digest = hashlib.sha256(choice.value.encode()).digest()[:TOKEN_BYTES]
            token = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            self._remembered[token] = choice.value
            self._remembered.move_to_end(token)
            while len(self._remembered) > self._capacity:
                self._remembered.popitem(last=False)
            data = f"{REMEMBERED}{step}{SEPARATOR}{token}"
        return InlineKeyboardButton(choice.label, callback_data=data)

    def pressed(self, data: str) -> Pressed | None:
        """What a button's callback data stands for; None for data this bot never made (or
        made before presses carried their step)."""
        if data.startswith(REMEMBERED):
            step, separator, token = data.removeprefix(REMEMBERED).partition(SEPARATOR)
            return Answer(step, self._remembered.get(token)) if separator else None
        return _parse(data)


def _parse(data: str) -> Pressed | None:
    """The buttons whose data says everything: answers, toggles and Done."""
    kind, rest = data[:2], data[2:]
    step, separator, rest = rest.partition(SEPARATOR)
    if not separator:
        return None
    if kind == ANSWER:
        return Answer(step, rest)
    if kind == TOGGLE and SEPARATOR in rest:
        selected, value = rest.rsplit(SEPARATOR, 1)
        return Toggle(step, _split(selected), value)
    if kind == DONE:
        return Done(step, _split(rest))
    return None


def toggled(markup: InlineKeyboardMarkup, toggle: Toggle) -> InlineKeyboardMarkup:
    """The multiple-choice keyboard after `toggle` was pressed: ✓ marks and data updated.

    The selection lives in the buttons themselves, so it survives restarts and needs no
    storage; it is kept in the keyboard's order, as the engine lists goals."""
    chosen = set(toggle.selected) ^ {toggle.value}
    order = [
        pressed.value
        for button in _buttons(markup)
        if isinstance(pressed := _static(button), Toggle)
    ]
    selected = tuple(value for value in order if value in chosen)
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            pressed = _static(button)
            if isinstance(pressed, Toggle):
                label = button.text.removeprefix(CHECKED)
                new_row.append(_toggle_button(label, pressed.step, pressed.value, selected))
            elif isinstance(pressed, Done):
                new_row.append(_done_button(button.text, pressed.step, selected))
            else:
                new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(rows)


def pressed_label(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The label of the button with this callback data in a message's keyboard."""
    if markup is None:
        return None
    for button in _buttons(markup):
        if button.callback_data == data:
            return button.text.removeprefix(CHECKED)
    return None


def done_label(markup: InlineKeyboardMarkup | None, done: Done) -> str:
    """What a Done press answered, in words: the ticked labels, or the "none" button's."""
    ticked: list[str] = []
    none_label = NONE_VALUE
    for button in _buttons(markup) if markup is not None else []:
        pressed = _static(button)
        if isinstance(pressed, Toggle) and pressed.value in done.selected:
            ticked.append(button.text.removeprefix(CHECKED))
        elif isinstance(pressed, Answer) and pressed.value == NONE_VALUE:
            none_label = button.text
    return ", ".join(ticked) or none_label


def _rows(buttons: Iterable[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Short labels side by side, long ones on a row of their own."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for button in buttons:
        width = sum(len(b.text) for b in row) + len(button.text)
        if row and (len(row) == ROW_BUTTONS or width > ROW_CHARACTERS):
            rows.append(row)
            row = []
        row.append(button)
    if row:
        rows.append(row)
    return rows


def _toggleable(value: str) -> bool:
    """Whether a multi choice can be a toggle: its value must fit the callback data format.

    Nine goals ticked is the longest data: "t:goals:1,2,3,4,5,6,7,8,9:9", well under 64 bytes."""
    return value != NONE_VALUE and len(value) <= 3 and not (_TOGGLE_UNSAFE & set(value))


def _toggle_button(
    label: str, step: str, value: str, selected: tuple[str, ...]
) -> InlineKeyboardButton:
    shown = f"{CHECKED}{label}" if value in selected else label
    data = f"{TOGGLE}{step}{SEPARATOR}{','.join(selected)}{SEPARATOR}{value}"
    return InlineKeyboardButton(shown, callback_data=data)


def _done_button(label: str, step: str, selected: tuple[str, ...]) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=f"{DONE}{step}{SEPARATOR}{','.join(selected)}")


def _split(joined: str) -> tuple[str, ...]:
    return tuple(value for value in joined.split(",") if value)


def _buttons(markup: InlineKeyboardMarkup) -> list[InlineKeyboardButton]:
    return [button for row in markup.inline_keyboard for button in row]


def _static(button: InlineKeyboardButton) -> Pressed | None:
    """What a button in a sent keyboard stands for (remembered long values aside)."""
    data = button.callback_data
    return _parse(data) if isinstance(data, str) else None
