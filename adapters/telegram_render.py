"""Engine replies as Telegram messages: HTML text in parts Telegram accepts, inline keyboards,
and reading back which button was pressed."""

from __future__ import annotations

import hashlib
import html
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import Choice, Outgoing

# Telegram's limits: a message's text, and a button's callback data (in bytes).
MAX_MESSAGE = 4096
MAX_CALLBACK_DATA = 64
# How buttons share a row: at most this many, with at most this many characters in all.
ROW_BUTTONS = 3
ROW_CHARACTERS = 30
CHECKED = "✓ "
# The engine's value for "no goals"; the Done button sends it when nothing is ticked.
NONE_VALUE = "none"
# Callback data kinds: an answer, an answer remembered by token, a toggle, Done.
ANSWER = "a:"
REMEMBERED = "r:"
TOGGLE = "t:"
DONE = "d:"
_TOGGLE_UNSAFE = frozenset(":,")


@dataclass(frozen=True)
class TelegramMessage:
    """One sendMessage: HTML text and, on the last part of a question, its keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class Answer:
    """A pressed answer button; `value` is None when a remembered value was forgotten."""

    value: str | None


@dataclass(frozen=True)
class Toggle:
    """A pressed goal in a multiple-choice question: `selected` before the press."""

    selected: tuple[str, ...]
    value: str


@dataclass(frozen=True)
class Done:
    """The Done button of a multiple-choice question, with what was ticked."""

    selected: tuple[str, ...]

    @property
    def choice(self) -> str:
        """The answer the engine takes: "5,8", or "none" when nothing was ticked."""
        return ",".join(self.selected) or NONE_VALUE


Pressed = Answer | Toggle | Done


def telegram_length(text: str) -> int:
    """A text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def message_parts(
    reply: Outgoing, keyboard: InlineKeyboardMarkup | None = None
) -> list[TelegramMessage]:
    """The reply as HTML messages of at most MAX_MESSAGE characters, split between lines.

    Every text is escaped; only the decision's headline is bold (markup we add ourselves).
    The keyboard goes on the last part, under the question."""
    html_lines: list[str] = []
    for number, line in enumerate(reply.text.split("\n")):
        bold = reply.type == "decision" and number == 0
        html_lines.extend(_html_pieces(line, bold))
    parts: list[str] = []
    current: list[str] = []
    for line in html_lines:
        candidate = "\n".join([*current, line])
        if current and telegram_length(candidate) > MAX_MESSAGE:
            parts.append("\n".join(current))
            current = [line]
        else:
            current.append(line)
    parts.append("\n".join(current))
    return [
        TelegramMessage(part, keyboard if number == len(parts) - 1 else None)
        for number, part in enumerate(parts)
    ]


def _html_pieces(line: str, bold: bool) -> list[str]:
    """One line as HTML; a line too long for one message is cut (never inside an escape)."""

    def render(text: str) -> str:
        return f"<b>{html.escape(text)}</b>" if bold and text else html.escape(text)

    if telegram_length(render(line)) <= MAX_MESSAGE:
        return [render(line)]
    overhead = len("<b></b>") if bold else 0
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
    """Inline keyboards for questions, and which button a callback's data stands for.

    Callback data holds at most 64 bytes: a longer value is remembered here under a short
    token. After a restart a token is forgotten; the channel then sends the button's label
    as if typed, which the engine understands too."""

    def __init__(self, remember: int = 10_000) -> None:
        self._remembered: OrderedDict[str, str] = OrderedDict()
        self._capacity = remember

    def for_question(self, reply: Outgoing, done_label: str) -> InlineKeyboardMarkup | None:
        """The keyboard of a question (None without choices); multi questions get toggles."""
        if not reply.choices:
            return None
        if reply.multi:
            return self._multi(reply.choices, done_label)
        return InlineKeyboardMarkup(_rows([self._answer_button(c) for c in reply.choices]))

    def _multi(self, choices: Sequence[Choice], done_label: str) -> InlineKeyboardMarkup:
        toggles = [c for c in choices if _toggleable(c.value)]
        others = [self._answer_button(c) for c in choices if not _toggleable(c.value)]
        # One goal per row: their names are long, and a column reads as a checklist.
        rows = [[_toggle_button(c.label, c.value, ())] for c in toggles]
        rows.extend(_rows([*others, _done_button(done_label, ())]))
        return InlineKeyboardMarkup(rows)

    def _answer_button(self, choice: Choice) -> InlineKeyboardButton:
        data = ANSWER + choice.value
        if len(data.encode()) > MAX_CALLBACK_DATA:
            token = hashlib.sha256(choice.value.encode()).hexdigest()[:32]
            self._remembered[token] = choice.value
            self._remembered.move_to_end(token)
            while len(self._remembered) > self._capacity:
                self._remembered.popitem(last=False)
            data = REMEMBERED + token
        return InlineKeyboardButton(choice.label, callback_data=data)

    def pressed(self, data: str) -> Pressed | None:
        """What a button's callback data stands for; None for data this bot never made."""
        if data.startswith(REMEMBERED):
            return Answer(self._remembered.get(data.removeprefix(REMEMBERED)))
        return _parse(data)


def _parse(data: str) -> Pressed | None:
    """The buttons whose data says everything: answers, toggles and Done."""
    kind, rest = data[:2], data[2:]
    if kind == ANSWER:
        return Answer(rest)
    if kind == TOGGLE and ":" in rest:
        selected, value = rest.rsplit(":", 1)
        return Toggle(_split(selected), value)
    if kind == DONE:
        return Done(_split(rest))
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
                new_row.append(_toggle_button(label, pressed.value, selected))
            elif isinstance(pressed, Done):
                new_row.append(_done_button(button.text, selected))
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

    Nine goals ticked is the longest data: "t:1,2,3,4,5,6,7,8,9:9", well under 64 bytes."""
    return value != NONE_VALUE and len(value) <= 3 and not (_TOGGLE_UNSAFE & set(value))


def _toggle_button(label: str, value: str, selected: tuple[str, ...]) -> InlineKeyboardButton:
    shown = f"{CHECKED}{label}" if value in selected else label
    return InlineKeyboardButton(shown, callback_data=f"{TOGGLE}{','.join(selected)}:{value}")


def _done_button(label: str, selected: tuple[str, ...]) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=DONE + ",".join(selected))


def _split(joined: str) -> tuple[str, ...]:
    return tuple(value for value in joined.split(",") if value)


def _buttons(markup: InlineKeyboardMarkup) -> list[InlineKeyboardButton]:
    return [button for row in markup.inline_keyboard for button in row]


def _static(button: InlineKeyboardButton) -> Pressed | None:
    """What a button in a sent keyboard stands for (remembered long values aside)."""
    data = button.callback_data
    return _parse(data) if isinstance(data, str) else None
