"""Texts built from several parts: questions, summaries and the decision, in the user's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.messages import (
    Choice,
    CitedLine,
    ClimateRow,
    DecisionDetails,
    DecisionView,
    Outgoing,
    decision_step,
)
from bot.state import ConversationState
from bot.storage import StoredDecision
from rules.answers import Interpreter
from rules.check import MODES
from rules.decision import Decision, Reason
from rules.fields import FIELD, FIELDS, applies
from rules.footprint import COMPARISON_ORDER, hours_text, kg_text, mode_name
from rules.models import Lang
from rules.ruleset import RuleSet
from rules.short_decision import (
    TripFacts,
    line_budget,
    relevant_guidelines,
    telling_reasons,
)

# The button values with a meaning of their own: none of these; another (type it).
NONE_CHOICE = "none"
OTHER_CHOICE = "other"
# The presence question's buttons that also answer the digital option.
DIGITAL_CHOICE = "digital"
NO_DIGITAL_CHOICE = "no_digital"
# A decision's buttons: everything behind it; a summary to share.
DETAILS_CHOICE = "details"
SHARE_CHOICE = "share"


class Renderer:
    """Builds outgoing messages from the rule set's texts."""

    def __init__(self, rules: RuleSet, interpreter: Interpreter) -> None:
        self.rules = rules
        self.interpreter = interpreter
        self._goals_by_lang: dict[Lang, tuple[str, tuple[Choice, ...]]] = {}

    def t(self, text_id: str, lang: Lang, **values: object) -> str:
        return self.rules.text(text_id, lang, **values)

    def message(self, text_id: str, lang: Lang, **values: object) -> Outgoing:
        return Outgoing("message", self.t(text_id, lang, **values))

    def hint(self, text_id: str, lang: Lang, **values: object) -> Outgoing:
        """The input was not understood or belongs elsewhere: what to do instead."""
        return Outgoing("hint", self.t(text_id, lang, **values))

    def choices(
        self, field: str, state: ConversationState, *, together: bool = True
    ) -> tuple[Choice, ...]:
        """The buttons offered for a field's question (its `offer` in the field table);
        `together`: also the buttons that settle the next field (the chat, not a form, which
        shows that field itself)."""
        lang = state.lang
        offer = FIELD[field].offer
        if offer == "yes_no":
            return tuple(Choice(self.t(f"choice.{v}", lang), v) for v in ("yes", "no"))
        if offer == "presence" and not together:
            values = ("yes", "no", "unsure")
            return tuple(Choice(self.t(f"choice.{v}", lang), v) for v in values)
        if offer == "presence":
            return (
                Choice(self.t("choice.yes", lang), "yes"),
                Choice(self.t("choice.presence_digital", lang), DIGITAL_CHOICE),
                Choice(self.t("choice.presence_no_digital", lang), NO_DIGITAL_CHOICE),
                Choice(self.t("choice.unsure", lang), "unsure"),
            )
        if offer == "kinds":
            kinds = ("trip", "project", "activity")
            return tuple(Choice(self.t(f"kind.{v}", lang), v) for v in kinds)
        if offer == "modes":
            return tuple(Choice(self.t(f"mode.{v}", lang), v) for v in MODES)
        if offer == "goals":
            return self._goals(lang)[1]
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

    def _goals(self, lang: Lang) -> tuple[str, tuple[Choice, ...]]:
        """The goals question and its buttons, built once per language."""
        built = self._goals_by_lang.get(lang)
        if built is None:
            goals = self.rules.plan.goals
            listing = "\n".join(f"{g.number}. {g.name(lang)}" for g in goals)
            choices = tuple(Choice(f"{g.number} {g.name(lang)}", str(g.number)) for g in goals)
            none = Choice(self.t("choice.none", lang), NONE_CHOICE)
            built = (self.t("q.goals", lang, goals=listing), (*choices, none))
            self._goals_by_lang[lang] = built
        return built

    def _partner_home(self, state: ConversationState) -> str | None:
        """The partner's home town, offered as the likely destination."""
        answer = state.answers.get("partner")
        partner_id = answer.value.get("id") if answer is not None else None
        partner = self.rules.partner_by_id.get(partner_id) if partner_id else None
        return partner.home.name if partner is not None and partner.home is not None else None

    def question(
        self, field: str, state: ConversationState, *, typing: bool = False, together: bool = True
    ) -> Outgoing:
        """The question for `field`; `typing` drops the buttons (after "Other"); `together`
        as for `choices`."""
        lang = state.lang
        if field == "goals":
            text = self._goals(lang)[0]
        elif field == "department" and state.role == "partner_contact":
            text = self.t("q.organisation", lang)
        elif field == "department" and state.last_department and not typing:
            text = self.t("q.department.last", lang, department=state.last_department)
        else:
            text = self.t(self._for_role(f"q.{field}", state), lang)
        choices = () if typing else self.choices(field, state, together=together)
        return Outgoing(
            "question",
            text,
            step=field,
            choices=choices,
            multi=FIELD[field].multi,
            free_text=FIELD[field].free_text,
        )

    def tick_list(
        self, group: str, statements: Sequence[str], state: ConversationState
    ) -> Outgoing:
        """One question for several yes/no fields (a `together` group): tick what is true."""
        lang = state.lang
        listing = "\n".join(
            f"{number}. {self.t(self._for_role(f'tick.{name}', state), lang)}"
            for number, name in enumerate(statements, 1)
        )
        ticks = tuple(
            Choice(f"{number} {self.field_label(name, state)}", str(number))
            for number, name in enumerate(statements, 1)
        )
        return Outgoing(
            "question",
            self.t(f"q.{group}", lang, statements=listing),
            step=group,
            choices=(*ticks, Choice(self.t("choice.nothing", lang), NONE_CHOICE)),
            multi=True,
        )

    def explain(self, step: str, state: ConversationState) -> str:
        if step == "department" and state.role == "partner_contact":
            return self.t("explain.organisation", state.lang)
        return self.t(self._for_role(f"explain.{step}", state), state.lang)

    def summary_lines(self, state: ConversationState, *, offers: bool = True) -> list[str]:
        """One line per applicable answer: label and the answer as understood; with `offers`,
        also a line for each field not asked but open to be added (the date)."""
        values = state.values()
        lines = []
        for field in FIELDS:
            if not applies(field, values):
                continue
            if field in state.answers:
                label = self.field_label(field, state)
                lines.append(f"• {label}: {state.answers[field].label}")
            elif offers and not FIELD[field].asked:
                lines.append(f"• {self.t(f'summary.{field}_offer', state.lang)}")
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
        lines = self.summary_lines(state, offers=False)
        if not lines:
            return self.message("summary.empty", state.lang)
        return Outgoing("message", "\n".join([self.t("summary.progress", state.lang), *lines]))

    # --- the decision: short, its details on request, a summary to share ----------------

    def decision(self, decision: Decision, answers: Mapping[str, Any]) -> Outgoing:
        """The recommendation, rendered once: the short view, its plain text, the Details and
        Share buttons. `answers` are the check's values (what the guidelines' rules test)."""
        view = self.decision_view(decision, answers)
        return Outgoing(
            "decision",
            "\n".join(view.lines()),
            step=decision_step(decision.id),
            choices=self._decision_choices(decision.lang, DETAILS_CHOICE, SHARE_CHOICE),
            decision=decision.model_dump(mode="json"),
            view=view,
        )

    def decision_view(self, decision: Decision, answers: Mapping[str, Any]) -> DecisionView:
        """Headline, the most telling reasons, one climate line, the guidelines that change
        something for this trip, the reminder and what to type for more, in max_lines."""
        lang = decision.lang
        short = self.rules.short_decision
        reasons = self._telling_reasons(decision)
        facts = TripFacts.of(decision.co2, answers)
        relevant = relevant_guidelines(_codes(decision.guidelines), facts, short)
        guidelines = [decision.guidelines[i].text for i in relevant]
        climate = self.climate_line(decision)
        # The headline, the reminder, and what to type (or the buttons) always take a line.
        fixed = 3 + (1 if climate else 0)
        shown_reasons, shown_guidelines = line_budget(len(reasons), len(guidelines), fixed, short)
        if decision.advisories:
            more = self.t("decision.more.advisories", lang, count=len(decision.advisories))
        else:
            more = self.t("decision.more", lang)
        return DecisionView(
            headline=self._headline_text(decision),
            reasons=self._cited(reasons[:shown_reasons], lang),
            climate=climate,
            guidelines=tuple(guidelines[:shown_guidelines]),
            footer=self.t("decision.recommends", lang),
            more=more,
        )

    def details(self, decision: Decision) -> Outgoing:
        """Everything behind a recorded decision, with a Share button."""
        details = self.decision_details(decision)
        return Outgoing(
            "message",
            "\n".join(details.lines()),
            step=decision_step(decision.id),
            choices=self._decision_choices(decision.lang, SHARE_CHOICE),
            details=details,
        )

    def decision_details(self, decision: Decision) -> DecisionDetails:
        """Every reason and advisory with its section, every guideline, every climate row."""
        lang = decision.lang
        avoided = (decision.co2 or {}).get("avoided_kg")
        return DecisionDetails(
            title=self.t(
                "decision.details.title",
                lang,
                id=decision.id,
                headline=self._headline_text(decision),
            ),
            reasons=self._cited(decision.reasons, lang),
            advisories=self._cited(decision.advisories, lang),
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

    def share(self, decision: Decision, answers: Mapping[str, Any], title: str) -> Outgoing:
        """A short plain text to attach to a travel order or send to a manager: the decision's
        number and title, the recommendation, its reasons, the climate line, the motivation."""
        lang = decision.lang
        reasons = self._cited(self._telling_reasons(decision), lang)
        climate = self.climate_line(decision)
        if title:
            heading = self.t("decision.share.title", lang, id=decision.id, title=title)
        else:
            heading = self.t("decision.share.untitled", lang, id=decision.id)
        lines = [heading, self.t(f"decision.share.{self._headline(decision)}", lang)]
        if reasons:
            lines.append(self.t("decision.reasons", lang))
            lines.extend(f"• {reason.text} {reason.cite}" for reason in reasons)
        if climate:
            lines.append(climate)
        motivation = answers.get("motivation")
        if isinstance(motivation, str) and motivation.strip():
            lines.append(self.t("decision.share.motivation", lang, motivation=motivation.strip()))
        lines.append(self.t("decision.share.footer", lang, version=decision.rules_version))
        return Outgoing("message", "\n".join(lines))

    def _telling_reasons(self, decision: Decision) -> tuple[Reason, ...]:
        """The reasons a short form may show, the most telling first, at most max_reasons."""
        short = self.rules.short_decision
        ranked = telling_reasons(_codes(decision.reasons), short)
        return tuple(decision.reasons[i] for i in ranked[: short.max_reasons])

    def _decision_choices(self, lang: Lang, *values: str) -> tuple[Choice, ...]:
        return tuple(Choice(self.t(f"decision.button.{value}", lang), value) for value in values)

    def _cited(self, items: tuple[Reason, ...], lang: Lang) -> tuple[CitedLine, ...]:
        return tuple(
            CitedLine(i.code, i.text, self.t("decision.cite", lang, section=i.section))
            for i in items
        )

    def _headline_text(self, decision: Decision) -> str:
        return self.t(f"decision.headline.{self._headline(decision)}", decision.lang)

    @staticmethod
    def _headline(decision: Decision) -> str:
        """The outcome, or "hosted" for meeting in person in Luleå (nobody of ours travels)."""
        if any(r.code == "hosted_in_person" for r in decision.reasons):
            return "hosted"
        return decision.outcome

    def climate_line(self, decision: Decision) -> str | None:
        """One line: what is planned, the best reasonable alternative and the saving; for a
        digital meeting what it avoids. None without figures or without a journey to weigh."""
        lang = decision.lang
        co2 = decision.co2 or {}
        planned, planned_kg = co2.get("planned_mode"), co2.get("planned_kg")
        if not isinstance(planned, str) or not isinstance(planned_kg, int | float):
            return None
        planned_name = mode_name(planned, self.rules, lang)
        avoided = co2.get("avoided_kg")
        if decision.outcome == "digital":
            if not avoided:
                return None
            return self.t(
                "decision.climate.digital", lang, kg=kg_text(avoided, lang), planned=planned_name
            )
        if decision.outcome != "travel":
            return None
        better = co2.get("lower_carbon")
        values = {"planned": planned_name, "planned_kg": kg_text(planned_kg, lang)}
        if not isinstance(better, dict):
            return self.t("decision.climate.lowest", lang, **values)
        modes = better.get("modes") or [better.get("mode")]
        joiner = self.t("routes.joined", lang)
        alternative = joiner.join(mode_name(str(m), self.rules, lang) for m in modes)
        hours = better.get("hours")
        if isinstance(hours, int | float):
            alternative += " " + self.t("co2.hours", lang, hours=hours_text(hours, lang))
        return self.t(
            "decision.climate.switch",
            lang,
            alternative=alternative,
            kg=kg_text(float(better.get("kg") or 0), lang),
            saving=kg_text(float(better.get("saving_kg") or 0), lang),
            **values,
        )

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
                self.t("view.climate.kg", lang, kg="0"),
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


def _codes(items: tuple[Reason, ...]) -> list[str]:
    return [item.code for item in items]


def recorded(stored: StoredDecision) -> tuple[Decision, dict[str, Any]]:
    """A decision as the log holds it, and its answers' values, to render again."""

    def reasons(items: list[dict[str, Any]]) -> tuple[Reason, ...]:
        return tuple(
            Reason(
                code=str(item.get("code") or ""),
                text=str(item.get("text") or ""),
                section=str(item.get("section") or ""),
                section_id=str(item.get("section_id") or ""),
            )
            for item in items
        )

    decision = Decision.model_validate(
        {
            "outcome": stored.outcome,
            "focus_area": stored.focus_area,
            "advisories": reasons(stored.advisories),
            "reasons": reasons(stored.reasons),
            "guidelines": reasons(stored.guidelines),
            "rules_version": stored.rules_version,
            "lang": stored.lang,
            "partner": stored.partner_id,
            "destination": stored.destination or None,
            "co2": stored.co2,
            "id": stored.id,
        }
    )
    answers = {field: answer.get("value") for field, answer in stored.answers.items()}
    return decision, answers
