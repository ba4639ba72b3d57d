"""The README and .env.example stay honest about the commands and settings."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make chat" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^chat:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_setting_is_documented() -> None:
    names = Settings.env_names()
    assert len(set(names)) == len(Settings.model_fields)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert re.search(rf"^{name}=", example, re.M), name
        assert name in readme, name


def test_the_procfile_runs_the_server() -> None:
    assert (ROOT / "Procfile").read_text(encoding="utf-8").strip() == "web: tripcheck serve"


def test_the_commands_the_readme_names_exist() -> None:
    from tripcheck.cli import _parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    help_text = _parser().format_help()
    for command in set(re.findall(r"`tripcheck (\w+)", readme)):
        assert command in help_text, command


def _jsonl_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("### The jsonl contract", 1)[1].split("\n### ", 1)[0]


def _named(section: str) -> set[str]:
    """The whole names the section puts in backticks (`type`, `choices`, `multi: true`)."""
    backticked = re.findall(r"`([^`]+)`", section)
    names = set(re.findall(r"`([a-z_]+)(?:`|: )", section))
    # ... and the keys of the JSON examples ({"choice": "...", "step": "..."}).
    return names | {key for text in backticked for key in re.findall(r'"([a-z_]+)":', text)}


def test_every_outgoing_kind_and_field_is_in_the_readmes_jsonl_contract() -> None:
    from typing import get_args

    from bot.messages import Choice, Outgoing, OutgoingType

    named = _named(_jsonl_section())
    decision = {"id": 1, "outcome": "travel", "focus_area": "eu", "advisories": []}
    decision |= {"reasons": [], "guidelines": [], "rules_version": "v", "lang": "sv"}
    samples = [
        Outgoing(kind, "text")
        for kind in get_args(OutgoingType)
        if kind not in ("question", "decision")
    ]
    samples += [
        Outgoing("question", "q", step="goals", choices=(Choice("5", "5"),), multi=True),
        Outgoing("question", "q", step="title", free_text=True),
        Outgoing("decision", "d", decision=decision),
    ]
    for message in samples:
        data = message.to_json()
        assert data["type"] in named, data["type"]
        assert set(data) <= named, set(data) - named
        if "decision" in data:
            assert set(data["decision"]) <= named, set(data["decision"]) - named
    assert set(get_args(OutgoingType)) <= named
    # An input line's fields too: a typed text, or a button's choice and its step.
    assert {"text", "choice", "step"} <= named
