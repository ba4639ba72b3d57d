"""The interactive terminal (`tripcheck chat` in a real pseudo-terminal, driven by pexpect):
what is typed at a choice prompt is the answer, exactly as typed; letters never move a
highlight or tick a box (issue 11)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.cli_helpers import TRIPCHECK, env

# Colours, cursor moves and the like, so the screen can be read as text.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[pexpect.spawn[str]]:
    child = pexpect.spawn(
        TRIPCHECK,
        ["chat", "--user", "anna", "--lang", "sv"],
        env=env(tmp_path / "tripcheck.db"),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect("Vad gäller det")
    yield child
    child.terminate(force=True)


def answer(child: pexpect.spawn[str], typed: str, next_question: str) -> str:
    """Types a line and Enter; the screen up to the next question, as plain text."""
    child.send(typed + "\r")
    child.expect(next_question)
    return _ESCAPES.sub("", str(child.before))


def test_typed_answers_at_choice_prompts_are_recorded_as_typed(
    terminal: pexpect.spawn[str],
) -> None:
    answer(terminal, "resa", "Vad heter")
    answer(terminal, "Möte i Uleåborg", "förvaltning")
    answer(terminal, "Kommunstaben", "partner")
    answer(terminal, "ingen", "Var äger")
    answer(terminal, "Uleåborg", "Bidrar det")
    # Yes/no prompts: "nej" must be No and "ja" Yes, never the highlighted first choice.
    answer(terminal, "nej", "omvärldsbevakning")
    answer(terminal, "ja", "nio övergripande")
    # The goals prompt: "8, 9" are goals 8 and 9, not the first box ticked.
    answer(terminal, "8, 9", "fysiskt möte")
    screen = answer(terminal, "sammanfattning", "fysiskt möte")
    assert "Bidrar till utveckling: Nej" in screen
    assert "Omvärldsbevakning: Ja" in screen
    assert "Mål: 8, 9" in screen
    assert "Typ: Resa" in screen and "Partner: ingen partner" in screen
    # The presence prompt's "nej, det går digitalt" answers the digital option too, and the
    # tick list's "1, 2" ticks both statements.
    answer(terminal, "nej, det går digitalt", "Hur många")
    answer(terminal, "2", "Hur skulle")
    answer(terminal, "flyg", "Vilket av detta")
    screen = answer(terminal, "1, 2", "Sammanfattning")
    screen = answer(terminal, "sammanfattning", "Sammanfattning")
    assert "Fysiskt möte nödvändigt: Nej" in screen and "Digitalt alternativ: Ja" in screen
    assert "Jämställdhet beaktad: Ja" in screen and "I årlig aktivitetsplan: Ja" in screen
