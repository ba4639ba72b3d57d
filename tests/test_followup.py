"""What really happened (issue 12 §5, §6): a dated decision is followed up a few days after
its date, asked once more if unanswered, then left; the answer, pressed or typed, is the
decision's actual outcome, and the stats count it. The channels' own sends are in
tests/test_followup_channels.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.decision_log import DecisionFilter
from bot.engine import Engine
from bot.followup import Delivery, decision_of_step, step_of
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.storage import FollowUp
from rules.dates import When
from rules.loader import load_ruleset
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage import open_url
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Clock
from tests.followup_checks import check_until_confirm, dated_check
from tripcheck.followups import FollowUpPoller

SLACK = ConversationKey("slack", "D0ANNA", "U0ANNA")
DAY = 86400.0


@dataclass
class Outbox:
    """A channel's send path as the platform sees it: every question it was given."""

    delivery: Delivery = "sent"
    sent: list[tuple[FollowUp, Outgoing]] = field(default_factory=list)

    async def send(self, followup: FollowUp, question: Outgoing) -> Delivery:
        self.sent.append((followup, question))
        return self.delivery


def today(clock: Clock) -> date:
    return datetime.fromtimestamp(clock.now, UTC).date()


@pytest.fixture
def followed(
    rules: RuleSet, storage: SQLiteStorage, clock: Clock, place_index: PlaceIndex
) -> Engine:
    """An engine with places (for CO2e) and the decision log (for stats)."""
    return Engine(
        rules, storage, clock=clock, places=place_index, decision_log=storage.decision_log
    )


def poller(engine: Engine, outbox: Outbox, holder: str = "here") -> FollowUpPoller:
    return FollowUpPoller(engine, {"slack": outbox}, lease=None, holder=holder)


# --- the rules' data -----------------------------------------------------------------------


def test_the_question_comes_a_few_days_after_the_last_day_the_date_may_mean(
    rules: RuleSet,
) -> None:
    policy = rules.followup
    assert policy is not None and policy.days_after > 0

    def asked(start: date, precision: str) -> datetime:
        when = When.model_validate({"start": start, "precision": precision, "text": ""})
        return datetime.fromtimestamp(policy.due_at(when), UTC)

    after = timedelta(days=policy.days_after)
    assert asked(date(2027, 3, 12), "day").date() == date(2027, 3, 12) + after
    assert asked(date(2027, 3, 8), "week").date() == date(2027, 3, 14) + after  # its Sunday
    assert asked(date(2027, 2, 1), "month").date() == date(2027, 2, 28) + after
    # In the Swedish working day, summer time or not.
    for start in (date(2027, 1, 10), date(2027, 7, 10)):
        local = asked(start, "day").astimezone(ZoneInfo("Europe/Stockholm"))
        assert local.hour == policy.hour


@pytest.mark.parametrize(
    ("typed", "actual"),
    [
        ("digitalt", "digital"),
        ("Det blev ett digitalt möte", "digital"),
        ("we met online", "digital"),
        ("Resan blev av som planerat", "travelled"),
        ("We travelled", "travelled"),
        ("Det blev inte av", "not_held"),  # not "blev av"
        ("It was cancelled", "not_held"),
        ("didn't happen", "not_held"),
        ("hej", None),
        ("digitalt eller resa", None),  # two outcomes named alike: none
        ("Ja, det blev digitalt till slut", "digital"),  # filler words do not count
        ("En resa till Bologna i maj, tre av oss med tåg", None),  # a new check
        ("Styrelsemöte i Uleåborg den 12 mars, vi ska flyga", None),
    ],
)
def test_a_typed_answer_names_its_outcome(rules: RuleSet, typed: str, actual: str | None) -> None:
    assert rules.followup is not None and rules.followup.read(typed) == actual


def test_a_follow_up_step_names_its_decision() -> None:
    assert decision_of_step(step_of(42)) == 42
    assert decision_of_step("confirm") is None
    assert decision_of_step("followup.x") is None
    assert decision_of_step(None) is None


