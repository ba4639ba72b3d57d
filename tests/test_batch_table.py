"""The table of `tripcheck evaluate`: title, department, place, outcome, advisories in words and
CO2e, in the language chosen, every word from the rules' texts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.batch import evaluate_file, table
from rules.answers import Interpreter
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from tests.cli_helpers import TRIPCHECK, env

BATCH = """\
- id: oulu-online
  kind: trip
  title: Styrelsemöte i Bottenviksbågen
  department: Kommunstaben
  partner: Bottenviksbågen
  destination: Uleåborg
  contributes_development: yes
  external_monitoring: no
  influence: yes
  goals: [8]
  physical_necessary: no
  digital_alternative: yes
  travellers: 2
  travel_mode: flight
  equality_considered: no
  in_annual_plan: no
- kind: trip
  title: Konferens om trender
  department: Tekniska förvaltningen
  partner: none
  destination: Barcelona
  contributes_development: no
  external_monitoring: no
  influence: no
  goals: none
  physical_necessary: yes
  travellers: 1
  travel_mode: train
  equality_considered: no
  in_annual_plan: no
- id: broken
  kind: voyage
"""
# Codes a decision stores that must never show in the table.
CODES = ("not_qualified", "regional_arctic", "not_in_annual_plan", "equality_not_considered")


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "checks.yml"
    path.write_text(BATCH, encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_table_shows_each_check_in_words(
    rules: RuleSet, place_index: PlaceIndex, batch: Path, lang: Lang
) -> None:
    results = list(evaluate_file(batch, Interpreter(rules, place_index), lang))
    headings, online, conference, broken = table(results, rules, lang)
    columns = ("row", "title", "department", "place", "outcome", "advisories", "co2")
    assert headings == [rules.text(f"batch.column.{c}", lang) for c in columns]
    assert online[0] == "1\noulu-online" and conference[0] == "2"
    assert online[1:4] == ["Styrelsemöte i Bottenviksbågen", "Kommunstaben", "Oulu, Finland"]
    outcome, focus_area = online[4].split("\n")
    assert outcome == rules.text("outcome.digital", lang)
    assert focus_area == rules.text("focus.regional_arctic", lang)
    flight = rules.text("mode.flight", lang)
    assert online[6].split("\n") == [
        rules.text("batch.co2.planned", lang, mode=flight, kg="182"),
        rules.text("batch.co2.avoided", lang, kg="182"),
    ]
    advisories = online[5].split("\n")
    assert f"• {rules.text('advisory.not_in_annual_plan', lang)}" in advisories
    assert f"• {rules.text('advisory.equality_not_considered', lang)}" in advisories
    assert conference[1:4] == ["Konferens om trender", "Tekniska förvaltningen", "Barcelona, Spain"]
    assert conference[4].startswith(rules.text("outcome.not_qualified", lang))
    # A check that does not qualify is not asked about equality or the annual plan.
    assert conference[5] == rules.text("batch.none", lang)
    # A check that does not qualify has no journey figures.
    assert conference[6] == rules.text("batch.none", lang)
    assert broken[0] == "3\nbroken" and broken[4] == rules.text("batch.invalid", lang)
    assert "kind" in broken[5]
    shown = "\n".join(cell for row in (online, conference) for cell in row)
    assert not any(code in shown for code in CODES)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_evaluate_command_prints_the_table_in_the_chosen_language(
    rules: RuleSet, batch: Path, tmp_path: Path, lang: Lang
) -> None:
    run = subprocess.run(
        [TRIPCHECK, "evaluate", str(batch), "--lang", lang],
        capture_output=True,
        text=True,
        env=env(tmp_path / "x.db", COLUMNS="400"),
        timeout=120,
        check=False,
    )
    assert run.returncode == 1  # the broken row
    lines = run.stdout.splitlines()
    header = next(line for line in lines if rules.text("batch.column.title", lang) in line)
    for column in ("department", "place", "outcome", "advisories", "co2"):
        assert rules.text(f"batch.column.{column}", lang) in header
    for text_id in ("outcome.digital", "focus.regional_arctic", "advisory.not_in_annual_plan"):
        assert rules.text(text_id, lang) in run.stdout
    assert rules.text("batch.invalid", lang) in run.stdout
    assert "Styrelsemöte i Bottenviksbågen" in run.stdout and "Oulu, Finland" in run.stdout
    assert not any(code in run.stdout for code in CODES)
