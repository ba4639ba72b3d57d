"""No sequence of inputs crashes the engine or strands the user."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from rules.fields import FIELDS
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Clock
from tests.test_conversation import SWEDISH_CHECK

WORDS = [
    "hej",
    "hjälp",
    "help",
    "tillbaka",
    "back",
    "börja om",
    "restart",
    "avbryt",
    "cancel",
    "english",
    "svenska",
    "språk",
    "sammanfattning",
    "summary",
    "hoppa över",
    "skip",
    "status",
    "ny",
    "new",
    "spara",
    "save",
    "ändra",
    "change",
    "fortsätt",
    "continue",
    "ja",
    "nej",
    "yes",
    "no",
    "vet inte",
    "resa",
    "projekt",
    "aktivitet",
    "flyg",
    "tåg",
    "bil",
    "5, 8",
    "inga",
    "none",
    "2",
    "0",
    "Kommunstaben",
    "Bothnian",
    "Oulo",
    "Zenika",
    "Uleåborg",
    "Tokyo",
    "mål",
    "goals",
    "typ",
    "/start",
    "/check",
    "/nonsense",
    "?",
    "",
    " ",
    "\x00",
    "🚀",
    "x" * 3000,
]
CHOICES = [
    "trip",
    "project",
    "activity",
    "yes",
    "no",
    "unsure",
    "flight",
    "train",
    "5,8",
    "none",
    "save",
    "change",
    "cancel",
    "keep",
    "continue",
    "restart",
    "other",
    "goals",
    "kind",
    "physical_necessary",
    "bothnian_arc",
    "0",
    "Kommunstaben",
    "garbage",
]
STEP = st.one_of(
    st.sampled_from(WORDS).map(lambda w: ("text", w)),
    st.sampled_from(CHOICES).map(lambda c: ("choice", c)),
    st.text(max_size=40).map(lambda t: ("text", t)),
    st.just(("wait", "")),
)


async def run(rules: RuleSet, steps: list[tuple[str, str]]) -> None:
    clock = Clock()
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, clock=clock)
    key = ConversationKey("test", "u", "u")
    failures = {rules.text("error.internal", "sv"), rules.text("error.internal", "en")}
    try:
        for kind, value in steps:
            if kind == "wait":
                clock.advance(days=20)
                continue
            incoming = Incoming(text=value) if kind == "text" else Incoming(choice=value)
            replies = (await engine.handle(key, incoming)).replies
            assert replies, f"no reply to {kind} {value!r}"
            assert not failures & {r.text for r in replies}, f"engine failed on {kind} {value!r}"
            state = await storage.load_conversation(key)
            assert state is not None
            if state.phase == "asking":
                assert state.step in FIELDS
        # From wherever the user got to, they can always start over and finish.
        await engine.handle(key, Incoming(text="börja om"))
        await engine.handle(key, Incoming(text="svenska"))
        for _, text in SWEDISH_CHECK:
            await engine.handle(key, Incoming(text=text))
        replies = (await engine.handle(key, Incoming(text="spara"))).replies
        assert replies[0].type == "decision", replies
    finally:
        await storage.close()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, max_size=40))
def test_no_input_sequence_crashes_or_strands_the_user(
    rules: RuleSet, steps: list[tuple[str, str]]
) -> None:
    asyncio.run(run(rules, steps))
