"""The platform-neutral entry point: handle(key, incoming) -> outgoing messages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from types import TracebackType

from pydantic import ValidationError

from bot.admin_chat import AdminCommands
from bot.decision_log import DecisionLog
from bot.dialogue import Dialogue, Turn, clean
from bot.followup import FollowUps
from bot.forms import FieldError, Form, FormReader, FormResult, Suggestion, asks_for_form
from bot.logs import pseudonym
from bot.messages import ConversationKey, Incoming, Outgoing, TurnResult, decision_step
from bot.observe import NO_OBSERVER, Observer
from bot.ordering import KeyedLocks
from bot.render import DETAILS_CHOICE, SHARE_CHOICE, recorded
from bot.state import ConversationState, Role
from bot.storage import DecisionRecord, FollowUp, Storage, StorageError, StoredDecision
from bot.storage import Turn as StorageTurn
from rules.answers import MAX_TITLE, Interpreter
from rules.decision import Decision
from rules.fields import FIELD
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from rules.sentence import read_sentence
from rules.short_decision import request_of

log = logging.getLogger("tripcheck.engine")
DEFAULT_IDLE_DAYS = 14.0
_REASON_LISTS = {"advisories", "reasons", "guidelines"}
_ANSWERS = {"answers"}


class Engine:
    """Runs checks for every channel. Turns of one conversation never interleave."""

    def __init__(
        self,
        rules: RuleSet,
        storage: Storage,
        *,
        places: PlaceIndex | asyncio.Future[PlaceIndex] | None = None,
        idle_days: float = DEFAULT_IDLE_DAYS,
        default_lang: str = "sv",
        clock: Callable[[], float] = time.time,
        decision_log: DecisionLog | None = None,
        admins: Mapping[str, frozenset[str]] | None = None,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self.rules = rules
        # Public: channels report their platform's failed and throttled calls to it.
        self.observer = observer
        self.storage = storage
        # The place index may still be loading (seconds on a first start): the questions before
        # the destination do not need it, so the bot need not wait for it.
        self._places_loading: asyncio.Future[PlaceIndex] | None = None
        ready: PlaceIndex | None = None
        if isinstance(places, asyncio.Future):
            self._places_loading = places
        else:
            ready = places
        self.interpreter = Interpreter(rules, ready)
        self.dialogue = Dialogue(rules, self.interpreter, idle_days * 86400)
        self.followups = FollowUps(rules)
        self.default_lang = "en" if default_lang == "en" else "sv"
        self.clock = clock
        self.admin = (
            AdminCommands(rules, decision_log, admins or {}) if decision_log is not None else None
        )
        self._lock: KeyedLocks[ConversationKey] = KeyedLocks()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle(
        self,
        key: ConversationKey,
        incoming: Incoming,
        *,
        role: Role = "employee",
        opening: bool = False,
    ) -> TurnResult:
        """Handles one incoming message: the replies, whether it was taken, the language.
        Never raises for bad input."""
        started = time.perf_counter()
        result: TurnResult | None = None
        try:
            async with self._turn_slot(key):
                result = await self._guarded(key, incoming, role, opening)
                return result
        finally:
            self._observe(key.channel, result, time.perf_counter() - started)
            # One line per handled message; never the message text, and no user id in clear.
            if log.isEnabledFor(logging.INFO):
                self._log_turn(key, incoming, result.replies if result else (), started)

    def _turn_slot(self, key: ConversationKey) -> _TurnSlot:
        """Holds the conversation's lock and counts the turn as in flight, so that `drain`
        waits for it."""
        return _TurnSlot(self, self._lock(key))

    @staticmethod
    def _log_turn(
        key: ConversationKey, incoming: Incoming, replies: tuple[Outgoing, ...], started: float
    ) -> None:
        log.info(
            "turn",
            extra={
                "channel": key.channel,
                "user": pseudonym(key.user),
                "kind": "choice" if incoming.choice is not None else "text",
                "replies": [r.type for r in replies],
                "step": next((r.step for r in reversed(replies) if r.step), None),
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )

    def _observe(self, channel: str, result: TurnResult | None, seconds: float) -> None:
        # Counted from the result, so a decision counts once its turn has committed.
        self.observer.turn(channel, result.step if result else None, seconds)
        for reply in result.replies if result else ():
            if reply.type == "decision" and reply.decision is not None:
                self.observer.decision(channel, str(reply.decision["outcome"]))

    async def drain(self) -> None:
        """Waits until no turn is being handled (graceful shutdown)."""
        await self._idle.wait()

    async def _guarded(
        self, key: ConversationKey, incoming: Incoming, role: Role, opening: bool
    ) -> TurnResult:
        lang = self._lang(incoming)
        try:
            return await self._handle(key, incoming, role, opening)
        except StorageError as error:
            log.error("storage unavailable: %s", error)
            self.observer.storage_error()
            failed = Outgoing("error", self.rules.text("error.storage", lang))
        except Exception:
            # A bug must not cost the user their answers: the saved state is untouched.
            log.exception(
                "turn failed", extra={"channel": key.channel, "user": pseudonym(key.user)}
            )
            failed = Outgoing("error", self.rules.text("error.internal", lang))
        return TurnResult((failed,), taken=False, lang=lang)

    async def open(
        self, key: ConversationKey, *, lang: str | None = None, role: Role = "employee"
    ) -> TurnResult:
        """For channels where the bot speaks first: the open question, or a new check."""
        hint: Lang | None = "en" if lang == "en" else "sv" if lang == "sv" else None
        return await self.handle(key, Incoming(lang=hint), role=role, opening=True)

    async def conversation_lang(self, key: ConversationKey) -> Lang:
        """The language a conversation is held in (the default for a new one)."""
        state = await self.storage.load_conversation(key)
        return state.lang if state is not None else self._lang(Incoming())

    # --- what channels may ask besides a turn --------------------------------------------

    def text(self, text_id: str, lang: Lang, /, **values: object) -> str:
        """A text of the rule set in `lang` (a channel's own labels, e.g. "Done")."""
        return self.rules.text(text_id, lang, **values)

    @property
    def rules_version(self) -> str:
        return self.rules.version

    async def claim_delivery(self, source: str, delivery_id: str) -> bool:
        """False for a platform delivery seen before (a retry), so it is handled once. When
        storage is down the delivery is handled anyway: the turn then says so to the user."""
        try:
            return await self.storage.claim_delivery(source, delivery_id, self.clock())
        except StorageError as error:
            log.warning("%s delivery not recorded: %s", source, error)
            return True

    async def recent_decisions(
        self, channel: str, user_id: str, limit: int = 10
    ) -> list[StoredDecision]:
        """A user's latest decisions on a channel, newest first."""
        return await self.storage.recent_decisions(channel, user_id, limit)

    async def is_for_bot(self, key: ConversationKey, text: str) -> bool:
        """Whether a message in a shared thread is for the bot: the user's check there is
        going on, the text asks for a new one, or for the details of the decision or its
        summary to share. Other talk is left alone."""
        state = await self.storage.load_conversation(key)
        if state is None:
            return False
        if (
            state.in_progress
            or self.dialogue.asks_for_new_check(text)
            or request_of(text, self.rules.short_decision) is not None
        ):
            return True
        return await self._answers_followup(key, text)

    async def _answers_followup(self, key: ConversationKey, text: str) -> bool:
        """Whether `text` answers a follow-up asked in this conversation."""
        policy = self.followups.policy
        if policy is None or key.channel not in policy.channels or policy.read(text) is None:
            return False
        async with self.storage.turn(key) as tx:
            followup = await tx.open_followup()
        return followup is not None and self.followups.fresh(followup, self.clock())

    # --- follow-ups (tripcheck/followups.py sends them; channels give references) -------

    async def followup_message(self, followup: FollowUp) -> Outgoing | None:
        """The question to send for a due follow-up; None when its decision is gone."""
        decision = await self.storage.get_decision(followup.decision_id)
        if decision is None or decision.purged_at is not None:
            return None
        return self.followups.question(followup, decision)

    async def followup_reference(
        self, key: ConversationKey, decision_id: int, reference: dict[str, str]
    ) -> None:
        """A channel that needs more than the conversation to write to the person later
        (Teams: its serviceUrl, conversation and tenant) gives it with each decision."""
        try:
            await self.storage.set_followup_reference(key, decision_id, reference)
        except StorageError as error:
            log.warning("follow-up reference not kept: %s", error)

    async def ready(self) -> None:
        """Raises StorageError when storage cannot be used (the readiness probe)."""
        await self.storage.ping()

    async def close(self) -> None:
        """Releases storage; call after drain()."""
        await self.storage.close()

    def _lang(self, incoming: Incoming) -> Lang:
        return "en" if (incoming.lang or self.default_lang) == "en" else "sv"

    async def _handle(
        self, key: ConversationKey, incoming: Incoming, role: Role, opening: bool
    ) -> TurnResult:
        # Waiting for the place index must not hold the conversation's lock, which on SQLite
        # is the whole file's write lock for every process.
        await self._places_before_turn(key)
        # One transaction per turn, holding the conversation's lock across processes: no
        # turn is lost or applied twice, and a check makes one decision.
        async with self.storage.turn(key) as tx:
            return await self._in_turn(tx, key, incoming, role, opening)

    async def _in_turn(
        self,
        tx: StorageTurn,
        key: ConversationKey,
        incoming: Incoming,
        role: Role,
        opening: bool,
    ) -> TurnResult:
        state = await tx.load()
        if state is None:
            state = ConversationState(lang=self._lang(incoming), role=role)
        if self.admin is not None and not opening:
            # Admin commands leave the user's check as it is.
            answer = await self.admin.answer(key, incoming.text, state.lang, self.clock())
            if answer is not None:
                return TurnResult(tuple(answer), taken=True, lang=state.lang)
        if not opening:
            followup = await self.followups.answer(tx, state, incoming, self.clock())
            if followup is not None:
                if state.in_progress:
                    # Pressed in the middle of a check: its open question comes again.
                    followup.out.extend(self.dialogue.open(state, self.clock(), None).out)
                    await tx.save(state)
                step = self.dialogue.step_id(state)
                return TurnResult(tuple(followup.out), followup.taken, state.lang, step)
            shown = await self._about_last_decision(tx, state, incoming)
            if shown is not None:
                return shown
        last_department = last_travellers = None
        if not state.in_progress and role == "employee":
            last_department = await tx.last_department()
            last = await tx.last_decision()
            last_travellers = self.dialogue.travellers_of(last.answers if last else None)
        now = self.clock()
        if opening:
            turn = self.dialogue.open(state, now, last_department, incoming.lang, last_travellers)
        else:
            turn = self.dialogue.handle(state, incoming, now, last_department, last_travellers)
        if turn.wants_status:
            turn.out.insert(0, await self._status(tx, state))
        if turn.decision is not None:
            turn.out.extend(await self._record(tx, key, state, turn, now))
        else:
            await tx.save(state)
        open_step = self.dialogue.step_id(state)
        return TurnResult(tuple(turn.out), taken=turn.taken, lang=state.lang, step=open_step)

    async def _about_last_decision(
        self, tx: StorageTurn, state: ConversationState, incoming: Incoming
    ) -> TurnResult | None:
        """ "varför?"/"details" or "dela"/"share" once no check is going on, typed or pressed
        under the latest decision: its details, or its summary to share. None for anything
        else, which the dialogue handles (a press under an older decision is a stale button)."""
        if state.in_progress:
            return None
        render = self.dialogue.render
        if incoming.choice is not None:
            wanted = incoming.choice if incoming.choice in (DETAILS_CHOICE, SHARE_CHOICE) else None
        else:
            wanted = request_of(incoming.text or "", self.rules.short_decision)
        if wanted is None:
            return None
        last = await tx.last_decision()
        pressed_elsewhere = incoming.choice is not None and incoming.step not in (
            None,
            decision_step(last.id if last is not None else None),
        )
        if pressed_elsewhere:
            return None
        if last is None:
            reply = render.message("decision.none", state.lang)
        else:
            decision, answers = recorded(last)
            if wanted == DETAILS_CHOICE:
                reply = render.details(decision)
            else:
                reply = render.share(decision, answers, last.title)
        return TurnResult((reply,), taken=True, lang=state.lang)

    async def _places_before_turn(self, key: ConversationKey) -> None:
        """Takes the place index once it has loaded, waiting only when this turn needs it."""
        loading = self._places_loading
        if loading is None:
            return
        if not loading.done():
            state = await self.storage.load_conversation(key)
            asking = state.pending.field if state and state.pending else state and state.step
            # A first message may name the place ("Studiebesök i Bologna med SERN").
            starting = state is None or not state.in_progress
            if asking not in ("destination", "guests_from") and not starting:
                return
        self._places_loading = None
        try:
            self.interpreter.places = await loading
        except Exception:
            log.exception("the place index could not be loaded; going on without places")

    async def _record(
        self,
        tx: StorageTurn,
        key: ConversationKey,
        state: ConversationState,
        turn: Turn,
        now: float,
    ) -> list[Outgoing]:
        decision = turn.decision
        assert decision is not None
        record = self._record_of(key, state, decision, now)
        due_at = self.followups.due_at(key, self.followups.when(state), now)
        answers = state.values()
        self.dialogue.finish(state)
        decision_id = await tx.record_decision(record, state)
        if due_at is not None:
            await tx.schedule_followup(decision_id, due_at, state.lang)
        recorded = decision.model_copy(update={"id": decision_id})
        saved = self.rules.text("saved", state.lang, id=decision_id, version=decision.rules_version)
        return [self.dialogue.render.decision(recorded, answers), Outgoing("message", saved)]

    def _record_of(
        self, key: ConversationKey, state: ConversationState, decision: Decision, now: float
    ) -> DecisionRecord:
        answers = state.answers

        def label(field: str) -> str:
            return answers[field].label if field in answers else ""

        when = self.followups.when(state)
        motivation = answers["motivation"].value if "motivation" in answers else None
        # Each nested part dumped in one call, and the record built without validating again
        # what the decision's and the state's models validated (half the cost of this).
        nested = decision.model_dump(include=_REASON_LISTS)
        dumped_answers = state.model_dump(include=_ANSWERS)["answers"]

        return DecisionRecord.model_construct(
            channel=key.channel,
            chat=key.chat,
            user_id=key.user,
            role=state.role,
            created_at=now,
            lang=state.lang,
            kind=str(answers["kind"].value),
            title=label("title"),
            department=label("department"),
            partner=label("partner"),
            partner_id=decision.partner,
            destination=label("destination"),
            outcome=decision.outcome,
            focus_area=decision.focus_area,
            advisories=list(nested["advisories"]),
            reasons=list(nested["reasons"]),
            guidelines=list(nested["guidelines"]),
            answers=dumped_answers,
            rules_version=decision.rules_version,
            transcript=list(state.transcript),
            co2=decision.co2,
            happens_on=when.start.isoformat() if when is not None else None,
            happens_precision=when.precision if when is not None else None,
            motivation=str(motivation) if motivation else None,
        )

    async def _status(self, tx: StorageTurn, state: ConversationState) -> Outgoing:
        last = await tx.last_decision()
        if last is None:
            return Outgoing("message", self.rules.text("status.none", state.lang))
        date = datetime.fromtimestamp(last.created_at, UTC).date().isoformat()
        outcome = self.rules.text(f"outcome.{last.outcome}", state.lang)
        text = self.rules.text(
            "status.last", state.lang, id=last.id, title=last.title, outcome=outcome, date=date
        )
        return Outgoing("message", text)

    # --- the check as a form (bot/forms.py) ----------------------------------------------

    @cached_property
    def forms(self) -> FormReader:
        return FormReader(self.rules, self.interpreter, self.dialogue.render)

    def asks_for_form(self, text: str) -> bool:
        """Whether a message asks for the check as a form ("formulär", "form")."""
        return asks_for_form(self.rules, text)

    async def form(
        self,
        key: ConversationKey,
        lang: Lang,
        values: Mapping[str, str] | None = None,
        *,
        role: Role = "employee",
    ) -> Form:
        """The form for `values` (prefilled or as filled in so far): every field that applies,
        the department of the user's last check offered."""
        last_department = None
        if role == "employee":
            try:
                last_department = await self.storage.last_department(key)
            except StorageError as error:
                log.warning("last department unavailable: %s", error)
        return self.forms.form(values or {}, lang, role, last_department)

    def suggest(self, field: str, query: str, lang: Lang) -> tuple[Suggestion, ...]:
        """Typeahead options for a partner or place field, as the chat would read `query`."""
        return self.forms.suggest(field, query, lang)

    def prefill(self, text: str, lang: Lang) -> dict[str, str]:
        """Form values from a message: its text as the title, and every field the
        one-sentence reader finds in it."""
        title = clean(text)[:MAX_TITLE].strip()
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        values: dict[str, str] = {}
        try:
            reading = read_sentence(title, lang, self.interpreter, today)
        except Exception:
            # A message the reader trips on still makes a form, only emptier.
            log.exception("the sentence reader failed on a message")
            return {"title": title} if title else {}
        for name in reading:
            found = reading.get(name)
            if name in FIELD and found is not None:
                values[name] = found.raw
        if title:
            values["title"] = title
        return values

    async def submit_form(
        self,
        key: ConversationKey,
        lang: Lang,
        values: Mapping[str, str],
        *,
        role: Role = "employee",
    ) -> FormResult:
        """Reads every field with the chat's interpreter; with an error in any, records
        nothing and says why, field by field, in `lang`. Otherwise the check is saved as the
        chat saves it (the same dialogue step and record, in one storage turn) and the result
        carries the decision's replies."""
        started = time.perf_counter()
        result: FormResult | None = None
        try:
            async with self._turn_slot(key):
                result = await self._submit_form(key, lang, values, role)
                return result
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "form",
                    extra={
                        "channel": key.channel,
                        "user": pseudonym(key.user),
                        "errors": sorted(result.errors) if result else None,
                        "recorded": result.recorded if result else False,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )

    async def _submit_form(
        self, key: ConversationKey, lang: Lang, values: Mapping[str, str], role: Role
    ) -> FormResult:
        await self._places_for_form()
        form = await self.form(key, lang, values, role=role)
        reading = self.forms.read(values, lang, role, complete=True)
        if reading.errors:
            return FormResult(form, reading.errors)
        now = self.clock()
        try:
            async with self.storage.turn(key) as tx:
                last_department = await tx.last_department() if role == "employee" else None
                state = ConversationState(
                    lang=lang,
                    role=role,
                    phase="confirm",
                    answers=reading.answers,
                    order=list(reading.answers),
                    started_at=now,
                    updated_at=now,
                    last_department=last_department,
                )
                typed = "; ".join(f"{name}: {a.raw}" for name, a in reading.answers.items())
                state.note(now, "form", typed)
                # Saved as the chat saves a check: the summary's Save, then the same record.
                save = Incoming(choice="save", step="confirm", lang=lang)
                try:
                    turn = self.dialogue.handle(state, save, now, last_department)
                except ValidationError as error:
                    return FormResult(form, self._form_errors(error, lang))
                if turn.decision is None:
                    said = " ".join(reply.text for reply in turn.out if reply.type == "hint")
                    message = said or self.rules.text("forms.invalid", lang)
                    return FormResult(form, {"": FieldError(message)})
                replies = await self._record(tx, key, state, turn, now)
        except StorageError as error:
            log.error("storage unavailable: %s", error)
            failed = Outgoing("error", self.rules.text("error.storage", lang))
            return FormResult(form, replies=(failed,), failed=True)
        decision = next((r.decision for r in replies if r.decision is not None), None)
        decision_id = decision.get("id") if decision is not None else None
        return FormResult(
            form, replies=tuple(replies), decision_id=int(decision_id) if decision_id else None
        )

    def _form_errors(self, error: ValidationError, lang: Lang) -> dict[str, FieldError]:
        """A check the model refuses, by field (the interpreter lets hardly anything by)."""
        invalid = FieldError(self.rules.text("forms.invalid", lang))
        return {str(item["loc"][0]) if item["loc"] else "": invalid for item in error.errors()}

    async def _places_for_form(self) -> None:
        """A form names its place at once: it waits for the place index like the chat's
        destination question."""
        loading = self._places_loading
        if loading is None:
            return
        self._places_loading = None
        try:
            self.interpreter.places = await loading
        except Exception:
            log.exception("the place index could not be loaded; going on without places")


class _TurnSlot:
    """Engine._turn_slot as a plain class: a generator-based context manager costs several
    times more, on every turn."""

    __slots__ = ("_engine", "_lock")

    def __init__(self, engine: Engine, lock: asyncio.Lock) -> None:
        self._engine = engine
        self._lock = lock

    async def __aenter__(self) -> None:
        engine = self._engine
        engine._in_flight += 1
        engine._idle.clear()
        try:
            await self._lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        engine = self._engine
        engine._in_flight -= 1
        if engine._in_flight == 0:
            engine._idle.set()
