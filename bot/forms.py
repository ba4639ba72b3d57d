"""The check as one form: every question of the field table at once, typeahead for partner and
place, and a whole submission read with the chat's interpreter.

Platform-neutral: a channel shows a `Form` (the fields that apply, given the values so far) and
sends back the values as typed or chosen, one string per field. Options offered by `suggest`
carry a value of their own (`pick`), so that choosing one means what choosing that option in the
chat's "did you mean" would: the text is read again by the interpreter, never trusted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.dialogue import clean
from bot.messages import Choice, Outgoing
from bot.render import Renderer
from bot.state import Answer, ConversationState, Role
from rules.answers import Accepted, Ambiguous, Interpreter, Parsed, Rejected
from rules.check import Destination, PartnerRef
from rules.fields import FIELD, TABLE, applies
from rules.fields import Field as FieldSpec
from rules.footprint import refusal_text
from rules.matching import normalize
from rules.models import Lang
from rules.ruleset import RuleSet

# Answer kinds typed as a name and matched: offered as typeahead.
TYPEAHEAD = frozenset({"partner", "place"})
# An option's value: "tc-pick:<how>:<text>", how being "=" (the text as read), "~" (the text
# kept as typed) or the number of a did-you-mean option.
PICK_PREFIX = "tc-pick:"
# Slack shows at most 100 options; a short list reads better.
MAX_SUGGESTIONS = 20
# The longest value an option may carry (Slack's limit for an option value).
MAX_PICK_VALUE = 150


@dataclass(frozen=True)
class Suggestion:
    """An option of a typeahead field: what it shows and the value sent back."""

    label: str
    value: str


@dataclass(frozen=True)
class FormField:
    """One question of the form, as it is now: its label and hint, its choices (closed
    questions), whether it is typed or picked from suggestions, and its current value."""

    name: str
    label: str
    hint: str
    choices: tuple[Choice, ...]
    free_text: bool
    multi: bool
    typeahead: bool
    required: bool
    value: str = ""
    # The option shown as chosen in a typeahead field (its value is `value`).
    selected: Suggestion | None = None


@dataclass(frozen=True)
class FieldError:
    """Why a field's value cannot be taken, and the options when it could mean several."""

    message: str
    options: tuple[Suggestion, ...] = ()


@dataclass(frozen=True)
class Form:
    """The form in `lang`: its texts and the fields that apply given the values."""

    lang: Lang
    title: str
    submit: str
    close: str
    intro: str
    # Placeholders of a menu to choose from and of a typeahead.
    choose: str
    search: str
    fields: tuple[FormField, ...]


@dataclass
class Reading:
    """A form's values read in table order: the answers taken, the errors, and which fields
    apply given the answers before them."""

    answers: dict[str, Answer] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)
    applicable: list[str] = field(default_factory=list)

    def values(self) -> dict[str, object]:
        return {name: answer.value for name, answer in self.answers.items()}


def pick(how: str, text: str) -> str:
    """An option's value; over-long text is cut (the option then means the text as typed)."""
    value = f"{PICK_PREFIX}{how}:{text}"
    return value[:MAX_PICK_VALUE]


def unpick(value: str) -> tuple[str | None, str]:
    """(how, text) of an option's value; (None, value) for a value as typed."""
    if not value.startswith(PICK_PREFIX):
        return None, value
    how, _, text = value[len(PICK_PREFIX) :].partition(":")
    return how, text


