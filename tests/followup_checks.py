"""A whole check driven through the engine, its trip dated, for the follow-up tests: every
question answered by its step (typed where typing is the answer, else its first button), so
it holds whatever order the dialogue asks in."""

from __future__ import annotations

from datetime import date

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing, TurnResult
from bot.state import Answer, Role
from rules.models import Lang

# A digital meeting recommended (physical presence not needed, a digital way exists).
TYPED = {
    "kind": "resa",
    "title": "Styrelsemöte",
    "department": "Kommunstaben",
    "partner": "Uleåborgs stad",
    "destination": "Uleåborg",
    "travellers": "2",
    "travel_mode": "flyg",
    "goals": "8",
    "physical_necessary": "nej",
    "digital_alternative": "ja",
    "motivation": "Styrelsen möts bara på plats",
}
MOST_QUESTIONS = 40


def question_of(result: TurnResult) -> Outgoing | None:
    questions = [reply for reply in result.replies if reply.type == "question"]
    return questions[-1] if questions else None


async def check_until_confirm(
    engine: Engine,
    key: ConversationKey,
    when: date,
    *,
    role: Role = "employee",
    lang: Lang = "sv",
) -> None:
    """Answers every question up to the summary; the trip's date is `when` (given as the
    dialogue asks for it, or added to the answers as the dialogue's `when` field holds it)."""
    greeting = "hello" if lang == "en" else "hej"
    result = await engine.handle(key, Incoming(text=greeting, lang=lang), role=role)
    for _ in range(MOST_QUESTIONS):
        question = question_of(result)
        assert question is not None, [r.text for r in result.replies]
        step = question.step or ""
        if step == "confirm":
            break
        if step == "when":
            incoming = Incoming(text=when.isoformat())
        elif step in TYPED:
            incoming = Incoming(text=TYPED[step])
        else:
            incoming = Incoming(choice=question.choices[0].value, step=step)
        result = await engine.handle(key, incoming, role=role)
    else:
        raise AssertionError("the check never reached its summary")
    state = await engine.storage.load_conversation(key)
    assert state is not None
    if "when" not in state.answers:
        value = {"start": when.isoformat(), "precision": "day", "text": when.isoformat()}
        state.answers["when"] = Answer(raw=when.isoformat(), value=value, label=when.isoformat())
        await engine.storage.save_conversation(key, state)


async def dated_check(
    engine: Engine, key: ConversationKey, when: date, *, role: Role = "employee"
) -> int:
    """A whole dated check, saved at its summary; the decision's id."""
    await check_until_confirm(engine, key, when, role=role)
    result = await engine.handle(key, Incoming(choice="save", step="confirm"), role=role)
    decisions = [reply.decision for reply in result.replies if reply.decision is not None]
    assert decisions, [reply.text for reply in result.replies]
    decision_id = decisions[0]["id"]
    assert isinstance(decision_id, int)
    return decision_id
