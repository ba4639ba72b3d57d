"""The guided check as an explicit state machine: one incoming message in, replies out."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.messages import Choice, Incoming, Outgoing
from bot.render import DIGITAL_CHOICE, NO_DIGITAL_CHOICE, Renderer
from bot.state import Answer, ConversationState, Pending, PendingOption
from rules.answers import Accepted, Ambiguous, Interpreter, Rejected
from rules.check import Check, Destination, PartnerRef, check_from_answers
from rules.dates import tokenize
from rules.decision import Decision
from rules.evaluate import evaluate
from rules.fields import FIELD, FIELDS, GROUPS, applies
from rules.footprint import (
    comparison,
    distance_km,
    estimate_for,
    mode_name,
    refusal_text,
    whole_number_text,
)
from rules.language import detect as detect_language
from rules.matching import normalize
from rules.models import Lang
from rules.ruleset import RuleSet
from rules.sentence import Found, read_correction, read_sentence

MAX_INPUT = 2000
FAILURES_BEFORE_EXPLAINING = 3
# Evaluated checks remembered (a few seconds' worth of saves on a busy server).
EVALUATIONS_KEPT = 256
# Dates without a year ("12 mars") are read in the municipality's own time.
LOCAL_TIME = ZoneInfo("Europe/Stockholm")
# The button of an optional question (the date): not known yet.
UNKNOWN_CHOICE = "unknown"
Command = Literal[
    "help",
    "back",
    "restart",
    "cancel",
    "language",
    "swedish",
    "english",
    "summary",
    "skip",
    "status",
    "new",
    "save",
    "change",
    "continue",
]
# Commands understood at any point; the phase-specific ones (new, save, change, continue)
# are commands only where they make sense, so the words stay usable as answers elsewhere.
COMMANDS: frozenset[Command] = frozenset(get_args(Command))
GLOBAL_COMMANDS = COMMANDS - {"new", "save", "change", "continue"}
# A multiple-choice press: "none", or the numbers ticked ("2,9").
_TICKED = re.compile(r"none|[1-9](\s*,\s*[1-9])*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Removes control characters and over-long tails, so any input is safe to handle."""
    text = unicodedata.normalize("NFC", text[: MAX_INPUT * 2])
    text = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return " ".join(text.split())[: MAX_INPUT + 1]


@dataclass
class Turn:
    """What one turn produced: replies, and work the engine does with storage."""

    out: list[Outgoing] = field(default_factory=list)
    decision: Decision | None = None
    wants_status: bool = False
    # False when the input changed nothing: not understood, a stale button, a pause to ask.
    taken: bool = True

    def hint(self, message: Outgoing) -> None:
        """Adds a hint: the input was not taken, the user is told what to do instead."""
        self.out.append(message)
        self.taken = False


