"""Conversations through the jsonl channel, in Swedish and English."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from tests.conftest import Chat, Clock

SWEDISH_CHECK = [
    ("kind", "resa"),
    ("title", "Styrelsemöte i Bottenviksbågen"),
    ("department", "Kommunstaben"),
    ("partner", "bottenviksbagen"),
    ("destination", "Uleåborg"),
    # One checklist yes is enough: the other two are not asked.
    ("contributes_development", "ja"),
    ("goals", "8"),
    ("physical_necessary", "nej"),
    ("digital_alternative", "ja"),
    ("travellers", "2"),
    ("travel_mode", "flyg"),
    # Equality and the annual plan: one list to tick.
    ("prepared", "alla"),
    # The date is not asked: typed at the summary, it is added.
    ("confirm", "12 mars"),
]
ENGLISH_CHECK = [
    ("kind", "trip"),
    ("title", "Study visit on social economy"),
    ("department", "Arbetsmarknadsförvaltningen"),
    ("partner", "Sweden Emilia Romagna Network"),
    ("destination", "Bologna"),
    ("contributes_development", "yes"),
    ("goals", "9, 2"),
    ("physical_necessary", "yes"),
    ("travellers", "3"),
    ("travel_mode", "flight"),
    ("prepared", "1, 2"),
    ("confirm", "in May"),
]


async def answer_all(chat: Chat, script: list[tuple[str, str]]) -> None:
    for step, text in script:
        assert chat.step == step, f"expected {step}, got {chat.replies}"
        await chat.say(text)


async def test_a_whole_check_in_swedish(chat: Chat, engine: Engine) -> None:
    await chat.say("hej")
    assert chat.types() == ["message", "question"]
    assert "Hej!" in chat.replies[0]["text"]
    assert chat.question["choices"] == [
        {"label": "Resa", "value": "trip"},
        {"label": "Projekt", "value": "project"},
        {"label": "Aktivitet", "value": "activity"},
    ]
    await answer_all(chat, SWEDISH_CHECK)
    assert chat.step == "confirm"
    summary = chat.question["text"]
    assert "Sammanfattning" in summary and "Bottenviksbågen (Bothnian Arc)" in summary
    assert [c["value"] for c in chat.question["choices"]] == ["save", "change", "cancel"]
    await chat.choose("save")
    decision = chat.decision
    assert decision["outcome"] == "digital"
    assert decision["focus_area"] == "regional_arctic"
    assert decision["rules_version"] == engine.rules.version
    assert isinstance(decision["id"], int)
    assert all({"code", "text", "section"} <= set(r) for r in decision["reasons"])
    text = chat.texts()
    assert "Rekommendation: mötas digitalt" in text and "(Hållbart internationellt arbete)" in text
    assert f"Sparat (nr {decision['id']}" in text
    stored = await engine.storage.get_decision(decision["id"])
    assert stored is not None and stored.outcome == "digital" and stored.lang == "sv"
    assert stored.answers["partner"]["raw"] == "bottenviksbagen"
    assert stored.answers["partner"]["value"]["id"] == "bothnian_arc"
    assert stored.user_id == "anna" and stored.channel == "terminal"


async def test_the_log_keeps_the_decision_and_every_answer_as_given(
    chat: Chat, engine: Engine
) -> None:
    """The recorded row holds the decision's reasons, advisories and guidelines and each
    answer (raw, value, label) exactly as the conversation had them, JSON numbers included."""
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    state = await engine.storage.load_conversation(chat.key)
    assert state is not None
    answers = {field: answer.model_dump(mode="json") for field, answer in state.answers.items()}
    await chat.choose("save")
    decision = chat.decision
    stored = await engine.storage.get_decision(decision["id"])
    assert stored is not None
    for part in ("reasons", "advisories", "guidelines"):
        assert stored.model_dump(mode="json")[part] == decision[part]
    assert stored.answers == answers and list(stored.answers) == list(answers)
    assert stored.co2 == decision["co2"] and stored.co2 is not None
    assert stored.transcript[: len(state.transcript)] == state.transcript
    assert state.transcript[-1]["in"] == "12 mars"


async def test_a_whole_check_in_english(engine: Engine) -> None:
    chat = Chat(engine, user="kari", lang="en")
    await chat.say("hello")
    assert "Hi!" in chat.replies[0]["text"]
    await answer_all(chat, ENGLISH_CHECK)
    await chat.say("save")
    decision = chat.decision
    assert decision["outcome"] == "travel" and decision["focus_area"] == "eu"
    assert decision["lang"] == "en"
    # The short form names only the guidelines that change something; "why?" shows them all.
    assert "Recommendation: travel" in chat.texts() and "When you travel:" not in chat.texts()
    assert decision["guidelines"][0]["code"] == "lowest_climate_mode"
    await chat.say("why?")
    assert "When you travel:" in chat.texts()


async def test_typing_the_kind_first_skips_the_kind_question(chat: Chat) -> None:
    await chat.say("resa")
    assert chat.step == "title"


async def test_back_returns_to_the_previous_question(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:4])
    assert chat.step == "destination"
    await chat.say("tillbaka")
    assert chat.step == "partner"
    await chat.say("back")
    assert chat.step == "department"
    await chat.say("Kommunstaben")
    assert chat.step == "partner"


async def test_back_at_the_first_question_says_so(chat: Chat) -> None:
    await chat.say("hej")
    await chat.say("tillbaka")
    assert "första frågan" in chat.texts() and chat.step == "kind"


async def test_restart_starts_over_and_forgets_the_answers(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:5])
    await chat.say("börja om")
    assert chat.step == "kind" and "Vi börjar om" in chat.texts()
    await chat.say("summary")
    assert "Inga svar ännu" in chat.texts()


async def test_change_an_answer_at_the_summary(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    await chat.choose("change")
    assert chat.step == "change"
    assert "goals" in [c["value"] for c in chat.question["choices"]]
    await chat.choose("physical_necessary")
    assert chat.step == "physical_necessary"
    await chat.choose("yes")
    # Presence is now necessary, so the digital alternative no longer matters.
    assert chat.step == "confirm"
    assert "Digitalt alternativ" not in chat.question["text"]
    await chat.choose("save")
    assert chat.decision["outcome"] == "travel"


async def test_a_change_that_opens_new_questions_asks_them_before_the_summary(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    await chat.say("ändra")
    await chat.say("typ")
    assert chat.step == "kind"
    await chat.choose("project")
    assert chat.step == "eu_funding_checked"
    await chat.say("nej")
    assert chat.step == "confirm"
    await chat.say("spara")
    assert "eu_funding_not_checked" in [a["code"] for a in chat.decision["advisories"]]


async def test_did_you_mean_for_an_uncertain_partner(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:3])
    await chat.say("Bothnian")
    assert chat.step == "partner.confirm"
    values = [c["value"] for c in chat.question["choices"]]
    assert "bothnian_arc" in values and "bothnian_coastal_route" in values and values[-1] == "keep"
    await chat.choose("bothnian_coastal_route")
    assert chat.step == "destination"
    assert "Interreg Bothnian Coastal Route" in chat.texts()


async def test_did_you_mean_answered_no_keeps_the_text_as_typed(engine: Engine) -> None:
    chat = Chat(engine, lang="en")
    await chat.say("hi")
    await answer_all(chat, ENGLISH_CHECK[:3])
    await chat.say("Oulo")
    assert chat.step == "partner.confirm"
    assert chat.question["text"] == "Did you mean Oulu (Uleåborg)?"
    await chat.say("no")
    assert chat.step == "destination"
    assert "Oulo is not one of the plan's named partners" in chat.texts()


async def test_did_you_mean_answered_yes_takes_the_suggestion(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:3])
    await chat.say("Oulo")
    await chat.say("ja")
    assert "Uleåborg (Oulu) — regionalt/arktiskt samarbete" in chat.texts()


async def test_three_bad_answers_bring_an_explanation_and_the_choices(chat: Chat) -> None:
    await chat.say("hej")
    await chat.say("banan")
    assert chat.types() == ["hint", "question"] and chat.step == "kind"
    assert chat.replies[0]["text"] == "Svara resa, projekt eller aktivitet."
    await chat.say("äpple")
    assert "förklarar" not in chat.texts()
    await chat.say("päron")
    assert "Jag förklarar frågan" in chat.replies[0]["text"]
    assert "tjänsteresa" in chat.replies[0]["text"]
    assert len(chat.question["choices"]) == 3
    await chat.say("resa")
    assert chat.step == "title"


async def test_help_and_language_at_any_point(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:5])
    await chat.say("hjälp")
    assert "tillbaka" in chat.texts() and chat.step == "contributes_development"
    await chat.say("english")
    assert "English from now on" in chat.texts()
    assert chat.question["choices"][0]["label"] == "Yes"
    await chat.say("svenska")
    assert chat.question["choices"][0]["label"] == "Ja"


async def test_summary_shows_the_answers_so_far(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:3])
    await chat.say("sammanfattning")
    assert "Namn: Styrelsemöte i Bottenviksbågen" in chat.texts() and chat.step == "partner"


async def test_cancel_discards_the_check(chat: Chat, engine: Engine) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:3])
    await chat.say("avbryt")
    assert "inget sparades" in chat.texts()
    assert await engine.storage.last_decision(chat.key) is None
    await chat.say("hej")
    assert chat.step == "kind"


async def test_the_department_is_remembered_and_offered_next_time(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    await chat.say("spara")
    await chat.say("ny")
    await chat.say("resa")
    await chat.say("Nästa möte")
    assert chat.step == "department"
    assert "Förra gången: Kommunstaben" in chat.question["text"]
    assert chat.question["choices"][0] == {"label": "Kommunstaben", "value": "Kommunstaben"}
    await chat.choose("other")
    assert chat.step == "department" and chat.question["choices"] == []
    await chat.say("Miljöförvaltningen")
    assert chat.step == "partner"


async def test_an_idle_conversation_asks_continue_or_start_over(chat: Chat, clock: Clock) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:4])
    clock.advance(days=15)
    await chat.say("Uleåborg")
    assert chat.step == "resume"
    assert "Styrelsemöte i Bottenviksbågen" in chat.question["text"]
    await chat.choose("continue")
    assert chat.step == "destination"
    clock.advance(days=20)
    await chat.say("Uleåborg")
    await chat.choose("restart")
    assert chat.step == "kind"


async def test_a_short_pause_does_not_interrupt(chat: Chat, clock: Clock) -> None:
    await chat.say("hej")
    clock.advance(days=13)
    await chat.say("resa")
    assert chat.step == "title"


async def test_a_stale_button_is_refused_politely(chat: Chat) -> None:
    await chat.say("hej")
    await chat.choose("trip")
    await chat.choose("flight")
    assert chat.types() == ["hint", "question"] and chat.step == "title"
    assert "gäller inte längre" in chat.replies[0]["text"]


async def test_goals_by_buttons_as_a_list(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:6])
    assert chat.question.get("multi") is True and len(chat.question["choices"]) == 10
    await chat.choose("5,8")
    assert chat.step == "physical_necessary"


async def test_no_goal_goes_straight_to_the_summary(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:6])
    await chat.say("inga")
    # The outcome is decided: no travel, equality or annual plan questions.
    assert chat.step == "confirm"
    await chat.say("spara")
    assert chat.decision["outcome"] == "not_qualified"
    assert "not_in_annual_plan" not in [a["code"] for a in chat.decision["advisories"]]


@pytest.mark.parametrize(("lang", "no"), [("sv", "nej"), ("en", "no")])
async def test_three_checklist_noes_go_straight_to_the_summary(
    engine: Engine, lang: str, no: str
) -> None:
    chat = Chat(engine, lang=lang)
    script = SWEDISH_CHECK if lang == "sv" else ENGLISH_CHECK
    await chat.say("hej" if lang == "sv" else "hello")
    await answer_all(chat, script[:5])
    for step in ("contributes_development", "external_monitoring", "influence"):
        assert chat.step == step
        await chat.say(no)
    assert chat.step == "confirm"
    await chat.choose("save")
    assert chat.decision["outcome"] == "not_qualified"


@pytest.mark.parametrize(("lang", "yes"), [("sv", "ja"), ("en", "yes")])
async def test_after_one_checklist_yes_the_other_two_are_not_asked(
    engine: Engine, lang: str, yes: str
) -> None:
    chat = Chat(engine, lang=lang)
    script = SWEDISH_CHECK if lang == "sv" else ENGLISH_CHECK
    await chat.say("hej" if lang == "sv" else "hello")
    await answer_all(chat, script[:5])
    await chat.say("nej" if lang == "sv" else "no")
    assert chat.step == "external_monitoring"
    await chat.say(yes)
    assert chat.step == "goals"


async def test_status_shows_the_last_decision(chat: Chat) -> None:
    await chat.say("status")
    assert "inga sparade beslut" in chat.texts()
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    await chat.say("spara")
    await chat.say("status")
    assert (
        "Ditt senaste beslut: nr 1, Styrelsemöte i Bottenviksbågen — mötas digitalt" in chat.texts()
    )


@pytest.mark.parametrize(
    "message",
    ["", "   ", "\x00\x1b[31m\x07", "🚀✈️🌍", "x" * 100_000, "resa\u202e\u200b", "/frobnicate"],
)
async def test_bad_input_gets_a_friendly_answer_and_loses_nothing(chat: Chat, message: str) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:5])
    await chat.say(message)
    assert chat.replies[0]["type"] == "hint"
    assert "Traceback" not in chat.texts()
    assert chat.step == "contributes_development"
    await chat.say("summary")
    assert "Namn: Styrelsemöte i Bottenviksbågen" in chat.texts()


@pytest.mark.parametrize("message", ["\x00Möte\x1b[0m\x07", "Möte\u202e\u200b", "Möte\r\n\tnr 2"])
async def test_control_characters_never_reach_the_record(chat: Chat, message: str) -> None:
    await chat.say("hej")
    await chat.say("resa")
    await chat.say(message)
    assert chat.step == "department"
    await chat.say("summary")
    line = next(x for x in chat.texts().splitlines() if x.startswith("• Namn:"))
    assert line.isprintable() and "Möte" in line


async def test_an_unknown_command_is_named(chat: Chat) -> None:
    await chat.say("hej")
    await chat.say("/frobnicate now")
    assert "”/frobnicate”" in chat.replies[0]["text"]


@pytest.mark.parametrize("line", ["{not json", "[1, 2]", '{"foo": 1}', '"text"', '{"text": 5}'])
async def test_malformed_jsonl_lines_get_an_error_line_then_carry_on(chat: Chat, line: str) -> None:
    await chat.say("hej")
    await chat.send(line)
    assert chat.types() == ["error"]
    await chat.say("resa")
    assert chat.step == "title"


async def test_emoji_and_long_titles(chat: Chat) -> None:
    await chat.say("hej")
    await chat.say("resa")
    await chat.say("Möte 🚆 i Uleåborg")
    assert chat.step == "department"
    await chat.say("summary")
    assert "Möte 🚆 i Uleåborg" in chat.texts()


async def test_two_users_do_not_share_a_conversation(engine: Engine) -> None:
    anna, kari = Chat(engine, "anna"), Chat(engine, "kari")
    await anna.say("hej")
    await anna.say("resa")
    await kari.say("hej")
    assert anna.step == "title" and kari.step == "kind"


async def test_a_greeting_sets_the_language_of_a_new_check(chat: Chat) -> None:
    await chat.say("hello")
    assert chat.question["text"] == "What is it about?"
    await chat.say("cancel")
    await chat.say("hej")
    assert chat.question["text"] == "Vad gäller det?"


async def test_skip_at_did_you_mean_keeps_the_text_as_typed(chat: Chat) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:3])
    await chat.say("Bothnian")
    await chat.say("hoppa över")
    assert chat.step == "destination"
    assert "Bothnian är inte en av planens namngivna partner" in chat.texts()


async def test_change_and_resume_steps_accept_skip(chat: Chat, clock: Clock) -> None:
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    await chat.say("ändra")
    assert chat.step == "change"
    await chat.say("skip")
    assert chat.step == "confirm"
    clock.advance(days=30)
    await chat.say("ja")
    assert chat.step == "resume"
    await chat.say("hoppa över")
    assert chat.step == "confirm"


async def test_a_partner_contact_is_asked_about_their_organisation_and_lulea_s_plan(
    engine: Engine,
) -> None:
    key = ConversationKey("telegram", "c1", "kari")

    async def say(text: str) -> tuple[Outgoing, ...]:
        turn = await engine.handle(key, Incoming(text=text, lang="en"), role="partner_contact")
        return turn.replies

    await say("hi")
    await say("trip")
    replies = await say("Joint workshop")
    assert replies[-1].text == "Which organisation (and city) are you from?"
    for _, text in ENGLISH_CHECK[2:-2]:
        replies = await say(text if text != "Arbetsmarknadsförvaltningen" else "City of Tromsø")
    assert "Luleå municipality's annual activity plan" in replies[-1].text
    replies = await say("1")  # equality considered; not in Luleå's plan, as far as Kari knows
    assert "• Organisation: " in replies[-1].text and "Department" not in replies[-1].text
    replies = await say("save")
    stored = await engine.storage.last_decision(key)
    assert stored is not None and stored.role == "partner_contact"
