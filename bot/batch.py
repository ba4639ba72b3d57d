"""Batch evaluation: a YAML list or a CSV of checks, one decision (or one error) per row."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules.answers import Accepted, Ambiguous, Interpreter, Rejected
from rules.check import check_from_answers
from rules.decision import Decision
from rules.evaluate import evaluate
from rules.fields import FIELD, FIELDS, applies
from rules.models import Lang
from rules.ruleset import RuleSet

IGNORED_KEYS = frozenset({"id", "expect", "notes", "comment"})


class BatchFileError(Exception):
    """The file as a whole cannot be read."""


@dataclass
class RowResult:
    """One row's outcome: a decision, or the problems that kept it from being evaluated."""

    row: int
    id: str
    decision: Decision | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Each understood answer in words, as a conversation would record it (title, place...).
    labels: dict[str, str] = field(default_factory=dict)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Reads a YAML list of mappings, or a CSV with a header row of field names."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise BatchFileError(f"{path}: cannot read the file: {error}") from error
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BatchFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, list):
        raise BatchFileError(f"{path}: expected a list of checks")
    return [row if isinstance(row, dict) else {"__invalid__": row} for row in data]


def _as_text(value: Any) -> str:
    # YAML reads yes/no as booleans and 8 as a number; the interpreter takes what a user types.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "none"
    return str(value).strip()


def evaluate_row(
    index: int, row: dict[str, Any], interpreter: Interpreter, lang: Lang
) -> RowResult:
    """Interprets each field as if typed, then evaluates. Never raises for bad data."""
    result = RowResult(row=index, id=str(row.get("id") or f"row {index}"))
    if "__invalid__" in row:
        result.errors.append("the entry is not a mapping of field names to answers")
        return result
    unknown = sorted(
        k
        for k in row
        if k not in FIELDS and k not in IGNORED_KEYS and not str(k).startswith("expect")
    )
    for key in unknown:
        result.errors.append(f"{key}: unknown field (known: {', '.join(FIELDS)})")
    answers: dict[str, Any] = {}
    for name in FIELDS:
        if not applies(name, answers):
            continue
        text = _as_text(row.get(name)) or FIELD[name].default or ""
        if FIELD[name].offer == "partner_home" and not text:
            text = _partner_home(answers, interpreter)
        if name == "goals" and not text and name in row:
            text = "none"
        if not text:
            result.errors.append(f"{name}: missing")
            continue
        parsed = interpreter.parse(name, text, lang)
        if isinstance(parsed, Rejected):
            hint = interpreter.rules.text(parsed.hint, lang)
            result.errors.append(f"{name}: {text!r} is not understood. {hint}")
        elif isinstance(parsed, Ambiguous) and _several_partners(parsed):
            # As in the chat, every partner is recorded; with no one to ask, the first leads.
            lead = parsed.options[0].answer
            result.notes.append(f"{name}: several partners named; {lead.label} leads")
            answers[name] = lead.value
            result.labels[name] = lead.label
        elif isinstance(parsed, Ambiguous):
            labels = ", ".join(o.answer.label for o in parsed.options)
            result.notes.append(f"{name}: {text!r} could be {labels}; taken as written")
            answers[name] = parsed.typed.value
            result.labels[name] = parsed.typed.label
        elif isinstance(parsed, Accepted):
            answers[name] = parsed.value
            result.labels[name] = parsed.label
    if result.errors:
        return result
    try:
        check = check_from_answers(answers)
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            result.errors.append(f"{where}: {item['msg']}")
        return result
    result.decision = evaluate(check, interpreter.rules, lang)
    return result


def _partner_home(answers: dict[str, Any], interpreter: Interpreter) -> str:
    """With no destination given, a trip to a partner goes to the partner's home town."""
    partner_id = (answers.get("partner") or {}).get("id")
    partner = interpreter.rules.partner_by_id.get(partner_id) if partner_id else None
    return partner.home.name if partner is not None and partner.home is not None else ""


def evaluate_file(path: Path, interpreter: Interpreter, lang: Lang) -> Iterator[RowResult]:
    """Evaluates every row of a batch file; a bad row does not stop the others."""
    for index, row in enumerate(read_rows(path), start=1):
        yield evaluate_row(index, row, interpreter, lang)


def _several_partners(parsed: Ambiguous) -> bool:
    """Whether the options are the several partners named, rather than guesses at one."""
    return all(
        isinstance(o.answer.value, dict) and o.answer.value.get("others") for o in parsed.options
    )


TABLE_COLUMNS = ("row", "title", "department", "place", "outcome", "advisories", "co2")


def table(results: list[RowResult], rules: RuleSet, lang: Lang) -> list[list[str]]:
    """The batch as a table in `lang`: the column headings, then one row per check, every
    code in words (outcome and focus area, advisories, travel mode). A cell may have lines."""
    rows = [[rules.text(f"batch.column.{column}", lang) for column in TABLE_COLUMNS]]
    for result in results:
        rows.append(_table_row(result, rules, lang))
    return rows


def _table_row(result: RowResult, rules: RuleSet, lang: Lang) -> list[str]:
    none = rules.text("batch.none", lang)
    labels = result.labels
    # The row number, and the row's own id when the file gives one.
    row = str(result.row) if result.id == f"row {result.row}" else f"{result.row}\n{result.id}"
    place = labels.get("destination") or labels.get("guests_from") or none
    first = [row, labels.get("title", none), labels.get("department", none), place]
    decision = result.decision
    if decision is None:
        invalid = rules.text("batch.invalid", lang)
        return [*first, invalid, "\n".join(result.errors), none]
    outcome = rules.text(f"outcome.{decision.outcome}", lang)
    focus_area = rules.text(f"focus.{decision.focus_area}", lang)
    advisories = "\n".join(f"• {advisory.text}" for advisory in decision.advisories) or none
    return [*first, f"{outcome}\n{focus_area}", advisories, _co2(decision, rules, lang) or none]


def _co2(decision: Decision, rules: RuleSet, lang: Lang) -> str:
    """The planned journey's CO2e and, for a digital meeting, what it avoids; empty when the
    place or the travel mode is not known."""
    co2 = decision.co2 or {}
    planned, mode = co2.get("planned_kg"), co2.get("planned_mode")
    if planned is None or not mode:
        return ""
    mode_word = rules.text(f"mode.{mode}", lang)
    lines = [rules.text("batch.co2.planned", lang, mode=mode_word, kg=_kg(planned))]
    avoided = co2.get("avoided_kg")
    if decision.outcome == "digital" and avoided:
        lines.append(rules.text("batch.co2.avoided", lang, kg=_kg(avoided)))
    return "\n".join(lines)


def _kg(value: float) -> str:
    """Whole kilograms, without a thousands separator a table could break the number at."""
    return str(round(value))