def test_a_rule_set_without_follow_up_data_is_refused(tmp_path: Path) -> None:
    import shutil

    from rules.loader import DEFAULT_DIR, RuleSetError

    shutil.copytree(DEFAULT_DIR, tmp_path / "rules")
    (tmp_path / "rules" / "followup.yml").unlink()
    with pytest.raises(RuleSetError, match=r"followup\.yml"):
        load_ruleset(tmp_path / "rules")


# --- scheduling ------------------------------------------------------------------------------


async def test_a_dated_decision_is_scheduled_with_its_date_and_motivation(
    followed: Engine, clock: Clock, rules: RuleSet
) -> None:
    trip = today(clock) + timedelta(days=20)
    decision_id = await dated_check(followed, SLACK, trip)
    stored = await followed.storage.get_decision(decision_id)
    assert stored is not None
    assert (stored.happens_on, stored.happens_precision) == (trip.isoformat(), "day")
    outbox = Outbox()
    assert await poller(followed, outbox).run_once(clock.now) == 0  # not due yet
    assert rules.followup is not None
    due = rules.followup.due_at(When(start=trip, precision="day", text=""))
    assert await poller(followed, outbox).run_once(due - 1) == 0
    assert await poller(followed, outbox).run_once(due) == 1
    ((followup, question),) = outbox.sent
    assert followup.key == SLACK and followup.decision_id == decision_id
    assert question.step == step_of(decision_id)
    assert [c.value for c in question.choices] == ["digital", "travelled", "not_held"]
    assert question.text.endswith(
        "Blev det ett digitalt möte, en resa som planerat, eller blev det inte av?"
    )
    assert "Styrelsemöte" in question.text and str(decision_id) in question.text


async def test_the_motivation_given_is_kept(followed: Engine, clock: Clock) -> None:
    await check_until_confirm(followed, SLACK, today(clock))
    state = await followed.storage.load_conversation(SLACK)
    assert state is not None
    from bot.state import Answer

    reason = "Styrelsen möts bara på plats"
    state.answers["motivation"] = Answer(raw=reason, value=reason, label=reason)
    await followed.storage.save_conversation(SLACK, state)
    result = await followed.handle(SLACK, Incoming(choice="save", step="confirm"))
    decision = next(r.decision for r in result.replies if r.decision is not None)
    stored = await followed.storage.get_decision(decision["id"])
    assert stored is not None and stored.motivation == reason


async def test_a_decision_without_a_date_or_made_where_no_one_can_be_reached_is_not_followed(
    followed: Engine, clock: Clock
) -> None:
    await check_until_confirm(followed, SLACK, today(clock))
    state = await followed.storage.load_conversation(SLACK)
    assert state is not None
    del state.answers["when"]
    await followed.storage.save_conversation(SLACK, state)
    await followed.handle(SLACK, Incoming(choice="save", step="confirm"))
    await dated_check(followed, ConversationKey("terminal", "anna", "anna"), today(clock))
    outbox = Outbox()
    assert await poller(followed, outbox).run_once(clock.now + 400 * DAY) == 0


# --- asking and answering --------------------------------------------------------------------


async def asked_in_the_past(engine: Engine, clock: Clock, outbox: Outbox) -> int:
    """A decision about a trip ten days ago, followed up at once."""
    decision_id = await dated_check(engine, SLACK, today(clock) - timedelta(days=10))
    assert await poller(engine, outbox).run_once(clock.now) == 1
    return decision_id