class Dialogue:
    """Runs the conversation for one state. No I/O: the engine loads and saves around it."""

    def __init__(self, rules: RuleSet, interpreter: Interpreter, idle_after_seconds: float) -> None:
        self.rules = rules
        self.interpreter = interpreter
        self.render = Renderer(rules, interpreter)
        self.idle_after_seconds = idle_after_seconds
        self._names_by_role: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
        self._decisions: dict[tuple[str, Lang], Decision] = {}

    # --- entry --------------------------------------------------------------------------

    def handle(
        self,
        state: ConversationState,
        incoming: Incoming,
        now: float,
        last_department: str | None,
        last_travellers: int | None = None,
    ) -> Turn:
        """Advances `state` (in place) by one incoming message. `last_department` and
        `last_travellers` are the user's previous decision's, offered in a new check."""
        turn = Turn()
        if state.phase == "idle":
            state.last_travellers = last_travellers
        text = clean(incoming.text) if incoming.text is not None else None
        choice = clean(incoming.choice) if incoming.choice is not None else None
        if (
            choice is not None
            and incoming.step is not None
            and incoming.step != self.step_id(state)
        ):
            # A button of an earlier question (answered by typing, or before a restart):
            # it answers nothing, and the user sees the open question again.
            turn.hint(self.render.hint("hint.stale_button", state.lang))
            self._reask(state, turn)
            return turn
        state.note(now, self.step_id(state), choice if choice is not None else text or "")
        idle = state.updated_at and now - state.updated_at > self.idle_after_seconds
        state.updated_at = now
        command = self._command(state, text, choice)
        # After a long pause an answer may be meant for something else: ask first. A command
        # ("restart", "cancel", ...) says what the user wants, so it is simply obeyed.
        if state.in_progress and state.phase != "resume" and idle and command is None:
            state.resume_phase = state.phase
            state.phase = "resume"
            turn.taken = False
            self._ask_resume(state, turn)
            return turn
        if command is not None:
            self._command_turn(state, command, turn, now, last_department)
        elif text is not None and text.startswith("/") and len(text) > 1:
            turn.hint(
                self.render.hint("error.unknown_command", state.lang, command=text.split()[0])
            )
            self._reask(state, turn)
        elif state.phase == "idle":
            # A new check speaks the language of the greeting, else the channel's.
            written_in = detect_language(text, self.rules) if text else None
            state.lang = written_in or incoming.lang or state.lang
            self._start(state, turn, now, last_department, text)
        elif not text and not choice:
            turn.hint(self.render.hint("hint.empty", state.lang))
            self._reask(state, turn)
        elif state.phase == "asking":
            self._answer(state, turn, text, choice)
        elif state.phase == "did_you_mean":
            self._did_you_mean(state, turn, text, choice)
        elif state.phase == "confirm":
            self._confirm(state, turn, text, choice)
        elif state.phase == "change":
            self._change(state, turn, text, choice)
        elif state.phase == "resume":
            self._resume(state, turn, text, choice)
        return turn

    def open(
        self,
        state: ConversationState,
        now: float,
        last_department: str | None,
        lang: Lang | None = None,
        last_travellers: int | None = None,
    ) -> Turn:
        """The bot speaks first (terminal): the open question again, or a new check in `lang`."""
        turn = Turn()
        if state.phase == "idle":
            state.last_travellers = last_travellers
        if not state.in_progress and lang is not None:
            state.lang = lang
        idle = state.updated_at and now - state.updated_at > self.idle_after_seconds
        if state.in_progress and state.phase != "resume" and idle:
            state.resume_phase = state.phase
            state.phase = "resume"
        if state.in_progress:
            self._reask(state, turn)
        else:
            self._start(state, turn, now, last_department, None)
        state.updated_at = now
        return turn

    def asks_for_new_check(self, text: str) -> bool:
        """Whether `text` asks for a new check ("new", "/start", "ny kontroll")."""
        word = normalize(text.removeprefix("/"))
        return word in ("start", "check") or self.rules.command_words.get(word) == "new"

    @staticmethod
    def travellers_of(answers: dict[str, dict[str, Any]] | None) -> int | None:
        """The number of travellers in a recorded decision's answers (to offer it again)."""
        value = ((answers or {}).get("travellers") or {}).get("value")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @staticmethod
    def step_id(state: ConversationState) -> str | None:
        """The step id the user is answering (a field, `<field>.confirm`, confirm, ...)."""
        if state.phase == "asking":
            return state.step
        if state.phase == "did_you_mean" and state.pending is not None:
            return f"{state.pending.field}.confirm"
        if state.phase in ("confirm", "change", "resume"):
            return state.phase
        return None

    # --- commands -----------------------------------------------------------------------

    def _command(
        self, state: ConversationState, text: str | None, choice: str | None
    ) -> Command | None:
        word = choice if choice is not None else text
        if not word:
            return None
        word = word[1:] if word.startswith("/") else word
        norm = normalize(word) or word.strip()
        found = "new" if self.asks_for_new_check(word) else self.rules.command_words.get(norm)
        command: Command | None = found if found in COMMANDS else None
        if command in GLOBAL_COMMANDS:
            return command
        # Mid-check, a typed "ny"/"new" may be an answer; a slash command or a button is not.
        explicit = choice is not None or (text or "").startswith("/")
        if command == "new" and (state.phase == "idle" or explicit):
            return "new"
        if command in ("save", "change") and state.phase == "confirm":
            return command
        if command == "continue" and state.phase == "resume":
            return "continue"
        return None

    def _command_turn(
        self,
        state: ConversationState,
        command: Command,
        turn: Turn,
        now: float,
        last_department: str | None,
    ) -> None:
        lang = state.lang
        if command == "help":
            turn.out.append(self.render.message("help.text", lang))
            if state.in_progress:
                step = self.step_id(state)
                if step and not step.endswith(".confirm"):
                    turn.out.append(Outgoing("message", self.render.explain(step, state)))
                self._reask(state, turn)
        elif command in ("language", "swedish", "english"):
            if command == "language":
                state.lang = "en" if lang == "sv" else "sv"
            else:
                state.lang = "sv" if command == "swedish" else "en"
            turn.out.append(self.render.message("language.switched", state.lang))
            self._reask(state, turn)
        elif command == "summary":
            if state.phase == "confirm":
                turn.out.append(self.render.summary(state))
            else:
                turn.out.append(self.render.progress(state))
                self._reask(state, turn)
        elif command == "status":
            turn.wants_status = True
            self._reask(state, turn)
        elif command == "cancel":
            if state.in_progress:
                self._reset(state)
                turn.out.append(self.render.message("cancelled", lang))
            else:
                turn.out.append(self.render.message("nothing_to_cancel", lang))
        elif command in ("restart", "new"):
            self._reset(state)
            if command == "restart":
                turn.out.append(self.render.message("restarted", lang))
            self._start(state, turn, now, last_department, None)
        elif command == "back":
            self._back(state, turn, now, last_department)
        elif command == "skip":
            self._skip(state, turn)
        elif command == "save":
            self._save(state, turn)
        elif command == "change":
            self._ask_change(state, turn)
        elif command == "continue":
            self._resume(state, turn, None, "continue")

    def finish(self, state: ConversationState) -> None:
        """Closes the check once its decision is recorded; the next message starts a new one."""
        self._reset(state)

    def _reset(self, state: ConversationState) -> None:
        state.phase = "idle"
        state.step = None
        state.answers = {}
        state.order = []
        state.pending = None
        state.failures = 0
        state.resume_phase = None
        state.transcript = state.transcript[-1:]

    def _back(
        self, state: ConversationState, turn: Turn, now: float, last_department: str | None
    ) -> None:
        if state.phase == "idle":
            self._start(state, turn, now, last_department, None)
            return
        if state.phase in ("did_you_mean", "change", "resume"):
            state.pending = None
            if state.phase == "change":
                self._show_summary(state, turn)
                return
            state.phase = "asking" if state.step else state.resume_phase or "asking"
            self._reask(state, turn)
            return
        if not state.order:
            turn.out.append(self.render.message("back.first", state.lang))
            self._reask(state, turn)
            return
        previous = state.order.pop()
        undone = state.answers.pop(previous, None)
        step = previous
        settler = next((f for f in FIELDS if FIELD[f].settles == previous), None)
        if settler and state.order[-1:] == [settler] and self._settled_both(undone):
            self._forget(state, settler)  # both came from one answer: asked again as one
            step = settler
        group = FIELD[previous].together
        for name in GROUPS[group] if group else ():
            self._forget(state, name)  # a tick list is asked again whole
        self._ask(state, turn, step)

    def _settled_both(self, answer: Answer | None) -> bool:
        """Whether an answer also settled the field after it ("Nej, digitalt går")."""
        if answer is None:
            return False
        raw = answer.raw
        return (
            raw in (DIGITAL_CHOICE, NO_DIGITAL_CHOICE)
            or self.interpreter.digital_option(raw) is not None
        )

    def _skip(self, state: ConversationState, turn: Turn) -> None:
        if state.phase == "change":
            self._show_summary(state, turn)
        elif state.phase == "resume":
            self._resume(state, turn, None, "continue")
        elif state.phase == "did_you_mean":
            self._did_you_mean(state, turn, None, "keep")
        elif state.phase == "asking" and state.step in FIELD and FIELD[state.step].optional:
            self._answer(state, turn, None, UNKNOWN_CHOICE)
        else:
            turn.hint(self.render.hint("hint.not_skippable", state.lang))
            self._reask(state, turn)

    # --- the check ----------------------------------------------------------------------

    def _start(
        self,
        state: ConversationState,
        turn: Turn,
        now: float,
        last_department: str | None,
        text: str | None,
    ) -> None:
        state.phase = "asking"
        state.started_at = now
        state.last_department = last_department
        turn.out.append(self.render.message("greeting", state.lang))
        if text:
            found = self._read_opening(state, text, now)
            if found:
                self._fill(state, turn, found)
                self._next(state, turn)
                return
        self._ask(state, turn, "kind")

    def _read_opening(self, state: ConversationState, text: str, now: float) -> dict[str, Found]:
        """What the first message says about the check ("Jag ska på Bottenviksbågens
        styrelsemöte i Uleåborg den 12 mars, vi är två och tänkte flyga"); empty when it says
        nothing the check can use ("hej")."""
        lang = state.lang
        norm = normalize(text)
        found: dict[str, Found] = {}
        # "hej", "resa": one word a sentence can say nothing more of; only the kind is read.
        if norm not in self.rules.greeting_lang and norm not in self.rules.kind_words:
            reading = read_sentence(text, lang, self.interpreter, _today(now))
            found = {name: reading.fields[name] for name in reading if name in FIELD}
        if state.role == "partner_contact":
            found.pop("department", None)  # a partner contact names their organisation
        mode = found.get("travel_mode")
        place = found.get("destination")
        if mode is not None and place is not None:
            destination = Destination.model_validate(place.value)
            if refusal_text(destination, str(mode.value), self.rules, lang) is not None:
                found.pop("travel_mode")  # a train to Reykjavík: asked, and refused, later
        if "kind" not in found:
            parsed = self.interpreter.parse("kind", text, lang)
            if isinstance(parsed, Accepted):
                found["kind"] = Found(parsed.value, parsed.label, text)
        return found

    def _fill(self, state: ConversationState, turn: Turn, found: dict[str, Found]) -> None:
        """Stores what the opening said as answers and shows it back in one message, with
        how to correct it; a dormant twin city is flagged at once."""
        for name in FIELDS:
            if name in found:
                item = found[name]
                self._accept(state, name, item.raw, Accepted(item.value, item.label))
        if list(found) == ["kind"]:
            return  # "resa": the next question shows it was understood
        lang = state.lang
        shown = "; ".join(
            f"{self.render.field_label(name, state)}: {state.answers[name].label}"
            for name in FIELDS
            if name in found
        )
        lines = [self.render.t("understood", lang, fields=shown)]
        partner = state.answers.get("partner")
        if partner is not None and PartnerRef.model_validate(partner.value).dormant:
            lines.append(self.render.t("echo.dormant", lang, partner=partner.label))
        lines.append(self.render.t("understood.correct", lang))
        turn.out.append(Outgoing("message", "\n".join(lines)))

    def _ask(
        self, state: ConversationState, turn: Turn, step: str, *, typing: bool = False
    ) -> None:
        state.phase = "asking"
        group = FIELD[step].together if step in FIELD else None
        # Two or more open fields of a tick list are asked as one question.
        state.step = group if group and len(self._statements(state, group)) > 1 else step
        state.failures = 0
        turn.out.append(self._question(state.step, state, typing=typing))

    def _statements(self, state: ConversationState, group: str) -> list[str]:
        """The fields of a tick list still open in this check, in the table's order."""
        values = state.values()
        return [f for f in GROUPS[group] if f not in state.answers and applies(f, values)]

    def _question(self, step: str, state: ConversationState, *, typing: bool = False) -> Outgoing:
        """The question for `step`, with what this check already suggests: the partner's own
        town as the place, last time's number of travellers, "not known yet" for the date,
        and the reason the plan asks for a motivation."""
        if step in GROUPS:
            return self.render.tick_list(step, self._statements(state, step), state)
        question = self.render.question(step, state, typing=typing)
        lang = state.lang
        if typing:
            return question
        if step == "destination" and (home := self._partner_home(state)):
            return replace(question, text=self.render.t("q.destination.home", lang, home=home))
        if step == "travellers" and state.last_travellers:
            count = str(state.last_travellers)
            text = self.render.t("q.travellers.last", lang, count=count)
            return replace(question, text=text, choices=(Choice(count, count),))
        if step == "when":
            unknown = Choice(self.render.t("choice.when_unknown", lang), UNKNOWN_CHOICE)
            return replace(question, choices=(unknown,))
        if step == "motivation":
            asked = self._motivation_asked(state)
            if asked is not None:
                return replace(question, text=asked)
        return question

    def _reask(self, state: ConversationState, turn: Turn) -> None:
        """Shows the open question again, whatever the phase."""
        if state.phase == "asking" and state.step:
            turn.out.append(self._question(state.step, state))
        elif state.phase == "did_you_mean":
            self._ask_did_you_mean(state, turn)
        elif state.phase == "confirm":
            turn.out.append(self.render.summary(state))
        elif state.phase == "change":
            self._ask_change(state, turn)
        elif state.phase == "resume":
            self._ask_resume(state, turn)

    def _next(self, state: ConversationState, turn: Turn) -> None:
        values = state.values()
        for step in FIELDS:
            if FIELD[step].asked and step not in state.answers and applies(step, values):
                self._ask(state, turn, step)
                return
        # Everything else is known: the plan may ask for a reason (issue 12), or no longer.
        if self._motivation_asked(state) is None:
            if "motivation" in state.answers:
                self._forget(state, "motivation")
        elif "motivation" not in state.answers:
            self._ask(state, turn, "motivation")
            return
        self._show_summary(state, turn)

    def _motivation_asked(self, state: ConversationState) -> str | None:
        """The question asking for a motivation when the plan asks for one, else None: the
        check adds value but is outside the focus areas, or flies where a reasonable
        lower-carbon mode exists (POLICY.md §8, "behöver motiveras särskilt")."""
        values = {k: v for k, v in state.values().items() if k != "motivation"}
        try:
            decision = self._evaluated(check_from_answers(values), state.lang)
        except ValidationError:
            return None  # not every answer is in yet
        codes = {a.code for a in decision.advisories}
        outside = decision.outcome != "not_qualified" and "outside_focus_area" in codes
        lower = (decision.co2 or {}).get("lower_carbon") or {}
        flying = values.get("travel_mode") == "flight" and "lower_carbon_mode" in codes
        mode = mode_name(str(lower.get("mode", "train")), self.rules, state.lang)
        if outside and flying:
            return self.render.t("q.motivation.both", state.lang, mode=mode)
        if outside:
            return self.render.t("q.motivation.outside_focus_area", state.lang)
        if flying:
            return self.render.t("q.motivation.lower_carbon_mode", state.lang, mode=mode)
        return None

    def _forget(self, state: ConversationState, step: str) -> None:
        state.answers.pop(step, None)
        if step in state.order:
            state.order.remove(step)

    def _show_summary(self, state: ConversationState, turn: Turn) -> None:
        state.phase = "confirm"
        state.step = None
        state.failures = 0
        turn.out.append(self.render.summary(state))

    def _fail(self, state: ConversationState, turn: Turn, hint: str) -> None:
        """A wrong answer: a hint; from the third in a row, an explanation and the choices."""
        state.failures += 1
        lang = state.lang
        if state.failures >= FAILURES_BEFORE_EXPLAINING:
            step = self.step_id(state) or ""
            explanation = self.render.explain(step.removesuffix(".confirm"), state)
            lead = f"{self.render.t(hint, lang)} {self.render.t('hint.third', lang)}"
            turn.hint(Outgoing("hint", f"{lead} {explanation}"))
        else:
            turn.hint(self.render.hint(hint, lang))
        failures = state.failures
        self._reask(state, turn)
        state.failures = failures

    def _answer(
        self, state: ConversationState, turn: Turn, text: str | None, choice: str | None
    ) -> None:
        step = state.step or "kind"
        raw = choice if choice is not None else text or ""
        if step in GROUPS:
            self._answer_ticks(state, turn, step, raw, choice)
            return
        if self._answer_settling(state, turn, step, raw, choice):
            return
        if choice is None and text and self._mid_check_change(state, turn, text):
            return
        if step == "kind" and choice is None and text and not state.answers:
            # The whole check in one sentence, typed at the first question.
            found = self._read_opening(state, text, state.updated_at)
            if len(found) > 1:
                self._fill(state, turn, found)
                self._next(state, turn)
                return
        if step == "destination" and choice is None and self._is_yes(raw):
            # "ja" to "Är det i Oulu?": the partner's own town, as offered.
            raw = self._partner_home(state) or raw
        if choice is not None and not self._valid_choice(state, step, choice):
            turn.hint(self.render.hint("hint.choice", state.lang))
            self._reask(state, turn)
            return
        if step == "department" and choice == "other":
            self._ask(state, turn, "department", typing=True)
            return
        # A partner contact names their own organisation where an employee names a department.
        partner_contact = step == "department" and state.role == "partner_contact"
        parsed = self.interpreter.parse(
            "organisation" if partner_contact else step, raw, state.lang, _today(state.updated_at)
        )
        refused = self._refusal(state, step, parsed)
        if refused is not None:
            # A mode that does not exist for this place (a train to Reykjavík): ask again.
            turn.hint(Outgoing("hint", refused))
            self._reask(state, turn)
        elif isinstance(parsed, Rejected):
            self._fail(state, turn, parsed.hint)
        elif isinstance(parsed, Ambiguous):
            state.pending = Pending(
                field=step,
                typed=Answer(raw=raw, value=parsed.typed.value, label=parsed.typed.label),
                options=[
                    PendingOption(
                        value=o.value,
                        answer=Answer(raw=raw, value=o.answer.value, label=o.answer.label),
                    )
                    for o in parsed.options
                ],
            )
            state.phase = "did_you_mean"
            state.failures = 0
            self._ask_did_you_mean(state, turn)
        else:
            self._accept(state, step, raw, parsed)
            self._echo(state, turn, step)
            self._next(state, turn)

    def _answer_ticks(
        self, state: ConversationState, turn: Turn, group: str, raw: str, choice: str | None
    ) -> None:
        """A tick list's answer: every open field of it is yes when ticked, else no."""
        if choice is not None and not _TICKED.fullmatch(choice):
            turn.hint(self.render.hint("hint.choice", state.lang))
            self._reask(state, turn)
            return
        statements = self._statements(state, group)
        parsed = self.interpreter.ticks(raw, state.lang, statements)
        if (
            isinstance(parsed, Rejected)
            and choice is None
            and self._mid_check_change(state, turn, raw)
        ):
            return  # "vi tar tåget" while the list is asked: a correction
        if isinstance(parsed, Rejected):
            self._fail(state, turn, parsed.hint)
            return
        ticked = self.render.t("choice.yes", state.lang)
        for name in statements:
            label = ticked if name in parsed.value else parsed.label
            self._accept(state, name, raw, Accepted(name in parsed.value, label))
        self._next(state, turn)

    def _answer_settling(
        self, state: ConversationState, turn: Turn, step: str, raw: str, choice: str | None
    ) -> bool:
        """An answer that settles the field after it too (the table's `settles`): "Nej,
        digitalt går" to the presence question says there is a digital option. False for
        any other answer, which is read as usual."""
        settles = FIELD[step].settles if step in FIELD else None
        if settles != "digital_alternative":
            return False
        lang = state.lang
        not_necessary = Accepted("no", self.render.t("choice.no", lang))
        presence: Accepted | Ambiguous | Rejected = not_necessary
        if choice is not None:
            digital = {DIGITAL_CHOICE: True, NO_DIGITAL_CHOICE: False}.get(choice)
        else:
            digital = self.interpreter.digital_option(raw)
            presence = self.interpreter.parse(step, raw, lang)
            if isinstance(presence, Rejected) and digital:
                presence = not_necessary  # "digitalt går bra": naming the option answers no
        if digital is None or not isinstance(presence, Accepted) or presence.value == "yes":
            return False
        self._accept(state, step, raw, presence)
        shown = self.render.t("choice.yes" if digital else "choice.no", lang)
        self._accept(state, settles, raw, Accepted(digital, shown))
        self._next(state, turn)
        return True

    def _partner_home(self, state: ConversationState) -> str | None:
        """The partner's own town: where a trip to the partner usually goes."""
        answer = state.answers.get("partner")
        partner_id = answer.value.get("id") if answer is not None else None
        partner = self.rules.partner_by_id.get(partner_id) if partner_id else None
        return partner.home.name if partner is not None and partner.home is not None else None

    def _is_yes(self, text: str) -> bool:
        return self.rules.answer_words.get(normalize(text)) == "yes"

    def _mid_check_change(self, state: ConversationState, turn: Turn, text: str) -> bool:
        """A typed message that changes another answer than the one asked: "ändra resmål"
        asks that question again; "vi är tre" while the goals are asked corrects the
        travellers and asks the open question again. False when it is no such message."""
        step = (state.step or "kind") if state.phase == "asking" else state.phase
        words = tokenize(text)
        if len(words) > 1 and self.rules.command_words.get(words[0].norm) == "change":
            named = self._field_named(state, " ".join(t.norm for t in words[1:]))
            if named is not None:
                self._change_field(state, turn, named)
                return True
        if step == "department" and state.role == "partner_contact":
            return False  # an organisation's name is free text
        today = _today(state.updated_at)
        # A tick list reads as its first statement would: "vi tar tåget" is no yes or no.
        read_as = GROUPS[step][0] if step in GROUPS else step
        corrected = read_correction(text, state.lang, self.interpreter, read_as, today)
        if corrected is None:
            return False
        name, found = corrected
        if name in state.answers and state.answers[name].value == found.value:
            return False  # says again what is known: no correction
        parsed = Accepted(found.value, found.label)
        refused = self._refusal(state, name, parsed)
        if refused is not None:
            turn.hint(Outgoing("hint", refused))
            self._reask(state, turn)
            return True
        self._correct(state, turn, name, found.raw, parsed)
        if name == "partner":
            self._echo(state, turn, name)
        values = state.values()
        still_open = step in FIELD and step not in state.answers and applies(step, values)
        if state.phase == "asking" and still_open:
            self._ask(state, turn, step)
        else:
            self._next(state, turn)  # a question the correction brings, or the summary
        return True

    def _correct(
        self, state: ConversationState, turn: Turn, step: str, raw: str, parsed: Accepted
    ) -> None:
        """Takes an answer given where another question was open, and says so."""
        self._accept(state, step, raw, parsed)
        label = self.render.field_label(step, state)
        turn.out.append(
            self.render.message("corrected", state.lang, field=label, value=parsed.label)
        )

    def _refusal(
        self, state: ConversationState, step: str, parsed: Accepted | Ambiguous | Rejected
    ) -> str | None:
        """Why a planned travel mode cannot be taken to the place given, or None."""
        if FIELD[step].answer != "mode" or not isinstance(parsed, Accepted):
            return None
        destination = state.values().get("destination")
        place = Destination.model_validate(destination) if destination else None
        return refusal_text(place, str(parsed.value), self.rules, state.lang)

    def _valid_choice(self, state: ConversationState, step: str, choice: str) -> bool:
        values = {c.value for c in self._question(step, state).choices}
        if step == "department":
            values.add("other")
        if FIELD[step].offer == "presence":
            values.add("no")  # a plain "no" (an older button): the digital option is asked next
        if step == "goals":
            return bool(_TICKED.fullmatch(choice))
        return choice in values

    def _accept(self, state: ConversationState, step: str, raw: str, parsed: Accepted) -> None:
        state.answers[step] = Answer(raw=raw, value=parsed.value, label=parsed.label)
        if step in state.order:
            state.order.remove(step)
        state.order.append(step)
        state.pending = None
        state.failures = 0

    def _echo(self, state: ConversationState, turn: Turn, step: str) -> None:
        """Says back how a partner or place was understood, so a wrong match is caught early,
        and the climate comparison once the mode is known (the field table's `echo`)."""
        echo = FIELD[step].echo
        if echo == "partner":
            self._echo_partner(state, turn, state.answers[step])
        elif echo == "place":
            self._echo_place(state, turn, state.answers[step])
        elif echo == "climate":
            values = state.values()
            destination = values.get("destination")
            co2 = estimate_for(
                Destination.model_validate(destination) if destination else None,
                values.get("travellers"),
                values.get("travel_mode"),
                self.rules,
            )
            if co2 is not None:
                turn.out.append(Outgoing("message", comparison(co2, self.rules, state.lang)))

    def _echo_partner(self, state: ConversationState, turn: Turn, answer: Answer) -> None:
        lang = state.lang
        ref = PartnerRef.model_validate(answer.value)
        if ref.id:
            partner = self.rules.partner_by_id[ref.id]
            area = self.render.t(f"focus.{partner.focus_area}", lang)
            turn.out.append(
                self.render.message("echo.partner", lang, partner=answer.label, area=area)
            )
            if ref.others:
                others = ", ".join(self.rules.partner_by_id[o].name(lang) for o in ref.others)
                turn.out.append(self.render.message("echo.other_partners", lang, others=others))
            if ref.dormant:
                # Flagged at once: the next question asks about a decision to resume.
                turn.out.append(self.render.message("echo.dormant", lang, partner=answer.label))
        elif ref.text:
            turn.out.append(
                self.render.message("echo.unlisted_partner", lang, partner=answer.label)
            )

    def _echo_place(self, state: ConversationState, turn: Turn, answer: Answer) -> None:
        lang = state.lang
        place = Destination.model_validate(answer.value)
        if place.digital:
            turn.out.append(self.render.message("echo.digital_place", lang, place=answer.label))
            return
        if place.hosted:
            turn.out.append(self.render.message("echo.hosted", lang))
            return
        km = distance_km(place, self.rules)
        if km is not None:
            shown = whole_number_text(km, lang)
            text_id = "echo.approximate_place" if place.approximate else "echo.place_distance"
            turn.out.append(self.render.message(text_id, lang, place=answer.label, km=shown))
        elif place.country:
            turn.out.append(self.render.message("echo.place", lang, place=answer.label))
        else:
            unknown = self.render.t("echo.unknown_place", lang, place=answer.label)
            no_figures = self.render.t("co2.unknown_place", lang)
            turn.out.append(Outgoing("message", f"{unknown} {no_figures}"))

    # --- did you mean ------------------------------------------------------------------

    def _ask_did_you_mean(self, state: ConversationState, turn: Turn) -> None:
        pending = state.pending
        if pending is None:
            self._next(state, turn)
            return
        lang = state.lang
        keep = Choice(self.render.t("choice.keep_typed", lang, text=pending.typed.raw), "keep")
        choices: tuple[Choice, ...]
        several = pending.field == "partner" and all(
            PartnerRef.model_validate(o.answer.value).others for o in pending.options
        )
        if several:
            named = ", ".join(o.answer.label for o in pending.options)
            text = self.render.t("partner.which_leads", lang, partners=named)
            choices = tuple(Choice(o.answer.label, o.value) for o in pending.options)
        elif len(pending.options) == 1:
            option = pending.options[0]
            text = self.render.t("confirm.one", lang, name=option.answer.label)
            choices = (
                Choice(self.render.t("choice.yes", lang), option.value),
                keep,
            )
        else:
            text = self.render.t("confirm.many", lang, text=pending.typed.raw)
            choices = (*(Choice(o.answer.label, o.value) for o in pending.options), keep)
        turn.out.append(
            Outgoing("question", text, step=f"{pending.field}.confirm", choices=choices)
        )

    def _did_you_mean(
        self, state: ConversationState, turn: Turn, text: str | None, choice: str | None
    ) -> None:
        pending = state.pending
        if pending is None:
            self._next(state, turn)
            return
        picked: Answer | None = None
        if choice is not None:
            options = {o.value: o.answer for o in pending.options}
            if choice == "keep":
                picked = pending.typed
            elif choice in options:
                picked = options[choice]
            else:
                turn.hint(self.render.hint("hint.choice", state.lang))
                self._reask(state, turn)
                return
        else:
            word = self.rules.answer_words.get(normalize(text or ""))
            labels = {normalize(o.answer.label): o.answer for o in pending.options}
            if word == "yes":
                picked = pending.options[0].answer
            elif word == "no":
                picked = pending.typed
            elif normalize(text or "") in labels:
                picked = labels[normalize(text or "")]
        if picked is None:
            # Anything else is a fresh answer to the question itself.
            state.phase = "asking"
            state.step = pending.field
            state.pending = None
            self._answer(state, turn, text, None)
            return
        step = pending.field
        self._accept(state, step, picked.raw, Accepted(picked.value, picked.label))
        state.phase = "asking"
        self._echo(state, turn, step)
        self._next(state, turn)

    # --- summary, change, save ---------------------------------------------------------

    def _confirm(
        self, state: ConversationState, turn: Turn, text: str | None, choice: str | None
    ) -> None:
        if choice is not None:
            # Save, Change and Cancel are commands and never reach here: this is a stale button.
            turn.hint(self.render.hint("hint.choice", state.lang))
            self._reask(state, turn)
            return
        norm = normalize(text or "")
        if self._is_yes(norm):
            self._save(state, turn)
            return
        step = self._field_named(state, norm)
        if step is not None:
            self._change_field(state, turn, step)
            return
        if text and (
            self._offered_answer(state, turn, text) or self._mid_check_change(state, turn, text)
        ):
            return
        self._fail(state, turn, "hint.confirm")

    def _offered_answer(self, state: ConversationState, turn: Turn, text: str) -> bool:
        """A field the summary offers (the date), typed there ("12 mars"): added, and the
        summary shown again. Read directly, before any reading of a whole sentence."""
        values = state.values()
        for step in FIELDS:
            if FIELD[step].asked or not applies(step, values):
                continue
            parsed = self.interpreter.parse(step, text, state.lang, _today(state.updated_at))
            if isinstance(parsed, Accepted) and parsed.value is not None:
                self._correct(state, turn, step, text, parsed)
                self._show_summary(state, turn)
                return True
        return False

    def _changeable(self, state: ConversationState) -> list[str]:
        values = state.values()
        return [
            f for f in FIELDS if (f in state.answers or not FIELD[f].asked) and applies(f, values)
        ]

    def _field_named(self, state: ConversationState, norm: str) -> str | None:
        """The changeable field `norm` names: its id, or its label in either language."""
        named = self._field_names(state).get(norm, ())
        if not named:
            return None
        changeable = self._changeable(state)
        return next((step for step in named if step in changeable), None)

    def _field_names(self, state: ConversationState) -> dict[str, tuple[str, ...]]:
        """Every field's names, normalised, for the state's role and language; built once."""
        key = (state.role, state.lang)
        names = self._names_by_role.get(key)
        if names is None:
            found: dict[str, list[str]] = {}
            for step in FIELDS:
                said = {normalize(step), normalize(self.render.field_label(step, state))}
                said |= {normalize(self.render.t(f"field.{step}", lang)) for lang in ("sv", "en")}
                for name in said:
                    found.setdefault(name, []).append(step)
            names = self._names_by_role[key] = {k: tuple(v) for k, v in found.items()}
        return names

    def _ask_change(self, state: ConversationState, turn: Turn) -> None:
        if state.phase not in ("confirm", "change"):
            self._reask(state, turn)
            return
        state.phase = "change"
        choices = tuple(
            Choice(self.render.field_label(f, state), f) for f in self._changeable(state)
        )
        turn.out.append(
            Outgoing(
                "question",
                self.render.t("change.which", state.lang),
                step="change",
                choices=choices,
            )
        )

    def _change(
        self, state: ConversationState, turn: Turn, text: str | None, choice: str | None
    ) -> None:
        changeable = self._changeable(state)
        step: str | None = None
        if choice is not None:
            step = choice if choice in changeable else None
        else:
            norm = normalize(text or "")
            step = self._field_named(state, norm)
            if step is None and norm.isdigit() and 1 <= int(norm) <= len(changeable):
                step = changeable[int(norm) - 1]
        if step is None:
            self._fail(state, turn, "hint.change")
            return
        self._change_field(state, turn, step)

    def _change_field(self, state: ConversationState, turn: Turn, step: str) -> None:
        self._forget(state, step)
        self._ask(state, turn, step)

    def _save(self, state: ConversationState, turn: Turn) -> None:
        if state.phase != "confirm":
            self._reask(state, turn)
            return
        turn.decision = self._evaluated(check_from_answers(state.values()), state.lang)

    def _evaluated(self, check: Check, lang: Lang) -> Decision:
        """evaluate(), remembered for a while: a check is evaluated when its summary comes
        (does the plan ask for a motivation?) and again when it is saved."""
        key = (check.model_dump_json(), lang)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= EVALUATIONS_KEPT:
                self._decisions.clear()
            decision = self._decisions[key] = evaluate(check, self.rules, lang)
        return decision

    # --- idle conversations -------------------------------------------------------------

    def _ask_resume(self, state: ConversationState, turn: Turn) -> None:
        lang = state.lang
        title = (
            state.answers["title"].label
            if "title" in state.answers
            else self.render.t("resume.untitled", lang)
        )
        date = datetime.fromtimestamp(state.started_at or state.updated_at, UTC).date().isoformat()
        choices = (
            Choice(self.render.t("choice.continue", lang), "continue"),
            Choice(self.render.t("choice.restart", lang), "restart"),
        )
        turn.out.append(
            Outgoing(
                "question",
                self.render.t("resume.ask", lang, title=title, date=date),
                step="resume",
                choices=choices,
            )
        )

    def _resume(
        self, state: ConversationState, turn: Turn, text: str | None, choice: str | None
    ) -> None:
        answer = (
            choice if choice is not None else self.rules.answer_words.get(normalize(text or ""))
        )
        if answer in ("continue", "yes"):
            state.phase = state.resume_phase or "asking"
            state.resume_phase = None
            self._reask(state, turn)
        else:
            self._fail(state, turn, "hint.resume")


def _today(now: float) -> date:
    """The local date at `now`: a date typed without a year is the next one from it."""
    return datetime.fromtimestamp(now, LOCAL_TIME).date()
