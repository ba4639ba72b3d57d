"""Table-driven tests of the decision (POLICY.md §8): every outcome, focus area and advisory."""

from __future__ import annotations

from typing import Any

import pytest

from rules.check import Check, Destination, PartnerRef
from rules.evaluate import evaluate
from rules.models import Lang
from rules.ruleset import RuleSet

OULU = Destination(
    name="Oulu",
    country="FI",
    latitude=65.01236,
    longitude=25.46816,
    geonameid=643492,
    continent="EU",
)
STOCKHOLM = Destination(
    name="Stockholm",
    country="SE",
    latitude=59.32938,
    longitude=18.06871,
    geonameid=2673730,
    continent="EU",
    admin1="26",
)
BASE: dict[str, Any] = {
    "kind": "trip",
    "title": "Styrelsemöte",
    "department": "Kommunstaben",
    "partner": PartnerRef(id="bothnian_arc", text="Bottenviksbågen"),
    "destination": OULU,
    "contributes_development": True,
    "external_monitoring": False,
    "influence": True,
    "goals": (8,),
    "physical_necessary": "yes",
    "digital_alternative": None,
    "travellers": 2,
    "travel_mode": "train",
    "equality_considered": True,
    "in_annual_plan": True,
}


def check(**changes: Any) -> Check:
    return Check.model_validate({**BASE, **changes})


OUTCOMES = [
    ("necessary meeting", {}, "travel"),
    (
        "no digital alternative",
        {"physical_necessary": "no", "digital_alternative": False},
        "travel",
    ),
    (
        "not necessary, digital exists",
        {"physical_necessary": "no", "digital_alternative": True},
        "digital",
    ),
    (
        "unsure, digital exists",
        {"physical_necessary": "unsure", "digital_alternative": True},
        "digital",
    ),
    (
        "necessary although digital exists",
        {"physical_necessary": "yes", "digital_alternative": True},
        "travel",
    ),
    (
        "no checklist yes",
        {"contributes_development": False, "external_monitoring": False, "influence": False},
        "not_qualified",
    ),
    ("no goal", {"goals": ()}, "not_qualified"),
    (
        "only external monitoring",
        {"contributes_development": False, "influence": False, "external_monitoring": True},
        "travel",
    ),
]


