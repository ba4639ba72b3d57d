"""A trip said in one sentence: what Tripcheck picks out, and what it must still ask; and a
correction typed in the middle of a check."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rules.answers import Accepted, Interpreter
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from rules.sentence import READ_FIELDS, Reading, read_correction, read_sentence

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def interpreter(rules: RuleSet, place_index: PlaceIndex) -> Interpreter:
    return Interpreter(rules, place_index)


def simple(name: str, value: Any) -> Any:
    """A found value as the table writes it: a partner's id, "Town, CC", "2027-03-12/day"."""
    if name == "partner":
        return value["id"]
    if name in ("destination", "guests_from"):
        if value["kind"] == "digital":
            return "digital"
        return f"{value['name']}, {value['country']}" + (" (hosted)" if value["hosted"] else "")
    if name == "when":
        return f"{value['start']}/{value['precision']}"
    return value


def picked(reading: Reading) -> dict[str, Any]:
    return {name: simple(name, reading.fields[name].value) for name in reading}


# Each opener with exactly what must be picked out; every other field of READ_FIELDS must
# still be asked (the test checks that it was not picked out).
OPENERS: list[tuple[Lang, str, dict[str, Any]]] = [
    (
        "sv",
        "Jag ska på Bottenviksbågens styrelsemöte i Uleåborg den 12 mars, vi är två och "
        "tänkte flyga",
        {
            "kind": "activity",
            "title": "Styrelsemöte med Bottenviksbågen i Uleåborg",
            "partner": "bothnian_arc",
            "destination": "Oulu, FI",
            "when": "2027-03-12/day",
            "travellers": 2,
            "travel_mode": "flight",
        },
    ),
    (
        "en",
        "Study visit to Bologna with SERN in May, three of us by train",
        {
            "kind": "activity",
            "title": "Study visit with SERN in Bologna",
            "partner": "sern",
            "destination": "Bologna, IT",
            "when": "2027-05-01/month",
            "travellers": 3,
            "travel_mode": "train",
        },
    ),
    (
        "sv",
        "Konferens i Tromsø med UiT i juni, jag och en kollega tar tåget",
        {
            "kind": "activity",
            "title": "Konferens med UiT Norges arktiske universitet i Tromsø",
            "partner": "uit",
            "destination": "Tromsø, NO",
            "when": "2027-06-01/month",
            "travellers": 2,
            "travel_mode": "train",
        },
    ),
    (
        "en",
        "Board meeting of the Arctic Mayors Forum in Bodø next week, just me, flying",
        {
            "kind": "activity",
            "title": "Board meeting with Arctic Mayors' Forum in Bodø",
            "partner": "arctic_mayors_forum",
            "destination": "Bodø, NO",
            "when": "2026-12-07/week",
            "travellers": 1,
            "travel_mode": "flight",
        },
    ),
    (
        "sv",
        "Studieresa till Kiruna med bil, vi är fyra",
        {
            "kind": "trip",
            "title": "Studieresa i Kiruna",
            "destination": "Kiruna, SE",
            "travellers": 4,
            "travel_mode": "car",
        },
    ),
    ("sv", "Hej, jag vill kolla en resa", {"kind": "trip"}),
    (
        "sv",
        "Workshop på Teams med UBC den 3 februari",
        {
            "kind": "activity",
            "title": "Workshop med UBC",
            "partner": "ubc",
            "destination": "digital",
            "when": "2027-02-03/day",
        },
    ),
    (
        "en",
        "Webinar with Covenant of Mayors on Teams",
        {
            "kind": "activity",
            "title": "Webinar with Covenant of Mayors",
            "partner": "covenant_of_mayors",
            "destination": "digital",
        },
    ),
    (
        "sv",
        "Resa till Uleåborg i maj",
        {
            "kind": "trip",
            "title": "Resa i Uleåborg",
            "partner": "oulu",
            "destination": "Oulu, FI",
            "when": "2027-05-01/month",
        },
    ),
    (
        "en",
        "Conference on climate and innovation in Brussels, 2027-03-12, two people",
        {
            "kind": "activity",
            "title": "Conference in Brussels",
            "destination": "Brussels, BE",
            "when": "2027-03-12/day",
            "travellers": 2,
            "goals": [5, 8],
        },
    ),
    (
        "sv",
        "Delegationsbesök från Zenica till Luleå i april",
        {
            "kind": "activity",
            "title": "Delegationsbesök med Zenica i Luleå",
            "partner": "zenica",
            "destination": "Luleå, SE (hosted)",
            "guests_from": "Zenica, BA",
            "when": "2027-04-01/month",
        },
    ),
    (
        "sv",
        "vi åker till Den Haag på en konferens om hälsa",
        {
            "kind": "activity",
            "title": "Konferens i Den Haag",
            "destination": "The Hague, NL",
            "goals": [1],
        },
    ),
    (
        "en",
        "We are 3 going to a trade fair in Gdańsk in October by ferry",
        {
            "kind": "activity",
            "title": "Trade fair in Gdańsk",
            "destination": "Gdańsk, PL",
            "when": "2027-10-01/month",
            "travellers": 3,
            "travel_mode": "ferry",
        },
    ),
    (
        "sv",
        "Mässa i Göteborg med Göteborg & Co, tre personer, tåg",
        {
            "kind": "activity",
            "title": "Mässa med Göteborg & Co i Göteborg",
            "partner": "goteborg_and_co",
            "destination": "Gothenburg, SE",
            "travellers": 3,
            "travel_mode": "train",
        },
    ),
    # "travel" here is a verb: the kind, but no title from it.
    (
        "en",
        "a colleague and I travel to Oslo",
        {"kind": "trip", "destination": "Oslo, NO", "travellers": 2},
    ),
    # "en grupp" is no count: the travellers are asked.
    ("sv", "Vi är en grupp som åker till Oslo", {"destination": "Oslo, NO"}),
    # Two partners: the user says which one leads.
    (
        "en",
        "Meeting with SERN and UBC in Bologna",
        {"kind": "activity", "title": "Meeting in Bologna", "destination": "Bologna, IT"},
    ),
    # Two places, or two modes: asked.
    ("sv", "Konferens i Oslo eller Stockholm", {"kind": "activity"}),
    ("sv", "Resa till Polen och Tyskland", {"kind": "trip"}),
    (
        "en",
        "trip to Kemi by train or plane",
        {"kind": "trip", "title": "Trip in Kemi", "partner": "kemi", "destination": "Kemi, FI"},
    ),
    (
        "en",
        "My colleague and I will fly to Copenhagen for a Nordic Council of Ministers meeting "
        "on 3 March",
        {
            "kind": "activity",
            "title": "Meeting with Nordic Council of Ministers in Copenhagen",
            "partner": "nordic_council_of_ministers",
            "destination": "Copenhagen, DK",
            "when": "2027-03-03/day",
            "travellers": 2,
            "travel_mode": "flight",
        },
    ),
    (
        "sv",
        "EU-projekt med Emilia-Romagna, resa till Bologna 12/3",
        {
            "kind": "project",
            "title": "EU-projekt med Emilia-Romagna i Bologna",
            "partner": "emilia_romagna",
            "destination": "Bologna, IT",
            "when": "2027-03-12/day",
        },
    ),
    # "business" of "business trip" is the kind, not goal 8.
    (
        "en",
        "business trip to Paris tomorrow",
        {
            "kind": "trip",
            "title": "Business trip in Paris",
            "destination": "Paris, FR",
            "when": "2026-12-02/day",
        },
    ),
    # A partner's name is no place: "University" is a town in the United States.
    (
        "en",
        "study visit at the University of Oulu",
        {
            "kind": "activity",
            "title": "Study visit with University of Oulu",
            "partner": "university_of_oulu",
        },
    ),
    (
        "sv",
        "studiebesök på Luleå tekniska universitet",
        {
            "kind": "activity",
            "title": "Studiebesök med Luleå tekniska universitet",
            "partner": "ltu",
        },
    ),
    (
        "sv",
        "Seminarium i Rovaniemi med Lapplands universitet 2027-04-20, bara jag, buss",
        {
            "kind": "activity",
            "title": "Seminarium med Lapplands universitet i Rovaniemi",
            "partner": "university_of_lapland",
            "destination": "Rovaniemi, FI",
            "when": "2027-04-20/day",
            "travellers": 1,
            "travel_mode": "bus",
        },
    ),
    (
        "sv",
        "Tjänsteresa till Finland nästa månad",
        {
            "kind": "trip",
            "title": "Tjänsteresa i Finland",
            "destination": "Finland, FI",
            "when": "2027-01-01/month",
        },
    ),
    (
        "en",
        "Exchange with Tromsø, the two of us, by car",
        {
            "kind": "activity",
            "title": "Exchange in Tromsø",
            "partner": "tromso",
            "destination": "Tromsø, NO",
            "travellers": 2,
            "travel_mode": "car",
        },
    ),
    (
        "sv",
        "Elevutbyte med Bodø i september, vi blir tolv",
        {
            "kind": "activity",
            "title": "Elevutbyte i Bodø",
            "partner": "bodo",
            "destination": "Bodø, NO",
            "when": "2027-09-01/month",
            "travellers": 12,
        },
    ),
    # "plan" is no mode in running text.
    (
        "en",
        "We plan to attend a conference in Oslo",
        {"kind": "activity", "title": "Conference in Oslo", "destination": "Oslo, NO"},
    ),
    (
        "sv",
        "studiebesök i Haparanda med Tornedalsrådet, 5 personer",
        {
            "kind": "activity",
            "title": "Studiebesök med Tornedalsrådet i Haparanda",
            "partner": "tornedal_council",
            "destination": "Haparanda, SE",
            "travellers": 5,
        },
    ),
    (
        "en",
        "project meeting in Umeå with Umeå University 12/3",
        {
            "kind": "activity",
            "title": "Meeting with Umeå University in Umeå",
            "partner": "umea_university",
            "destination": "Umeå, SE",
            "when": "2027-03-12/day",
        },
    ),
    (
        "sv",
        "Kongress i Bologna 12-14 mars med fem deltagare, nattåg",
        {
            "kind": "activity",
            "title": "Kongress i Bologna",
            "destination": "Bologna, IT",
            "when": "2027-03-12/day",
            "travellers": 5,
            "travel_mode": "train",
        },
    ),
    (
        "en",
        "fair in Stockholm with Visit Stockholm in May, four of us",
        {
            "kind": "activity",
            "title": "Fair with Visit Stockholm in Stockholm",
            "partner": "visit_stockholm",
            "destination": "Stockholm, SE",
            "when": "2027-05-01/month",
            "travellers": 4,
        },
    ),
    (
        "sv",
        "jag och två kollegor åker färja till Åland",
        {"destination": "Aland Islands, AX", "travellers": 3, "travel_mode": "ferry"},
    ),
    (
        "en",
        "Study trip to Novéant-sur-Moselle, me and a colleague, driving",
        {
            "kind": "trip",
            "title": "Study trip in Novéant-sur-Moselle",
            "partner": "noveant",
            "destination": "Novéant-sur-Moselle, FR",
            "travellers": 2,
            "travel_mode": "car",
        },
    ),
    (
        "sv",
        "Möte med Region Norrbotten i Luleå imorgon",
        {
            "kind": "activity",
            "title": "Möte med Region Norrbotten i Luleå",
            "partner": "region_norrbotten",
            "destination": "Luleå, SE (hosted)",
            "when": "2026-12-02/day",
        },
    ),
    # "we may" is no month; "tåg" and "flyg" are two modes.
    (
        "en",
        "We may go to Oslo by train",
        {"destination": "Oslo, NO", "travel_mode": "train"},
    ),
    ("sv", "Tåg eller flyg till Tromsø?", {"partner": "tromso", "destination": "Tromsø, NO"}),
    # A department named by several words; "på kultur" is not Kültür in Turkey, and the
    # department's "fritid" is no goal.
    (
        "sv",
        "Jag jobbar på kultur och fritid och ska på en konferens om miljö",
        {"kind": "activity", "department": "Kultur- och fritidsförvaltningen", "goals": [5]},
    ),
    (
        "en",
        "Culture and Leisure: study visit to Bodø",
        {
            "kind": "activity",
            "title": "Study visit in Bodø",
            "department": "Kultur- och fritidsförvaltningen",
            "partner": "bodo",
            "destination": "Bodø, NO",
        },
    ),
    # A company that is also a partner is the department after "för"/"for", the partner
    # after "med"/"with".
    (
        "sv",
        "Mässbesök i Tokyo för Luleå Business Region, vi är två och flyger",
        {
            "kind": "activity",
            "title": "Mässbesök i Tokyo",
            "department": "Luleå Business Region",
            "destination": "Tokyo, JP",
            "travellers": 2,
            "travel_mode": "flight",
        },
    ),
    (
        "en",
        "Trade fair in Tokyo for Luleå Business Region",
        {
            "kind": "activity",
            "title": "Trade fair in Tokyo",
            "department": "Luleå Business Region",
            "destination": "Tokyo, JP",
        },
    ),
    (
        "sv",
        "Mässbesök i Tokyo med Luleå Business Region",
        {
            "kind": "activity",
            "title": "Mässbesök med Luleå Business Region i Tokyo",
            "partner": "lulea_business_region",
            "destination": "Tokyo, JP",
        },
    ),
    # A place typed in lower case; "i helgen" is no town.
    ("sv", "jag ska till bologna i helgen", {"destination": "Bologna, IT"}),
    (
        "sv",
        "Konferens på Gran Canaria",
        {
            "kind": "activity",
            "title": "Konferens i Gran Canaria",
            "destination": "Gran Canaria, ES",
        },
    ),
]


