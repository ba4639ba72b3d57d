"""Table-driven tests of the decision (POLICY.md §8): every outcome, focus area and advisory."""

from __future__ import annotations

from typing import Any

import pytest

from rules.check import Check, Destination, PartnerRef
from rules.evaluate import evaluate
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