@pytest.mark.parametrize(("name", "changes", "outcome"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_outcomes(rules: RuleSet, name: str, changes: dict[str, Any], outcome: str) -> None:
    assert evaluate(check(**changes), rules).outcome == outcome


FOCUS = [
    ("partner decides", {}, "regional_arctic"),
    ("EU network", {"partner": PartnerRef(id="sern")}, "eu"),
    ("twin city even in the near region", {"partner": PartnerRef(id="tromso")}, "twin_city"),
    ("Kemi is a twin city", {"partner": PartnerRef(id="kemi")}, "twin_city"),
    ("business region", {"partner": PartnerRef(id="bothnian_coastal_route")}, "business_region"),
    (
        "no partner, near-region town",
        {"partner": PartnerRef(), "destination": Destination(name="Haparanda", country="SE")},
        "regional_arctic",
    ),
    (
        "no partner, EU destination",
        {"partner": PartnerRef(), "destination": Destination(name="Barcelona", country="ES")},
        "eu",
    ),
    (
        "no partner, EEA destination",
        {"partner": PartnerRef(), "destination": Destination(name="Oslo", country="NO")},
        "eu",
    ),
    (
        "no partner, twin-city town",
        {"partner": PartnerRef(), "destination": Destination(name="Tromsø", country="NO")},
        "twin_city",
    ),
    (
        "no partner, far away",
        {"partner": PartnerRef(), "destination": Destination(name="Tokyo", country="JP")},
        "other",
    ),
    (
        "no partner, unknown place",
        {"partner": PartnerRef(), "destination": Destination(name="Atlantis")},
        "other",
    ),
    (
        "unlisted partner abroad",
        {
            "partner": PartnerRef(text="Tokyo Metro"),
            "destination": Destination(name="Tokyo", country="JP"),
        },
        "other",
    ),
]


@pytest.mark.parametrize(("name", "changes", "area"), FOCUS, ids=[f[0] for f in FOCUS])
def test_focus_areas(rules: RuleSet, name: str, changes: dict[str, Any], area: str) -> None:
    assert evaluate(check(**changes), rules).focus_area == area


ADVISORIES = [
    (
        "outside_focus_area",
        {"partner": PartnerRef(), "destination": Destination(name="Tokyo", country="JP")},
    ),
    (
        "dormant_twin_city",
        {
            "partner": PartnerRef(id="zenica"),
            "destination": Destination(name="Zenica", country="BA"),
        },
    ),
    (
        "dormant_twin_city",
        {"partner": PartnerRef(), "destination": Destination(name="Puerto Cabezas", country="NI")},
    ),
    (
        "new_twin_city",
        {
            "title": "Ny vänort i Island",
            "partner": PartnerRef(text="Akureyri"),
            "destination": Destination(name="Akureyri", country="IS"),
        },
    ),
    ("equality_not_considered", {"equality_considered": False}),
    ("eu_funding_not_checked", {"kind": "project", "eu_funding_checked": False}),
    ("not_in_annual_plan", {"in_annual_plan": False}),
    ("ask_for_remote_participation", {"physical_necessary": "no", "digital_alternative": False}),
    ("lower_carbon_mode", {"destination": STOCKHOLM, "travel_mode": "flight", "travellers": 1}),
]


@pytest.mark.parametrize(("code", "changes"), ADVISORIES, ids=[a[0] for a in ADVISORIES])
def test_each_advisory_applies_when_its_condition_holds(
    rules: RuleSet, code: str, changes: dict[str, Any]
) -> None:
    decision = evaluate(check(**changes), rules)
    assert code in decision.advisory_codes
    assert evaluate(check(), rules).advisory_codes == [], "the base check has no advisories"


def test_advisories_that_do_not_apply_are_absent(rules: RuleSet) -> None:
    by_train = check(destination=STOCKHOLM, travel_mode="train", travellers=1)
    assert "lower_carbon_mode" not in evaluate(by_train, rules).advisory_codes
    digital = check(
        destination=STOCKHOLM,
        travel_mode="flight",
        physical_necessary="no",
        digital_alternative=True,
    )
    assert "lower_carbon_mode" not in evaluate(digital, rules).advisory_codes
    assert (
        "new_twin_city"
        not in evaluate(
            check(title="Vänortsbesök", partner=PartnerRef(id="kemi")), rules
        ).advisory_codes
    )
    assert (
        "eu_funding_not_checked"
        not in evaluate(check(kind="trip", eu_funding_checked=False), rules).advisory_codes
    )
    assert (
        "eu_funding_not_checked"
        not in evaluate(check(kind="project", eu_funding_checked=True), rules).advisory_codes
    )
    assert (
        "ask_for_remote_participation"
        not in evaluate(check(physical_necessary="yes"), rules).advisory_codes
    )


def test_reasons_cite_the_plans_sections_in_the_users_language(rules: RuleSet) -> None:
    swedish = evaluate(check(physical_necessary="no", digital_alternative=True), rules, "sv")
    english = evaluate(check(physical_necessary="no", digital_alternative=True), rules, "en")
    assert [r.code for r in swedish.reasons] == [r.code for r in english.reasons]
    codes = [r.code for r in swedish.reasons]
    assert codes[:2] == ["adds_value", "contributes_to_goals"] and "digital_first" in codes
    first = swedish.reasons[0]
    assert first.section == "Inriktning" and "mervärde" in first.text
    assert (
        english.reasons[0].section.startswith("Inriktning")
        and "adds value" in english.reasons[0].text
    )
    digital = next(r for r in swedish.reasons if r.code == "digital_first")
    assert digital.section == "Hållbart internationellt arbete"


def test_travel_carries_the_travel_guidelines_and_digital_does_not(rules: RuleSet) -> None:
    travel = evaluate(check(), rules, "en")
    assert [g.code for g in travel.guidelines] == [
        "lowest_climate_mode",
        "remote_participation",
        "fewest_travellers",
        "combine_errands",
        "safe_journey",
    ]
    assert (
        evaluate(check(physical_necessary="no", digital_alternative=True), rules).guidelines == ()
    )


def test_not_qualified_explains_what_is_missing(rules: RuleSet) -> None:
    decision = evaluate(
        check(contributes_development=False, influence=False, goals=()), rules, "en"
    )
    assert {"no_added_value", "no_goal"} <= {r.code for r in decision.reasons}


def test_every_decision_is_stamped_with_the_rule_set_version(rules: RuleSet) -> None:
    assert evaluate(check(), rules).rules_version == rules.version


def test_evaluate_is_pure(rules: RuleSet) -> None:
    subject = check(in_annual_plan=False)
    assert evaluate(subject, rules, "sv") == evaluate(subject, rules, "sv")


# --- Where it takes place (POLICY.md §9.1) ------------------------------------------------

LULEA = Destination(
    name="Luleå",
    country="SE",
    latitude=65.58415,
    longitude=22.15465,
    geonameid=604490,
    admin1="14",
    continent="EU",
    hosted=True,
)
TEAMS = Destination.digital_meeting("Teams")
KEMI = Destination(
    name="Kemi", country="FI", latitude=65.73641, longitude=24.56371, geonameid=653281
)
TOKYO = Destination(name="Tokyo", country="JP", latitude=35.6895, longitude=139.69171)
FINLAND = Destination(
    name="Finland",
    country="FI",
    latitude=60.16952,
    longitude=24.93545,
    kind="country",
    approximate=True,
)
NO_TRAVEL = {"travellers": None, "travel_mode": None}


@pytest.mark.parametrize(
    ("name", "changes", "area", "present", "absent"),
    [
        (
            "a Swedish town with no partner is domestic",
            {"partner": PartnerRef(), "destination": STOCKHOLM},
            "domestic",
            ["not_international"],
            ["outside_focus_area"],
        ),
        (
            "an unlisted partner in Sweden is domestic too",
            {"partner": PartnerRef(text="Göteborgs stad"), "destination": STOCKHOLM},
            "domestic",
            ["not_international"],
            ["outside_focus_area"],
        ),
        (
            "a partner of the plan in Stockholm decides",
            {"partner": PartnerRef(id="sncvb"), "destination": STOCKHOLM},
            "business_region",
            [],
            ["not_international", "outside_focus_area"],
        ),
        (
            "Sweden as a country is domestic",
            {
                "partner": PartnerRef(),
                "destination": Destination(
                    name="Sweden", country="SE", kind="country", approximate=True
                ),
            },
            "domestic",
            ["not_international"],
            [],
        ),
        (
            "the near region is not domestic",
            {
                "partner": PartnerRef(),
                "destination": Destination(name="Kiruna", country="SE", admin1="14"),
            },
            "regional_arctic",
            [],
            ["not_international"],
        ),
        (
            "a region of the near region",
            {
                "partner": PartnerRef(),
                "destination": Destination(
                    name="Northern Norway", country="NO", admin1="18", kind="region"
                ),
            },
            "regional_arctic",
            [],
            [],
        ),
        (
            "Åland is EU territory",
            {"partner": PartnerRef(), "destination": Destination(name="Mariehamn", country="AX")},
            "eu",
            [],
            ["outside_focus_area"],
        ),
        (
            "Réunion is EU territory",
            {"partner": PartnerRef(), "destination": Destination(name="Saint-Denis", country="RE")},
            "eu",
            [],
            ["outside_focus_area"],
        ),
        (
            "the Faroes are not",
            {"partner": PartnerRef(), "destination": Destination(name="Tórshavn", country="FO")},
            "other",
            ["outside_focus_area"],
            [],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_domestic_eu_territory_and_near_region(
    rules: RuleSet,
    name: str,
    changes: dict[str, Any],
    area: str,
    present: list[str],
    absent: list[str],
) -> None:
    decision = evaluate(check(**changes), rules)
    assert decision.focus_area == area
    assert set(present) <= set(decision.advisory_codes)
    assert not set(absent) & set(decision.advisory_codes)


@pytest.mark.parametrize(("lang", "said"), [("sv", "Planen gäller"), ("en", "The plan covers")])
def test_not_international_cites_the_plan_in_both_languages(
    rules: RuleSet, lang: Lang, said: str
) -> None:
    decision = evaluate(check(partner=PartnerRef(), destination=STOCKHOLM), rules, lang)
    advisory = next(a for a in decision.advisories if a.code == "not_international")
    assert advisory.text.startswith(said) and advisory.section.startswith("Inriktning")
    assert decision.guidelines, "the travel guidelines still apply"


def test_a_partners_town_is_linked_by_its_geonames_place_not_its_spelling(rules: RuleSet) -> None:
    santa_lucia = Destination(name="Santa Lucía", country="ES", geonameid=2511150)
    assert evaluate(check(partner=PartnerRef(), destination=santa_lucia), rules).partner == (
        "santa_lucia"
    )
    # Another Santa Lucía (Argentina) is not the twin city, whatever its name.
    elsewhere = Destination(name="Santa Lucía", country="AR", geonameid=3836669)
    assert evaluate(check(partner=PartnerRef(), destination=elsewhere), rules).partner is None
    # Without a geonameid, the coordinates decide.
    by_point = Destination(
        name="Santa Lucia de T.", country="ES", latitude=27.912, longitude=-15.54
    )
    assert evaluate(check(partner=PartnerRef(), destination=by_point), rules).partner == (
        "santa_lucia"
    )
    # A region around a partner's town is not the partner.
    region = Destination(
        name="Gran Canaria", country="ES", latitude=27.91174, longitude=-15.54071, kind="region"
    )
    assert evaluate(check(partner=PartnerRef(), destination=region), rules).focus_area == "eu"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_digital_place_is_a_digital_meeting_without_travel_or_climate(
    rules: RuleSet, lang: Lang
) -> None:
    subject = check(destination=TEAMS, physical_necessary=None, **NO_TRAVEL)
    decision = evaluate(subject, rules, lang)
    assert decision.outcome == "digital"
    codes = [r.code for r in decision.reasons]
    assert (
        "digital_place" in codes and "Teams" in decision.reasons[codes.index("digital_place")].text
    )
    assert not {"climate_unknown", "climate_travel", "climate_digital"} & set(codes)
    assert decision.guidelines == ()
    assert decision.co2 is not None and set(decision.co2.values()) == {None}
    assert decision.focus_area == "regional_arctic", "the partner still decides"


def test_a_digital_meeting_that_adds_no_value_does_not_qualify(rules: RuleSet) -> None:
    subject = check(destination=TEAMS, goals=(), physical_necessary=None, **NO_TRAVEL)
    assert evaluate(subject, rules).outcome == "not_qualified"


@pytest.mark.parametrize(
    ("guests", "partner", "area"),
    [
        (KEMI, PartnerRef(), "twin_city"),
        (OULU, PartnerRef(), "regional_arctic"),
        (TOKYO, PartnerRef(), "other"),
        (STOCKHOLM, PartnerRef(), "domestic"),
        (FINLAND, PartnerRef(), "eu"),
        (TOKYO, PartnerRef(id="sern"), "eu"),
        (None, PartnerRef(), "other"),
    ],
)
def test_the_guests_home_decides_a_hosted_activitys_focus_area(
    rules: RuleSet, guests: Destination | None, partner: PartnerRef, area: str
) -> None:
    subject = check(destination=LULEA, guests_from=guests, partner=partner, **NO_TRAVEL)
    decision = evaluate(subject, rules)
    assert decision.focus_area == area
    if guests is FINLAND:
        assert "focus_by_guests" in [r.code for r in decision.reasons]


@pytest.mark.parametrize(
    ("lang", "in_person", "digitally"),
    [
        ("sv", "Mötas på plats i Luleå", "Mötas digitalt"),
        ("en", "Meet in person in Luleå", "Meet digitally"),
    ],
)
def test_a_hosted_activity_reads_meet_in_person_in_lulea_or_digitally(
    rules: RuleSet, lang: Lang, in_person: str, digitally: str
) -> None:
    hosted = check(destination=LULEA, guests_from=OULU, **NO_TRAVEL)
    decision = evaluate(hosted, rules, lang)
    assert decision.outcome == "travel"
    reason = next(r for r in decision.reasons if r.code == "hosted_in_person")
    assert reason.text.startswith(in_person)
    assert decision.guidelines == (), "none of our staff travels"
    assert not {"climate_unknown", "climate_travel"} & {r.code for r in decision.reasons}
    assert decision.co2 is not None and decision.co2["distance_km"] is None
    online = check(
        destination=LULEA,
        guests_from=OULU,
        physical_necessary="no",
        digital_alternative=True,
        **NO_TRAVEL,
    )
    decision = evaluate(online, rules, lang)
    assert decision.outcome == "digital"
    assert next(r for r in decision.reasons if r.code == "hosted_digital").text.startswith(
        digitally
    )
    no_option = check(
        destination=LULEA,
        guests_from=OULU,
        physical_necessary="no",
        digital_alternative=False,
        **NO_TRAVEL,
    )
    assert "ask_for_remote_participation" not in evaluate(no_option, rules).advisory_codes


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_country_or_region_says_its_figures_are_approximate(rules: RuleSet, lang: Lang) -> None:
    decision = evaluate(check(partner=PartnerRef(), destination=FINLAND), rules, lang)
    assert "place_approximate" in [r.code for r in decision.reasons]
    assert decision.co2 is not None and decision.co2["distance_km"] is not None
    town = evaluate(check(partner=PartnerRef(), destination=OULU), rules, lang)
    assert "place_approximate" not in [r.code for r in town.reasons]
