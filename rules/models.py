"""Pydantic models of the rule-set data files: the plan as validated data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Lang = Literal["sv", "en"]
LANGS: tuple[Lang, ...] = ("sv", "en")
FocusArea = Literal["regional_arctic", "eu", "twin_city", "business_region", "domestic", "other"]
FOCUS_AREAS: tuple[FocusArea, ...] = (
    "regional_arctic",
    "eu",
    "twin_city",
    "business_region",
    "domestic",
    "other",
)
AdvisoryCode = Literal[
    "outside_focus_area",
    "dormant_twin_city",
    "dormant_twin_city_resumed",
    "new_twin_city",
    "equality_not_considered",
    "eu_funding_not_checked",
    "not_in_annual_plan",
    "ask_for_remote_participation",
    "lower_carbon_mode",
    "not_international",
]


class Strict(BaseModel):
    """A data model that refuses unknown keys, so a typo in a data file is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(Strict):
    sv: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: Lang) -> str:
        return self.sv if lang == "sv" else self.en


class BilingualList(Strict):
    sv: tuple[str, ...]
    en: tuple[str, ...]

    def __call__(self, lang: Lang) -> tuple[str, ...]:
        return self.sv if lang == "sv" else self.en

    def all(self) -> tuple[str, ...]:
        return self.sv + self.en


class ChecklistItem(Strict):
    field: Literal["contributes_development", "external_monitoring", "influence"]
    section: str


class Goal(Strict):
    number: int = Field(ge=1, le=9)
    sv: str
    en: str
    keywords: tuple[str, ...] = ()

    def name(self, lang: Lang) -> str:
        return self.sv if lang == "sv" else self.en


class Coded(Strict):
    code: str
    section: str


class FocusAreaEntry(Strict):
    code: FocusArea
    section: str