@pytest.mark.parametrize(("lang", "text", "expected"), OPENERS, ids=[o[1][:40] for o in OPENERS])
def test_one_sentence_opener(
    interpreter: Interpreter, lang: Lang, text: str, expected: dict[str, Any]
) -> None:
    reading = read_sentence(text, lang, interpreter, TODAY)
    assert picked(reading) == expected
    still_asked = [name for name in READ_FIELDS if name not in expected]
    assert all(name not in reading for name in still_asked)


def test_the_table_has_thirty_openers_in_each_language() -> None:
    assert sum(lang == "sv" for lang, _, _ in OPENERS) >= 15
    assert sum(lang == "en" for lang, _, _ in OPENERS) >= 15
    assert len(OPENERS) >= 30


@pytest.mark.parametrize(("lang", "text", "expected"), OPENERS, ids=[o[1][:40] for o in OPENERS])
def test_each_value_is_what_the_interpreter_makes_of_its_words(
    interpreter: Interpreter, lang: Lang, text: str, expected: dict[str, Any]
) -> None:
    """The dialogue stores a found value as the answer to its field, with `raw` as typed."""
    reading = read_sentence(text, lang, interpreter, TODAY)
    for name in reading:
        found = reading.fields[name]
        assert found.raw and (found.raw in text or name == "goals")
        # A date and a title are not answers the interpreter reads; a count's lead may hold
        # a word it does not ("vi blir tolv").
        if name in ("when", "title") or found.raw.startswith("vi blir"):
            continue
        parsed = interpreter.parse(name, found.raw, lang)
        assert isinstance(parsed, Accepted), (name, found.raw)
        assert simple(name, parsed.value) == simple(name, found.value)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("sv", "hej"),
        ("en", "hello"),
        ("sv", "Vad är klockan?"),
        ("en", "can you help me"),
        ("sv", "jag vet inte riktigt"),
        ("en", "What is this?"),
        ("sv", ""),
    ],
)
def test_nothing_recognisable_is_an_empty_reading(
    interpreter: Interpreter, lang: Lang, text: str
) -> None:
    reading = read_sentence(text, lang, interpreter, TODAY)
    assert not reading
    assert list(reading) == []


