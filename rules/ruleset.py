"""The loaded rule set: validated data plus the lookups built from it once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.climate import ClimateData
from rules.matching import Matcher, normalize
from rules.models import BilingualList, Department, Goal, Lang, Partner, Places, Plan, Vocabulary


def _word_map(groups: Mapping[Any, BilingualList]) -> dict[str, Any]:
    """Maps every normalised word of every group, in both languages, to the group's key."""
    words: dict[str, Any] = {}
    for key, bilingual in groups.items():
        for word in bilingual.all():
            # Punctuation-only words ("?") normalise to nothing and are matched as typed.
            words.setdefault(normalize(word) or word.strip(), key)
    return words


class RuleSet:
    """The plan as data, with its version, texts and matchers. Immutable once built."""

    def __init__(
        self,
        *,
        version: str,
        plan: Plan,
        partners: tuple[Partner, ...],
        places: Places,
        departments: tuple[Department, ...],
        vocabulary: Vocabulary,
        climate: ClimateData,
        texts: Mapping[Lang, Mapping[str, str]],
    ) -> None:
        self.version = version
        self.plan = plan
        self.partners = partners
        self.places = places
        self.departments = departments
        self.vocabulary = vocabulary
        self.climate = climate
        self.texts = texts
        self.partner_by_id = {p.id: p for p in partners}
        self.goal_by_number: dict[int, Goal] = {g.number: g for g in plan.goals}
        self.partner_matcher = Matcher((p.id, (*p.aliases, p.name.sv, p.name.en)) for p in partners)
        self.department_matcher = Matcher((d.name, (d.name, *d.aliases)) for d in departments)
        self.near_region_matcher = Matcher(
            (town.name, (town.name, *town.aliases)) for town in places.near_region
        )
        self.near_region_country = {town.name: town.country for town in places.near_region}
        self.country_matcher = Matcher(places.eu_eea_countries.items())
        self.answer_words = _word_map(vocabulary.answers)
        self.kind_words = _word_map(vocabulary.kinds)
        self.mode_words = _word_map(vocabulary.modes)
        self.number_words = _word_map(vocabulary.numbers)
        self.command_words = _word_map(vocabulary.commands)
        self.nothing_words = {normalize(w) for w in vocabulary.nothing.all()}
        self.greeting_lang: dict[str, Lang] = {normalize(w): "sv" for w in vocabulary.greetings.sv}
        self.greeting_lang.update({normalize(w): "en" for w in vocabulary.greetings.en})
        self.goal_keywords = {
            normalize(word): goal.number for goal in plan.goals for word in goal.keywords
        }
        self.twin_city_words = tuple(normalize(w) for w in plan.twin_city_words)
        # A partner that is a town: a destination there with no partner named implies it.
        self.partner_by_home = {
            normalize(p.home.name): p
            for p in partners
            if p.kind in ("city", "twin_city") and p.home
        }

    def text(self, text_id: str, lang: Lang, /, **values: object) -> str:
        """The text `text_id` in `lang`, with its placeholders filled in."""
        template = self.texts[lang][text_id]
        return template.format(**values) if values else template

    def section(self, section_id: str, lang: Lang) -> str:
        """The plan section's heading to cite, in the user's language."""
        return self.plan.sections[section_id](lang)

    def is_eu_eea(self, country_code: str) -> bool:
        """Whether a country belongs to the EU or the EEA."""
        return country_code.upper() in self.places.eu_eea_countries
