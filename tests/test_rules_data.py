"""The rule set as data: complete, bilingual, validated with errors that say where."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from string import Formatter

import pytest
import yaml

from rules.loader import DEFAULT_DIR, RuleSetError, load_ruleset
from rules.ruleset import RuleSet


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_every_text_exists_in_both_languages_with_the_same_placeholders(rules: RuleSet) -> None:
    assert set(rules.texts["sv"]) == set(rules.texts["en"])
    for text_id, swedish in rules.texts["sv"].items():
        assert placeholders(swedish) == placeholders(rules.texts["en"][text_id]), text_id


def test_every_text_the_code_uses_exists(rules: RuleSet) -> None:
    # Questions, explanations and labels for every field, reasons for every advisory and
    # guideline: a missing one would only show up in a conversation.
    from rules.check import FIELDS

    needed = (
        [f"q.{f}" for f in FIELDS]
        + [f"explain.{f}" for f in FIELDS]
        + [f"field.{f}" for f in FIELDS]
    )
    needed += [f"advisory.{a.code}" for a in rules.plan.advisories]
    needed += [f"guideline.{g.code}" for g in rules.plan.travel_guidelines]
    needed += [f"focus.{f.code}" for f in rules.plan.focus_areas]
    needed += [f"decision.headline.{o}" for o in ("travel", "digital", "not_qualified")]
    for text_id in needed:
        assert text_id in rules.texts["sv"], text_id


def test_every_partner_has_a_focus_area_of_the_plan(rules: RuleSet) -> None:
    areas = {"regional_arctic", "eu", "twin_city", "business_region"}
    assert rules.partners
    for partner in rules.partners:
        assert partner.focus_area in areas, partner.id


def test_the_plan_has_nine_goals_three_checklist_questions_and_every_advisory(
    rules: RuleSet,
) -> None:
    assert [g.number for g in rules.plan.goals] == list(range(1, 10))
    assert len(rules.plan.checklist) == 3
    assert {a.code for a in rules.plan.advisories} == {
        "outside_focus_area",
        "dormant_twin_city",
        "new_twin_city",
        "equality_not_considered",
        "eu_funding_not_checked",
        "not_in_annual_plan",
        "ask_for_remote_participation",
        "lower_carbon_mode",
    }


@pytest.mark.parametrize(
    ("typed", "partner"),
    [
        ("Uleåborg", "oulu"),
        ("Oulu", "oulu"),
        ("Tromsö", "tromso"),
        ("Tromsø", "tromso"),
        ("Tromso", "tromso"),
        ("Bodö", "bodo"),
        ("Bodø", "bodo"),
        ("Bodo", "bodo"),
        ("Bottenviksbågen", "bothnian_arc"),
        ("Bothnian Arc", "bothnian_arc"),
        ("bottenviksbagen", "bothnian_arc"),
        ("Barents Väg", "barents_road"),
        ("Barents Road", "barents_road"),
        ("UBC", "ubc"),
        ("Union of the Baltic Cities", "ubc"),
        ("SERN", "sern"),
        ("Sweden Emilia Romagna Network", "sern"),
        ("Zenica", "zenica"),
        ("Puerto Cabezas", "puerto_cabezas"),
        ("Santa Lucia de Tirajana", "santa_lucia"),
        ("Kemi", "kemi"),
        ("Novéant-sur-Moselle", "noveant"),
        ("ANEA", "noveant"),
        ("Arctic Mayors' Forum", "arctic_mayors_forum"),
        ("Living-in.EU", "join_boost_sustain"),
        ("Luleå Science Park", "lulea_science_park"),
        ("Bothnian Coastal Route", "bothnian_coastal_route"),
    ],
)
def test_the_plans_partners_are_known_by_their_aliases(
    rules: RuleSet, typed: str, partner: str
) -> None:
    assert rules.partner_matcher.exact(typed) == partner


def test_dormant_twin_cities_are_zenica_and_puerto_cabezas(rules: RuleSet) -> None:
    assert {p.id for p in rules.partners if p.dormant} == {"zenica", "puerto_cabezas"}


def test_version_is_declared_version_plus_content_hash(tmp_path: Path, rules: RuleSet) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, copy)
    assert load_ruleset(copy).version == rules.version
    assert rules.version.startswith("2024.1+")
    plan = copy / "departments.yml"
    plan.write_text(
        plan.read_text(encoding="utf-8") + "  - name: Ny förvaltning\n", encoding="utf-8"
    )
    assert load_ruleset(copy).version != rules.version


def broken_copy(tmp_path: Path, file: str, edit: object) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, copy)
    path = copy / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def test_wrong_data_names_the_file_the_entry_and_the_problem(tmp_path: Path) -> None:
    def wrong_area(data: dict) -> None:  # type: ignore[type-arg]
        zenica = next(p for p in data["partners"] if p["id"] == "zenica")
        zenica["focus_area"] = "arctic"

    with pytest.raises(RuleSetError) as error:
        load_ruleset(broken_copy(tmp_path, "partners.yml", wrong_area))
    [problem] = error.value.problems
    assert problem.startswith("partners.yml: partners[")
    assert "(zenica)" in problem and "focus_area" in problem and "regional_arctic" in problem


def test_a_text_missing_in_one_language_is_an_error(tmp_path: Path) -> None:
    def drop(data: dict) -> None:  # type: ignore[type-arg]
        del data["texts"]["q.kind"]

    with pytest.raises(RuleSetError) as error:
        load_ruleset(broken_copy(tmp_path, "texts/en.yml", drop))
    assert any("'q.kind' is missing" in p and "en.yml" in p for p in error.value.problems)


def test_texts_of_an_area_file_are_merged_and_a_duplicate_id_is_an_error(tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, copy)
    for lang, said in (("sv", "Hej"), ("en", "Hi")):
        (copy / "texts" / lang).mkdir(exist_ok=True)
        (copy / "texts" / lang / "zz_area.yml").write_text(f"texts:\n  zz.area: {said}\n")
    loaded = load_ruleset(copy)
    assert (loaded.text("zz.area", "sv"), loaded.text("zz.area", "en")) == ("Hej", "Hi")
    (copy / "texts" / "en" / "zz_again.yml").write_text("texts:\n  q.kind: Twice\n")
    with pytest.raises(RuleSetError) as error:
        load_ruleset(copy)
    assert error.value.problems == ["texts/en/zz_again.yml: text 'q.kind' is defined twice"]


def test_a_goal_missing_is_an_error(tmp_path: Path) -> None:
    def drop(data: dict) -> None:  # type: ignore[type-arg]
        data["goals"] = data["goals"][:8]

    with pytest.raises(RuleSetError) as error:
        load_ruleset(broken_copy(tmp_path, "plan.yml", drop))
    assert any("plan.yml" in p and "1 to 9" in p for p in error.value.problems)


def test_rules_check_command_reports_problems_and_exits_non_zero(tmp_path: Path) -> None:
    def unknown_key(data: dict) -> None:  # type: ignore[type-arg]
        data["partners"][0]["focus"] = "eu"

    broken = broken_copy(tmp_path, "partners.yml", unknown_key)
    run = subprocess.run(
        [sys.executable, "-m", "tripcheck", "rules", "check", str(broken)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert (
        "partners.yml: partners[0] (arctic_mayors_forum) → focus: Extra inputs are not permitted"
        in run.stderr
    )
    good = subprocess.run(
        [sys.executable, "-m", "tripcheck", "rules", "check"], capture_output=True, text=True
    )
    assert good.returncode == 0 and "valid" in good.stdout


def test_climate_figures_are_checked_with_their_sources(tmp_path: Path) -> None:
    def unsourced(data: dict) -> None:  # type: ignore[type-arg]
        del data["flight"]["short_haul"]["source"]

    with pytest.raises(RuleSetError) as error:
        load_ruleset(broken_copy(tmp_path, "climate.yml", unsourced))
    assert error.value.problems == ["climate.yml: flight → short_haul → source: Field required"]
