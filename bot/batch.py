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
        elif isinstance(parsed, Ambiguous):
            labels = ", ".join(o.answer.label for o in parsed.options)
            result.notes.append(f"{name}: {text!r} could be {labels}; taken as written")
            answers[name] = parsed.typed.value
        elif isinstance(parsed, Accepted):
            answers[name] = parsed.value
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
