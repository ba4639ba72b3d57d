"""The annual plan view for Kommunstaben: one year's decisions per department, departments
normalised to the rules' list (typos and abbreviations matched), the spellings that match no
department listed so they can be added as aliases; and the view as an .xlsx workbook."""

from __future__ import annotations

import io
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field

from bot.storage import StoredDecision
from rules.ruleset import RuleSet

NOT_IN_PLAN = "not_in_annual_plan"
# Characters that make a spreadsheet run a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def normalised_department(rules: RuleSet, typed: str) -> str | None:
    """The rules' name for a department as typed, if it matches one surely (exactly, by an
    alias, or confidently despite a typo); None for a spelling Kommunstaben must map."""
    match = rules.department_matcher.match(typed)
    return match.key if match.status in ("exact", "confident") else None


@dataclass
class DepartmentYear:
    """One department's decisions in the year."""

    department: str
    known: bool
    travel: int = 0
    digital: int = 0
    not_qualified: int = 0
    not_in_plan: int = 0
    avoided_kg: float = 0.0

    @property
    def total(self) -> int:
        return self.travel + self.digital + self.not_qualified

    def add(self, decision: StoredDecision) -> None:
        if decision.outcome == "travel":
            self.travel += 1
        elif decision.outcome == "digital":
            self.digital += 1
        else:
            self.not_qualified += 1
        if any(item.get("code") == NOT_IN_PLAN for item in decision.advisories):
            self.not_in_plan += 1
        avoided = (decision.co2 or {}).get("avoided_kg")
        if isinstance(avoided, int | float):
            self.avoided_kg = round(self.avoided_kg + avoided, 1)


@dataclass
class AnnualPlan:
    """The year's rows: the rules' departments in their order, then unmatched spellings."""

    year: int
    rows: list[DepartmentYear] = field(default_factory=list)

    @property
    def unknown(self) -> list[DepartmentYear]:
        return [row for row in self.rows if not row.known]

    @property
    def total(self) -> DepartmentYear:
        total = DepartmentYear("", True)
        for row in self.rows:
            total.travel += row.travel
            total.digital += row.digital
            total.not_qualified += row.not_qualified
            total.not_in_plan += row.not_in_plan
            total.avoided_kg = round(total.avoided_kg + row.avoided_kg, 1)
        return total


async def annual_plan(
    rules: RuleSet, year: int, decisions: AsyncIterable[StoredDecision]
) -> AnnualPlan:
    """The year's decisions added up per normalised department."""
    known: dict[str, DepartmentYear] = {}
    unknown: dict[str, DepartmentYear] = {}
    async for decision in decisions:
        name = normalised_department(rules, decision.department)
        if name is not None:
            known.setdefault(name, DepartmentYear(name, True)).add(decision)
        else:
            typed = " ".join(decision.department.split()) or "–"
            unknown.setdefault(typed, DepartmentYear(typed, False)).add(decision)
    order = [d.name for d in rules.departments]
    rows = [known[name] for name in order if name in known]
    rows += [unknown[name] for name in sorted(unknown, key=str.casefold)]
    return AnnualPlan(year, rows)


def _cell(value: str | int | float) -> str | int | float:
    """Text a spreadsheet will show, never run: a leading formula character gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def plan_workbook(plan: AnnualPlan, text: Callable[[str], str]) -> bytes:
    """The annual plan view as an .xlsx workbook: the year's sheet with a total row, and a
    sheet of the spellings that match no department. `text` gives the admin's words."""
    # Imported here, not at start-up: openpyxl takes a tenth of a second to import, and
    # only this download needs it.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = str(plan.year)
    headings = [
        text("plan.department"),
        text("plan.total"),
        text("outcome.travel"),
        text("outcome.digital"),
        text("outcome.not_qualified"),
        text("plan.not_in_plan"),
        text("plan.avoided_kg"),
    ]
    sheet.append(headings)
    for row in [*plan.rows, plan.total]:
        name = row.department or text("plan.all")
        if not row.known:
            name = f"{name} ({text('plan.unmatched')})"
        sheet.append(
            [
                _cell(name),
                row.total,
                row.travel,
                row.digital,
                row.not_qualified,
                row.not_in_plan,
                row.avoided_kg,
            ]
        )
    for cell in (*sheet[1], *sheet[sheet.max_row]):
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 42
    sheet.freeze_panes = "B2"
    unmatched = book.create_sheet(text("plan.unmatched_sheet"))
    unmatched.append([text("plan.spelling"), text("plan.total")])
    unmatched["A1"].font = unmatched["B1"].font = Font(bold=True)
    for row in plan.unknown:
        unmatched.append([_cell(row.department), row.total])
    unmatched.column_dimensions["A"].width = 42
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