class FormReader:
    """Reads and lays out forms with the chat's interpreter and texts."""

    def __init__(self, rules: RuleSet, interpreter: Interpreter, render: Renderer) -> None:
        self.rules = rules
        self.interpreter = interpreter
        self.render = render

    # --- reading ------------------------------------------------------------------------

    def read(self, values: Mapping[str, str], lang: Lang, role: Role, *, complete: bool) -> Reading:
        """Every field that applies given the answers before it, read as the chat reads a
        typed answer; `complete` asks for every field that must be answered (an empty one is
        an error)."""
        reading = Reading()
        for spec in TABLE:
            if not applies(spec.name, reading.values()):
                continue
            reading.applicable.append(spec.name)
            raw = clean(values.get(spec.name) or "")
            if not raw and _optional(spec):
                continue  # left unanswered, as in the chat (the date not given)
            if not raw:
                raw = spec.default or ""
            if not raw:
                if complete and not _optional(spec):
                    reading.errors[spec.name] = FieldError(self._t("forms.required", lang))
                continue
            taken = self._read_field(spec, raw, lang, role, reading)
            if isinstance(taken, FieldError):
                reading.errors[spec.name] = taken
            else:
                reading.answers[spec.name] = taken
        return reading

    def _read_field(
        self, spec: FieldSpec, raw: str, lang: Lang, role: Role, reading: Reading
    ) -> Answer | FieldError:
        how, text = unpick(raw)
        parsed = self._parse(spec.name, text, lang, role)
        taken: Accepted | None = None
        if isinstance(parsed, Rejected):
            return FieldError(self._t(parsed.hint, lang))
        if isinstance(parsed, Accepted):
            taken = parsed
        elif how == "~":
            taken = parsed.typed
        elif how is not None and how.isdigit() and int(how) < len(parsed.options):
            taken = parsed.options[int(how)].answer
        if taken is None:
            assert isinstance(parsed, Ambiguous)
            options = self._options(spec.name, text, parsed, lang)
            names = ", ".join(option.label for option in options)
            return FieldError(self._t("forms.ambiguous", lang, options=names), options)
        refused = self._refusal(spec, taken, reading, lang)
        if refused is not None:
            return FieldError(refused)
        return Answer(raw=text, value=taken.value, label=taken.label)

    def _parse(self, name: str, text: str, lang: Lang, role: Role) -> Parsed:
        # A partner contact names their own organisation where an employee names a department.
        as_field = "organisation" if name == "department" and role == "partner_contact" else name
        return self.interpreter.parse(as_field, text, lang)

    def _refusal(
        self, spec: FieldSpec, taken: Accepted, reading: Reading, lang: Lang
    ) -> str | None:
        """Why a travel mode cannot be taken to the place given (as the chat says it)."""
        if spec.answer != "mode":
            return None
        destination = reading.answers.get("destination")
        place = Destination.model_validate(destination.value) if destination else None
        return refusal_text(place, str(taken.value), self.rules, lang)

    # --- typeahead ----------------------------------------------------------------------

    def suggest(self, name: str, query: str, lang: Lang) -> tuple[Suggestion, ...]:
        """Options for a typeahead field (partner, place) as the user types: what the
        interpreter reads in the text (each reading of an ambiguous one, and the text as
        typed where the field takes free text), then the partners whose names contain it."""
        spec = FIELD.get(name)
        if spec is None or spec.answer not in TYPEAHEAD:
            return ()
        query = clean(query)
        found: list[Suggestion] = []
        if query:
            parsed = self.interpreter.parse(name, query, lang)
            if isinstance(parsed, Accepted):
                found.append(Suggestion(parsed.label, pick("=", query)))
            elif isinstance(parsed, Ambiguous):
                found.extend(self._options(name, query, parsed, lang))
        if spec.answer == "partner":
            found.extend(self._partners_named(query, lang))
        unique: dict[str, Suggestion] = {}
        for option in found:
            # The first of options shown alike: what the interpreter read in the text.
            unique.setdefault(option.label, option)
        return tuple(unique.values())[:MAX_SUGGESTIONS]

    def _options(
        self, name: str, text: str, parsed: Ambiguous, lang: Lang
    ) -> tuple[Suggestion, ...]:
        """The readings of an ambiguous text as options, then the text as typed (unless
        the text names several partners: then one of them leads)."""
        options = [
            Suggestion(option.answer.label, pick(str(number), text))
            for number, option in enumerate(parsed.options)
        ]
        several = name == "partner" and all(
            PartnerRef.model_validate(o.answer.value).others for o in parsed.options
        )
        if not several:
            keep = self.render.t("forms.keep_typed", lang, text=parsed.typed.label)
            options.append(Suggestion(keep, pick("~", text)))
        return tuple(options)

    def _partners_named(self, query: str, lang: Lang) -> list[Suggestion]:
        """No partner, then the plan's partners whose name (or an alias) contains the query."""
        wanted = normalize(query)
        found = []
        none_label = self.render.t("partner.none", lang)
        if not wanted or wanted in normalize(none_label):
            found.append(Suggestion(none_label.capitalize(), pick("=", "none")))
        for partner in sorted(self.rules.partners, key=lambda p: normalize(p.name(lang))):
            names = (partner.name(lang), *partner.aliases)
            if not wanted or any(wanted in normalize(n) for n in names):
                found.append(Suggestion(partner.name(lang), pick("=", partner.name(lang))))
        return found

    def selected(self, name: str, value: str, lang: Lang, role: Role) -> Suggestion | None:
        """The option a typeahead field shows for `value` (prefilled or chosen before)."""
        how, text = unpick(value)
        if not text:
            return None
        parsed = self._parse(name, text, lang, role)
        if isinstance(parsed, Accepted):
            return Suggestion(parsed.label, pick("=", text))
        if isinstance(parsed, Ambiguous):
            options = self._options(name, text, parsed, lang)
            chosen = next((o for o in options if unpick(o.value)[0] == how), None)
            return chosen
        return None

    # --- layout -------------------------------------------------------------------------

    def form(
        self,
        values: Mapping[str, str],
        lang: Lang,
        role: Role,
        last_department: str | None = None,
    ) -> Form:
        """The form for `values`: the fields that apply, in table order, with their values."""
        reading = self.read(values, lang, role, complete=False)
        state = ConversationState(
            lang=lang, role=role, answers=reading.answers, last_department=last_department
        )
        fields = []
        for name in reading.applicable:
            spec = FIELD[name]
            value = values.get(name) or ""
            if not value and name == "department" and last_department and role == "employee":
                value = last_department
            fields.append(self._field(spec, state, value))
        return Form(
            lang=lang,
            title=self._t("forms.title", lang),
            submit=self._t("forms.submit", lang),
            close=self._t("forms.close", lang),
            intro=self._t("forms.intro", lang),
            choose=self._t("forms.placeholder.choose", lang),
            search=self._t("forms.placeholder.search", lang),
            fields=tuple(fields),
        )

    def _field(self, spec: FieldSpec, state: ConversationState, value: str) -> FormField:
        lang = state.lang
        question = self.render.question(spec.name, state, together=False)
        typeahead = spec.answer in TYPEAHEAD
        choices = () if spec.free_text or typeahead else question.choices
        label = self.render.field_label(spec.name, state)
        # The question, but not its list of choices (goals): the checkboxes show them.
        hint = question.text.split("\n", 1)[0]
        selected = self.selected(spec.name, value, lang, state.role) if typeahead else None
        if choices and not spec.multi:
            value = self._choice_for(spec.name, value, choices, lang, state.role)
        return FormField(
            name=spec.name,
            label=label,
            hint=hint,
            choices=choices,
            free_text=not choices and not typeahead,
            multi=spec.multi,
            typeahead=typeahead,
            required=not _optional(spec) and spec.default is None and not spec.multi,
            value=selected.value if selected is not None else value,
            selected=selected,
        )

    def _choice_for(
        self, name: str, value: str, choices: tuple[Choice, ...], lang: Lang, role: Role
    ) -> str:
        """The choice that means what `value` says ("flyga" → flight), else `value`."""
        if not value or any(c.value == value for c in choices):
            return value
        said = self._parse(name, value, lang, role)
        if not isinstance(said, Accepted):
            return value
        for choice in choices:
            means = self._parse(name, choice.value, lang, role)
            if isinstance(means, Accepted) and means.value == said.value:
                return choice.value
        return value

    def _t(self, text_id: str, lang: Lang, **values: object) -> str:
        return self.rules.text(text_id, lang, **values)


def _optional(spec: FieldSpec) -> bool:
    """Whether a field may be left unanswered (the table's `optional`, where it has one)."""
    return bool(getattr(spec, "optional", False))


def asks_for_form(rules: RuleSet, text: str) -> bool:
    """Whether `text` asks for the form ("formulär", "form"), in either language."""
    said = normalize(text.removeprefix("/"))
    words = {
        normalize(word)
        for lang in ("sv", "en")
        for word in rules.text("forms.command.words", lang).split(",")
    }
    return bool(said) and said in words


@dataclass(frozen=True)
class FormResult:
    """What a submission did: the errors by field (nothing recorded), or the decision's
    replies as the chat renders them. `form` is the form as it now is; `failed` says the
    system failed (storage down), nothing the user did."""

    form: Form
    errors: Mapping[str, FieldError] = field(default_factory=dict)
    replies: tuple[Outgoing, ...] = ()
    decision_id: int | None = None
    failed: bool = False

    @property
    def recorded(self) -> bool:
        return self.decision_id is not None
