"""The terminal channel: arrow-key choices in a real terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

import questionary
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from rules.models import Lang

TYPE_INSTEAD = "__type__"


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
            return Incoming(choice=last.choices[index - 1].value, lang=lang)
    return Incoming(text=line, lang=lang)


async def run_plain(
    engine: Engine,
    key: ConversationKey,
    lang: Lang | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Line mode for pipes and dumb terminals: text out, one typed line in."""
    replies = await engine.open(key, lang=lang)
    last = _print_plain(replies, stdout)
    for line in stdin:
        replies = await engine.handle(key, incoming_for(line.rstrip("\n"), last, lang))
        last = _print_plain(replies, stdout) or last


def _print_plain(replies: list[Outgoing], stdout: TextIO) -> Outgoing | None:
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
    replies = await engine.open(key, lang=lang)
    while True:
        question = _show(console, replies)
        current = await engine.conversation_lang(key)
        try:
            incoming = await _ask(question, engine.rules.text("terminal.type_answer", current))
        except (KeyboardInterrupt, EOFError):
            incoming = None
        if incoming is None:
            console.print(f"[dim]{engine.rules.text('terminal.bye', current)}[/dim]")
            return
        replies = await engine.handle(key, incoming)


def _show(console: Console, replies: list[Outgoing]) -> Outgoing | None:
    question = None
    for message in replies:
        if message.type == "decision":
            headline, _, rest = message.text.partition("\n")
            body = Text(headline + "\n", style="bold")
            body.append(rest)
            console.print(Panel(body, border_style="green"))
        elif message.type == "error":
            console.print(f"[yellow]{message.text}[/yellow]")
        elif message.type == "question":
            question = message
            if not message.choices or message.free_text:
                console.print(f"[bold cyan]{message.text}[/bold cyan]")
        else:
            console.print(message.text)
    return question


async def _ask(question: Outgoing | None, type_label: str) -> Incoming | None:
    if question is not None and question.choices and question.multi:
        console_text = question.text.split("\n")[0]
        picked = await questionary.checkbox(
            console_text, choices=[questionary.Choice(c.label, c.value) for c in question.choices]
        ).ask_async()
        if picked is None:
            return None
        if picked:
            return Incoming(choice=",".join(v for v in picked if v != "none") or "none")
        typed = await questionary.text(">").ask_async()
        return None if typed is None else Incoming(text=typed)
    if question is not None and question.choices and question.free_text:
        # Suggestions (e.g. "No partner") complete as you type; anything else is sent as typed.
        by_label = {c.label: c.value for c in question.choices}
        typed = await questionary.autocomplete(
            ">", choices=list(by_label), match_middle=True
        ).ask_async()
        if typed is None:
            return None
        return Incoming(choice=by_label[typed]) if typed in by_label else Incoming(text=typed)
    if question is not None and question.choices:
        options = [questionary.Choice(c.label, c.value) for c in question.choices]
        options.append(questionary.Choice(type_label, TYPE_INSTEAD))
        value = await questionary.select(question.text, choices=options).ask_async()
        if value is None:
            return None
        if value != TYPE_INSTEAD:
            return Incoming(choice=value)
    typed = await questionary.text(">").ask_async()
    return None if typed is None else Incoming(text=typed)