def test_labels_are_in_the_users_language(interpreter: Interpreter) -> None:
    text = "Study visit to Bologna with SERN in May, three of us by train"
    english = read_sentence(text, "en", interpreter, TODAY)
    swedish = read_sentence(text, "sv", interpreter, TODAY)
    assert (english.fields["travel_mode"].label, swedish.fields["travel_mode"].label) == (
        "Train",
        "Tåg",
    )
    assert english.fields["when"].label == "May 2027"
    assert swedish.fields["when"].label == "maj 2027"
    assert swedish.fields["title"].value == "Study visit med SERN i Bologna"


def test_reading_without_the_place_index(rules: RuleSet) -> None:
    """Without the place index a country or near-region town is still read."""
    reading = read_sentence("Resa till Finland i maj", "sv", Interpreter(rules), TODAY)
    assert picked(reading) == {
        "kind": "trip",
        "title": "Resa i Finland",
        "destination": "Finland, FI",
        "when": "2027-05-01/month",
    }


# A message in the middle of a check, the question open, and the correction it makes (None:
# an answer to the open question, or not clearly a correction).
CORRECTIONS: list[tuple[Lang, str, str, tuple[str, Any] | None]] = [
    ("sv", "vi är tre", "goals", ("travellers", 3)),
    ("sv", "vi är tre", "travel_mode", ("travellers", 3)),
    ("sv", "vi är tre", "department", ("travellers", 3)),
    ("sv", "vi tar tåget", "digital_alternative", ("travel_mode", "train")),
    ("sv", "vi tar tåget", "travellers", ("travel_mode", "train")),
    ("sv", "förresten åker vi bil", "goals", ("travel_mode", "car")),
    ("sv", "flyg", "physical_necessary", ("travel_mode", "flight")),
    ("sv", "till Oslo istället", "travellers", ("destination", "Oslo, NO")),
    ("sv", "den 12 mars", "goals", ("when", "2027-03-12/day")),
    ("sv", "med SERN", "goals", ("partner", "sern")),
    ("en", "actually we'll take the train", "equality_considered", ("travel_mode", "train")),
    ("en", "we are four", "kind", ("travellers", 4)),
    ("en", "three of us", "partner", ("travellers", 3)),
    ("en", "in May", "travellers", ("when", "2027-05-01/month")),
    # An answer to the open question.
    ("sv", "vi är tre", "travellers", None),
    ("sv", "vi tar tåget", "travel_mode", None),
    ("sv", "ja, vi tar tåget", "digital_alternative", None),
    ("en", "three of us", "title", None),  # any text is a title
    # Not clearly one correction: two fields, or other words too.
    ("sv", "vi är två och tar tåget", "goals", None),
    ("sv", "vi är tre men en stannar hemma", "goals", None),
    ("en", "we are going to discuss the train connection", "goals", None),
    ("en", "hello", "goals", None),
]


@pytest.mark.parametrize(("lang", "text", "open_field", "expected"), CORRECTIONS)
def test_correction_in_the_middle_of_a_check(
    interpreter: Interpreter,
    lang: Lang,
    text: str,
    open_field: str,
    expected: tuple[str, Any] | None,
) -> None:
    correction = read_correction(text, lang, interpreter, open_field, today=TODAY)
    if expected is None:
        assert correction is None
    else:
        assert correction is not None
        name, found = correction
        assert (name, simple(name, found.value)) == expected


def test_no_date_correction_without_today(interpreter: Interpreter) -> None:
    assert read_correction("den 12 mars", "sv", interpreter, "goals") is None
