"""What really happened: scheduling the question after a dated decision, asking it, and
taking its answer (a press on its buttons, or a typed answer while no check is going on)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.messages import Choice, ConversationKey, Incoming, Outgoing
from bot.state import ConversationState
from bot.storage import FollowUp, StoredDecision
from bot.storage import Turn as StorageTurn
from rules.dates import When
from rules.followup import ACTUALS, FollowUpRules, when_of
from rules.models import Lang
from rules.ruleset import RuleSet

# A follow-up's question is the step "followup.<decision id>": its buttons answer that
# decision's question and no check's.
STEP_PREFIX = "followup."
# How a channel's send of a follow-up went: sent; failed (the platform refused or was down:
# try again later); unreachable (nothing to send it to: leave it).
Delivery = Literal["sent", "failed", "unreachable"]


class FollowUpSender(Protocol):
    """A channel's proactive send path: writes a follow-up's question to the person."""

    async def send(self, followup: FollowUp, question: Outgoing) -> Delivery: ...


def step_of(decision_id: int) -> str:
    """The step a follow-up's buttons carry."""
    return f"{STEP_PREFIX}{decision_id}"


def decision_of_step(step: str | None) -> int | None:
    """The decision a follow-up step names; None for any other step."""
    if step is None or not step.startswith(STEP_PREFIX):
        return None
    number = step.removeprefix(STEP_PREFIX)
    return int(number) if number.isdigit() and len(number) < 19 else None


@dataclass
class Answered:
    """What a follow-up turn says, and whether the input was taken as the answer."""

    out: list[Outgoing]
    taken: bool


class FollowUps:
    """The follow-up of dated decisions, by the rule set's follow-up data."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.policy: FollowUpRules | None = rules.followup

    # --- scheduling -----------------------------------------------------------------------

    def when(self, state: ConversationState) -> When | None:
        """The trip's date as answered, if it was."""
        answer = state.answers.get("when")
        return when_of(answer.value) if answer is not None else None

    def due_at(self, key: ConversationKey, when: When | None, now: float) -> float | None:
        """When to ask about a decision made now in `key`'s conversation; None when it is not
        followed up (no date, or a channel that cannot write first). A date in the past is
        asked about at once."""
        if self.policy is None or when is None or key.channel not in self.policy.channels:
            return None
        return max(self.policy.due_at(when), now)

    def next_ask(self, followup: FollowUp, now: float) -> float | None:
        """After asking at `now`: when to ask once more, or None (then it is left)."""
        assert self.policy is not None
        return self.policy.next_ask(followup.attempts + 1, now)

    def retry_at(self, followup: FollowUp, now: float) -> float | None:
        """After a failed send at `now`: when to try again, or None (given up)."""
        assert self.policy is not None
        if followup.failures + 1 >= self.policy.max_failures:
            return None
        return now + self.policy.retry_after_minutes * 60

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels whose decisions are followed up."""
        return self.policy.channels if self.policy is not None else ()

    # --- asking ---------------------------------------------------------------------------

    def question(self, followup: FollowUp, decision: StoredDecision) -> Outgoing:
        """The question about `decision`, with one button per outcome."""
        lang = self._lang(followup.lang)
        when = decision.answers.get("when") or {}
        date = str(when.get("label") or decision.happens_on or "")
        text = self.rules.text(
            "followup.question", lang, title=decision.title, date=date, id=decision.id
        )
        choices = tuple(
            Choice(self.rules.text(f"followup.choice.{actual}", lang), actual) for actual in ACTUALS
        )
        return Outgoing("question", text, step=step_of(decision.id), choices=choices)

    # --- answering ------------------------------------------------------------------------

    async def answer(
        self, tx: StorageTurn, state: ConversationState, incoming: Incoming, now: float
    ) -> Answered | None:
        """The turn when `incoming` answers a follow-up: a press on its buttons, or a typed
        answer naming an outcome while one is open and no check is going on. None: the
        input is not for a follow-up (the check's dialogue takes it)."""
        if self.policy is None:
            return None
        pressed = decision_of_step(incoming.step) if incoming.choice is not None else None
        if pressed is not None:
            return await self._pressed(tx, state, pressed, incoming.choice or "", now)
        if incoming.text is None or state.in_progress:
            return None
        actual = self.policy.read(incoming.text)
        if actual is None:
            return None
        followup = await tx.open_followup()
        if followup is None or not self.fresh(followup, now):
            return None
        return await self._record(tx, state.lang, followup.decision_id, actual, now)

    def fresh(self, followup: FollowUp, now: float) -> bool:
        """Whether a typed text may still answer the question: until it would be asked again
        (later, typed words are more likely a new check; its buttons still answer it)."""
        assert self.policy is not None
        sent_at = followup.sent_at or 0.0
        return now < sent_at + self.policy.ask_again_after_days * 86400

    async def _pressed(
        self, tx: StorageTurn, state: ConversationState, decision_id: int, choice: str, now: float
    ) -> Answered:
        assert self.policy is not None
        followup = await tx.open_followup(decision_id)
        if followup is None:
            return Answered(
                [Outgoing("hint", self.rules.text("followup.closed", state.lang))], False
            )
        actual = choice if choice in ACTUALS else self.policy.read(choice)
        if actual is None:
            return Answered(
                [Outgoing("hint", self.rules.text("followup.unclear", state.lang))], False
            )
        return await self._record(tx, state.lang, decision_id, actual, now)

    async def _record(
        self, tx: StorageTurn, lang: Lang, decision_id: int, actual: str, now: float
    ) -> Answered:
        if not await tx.record_actual(decision_id, actual, now):
            return Answered([Outgoing("hint", self.rules.text("followup.closed", lang))], False)
        thanks = self.rules.text(f"followup.thanks.{actual}", lang, id=decision_id)
        return Answered([Outgoing("message", thanks)], True)

    @staticmethod
    def _lang(lang: str) -> Lang:
        return "en" if lang == "en" else "sv"
