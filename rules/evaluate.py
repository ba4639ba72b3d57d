"""Pure evaluation of a completed check against the plan (POLICY.md §8)."""

from __future__ import annotations

from rules.check import Check, Destination
from rules.climate import ClimateEstimate
from rules.decision import Decision, Outcome, Reason
from rules.fields import CHECKLIST
from rules.footprint import (
    co2_record,
    comparison,
    estimate_for,
    kg_text,
    lower_carbon_values,
    mode_name,
    route_name,
)
from rules.matching import normalize
from rules.models import FocusArea, Lang, Partner
from rules.ruleset import RuleSet


def _cite(
    rules: RuleSet, lang: Lang, kind: str, code: str, section: str, **values: object
) -> Reason:
    """A reason, advisory or guideline: its text (id `kind.code`) and the section it cites."""
    return Reason(
        code=code,
        text=rules.text(f"{kind}.{code}", lang, **values),
        section=rules.section(section, lang),
        section_id=section,
    )


def _reason(rules: RuleSet, lang: Lang, code: str, section: str, **values: object) -> Reason:
    return _cite(rules, lang, "reason", code, section, **values)


def focus_place(check: Check) -> Destination | None:
    """The place that decides the focus area: the guests' home for an activity we host in
    Luleå, none for a digital meeting, otherwise the destination (POLICY.md §9.1)."""
    place = check.destination
    if place is None or place.digital:
        return None
    if place.hosted:
        guests = check.guests_from
        return guests if guests is not None and not guests.digital else None
    return place


def effective_partner(check: Check, rules: RuleSet) -> Partner | None:
    """The plan's partner the check concerns: the one named, else the town of the place."""
    if check.partner is not None and check.partner.id is not None:
        return rules.partner_by_id[check.partner.id]
    named_unlisted = check.partner is not None and check.partner.text
    place = focus_place(check)
    if place is not None and not named_unlisted:
        return rules.town_partner(place)
    return None


def focus_area(check: Check, rules: RuleSet) -> FocusArea:
    """The focus area: the partner's when it is known, otherwise the place's: the near region
    by its regions, then a Swedish place (domestic), then the EU and the EEA."""
    partner = effective_partner(check, rules)
    if partner is not None:
        return partner.focus_area
    place = focus_place(check)
    if place is None:
        return "other"
    if rules.in_near_region(place):
        return "regional_arctic"
    if rules.is_home_country(place.country):
        return "domestic"
    if place.country and rules.is_eu_eea(place.country):
        return "eu"
    return "other"


def _is_new_twin_city(check: Check, rules: RuleSet, partner: Partner | None) -> bool:
    if partner is not None and partner.kind == "twin_city":
        return False
    words = normalize(" ".join([check.title, check.partner.text if check.partner else ""]))
    return any(word in words for word in rules.twin_city_words)


def _outcome(check: Check) -> Outcome:
    if not check.qualifies:
        return "not_qualified"
    if check.destination is not None and check.destination.digital:
        return "digital"
    if check.physical_necessary != "yes" and check.digital_alternative is True:
        return "digital"
    return "travel"


def _qualification_reasons(check: Check, rules: RuleSet, lang: Lang) -> list[Reason]:
    yes = [field for field in CHECKLIST if getattr(check, field)]
    reasons = []
    if yes:
        listed = ", ".join(rules.text(f"checklist.{field}.short", lang) for field in yes)
        reasons.append(_reason(rules, lang, "adds_value", "inriktning", checklist=listed))
    else:
        reasons.append(_reason(rules, lang, "no_added_value", "inriktning"))
    if check.goals:
        goals = "; ".join(
            f"{n} ({rules.goal_by_number[n].name(lang)})" for n in sorted(check.goals)
        )
        reasons.append(_reason(rules, lang, "contributes_to_goals", "hallbart", goals=goals))
    else:
        reasons.append(_reason(rules, lang, "no_goal", "hallbart"))
    return reasons


def _focus_reasons(
    check: Check, rules: RuleSet, lang: Lang, area: FocusArea, partner: Partner | None
) -> list[Reason]:
    section = next(f.section for f in rules.plan.focus_areas if f.code == area)
    area_name = rules.text(f"focus.{area}", lang)
    if partner is None:
        place = focus_place(check)
        if area == "other" or place is None:
            return []
        if area == "domestic":
            return [_reason(rules, lang, "focus_domestic", section, place=place.name)]
        code = "focus_by_guests" if place is check.guests_from else "focus_by_destination"
        return [_reason(rules, lang, code, section, place=place.name, area=area_name)]
    reasons = [
        _reason(
            rules, lang, "focus_by_partner", section, partner=partner.name(lang), area=area_name
        )
    ]
    if partner.areas is not None:
        areas = ", ".join(partner.areas(lang))
        reasons.append(
            _reason(
                rules, lang, "cooperation_areas", section, partner=partner.name(lang), areas=areas
            )
        )
    return reasons


