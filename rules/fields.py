"""One table of the check's questions: how each is answered, what it offers, what is said
back, and when it is asked. The interpreter, the renderer, the dialogue and the batch reader
all read this table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

# How a typed answer is read (the interpreter's parser for it).
AnswerKind = Literal[
    "kind",
    "title",
    "department",
    "partner",
    "place",
    "yes_no",
    "presence",
    "goals",
    "count",
    "mode",
    "when",
    "sentence",
]
# Which buttons the question shows.
Offer = Literal[
    "none",
    "yes_no",
    "presence",
    "kinds",
    "modes",
    "goals",
    "no_partner",
    "partner_home",
    "last_department",
    "last_travellers",
    "unknown",
]
# What is said back once it is answered, so a wrong match is caught early.
Echo = Literal["none", "partner", "place", "climate"]
# When the question is asked at all (besides the journey rule below).
Condition = Literal[
    "always",
    "dormant_partner",
    "hosted",
    "no_checklist_yes_before",
    "checklist_yes",
    "qualifies",
    "presence_not_needed",
    "qualifying_project",
    "plan_asks",
]
# Whose journey the question is about: `staff` questions are not asked for a digital meeting
# or a hosted activity; `meeting` questions are not asked for a digital meeting.
Journey = Literal["any", "meeting", "staff"]


@dataclass(frozen=True)
class Field:
    """One question of the check."""

    name: str
    answer: AnswerKind
    offer: Offer = "none"
    # Typing is the usual answer; the buttons are only shortcuts.
    free_text: bool = False
    multi: bool = False
    echo: Echo = "none"
    when: Condition = "always"
    journey: Journey = "any"
    # What an answer left empty means where a default makes sense (a batch file's column).
    default: str | None = None
    # May be left unanswered ("vet inte", skip): the check is decided without it.
    optional: bool = False
    # False: never asked on its own; the summary offers it and it is read wherever typed
    # (an optional date should not cost an answer).
    asked: bool = True
    # Another field one answer to this question may settle too: "nej, det går digitalt" says
    # that presence is not necessary and that a digital option exists.
    settles: str | None = None
    # Fields with the same `together` group are asked as one tick list while two or more of
    # them are open ("Vilket av detta stämmer?"): each is yes when ticked, no when not.
    together: str | None = None


# The one tick list of the check: what the plan asks to have been prepared.
PREPARED = "prepared"

# In the order the conversation asks them; also the batch file's columns.
TABLE: tuple[Field, ...] = (
    Field("kind", "kind", offer="kinds"),
    Field("title", "title", free_text=True),
    Field("department", "department", offer="last_department", free_text=True),
    Field("partner", "partner", offer="no_partner", free_text=True, echo="partner", default="none"),
    Field("dormant_resumed", "yes_no", offer="yes_no", when="dormant_partner", default="no"),
    Field("destination", "place", offer="partner_home", free_text=True, echo="place"),
    Field("guests_from", "place", free_text=True, echo="place", when="hosted"),
    Field(
        "when",
        "when",
        offer="unknown",
        free_text=True,
        default="unknown",
        optional=True,
        asked=False,
    ),
    # One yes is enough for the checklist: the questions after it are not asked.
    Field("contributes_development", "yes_no", offer="yes_no"),
    Field("external_monitoring", "yes_no", offer="yes_no", when="no_checklist_yes_before"),
    Field("influence", "yes_no", offer="yes_no", when="no_checklist_yes_before"),
    # With no checklist yes, or no goal, the check does not qualify: nothing more is asked.
    Field("goals", "goals", offer="goals", multi=True, when="checklist_yes"),
    Field(
        "physical_necessary",
        "presence",
        offer="presence",
        when="qualifies",
        journey="meeting",
        settles="digital_alternative",
    ),
    Field(
        "digital_alternative",
        "yes_no",
        offer="yes_no",
        when="presence_not_needed",
        journey="meeting",
    ),
    Field(
        "travellers",
        "count",
        offer="last_travellers",
        free_text=True,
        when="qualifies",
        journey="staff",
    ),
    Field("travel_mode", "mode", offer="modes", echo="climate", when="qualifies", journey="staff"),
    # What the plan asks to have been done: advisories, not the outcome, hang on them.
    Field("equality_considered", "yes_no", offer="yes_no", when="qualifies", together=PREPARED),
    Field(
        "eu_funding_checked",
        "yes_no",
        offer="yes_no",
        when="qualifying_project",
        together=PREPARED,
    ),
    Field("in_annual_plan", "yes_no", offer="yes_no", when="qualifies", together=PREPARED),
    # Asked only where the plan asks for a reason (outside the focus areas, a flight with a
    # reasonable lower-carbon mode): the dialogue decides that from the evaluated check.
    Field("motivation", "sentence", free_text=True, when="plan_asks"),
)
FIELD: dict[str, Field] = {f.name: f for f in TABLE}
FIELDS: tuple[str, ...] = tuple(f.name for f in TABLE)
# Each tick list's fields, in the table's order.
GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(f.name for f in TABLE if f.together == group)
    for group in dict.fromkeys(f.together for f in TABLE if f.together)
}
CHECKLIST: tuple[str, ...] = ("contributes_development", "external_monitoring", "influence")
YES_NO_FIELDS = frozenset(f.name for f in TABLE if f.answer == "yes_no")


def qualifies(answers: Mapping[str, Any]) -> bool:
    """Whether the answers so far show added value: a checklist yes and at least one goal."""
    return any(answers.get(field) is True for field in CHECKLIST) and bool(answers.get("goals"))


def _value(answers: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    """An answer that is a record (partner, place), as a mapping; {} when unset."""
    value: Any = answers.get(field)
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value if isinstance(value, Mapping) else {}


def is_digital(answers: Mapping[str, Any]) -> bool:
    """Whether the place given is a digital meeting ("Teams"): no trip at all."""
    return _value(answers, "destination").get("kind") == "digital"


def is_hosted(answers: Mapping[str, Any]) -> bool:
    """Whether the activity takes place in Luleå itself: we host it, nobody of ours travels."""
    return bool(_value(answers, "destination").get("hosted"))


_CONDITIONS: dict[Condition, Callable[[Mapping[str, Any]], bool]] = {
    "always": lambda answers: True,
    "dormant_partner": lambda answers: bool(_value(answers, "partner").get("dormant")),
    "hosted": is_hosted,
    "checklist_yes": lambda answers: any(answers.get(f) is True for f in CHECKLIST),
    "qualifies": qualifies,
    "presence_not_needed": lambda answers: (
        qualifies(answers) and answers.get("physical_necessary") in ("no", "unsure")
    ),
    "qualifying_project": lambda answers: qualifies(answers) and answers.get("kind") == "project",
    # Whether the plan asks for a reason needs the evaluated check: the dialogue asks it then,
    # and an answer given is kept.
    "plan_asks": lambda answers: answers.get("motivation") is not None,
}


def applies(field: str, answers: Mapping[str, Any]) -> bool:
    """Whether `field` is asked, given the answers so far. Travel details only when they matter:
    never for a digital meeting; for a hosted one, presence and the digital option only."""
    spec = FIELD[field]
    if spec.journey != "any" and is_digital(answers):
        return False
    if spec.journey == "staff" and is_hosted(answers):
        return False
    if spec.when == "no_checklist_yes_before":
        before = CHECKLIST[: CHECKLIST.index(field)]
        return not any(answers.get(f) is True for f in before)
    return _CONDITIONS[spec.when](answers)
