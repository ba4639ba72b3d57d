"""Loads and validates a rule-set directory; every problem names its file, entry and cause."""

from __future__ import annotations

import hashlib
from pathlib import Path
from string import Formatter
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rules.climate import ClimateData
from rules.followup import FollowUpRules
from rules.models import (
    LANGS,
    Countries,
    Departments,
    Partner,
    PartnerHome,
    Partners,
    PlaceNames,
    Places,
    Plan,
    Regions,
    Texts,
    Vocabulary,
)
from rules.ruleset import RuleSet

DEFAULT_DIR = Path(__file__).parent / "data"
ModelT = TypeVar("ModelT", bound=BaseModel)


class RuleSetError(Exception):
    """The rule set is invalid; `problems` lists one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        # libyaml's loader when available: the country and region files are long.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        problems.append(f"{path.name}: file is missing")
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(f"{path.name}: not valid YAML: {error}")
    return None


def _entry(data: Any, loc: tuple[int | str, ...]) -> str:
    """Describes where a problem sits, naming the entry by its id or name when it has one."""
    parts: list[str] = []
    node = data
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(key, int):
            label = ""
            if isinstance(node, dict):
                label = str(node.get("id") or node.get("name") or node.get("code") or "")
            parts[-1:] = [f"{parts[-1] if parts else ''}[{key}]" + (f" ({label})" if label else "")]
        else:
            parts.append(str(key))
    return " → ".join(parts) or "(top level)"


def _validate(model: type[ModelT], path: Path, problems: list[str]) -> ModelT | None:
    data = _read_yaml(path, problems)
    if data is None and not path.exists():
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            problems.append(f"{path.name}: {_entry(data, item['loc'])}: {item['msg']}")
    return None


def _load_texts(directory: Path, lang: str, problems: list[str]) -> Texts | None:
    """`texts/<lang>.yml` plus every `texts/<lang>/*.yml` (one file per area), merged; an id
    defined twice is a problem."""
    main = _validate(Texts, directory / f"{lang}.yml", problems)
    if main is None:
        return None
    merged = dict(main.texts)
    for path in sorted((directory / lang).glob("*.yml")):
        part = _validate(Texts, path, problems)
        if part is None:
            continue
        for text_id, text in part.texts.items():
            if text_id in merged:
                problems.append(f"texts/{lang}/{path.name}: text {text_id!r} is defined twice")
            merged[text_id] = text
    return Texts(texts=merged)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def _check_texts(sv: Texts, en: Texts, problems: list[str]) -> None:
    for missing in sorted(set(sv.texts) - set(en.texts)):
        problems.append(f"texts/en.yml: text {missing!r} is missing (it exists in Swedish)")
    for missing in sorted(set(en.texts) - set(sv.texts)):
        problems.append(f"texts/sv.yml: text {missing!r} is missing (it exists in English)")
    for text_id in sorted(set(sv.texts) & set(en.texts)):
        try:
            same = _placeholders(sv.texts[text_id]) == _placeholders(en.texts[text_id])
        except ValueError as error:
            problems.append(f"texts: {text_id}: bad placeholder: {error}")
            continue
        if not same:
            problems.append(f"texts: {text_id}: the two languages use different placeholders")


def _version(directory: Path, declared: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.yml")):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{declared}+{digest.hexdigest()[:8]}"


def load_ruleset(directory: Path | str | None = None) -> RuleSet:
    """Loads the rule set in `directory` (the shipped one by default) or raises RuleSetError."""
    root = Path(directory) if directory is not None else DEFAULT_DIR
    problems: list[str] = []
    if not root.is_dir():
        raise RuleSetError([f"{root}: not a directory"])
    plan = _validate(Plan, root / "plan.yml", problems)
    partners = _validate(Partners, root / "partners.yml", problems)
    places = _validate(Places, root / "places.yml", problems)
    countries = _validate(Countries, root / "countries.yml", problems)
    regions = _validate(Regions, root / "regions.yml", problems)
    departments = _validate(Departments, root / "departments.yml", problems)
    vocabulary = _validate(Vocabulary, root / "vocabulary.yml", problems)
    climate = _validate(ClimateData, root / "climate.yml", problems)
    followup = _validate(FollowUpRules, root / "followup.yml", problems)
    texts = {lang: _load_texts(root / "texts", lang, problems) for lang in LANGS}
    sv, en = texts["sv"], texts["en"]
    if sv is not None and en is not None:
        _check_texts(sv, en, problems)
    if plan is not None and partners is not None:
        for index, partner in enumerate(partners.partners):
            if partner.focus_area not in {f.code for f in plan.focus_areas}:
                problems.append(
                    f"partners.yml: partners[{index}] ({partner.id}): unknown focus area"
                )
    if partners is not None and places is not None:
        _check_partner_homes(partners.partners, places.partner_homes, problems)
    if problems:
        raise RuleSetError(problems)
    assert plan and partners and places and departments and vocabulary and climate and sv and en
    assert countries and regions and followup
    return RuleSet(
        version=_version(root, plan.version),
        plan=plan,
        partners=partners.partners,
        places=places,
        countries=countries,
        regions=regions.regions,
        departments=departments.departments,
        vocabulary=vocabulary,
        climate=climate,
        followup=followup,
        texts={"sv": sv.texts, "en": en.texts},
    )


def _check_partner_homes(
    partners: tuple[Partner, ...], homes: dict[str, PartnerHome], problems: list[str]
) -> None:
    """Every partner with a home town is linked to its GeoNames place, and only those."""
    with_home = {p.id for p in partners if p.home is not None}
    for partner_id in sorted(with_home - set(homes)):
        problems.append(f"places.yml: partner_homes: {partner_id!r} has a home town but no link")
    for partner_id in sorted(set(homes) - with_home):
        problems.append(
            f"places.yml: partner_homes: {partner_id!r} is not a partner with a home town"
        )


def load_place_names(directory: Path | str | None = None) -> PlaceNames:
    """What the place index needs from the rule set (countries, regions, digital words,
    partners' towns), without loading the rest; raises RuleSetError."""
    root = Path(directory) if directory is not None else DEFAULT_DIR
    problems: list[str] = []
    places = _validate(Places, root / "places.yml", problems)
    countries = _validate(Countries, root / "countries.yml", problems)
    regions = _validate(Regions, root / "regions.yml", problems)
    if problems:
        raise RuleSetError(problems)
    assert places and countries and regions
    return PlaceNames(
        countries=countries.countries,
        regions=regions.regions,
        digital_words=places.digital_places.all(),
        preferred_geonameids=tuple(home.geonameid for home in places.partner_homes.values()),
    )