def _outcome_reason(check: Check, rules: RuleSet, lang: Lang, outcome: Outcome) -> list[Reason]:
    place = check.destination
    if outcome == "digital" and place is not None and place.digital:
        return [_reason(rules, lang, "digital_place", "hallbart", place=place.name)]
    if place is not None and place.hosted and outcome != "not_qualified":
        if outcome == "digital":
            return [_reason(rules, lang, "hosted_digital", "hallbart")]
        return [_reason(rules, lang, "hosted_in_person", "resor_i_tjansten")]
    if outcome == "digital":
        code = "digital_first" if check.physical_necessary == "no" else "digital_first_unsure"
        return [_reason(rules, lang, code, "hallbart")]
    if outcome == "travel":
        if check.physical_necessary == "yes":
            return [_reason(rules, lang, "physical_necessary", "resor_i_tjansten")]
        return [_reason(rules, lang, "no_digital_alternative", "resor_i_tjansten")]
    return []


def _climate_reasons(
    check: Check, rules: RuleSet, lang: Lang, outcome: Outcome, co2: ClimateEstimate | None
) -> list[Reason]:
    if outcome == "not_qualified" or not _staff_travel(check):
        return []
    if co2 is None:
        return [_reason(rules, lang, "climate_unknown", "resor_i_tjansten")]
    approximate = []
    if check.destination is not None and check.destination.approximate:
        place = check.destination.name
        approximate = [_reason(rules, lang, "place_approximate", "resor_i_tjansten", place=place)]
    if outcome == "digital" and co2.planned_kg is not None:
        return [
            *approximate,
            _reason(
                rules,
                lang,
                "climate_digital",
                "hallbart",
                kg=kg_text(co2.planned_kg, lang),
                planned=mode_name(co2.planned_mode, rules, lang),
                travellers=co2.travellers,
            ),
        ]
    best = co2.lowest_reasonable_mode
    best_kg = co2.alternatives[best] if best else None
    if best is None or best_kg is None:
        return []
    told = comparison(co2, rules, lang)
    return [
        *approximate,
        _reason(
            rules,
            lang,
            "climate_travel",
            "resor_i_tjansten",
            comparison=told,
            best=route_name(best, co2.routes.get(best) if best != "flight" else None, rules, lang),
            best_kg=kg_text(best_kg, lang),
        ),
    ]


def _advisories(
    check: Check,
    rules: RuleSet,
    area: FocusArea,
    partner: Partner | None,
    outcome: Outcome,
    co2: ClimateEstimate | None,
) -> list[str]:
    codes = []
    if area == "other":
        codes.append("outside_focus_area")
    if area == "domestic":
        codes.append("not_international")
    if partner is not None and partner.dormant:
        resumed = check.dormant_resumed is True
        codes.append("dormant_twin_city_resumed" if resumed else "dormant_twin_city")
    if _is_new_twin_city(check, rules, partner):
        codes.append("new_twin_city")
    if check.equality_considered is False:
        codes.append("equality_not_considered")
    if check.kind == "project" and check.eu_funding_checked is False:
        codes.append("eu_funding_not_checked")
    if check.in_annual_plan is False:
        codes.append("not_in_annual_plan")
    if (
        check.qualifies
        and _staff_travel(check)
        and check.physical_necessary in ("no", "unsure")
        and check.digital_alternative is False
    ):
        codes.append("ask_for_remote_participation")
    # Only a recommended trip has a mode worth changing.
    if outcome == "travel" and co2 is not None and co2.lower_carbon is not None:
        codes.append("lower_carbon_mode")
    return codes


def evaluate(check: Check, rules: RuleSet, lang: Lang = "sv") -> Decision:
    """Turns a completed check into a recommendation with its reasons, in `lang`."""
    partner = effective_partner(check, rules)
    area = focus_area(check, rules)
    outcome = _outcome(check)
    reasons = _qualification_reasons(check, rules, lang)
    reasons += _focus_reasons(check, rules, lang, area, partner)
    reasons += _outcome_reason(check, rules, lang, outcome)
    # No climate figures without a journey of ours: a digital meeting, or guests we host.
    travelled_to = check.destination if _staff_travel(check) else None
    co2 = estimate_for(travelled_to, check.travellers, check.travel_mode, rules)
    reasons += _climate_reasons(check, rules, lang, outcome, co2)
    sections = {a.code: a.section for a in rules.plan.advisories}
    values = _advisory_values(rules, lang, partner, co2)
    advisories = [
        _cite(rules, lang, "advisory", code, sections[code], **values)
        for code in _advisories(check, rules, area, partner, outcome, co2)
    ]
    guidelines = []
    if outcome == "travel" and _staff_travel(check):
        guidelines = [
            _cite(rules, lang, "guideline", g.code, g.section) for g in rules.plan.travel_guidelines
        ]
    return Decision(
        outcome=outcome,
        focus_area=area,
        advisories=tuple(advisories),
        reasons=tuple(reasons),
        guidelines=tuple(guidelines),
        rules_version=rules.version,
        lang=lang,
        partner=partner.id if partner else None,
        destination=check.destination.name if check.destination else None,
        co2=co2_record(co2, travelled_to, outcome, rules),
    )


def _staff_travel(check: Check) -> bool:
    """Whether any of our own staff would travel: not for a digital meeting or a hosted one."""
    place = check.destination
    return place is None or not (place.digital or place.hosted)


def _advisory_values(
    rules: RuleSet, lang: Lang, partner: Partner | None, co2: ClimateEstimate | None
) -> dict[str, str]:
    """What advisory texts may name: the partner, and a lower-carbon mode and its saving."""
    values = {"partner": partner.name(lang) if partner else ""}
    if co2 is not None:
        values.update(lower_carbon_values(co2, rules, lang))
    return values