async def test_a_past_trip_is_asked_about_once_answered_by_button_and_counted(
    followed: Engine, clock: Clock, storage: SQLiteStorage
) -> None:
    outbox = Outbox()
    decision_id = await asked_in_the_past(followed, clock, outbox)
    assert await poller(followed, outbox).run_once(clock.now + 60) == 0  # once
    clock.advance(1)
    result = await followed.handle(SLACK, Incoming(choice="digital", step=step_of(decision_id)))
    assert result.taken and result.replies[0].text == followed.text(
        "followup.thanks.digital", "sv", id=decision_id
    )
    stored = await followed.storage.get_decision(decision_id)
    assert stored is not None and stored.actual_outcome == "digital"
    assert stored.actual_at == clock.now
    (month,) = await storage.decision_log.stats(DecisionFilter())
    assert (month.asked, month.answered, month.confirmed_digital) == (1, 1, 1)
    assert month.avoided_kg > 0 and month.confirmed_avoided_kg == month.avoided_kg
    # Answered: never asked again, and a second press changes nothing.
    assert await poller(followed, outbox).run_once(clock.now + 30 * DAY) == 0
    again = await followed.handle(SLACK, Incoming(choice="travelled", step=step_of(decision_id)))
    assert not again.taken and again.replies[0].type == "hint"
    stored = await followed.storage.get_decision(decision_id)
    assert stored is not None and stored.actual_outcome == "digital"


@pytest.mark.parametrize(
    ("typed", "actual"), [("Det blev inte av", "not_held"), ("vi reste som planerat", "travelled")]
)
async def test_a_typed_answer_is_taken_while_no_check_is_going_on(
    followed: Engine, clock: Clock, storage: SQLiteStorage, typed: str, actual: str
) -> None:
    decision_id = await asked_in_the_past(followed, clock, Outbox())
    result = await followed.handle(SLACK, Incoming(text=typed))
    assert result.taken and result.step is None
    stored = await followed.storage.get_decision(decision_id)
    assert stored is not None and stored.actual_outcome == actual
    (month,) = await storage.decision_log.stats(DecisionFilter())
    assert (month.answered, month.confirmed_digital, month.confirmed_avoided_kg) == (1, 0, 0.0)


async def test_other_text_starts_a_check_as_ever_and_leaves_the_question_open(
    followed: Engine, clock: Clock
) -> None:
    decision_id = await asked_in_the_past(followed, clock, Outbox())
    result = await followed.handle(SLACK, Incoming(text="hej"))
    assert result.step == "kind"
    # In the middle of a check, a follow-up word is the check's answer, not the follow-up's.
    await followed.handle(SLACK, Incoming(text="resa"))
    stored = await followed.storage.get_decision(decision_id)
    assert stored is not None and stored.actual_outcome is None
    # Its buttons still answer it, and the check goes on where it was: asked again.
    pressed = await followed.handle(SLACK, Incoming(choice="digital", step=step_of(decision_id)))
    assert pressed.taken and pressed.step == "title"
    assert [r.type for r in pressed.replies] == ["message", "question"]
    assert pressed.replies[-1].step == "title"


async def test_typing_answers_only_while_the_question_is_fresh(
    followed: Engine, clock: Clock, rules: RuleSet
) -> None:
    assert rules.followup is not None
    decision_id = await asked_in_the_past(followed, clock, Outbox())
    clock.advance(rules.followup.ask_again_after_days)
    # Asked days ago: "resa" now starts a check; the question's buttons still answer it.
    result = await followed.handle(SLACK, Incoming(text="resa"))
    assert result.step == "title"
    stored = await followed.storage.get_decision(decision_id)
    assert stored is not None and stored.actual_outcome is None
    pressed = await followed.handle(SLACK, Incoming(choice="travelled", step=step_of(decision_id)))
    assert pressed.taken


async def test_a_press_on_an_unknown_follow_up_gets_a_hint(followed: Engine) -> None:
    result = await followed.handle(SLACK, Incoming(choice="digital", step=step_of(999)))
    assert not result.taken and result.replies[0].type == "hint"


