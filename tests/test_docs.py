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
