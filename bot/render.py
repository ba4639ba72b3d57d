"""Texts built from several parts: questions, summaries and the decision, in the user's language."""

from __future__ import annotations

from typing import Any

from bot.messages import Choice, CitedLine, ClimateRow, DecisionView, Outgoing
from bot.state import ConversationState
from rules.answers import Interpreter
from rules.check import MODES
from rules.decision import Decision, Reason
from rules.fields import FIELD, FIELDS, applies
from rules.footprint import COMPARISON_ORDER, hours_text, kg_text, mode_name
from rules.models import Lang
from rules.ruleset import RuleSet

# The button values with a meaning of their own: none of these; another (type it).
NONE_CHOICE = "none"
OTHER_CHOICE = "other"


class Renderer:
    """Builds outgoing messages from the rule set's texts."""

    def __init__(self, rules: RuleSet, interpreter: Interpreter) -> None:
        self.rules = rules
        self.interpreter = interpreter

    def t(self, text_id: str, lang: Lang, **values: object) -> str:
        return self.rules.text(text_id, lang, **values)

    def message(self, text_id: str, lang: Lang, **values: object) -> Outgoing:
        return Outgoing("message", self.t(text_id, lang, **values))

    def hint(self, text_id: str, lang: Lang, **values: object) -> Outgoing:
        """The input was not understood or belongs elsewhere: what to do instead."""
        return Outgoing("hint", self.t(text_id, lang, **values))

    def choices(self, field: str, state: ConversationState) -> tuple[Choice, ...]:
        """The buttons offered for a field's question (its `offer` in the field table)."""
        lang = state.lang
        offer = FIELD[field].offer
        if offer in ("yes_no", "presence"):
            values = ("yes", "no") if offer == "yes_no" else ("yes", "no", "unsure")
            return tuple(Choice(self.t(f"choice.{v}", lang), v) for v in values)
        if offer == "kinds":
            kinds = ("trip", "project", "activity")
            return tuple(Choice(self.t(f"kind.{v}", lang), v) for v in kinds)
        if offer == "modes":
            return tuple(Choice(self.t(f"mode.{v}", lang), v) for v in MODES)
        if offer == "goals":
            goals = tuple(
                Choice(f"{g.number} {g.name(lang)}", str(g.number)) for g in self.rules.plan.goals
            )
            return (*goals, Choice(self.t("choice.none", lang), NONE_CHOICE))
        if offer == "no_partner":
            return (Choice(self.t("partner.none", lang).capitalize(), NONE_CHOICE),)
        if offer == "partner_home":
            home = self._partner_home(state)
            return (Choice(home, home),) if home else ()
        if offer == "last_department" and state.last_department:
            return (
                Choice(state.last_department, state.last_department),
                Choice(self.t("choice.other", lang), OTHER_CHOICE),
            )
        return ()

    def _partner_home(self, state: ConversationState) -> str | None:
        """The partner's home town, offered as the likely destination."""
        answer = state.answers.get("partner")
        partner_id = answer.value.get("id") if answer is not None else None
        partner = self.rules.partner_by_id.get(partner_id) if partner_id else None
        return partner.home.name if partner is not None and partner.home is not None else None

    def question(self, field: str, state: ConversationState, *, typing: bool = False) -> Outgoing:
        """The question for `field`; `typing` drops the buttons (after "Other")."""
        lang = state.lang
        if field == "goals":
            listing = "\n".join(f"{g.number}. {g.name(lang)}" for g in self.rules.plan.goals)
            text = self.t("q.goals", lang, goals=listing)
        elif field == "department" and state.role == "partner_contact":
            text = self.t("q.organisation", lang)
        elif field == "department" and state.last_department and not typing:
            text = self.t("q.department.last", lang, department=state.last_department)
        else:
            text = self.t(self._for_role(f"q.{field}", state), lang)
        choices = () if typing else self.choices(field, state)
        return Outgoing(
            "question",
            text,
            step=field,
            choices=choices,
            multi=FIELD[field].multi,
            free_text=FIELD[field].free_text,
        )

    def explain(self, step: str, state: ConversationState) -> str:
        if step == "department" and state.role == "partner_contact":
            return self.t("explain.organisation", state.lang)
        return self.t(self._for_role(f"explain.{step}", state), state.lang)

    def summary_lines(self, state: ConversationState) -> list[str]:
        """One line per applicable answer: label and the answer as understood."""
        values = state.values()
        lines = []
        for field in FIELDS:
            if field in state.answers and applies(field, values):
                label = self.field_label(field, state)
                lines.append(f"• {label}: {state.answers[field].label}")
        return lines

    def field_label(self, field: str, state: ConversationState) -> str:
        return self.t(self._for_role(f"field.{field}", state), state.lang)

    def _for_role(self, text_id: str, state: ConversationState) -> str:
        """A partner contact's wording where it differs (their organisation, Luleå's plan)."""
        variant = f"{text_id}.{state.role}"
        return variant if variant in self.rules.texts[state.lang] else text_id

    def summary(self, state: ConversationState) -> Outgoing:
        """The summary before saving, with Save / Change an answer / Cancel."""
        lang = state.lang
        text = "\n".join([self.t("summary.confirm", lang), *self.summary_lines(state)])
        choices = tuple(
            Choice(self.t(f"choice.{v}", lang), v) for v in ("save", "change", "cancel")
        )
        return Outgoing("question", text, step="confirm", choices=choices)

    def progress(self, state: ConversationState) -> Outgoing:
        lines = self.summary_lines(state)
        if not lines:
            return self.message("summary.empty", state.lang)
        return Outgoing("message", "\n".join([self.t("summary.progress", state.lang), *lines]))

    def decision(self, decision: Decision) -> Outgoing:
        """The recommendation, rendered once: the structured view and its plain text."""
        view = self.decision_view(decision)
        return Outgoing(
            "decision",
            "\n".join(view.lines()),
            decision=decision.model_dump(mode="json"),
            view=view,
        )

    def decision_view(self, decision: Decision) -> DecisionView:
        """Headline, reasons and advisories with their sections, guidelines, climate rows."""
        lang = decision.lang

        def cited(items: tuple[Reason, ...]) -> tuple[CitedLine, ...]:
            return tuple(
                CitedLine(i.code, i.text, self.t("decision.cite", lang, section=i.section))
                for i in items
            )

        avoided = (decision.co2 or {}).get("avoided_kg")
        return DecisionView(
            headline=self.t(f"decision.headline.{self._headline(decision)}", lang),
            reasons=cited(decision.reasons),
            advisories=cited(decision.advisories),
            guidelines=tuple(g.text for g in decision.guidelines),
            climate_heading=self.t("view.climate.heading", lang),
            climate=self.climate_rows(decision.co2, lang),
            climate_note=self.t("view.climate.avoided", lang, kg=kg_text(avoided, lang))
            if avoided
            else None,
            footer=self.t("decision.recommends", lang),
            headings={
                key: self.t(f"decision.{key}", lang)
                for key in ("reasons", "advisories", "guidelines")
            },
        )

    @staticmethod
    def _headline(decision: Decision) -> str:
        """The outcome, or "hosted" for meeting in person in Luleå (nobody of ours travels)."""
        if any(r.code == "hosted_in_person" for r in decision.reasons):
            return "hosted"
        return decision.outcome

    def climate_rows(self, co2: dict[str, Any] | None, lang: Lang) -> tuple[ClimateRow, ...]:
        """A digital meeting and every mode that exists for the trip (impossible ones left
        out), with hours each way for surface modes; none when the figures are unknown."""
        alternatives = (co2 or {}).get("alternatives")
        if not co2 or not isinstance(alternatives, dict):
            return ()
        hours = co2.get("hours") or {}
        rows = [
            ClimateRow(
                "digital",
                self.t("view.climate.digital", lang),
                self.t("view.climate.kg", lang, kg=kg_text(0, lang)),
            )
        ]
        for mode in COMPARISON_ORDER:
            kg = alternatives.get(mode)
            if kg is None:
                continue
            value = self.t("view.climate.kg", lang, kg=kg_text(kg, lang))
            mode_hours = hours.get(mode)
            if mode != "flight" and mode_hours is not None:
                value += " " + self.t("co2.hours", lang, hours=hours_text(mode_hours, lang))
            planned = mode == co2.get("planned_mode")
            lowest = mode == co2.get("lowest_reasonable_mode")
            if planned:
                value += " " + self.t("co2.planned", lang)
            elif lowest:
                value += " – " + self.t("view.climate.lowest", lang)
            rows.append(ClimateRow(mode, mode_name(mode, self.rules, lang), value, planned, lowest))
        return tuple(rows)