async def test_an_unanswered_question_is_asked_once_more_then_left(
    followed: Engine, clock: Clock, rules: RuleSet
) -> None:
    assert rules.followup is not None and rules.followup.asks == 2
    outbox = Outbox()
    decision_id = await asked_in_the_past(followed, clock, outbox)
    again = clock.now + rules.followup.ask_again_after_days * DAY
    assert await poller(followed, outbox).run_once(again - 1) == 0
    assert await poller(followed, outbox).run_once(again) == 1
    assert await poller(followed, outbox).run_once(again + 365 * DAY) == 0
    assert [f.decision_id for f, _ in outbox.sent] == [decision_id, decision_id]
    # Left, but a late answer is still welcome.
    late = await followed.handle(SLACK, Incoming(choice="not_held", step=step_of(decision_id)))
    assert late.taken


async def test_a_failed_send_is_tried_again_later_and_an_unreachable_one_left(
    followed: Engine, clock: Clock, rules: RuleSet
) -> None:
    assert rules.followup is not None
    decision_id = await dated_check(followed, SLACK, today(clock) - timedelta(days=10))
    down = Outbox(delivery="failed")
    assert await poller(followed, down).run_once(clock.now) == 0
    retry = clock.now + rules.followup.retry_after_minutes * 60
    assert await poller(followed, down).run_once(retry - 1) == 0
    up = Outbox()
    assert await poller(followed, up).run_once(retry) == 1
    assert up.sent[0][0].decision_id == decision_id
    gone = Outbox(delivery="unreachable")
    other = ConversationKey("slack", "D0BERIT", "U0BERIT")
    unreachable = await dated_check(followed, other, today(clock) - timedelta(days=10))
    assert await poller(followed, gone).run_once(retry) == 0
    assert await poller(followed, gone).run_once(retry + 365 * DAY) == 0
    assert [f.decision_id for f, _ in gone.sent].count(unreachable) == 1


async def test_the_language_of_the_question_is_the_conversations(
    rules: RuleSet, clock: Clock, place_index: PlaceIndex
) -> None:
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, clock=clock, places=place_index, default_lang="en")
    key = ConversationKey("slack", "D0GIULIA", "U0GIULIA")
    await check_until_confirm(engine, key, today(clock) - timedelta(days=5), lang="en")
    await engine.handle(key, Incoming(choice="save", step="confirm"))
    outbox = Outbox()
    assert await poller(engine, outbox).run_once(clock.now) == 1
    question = outbox.sent[0][1]
    assert question.text.endswith(
        "Did it become a digital meeting, a trip as planned, or did it not happen?"
    )
    result = await engine.handle(key, Incoming(text="we met online"))
    assert result.replies[0].text.startswith("Thank you!")
    await storage.close()


@pytest.mark.parametrize(
    "backend_kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_two_pollers_on_one_database_send_a_follow_up_once(
    rules: RuleSet,
    clock: Clock,
    place_index: PlaceIndex,
    tmp_path: Path,
    backend_kind: str,
    request: pytest.FixtureRequest,
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if backend_kind == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    stores = [await open_url(url) for _ in range(2)]
    engines = [
        Engine(rules, s, clock=clock, places=place_index, decision_log=s.decision_log)
        for s in stores
    ]
    for n in range(3):
        key = ConversationKey("slack", f"D{n}", f"U{n}")
        await dated_check(engines[n % 2], key, today(clock) - timedelta(days=4))
    outboxes = [Outbox(), Outbox()]
    # With the lease, as the servers run them; and without, on the claims alone.
    for lease in (True, False):
        pollers = [
            FollowUpPoller(
                engine,
                {"slack": outbox},
                lease=stores[n].decision_log.lease if lease else None,
                holder=f"server-{n}",
            )
            for n, (engine, outbox) in enumerate(zip(engines, outboxes, strict=True))
        ]
        at = clock.now if lease else clock.now + 30 * DAY
        await asyncio.gather(*(p.run_once(at) for p in pollers for _ in range(3)))
    sent = [f.decision_id for outbox in outboxes for f, _ in outbox.sent]
    for store in stores:
        await store.close()
    # Each decision asked twice in all (the first time, and once more), never twice at once.
    assert sorted(sent) == sorted([1, 2, 3, 1, 2, 3])