class Plan(Strict):
    version: str = Field(pattern=r"^[0-9A-Za-z.\-]+$")
    plan: Bilingual
    sections: dict[str, Bilingual]
    checklist: tuple[ChecklistItem, ...]
    goals: tuple[Goal, ...]
    focus_areas: tuple[FocusAreaEntry, ...]
    advisories: tuple[Coded, ...]
    travel_guidelines: tuple[Coded, ...]
    twin_city_words: tuple[str, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        numbers = sorted(goal.number for goal in self.goals)
        if numbers != list(range(1, 10)):
            raise ValueError(f"goals must be numbered 1 to 9 once each, got {numbers}")
        if sorted(a.code for a in self.focus_areas) != sorted(FOCUS_AREAS):
            raise ValueError(f"focus_areas must be exactly {list(FOCUS_AREAS)}")
        codes = {a.code for a in self.advisories}
        known = set(AdvisoryCode.__args__)  # type: ignore[attr-defined]
        if codes != known:
            raise ValueError(f"advisories must be exactly {sorted(known)}, got {sorted(codes)}")
        referenced = [c.section for c in self.checklist]
        referenced += [f.section for f in self.focus_areas]
        referenced += [a.section for a in (*self.advisories, *self.travel_guidelines)]
        for section in referenced:
            if section not in self.sections:
                raise ValueError(
                    f"section {section!r} is not one of sections: {sorted(self.sections)}"
                )
        return self


class HomeTown(Strict):
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")


class Partner(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: Bilingual
    focus_area: FocusArea
    kind: Literal["network", "city", "twin_city", "organisation", "project"]
    dormant: bool = False
    home: HomeTown | None = None
    aliases: tuple[str, ...] = Field(min_length=1)
    areas: BilingualList | None = None

    @field_validator("focus_area")
    @classmethod
    def _not_other(cls, value: FocusArea) -> FocusArea:
        if value in ("other", "domestic"):
            raise ValueError("a partner named in the plan belongs to one of its focus areas")
        return value

    @model_validator(mode="after")
    def _twin_city_area(self) -> Partner:
        if self.kind == "twin_city" and self.focus_area != "twin_city":
            raise ValueError("a twin city's focus area is twin_city")
        if self.dormant and self.kind != "twin_city":
            raise ValueError("only twin cities can be dormant in the plan")
        return self


class Partners(Strict):
    partners: tuple[Partner, ...]

    @model_validator(mode="after")
    def _unique(self) -> Partners:
        seen: set[str] = set()
        for partner in self.partners:
            if partner.id in seen:
                raise ValueError(f"partner id {partner.id!r} appears twice")
            seen.add(partner.id)
        return self


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class NearTown(Strict):
    """A town of the near region: an example the tests check, known without the place index."""

    name: str
    aliases: tuple[str, ...] = ()


class NearRegion(Strict):
    """A first-level region (GeoNames admin1) of the near region."""

    name: str
    country: CountryCode
    admin1: tuple[str, ...] = Field(min_length=1)
    towns: tuple[NearTown, ...] = ()


class PartnerHome(Strict):
    """The GeoNames place a partner of the plan lives in."""

    geonameid: int = Field(gt=0)
    name: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Places(Strict):
    """Where a destination belongs: near region, EU/EEA, home country; digital places."""

    source: str = Field(min_length=1)
    home_country: CountryCode
    near_region: tuple[NearRegion, ...] = Field(min_length=1)
    eu_eea_countries: tuple[CountryCode, ...] = Field(min_length=1)
    eu_territories: tuple[CountryCode, ...] = ()
    digital_places: BilingualList
    partner_homes: dict[str, PartnerHome]
    partner_home_radius_km: float = Field(gt=0, le=50)


class CountryNames(Strict):
    """A country's names: GeoNames' English one, Swedish ones, then other forms."""

    name: str = Field(min_length=1)
    sv: tuple[str, ...] = Field(min_length=1)
    en: tuple[str, ...] = ()


class Countries(Strict):
    source: str = Field(min_length=1)
    countries: dict[str, CountryNames]

    @field_validator("countries")
    @classmethod
    def _iso_codes(cls, value: dict[str, CountryNames]) -> dict[str, CountryNames]:
        for code in value:
            if len(code) != 2 or not code.isupper():
                raise ValueError(f"{code!r} is not an ISO 3166 two-letter country code")
        return value


class RegionPoint(Strict):
    """The point a region's distance is measured to."""

    name: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Region(Strict):
    """A region named as a place or a qualifier; `admin1[0]` is where its point lies."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: Bilingual
    country: CountryCode
    admin1: tuple[str, ...] = Field(min_length=1)
    point: RegionPoint
    aliases: tuple[str, ...] = ()


class Regions(Strict):
    source: str = Field(min_length=1)
    regions: tuple[Region, ...]

    @model_validator(mode="after")
    def _unique(self) -> Regions:
        ids = [r.id for r in self.regions]
        if len(ids) != len(set(ids)):
            raise ValueError("a region id appears twice")
        return self


class PlaceNames(Strict):
    """What the place index needs besides GeoNames: countries, regions, digital words, and
    the partners' home towns (preferred when a guess is offered)."""

    countries: dict[str, CountryNames]
    regions: tuple[Region, ...]
    digital_words: tuple[str, ...]
    preferred_geonameids: tuple[int, ...] = ()


class Department(Strict):
    name: str
    aliases: tuple[str, ...] = ()


class Departments(Strict):
    departments: tuple[Department, ...]


class DateWords(Strict):
    """The words of dates besides the month names (read by rules/dates.py)."""

    month_words_needing_context: BilingualList
    month_lead: BilingualList
    day_lead: BilingualList
    day_month_link: BilingualList
    ordinal_suffixes: BilingualList
    days_from_today: dict[int, BilingualList]
    weeks_from_now: dict[int, BilingualList]
    months_from_now: dict[int, BilingualList]


class SentenceWords(Strict):
    """The words that show what a one-sentence description says (read by rules/sentence.py)."""

    travellers_before: BilingualList
    travellers_after: BilingualList
    travellers_alone: BilingualList
    articles: BilingualList
    place_before: BilingualList
    place_from: BilingualList
    department_before: BilingualList
    general_kind_words: BilingualList
    not_a_mode_in_a_sentence: BilingualList
    correction_fillers: BilingualList


class TogetherWords(Strict):
    """The words of answers that settle several questions at once (rules/fields.py `settles`
    and `together`, read by rules/answers.py)."""

    # "nej, inget digitalt alternativ": a word that says the digital option is missing.
    without: BilingualList
    # "alla", "båda": every statement of a tick list is true.
    every: BilingualList
    # The words that name one statement of a tick list ("jämställdhet", "årsplanen").
    statements: dict[str, BilingualList]


class Vocabulary(Strict):
    answers: dict[Literal["yes", "no", "unsure"], BilingualList]
    kinds: dict[Literal["trip", "project", "activity"], BilingualList]
    modes: dict[Literal["flight", "train", "bus", "car", "ferry"], BilingualList]
    nothing: BilingualList
    greetings: BilingualList
    commands: dict[str, BilingualList]
    numbers: dict[int, BilingualList]
    months: dict[int, BilingualList]
    dates: DateWords
    sentence: SentenceWords
    together: TogetherWords

    @field_validator("months")
    @classmethod
    def _twelve_months(cls, value: dict[int, BilingualList]) -> dict[int, BilingualList]:
        if sorted(value) != list(range(1, 13)):
            raise ValueError(f"months must be numbered 1 to 12 once each, got {sorted(value)}")
        for number, names in value.items():
            if not names.sv or not names.en:
                raise ValueError(f"month {number} needs a name in both languages")
        return value


class Texts(Strict):
    """Every text the bot says, by id, in one language."""

    texts: dict[str, str]
