"""The terminal channel: arrow-key choices in a real terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import questionary
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from rules.models import Lang


def numbered(message: Outgoing) -> str:
    """A question's choices as numbered options for plain line mode."""
    return "   ".join(f"[{i}] {c.label}" for i, c in enumerate(message.choices, start=1))


def incoming_for(line: str, last: Outgoing | None, lang: Lang | None) -> Incoming:
    """A typed line; in plain mode a choice's number picks that choice (not for goals,
    where numbers are the goals themselves)."""
    text = line.strip()
    if last is not None and last.choices and not last.multi and text.isdigit():
        index = int(text)
        if 1 <= index <= len(last.choices):
            return Incoming(choice=last.choices[index - 1].value, step=last.step, lang=lang)
    return Incoming(text=line, lang=lang)


async def run_plain(
    engine: Engine,
    key: ConversationKey,
    lang: Lang | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Line mode for pipes and dumb terminals: text out, one typed line in."""
    opened = await engine.open(key, lang=lang)
    last = _print_plain(opened.replies, stdout)
    for line in stdin:
        result = await engine.handle(key, incoming_for(line.rstrip("\n"), last, lang))
        last = _print_plain(result.replies, stdout) or last


def _print_plain(replies: Sequence[Outgoing], stdout: TextIO) -> Outgoing | None:
    question = None
    for message in replies:
        stdout.write(message.text + "\n")
        if message.type == "question":
            if message.choices:
                stdout.write(numbered(message) + "\n")
            question = message
        stdout.write("\n")
    stdout.flush()
    return question


async def run_interactive(engine: Engine, key: ConversationKey, lang: Lang | None) -> None:
    """A nicely rendered chat: choices with the arrow keys, or type any answer or command."""
    console = Console()
    replies = (await engine.open(key, lang=lang)).replies
    while True:
        question = _show(console, replies)
        current = await engine.conversation_lang(key)
        try:
            incoming = await _ask(question)
        except (KeyboardInterrupt, EOFError):
            incoming = None
        if incoming is None:
            console.print(f"[dim]{engine.text('terminal.bye', current)}[/dim]")
            return
        replies = (await engine.handle(key, incoming)).replies


def _show(console: Console, replies: Sequence[Outgoing]) -> Outgoing | None:
    question = None
    for message in replies:
        if message.type == "decision":
            headline, _, rest = message.text.partition("\n")
            body = Text(headline + "\n", style="bold")
            body.append(rest)
            console.print(Panel(body, border_style="green"))
        elif message.type in ("hint", "error"):
            console.print(f"[yellow]{message.text}[/yellow]")
        elif message.type == "question":
            question = message
            console.print(f"[bold cyan]{message.text}[/bold cyan]")
            if message.choices and not message.multi:
                console.print("[cyan]" + " · ".join(c.label for c in message.choices) + "[/cyan]")
        else:
            # As written, and wrapped only by the terminal, so that a summary to share is
            # copied as one piece (rich would read brackets as markup and break long lines).
            console.print(message.text, markup=False, highlight=False, soft_wrap=True)
    return question


async def _ask(question: Outgoing | None) -> Incoming | None:
    """One answer. What is typed is always the answer: the choices complete as you type (Tab
    or the arrow keys), and anything else is sent as text, so no key ever picks a choice the
    user did not type."""
    if question is not None and question.choices:
        by_label = {c.label: c.value for c in question.choices}
        typed = await questionary.autocomplete(
            ">", choices=list(by_label), match_middle=True
        ).ask_async()
        if typed is None:
            return None
        if typed in by_label:
            return Incoming(choice=by_label[typed], step=question.step)
        return Incoming(text=typed)
    typed = await questionary.text(">").ask_async()
    return None if typed is None else Incoming(text=typed)
