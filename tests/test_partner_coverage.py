"""Every partner, network and organisation POLICY.md names (§5's table and §9.3) is known by
its Swedish, English and ASCII names, and resolves to its focus area."""

from __future__ import annotations

import pytest

from rules.answers import Accepted, Ambiguous, Interpreter
from rules.check import Check, Destination, PartnerRef
from rules.evaluate import evaluate
from rules.models import Lang
from rules.ruleset import RuleSet

# (partner id, focus area, the names it must be known by: Swedish, English, ASCII, longer)
NAMED = [
    # §5 Regional / Arctic
    (
        "arctic_mayors_forum",
        "regional_arctic",
        ["Arctic Mayors' Forum", "Arktiska borgmästarforumet", "Arktiska borgmastarforumet"],
    ),
    (
        "bothnian_arc",
        "regional_arctic",
        ["Bottenviksbågen", "Bothnian Arc", "Bottenviksbagen", "Bothnian Arc rf"],
    ),
    (
        "barents_road",
        "regional_arctic",
        [
            "Barents Väg",
            "Barents Road",
            "Barents Vag",
            "Barents Road Internationella föreningen",
            "Barents Road international association",
        ],
    ),
    ("oulu", "regional_arctic", ["Uleåborg", "Oulu", "Uleaborg"]),
    ("bodo", "regional_arctic", ["Bodö", "Bodø", "Bodo"]),
    ("arctic_five", "regional_arctic", ["Arctic Five", "Arctic 5"]),
    (
        "polar_research_institute",
        "regional_arctic",
        [
            "Polarforskningsinstitutet",
            "Swedish Polar Research Secretariat",
            "Polar Research Institute",
        ],
    ),
    (
        "norrbotten_arctic_platform",
        "regional_arctic",
        [
            "Norrbottens politiska plattform för Arktis",
            "Norrbotten's political platform for the Arctic",
            "Norrbottens politiska plattform for Arktis",
        ],
    ),
    # §5 European Union
    ("sern", "eu", ["SERN", "Sweden Emilia Romagna Network", "Sweden Emilia-Romagna Network"]),
    (
        "ubc",
        "eu",
        [
            "UBC",
            "Östersjöstädernas förbund",
            "Union of the Baltic Cities",
            "Ostersjostadernas forbund",
        ],
    ),
    ("noveant", "eu", ["Novéant-sur-Moselle", "ANEA", "Noveant-sur-Moselle"]),
    (
        "join_boost_sustain",
        "eu",
        [
            "JOIN, BOOST, SUSTAIN",
            "JOIN, BOOST, SUSTAIN-avsiktsförklaringen",
            "JOIN, BOOST, SUSTAIN declaration",
            "Join Boost Sustain",
            "Living-in.EU",
        ],
    ),
    # §5 Twin cities
    ("kemi", "twin_city", ["Kemi", "City of Kemi", "Kemin kaupunki"]),
    ("tromso", "twin_city", ["Tromsö", "Tromsø", "Tromso"]),
    ("santa_lucia", "twin_city", ["Santa Lucía de Tirajana", "Santa Lucia de Tirajana"]),
    ("puerto_cabezas", "twin_city", ["Puerto Cabezas", "Bilwi"]),
    ("zenica", "twin_city", ["Zenica", "Grad Zenica"]),
    # §5 Business region
    (
        "lulea_business_region",
        "business_region",
        ["Luleå Business Region", "LBR", "Lulea Business Region"],
    ),
    (
        "convention_bureau",
        "business_region",
        ["Luleå Convention Bureau", "Convention Bureau", "CVB", "Lulea Convention Bureau"],
    ),
    ("sncvb", "business_region", ["SNCVB", "Swedish Network of Convention Bureaus"]),
    (
        "arctic_europe_tourism_cluster",
        "business_region",
        ["Arctic Europe Tourism Cluster", "Interreg Arctic Europe Tourism Cluster"],
    ),
    (
        "bothnian_coastal_route",
        "business_region",
        ["Bothnian Coastal Route", "Interreg Bothnian Coastal Route"],
    ),
    ("lulea_science_park", "business_region", ["Luleå Science Park", "LSP", "Lulea Science Park"]),
    ("iasp", "business_region", ["IASP", "International Association of Science Parks"]),
    (
        "nordic_house_of_innovation",
        "business_region",
        ["Nordic House of Innovation", "Silicon Valley"],
    ),
    (
        "sweden_ict",
        "business_region",
        ["Sweden ICT", "EDIH Sweden Secure Tech Hub", "European Digital Innovation Hub"],
    ),
    # §9.3
    (
        "aebr",
        "eu",
        [
            "AEBR",
            "Europeiska gränsregioners förbund",
            "Association of European Border Regions",
            "Europeiska gransregioners forbund",
        ],
    ),
    (
        "tornedal_council",
        "regional_arctic",
        ["Tornedalsrådet", "Tornedal Council", "Tornedalsradet"],
    ),
    (
        "nordic_council_of_ministers",
        "regional_arctic",
        ["Nordiska ministerrådet", "Nordic Council of Ministers", "Nordiska ministerradet"],
    ),
    ("arctic_council", "regional_arctic", ["Arktiska rådet", "Arctic Council", "Arktiska radet"]),
    ("region_norrbotten", "regional_arctic", ["Region Norrbotten", "Norrbotten Region"]),
    (
        "ltu",
        "regional_arctic",
        [
            "Luleå tekniska universitet",
            "LTU",
            "Luleå University of Technology",
            "Lulea tekniska universitet",
        ],
    ),
    (
        "umea_university",
        "regional_arctic",
        ["Umeå universitet", "Umeå University", "Umea universitet"],
    ),
    (
        "uit",
        "regional_arctic",
        [
            "UiT Norges arktiske universitet",
            "UiT The Arctic University of Norway",
            "UiT",
            "Universitetet i Tromsø",
            "University of Tromso",
        ],
    ),
    (
        "university_of_oulu",
        "regional_arctic",
        ["Oulun yliopisto", "Uleåborgs universitet", "University of Oulu", "Uleaborgs universitet"],
    ),
    (
        "university_of_lapland",
        "regional_arctic",
        ["Lapin yliopisto", "Lapplands universitet", "University of Lapland"],
    ),
    ("emilia_romagna", "eu", ["Emilia-Romagna", "Regione Emilia-Romagna", "Emilia Romagna"]),
    ("pause", "eu", ["PAUSE", "PAUSE-projektet", "PAUSE project"]),
    (
        "covenant_of_mayors",
        "eu",
        ["Borgmästaravtalet", "Covenant of Mayors", "Borgmastaravtalet", "EU Covenant of Mayors"],
    ),
    ("visit_stockholm", "business_region", ["Visit Stockholm"]),
    (
        "goteborg_and_co",
        "business_region",
        ["Göteborg & Co", "Gothenburg & Co", "Goteborg & Co", "Göteborg och Co"],
    ),
    ("malmo_stad", "business_region", ["Malmö stad", "City of Malmö", "Malmo stad"]),
    ("pitea_science_park", "business_region", ["Piteå Science Park", "Pitea Science Park"]),
    (
        "skelleftea_science_city",
        "business_region",
        ["Skellefteå Science City", "Skelleftea Science City"],
    ),
    ("ltu_business", "business_region", ["LTU Business"]),
    ("invest_i_norr", "business_region", ["Invest i Norr", "Invest in Norr"]),
    ("blue_science_park", "business_region", ["Blue Science Park"]),
    ("ideon", "business_region", ["Ideon", "Ideon Science Park"]),
    ("kista_science_city", "business_region", ["Kista Science City"]),
    ("lindholmen_science_park", "business_region", ["Lindholmen", "Lindholmen Science Park"]),
    (
        "linkoping_science_park",
        "business_region",
        ["Linköping Science Park", "Linkoping Science Park"],
    ),
    ("kvarken_council", "business_region", ["Kvarkenrådet", "Kvarken Council", "Kvarkenradet"]),
]
CASES = [
    (name, partner, focus, lang)
    for partner, focus, names in NAMED
    for name in names
    for lang in ("sv", "en")
]


@pytest.fixture(scope="module")
def interpreter(rules: RuleSet) -> Interpreter:
    return Interpreter(rules)


@pytest.mark.parametrize(("typed", "partner", "focus", "lang"), CASES)
def test_every_partner_the_plan_names_resolves_to_its_focus_area(
    interpreter: Interpreter, typed: str, partner: str, focus: str, lang: Lang
) -> None:
    parsed = interpreter.parse("partner", typed, lang)
    assert isinstance(parsed, Accepted), parsed
    assert parsed.value["id"] == partner
    assert interpreter.rules.partner_by_id[partner].focus_area == focus


def test_the_table_covers_every_partner_in_the_data(rules: RuleSet) -> None:
    assert {p.id for p in rules.partners} == {partner for partner, _, _ in NAMED}


@pytest.mark.parametrize("typed", ["Boost", "BOOST", "Sustain", "Join"])
def test_a_word_of_join_boost_sustain_is_not_the_partner(
    interpreter: Interpreter, typed: str
) -> None:
    assert interpreter.rules.partner_matcher.exact(typed) is None
    assert not isinstance(interpreter.parse("partner", typed, "sv"), Accepted)


@pytest.mark.parametrize(
    "typed",
    [
        "stad",
        "kommun",
        "kaupunki",
        "city",
        "universitet",
        "university",
        "Stockholms universitet",
        "Lunds universitet",
        "Göteborgs stad",
        "Tornion kaupunki",
        "Science Park",
    ],
)
def test_a_generic_word_never_decides_a_partner(interpreter: Interpreter, typed: str) -> None:
    parsed = interpreter.parse("partner", typed, "sv")
    if isinstance(parsed, Accepted):
        assert parsed.value["id"] is None, parsed
    else:
        assert isinstance(parsed, Ambiguous), parsed


@pytest.mark.parametrize(("typed", "lang"), [("UiT", "sv"), ("University of Tromsø", "en")])
def test_the_university_in_tromso_is_not_the_twin_city(
    interpreter: Interpreter, typed: str, lang: Lang
) -> None:
    parsed = interpreter.parse("partner", typed, lang)
    assert isinstance(parsed, Accepted) and parsed.value["id"] == "uit"
    assert interpreter.rules.partner_by_id["uit"].focus_area == "regional_arctic"


def test_malmo_as_a_destination_does_not_imply_malmo_stad(rules: RuleSet) -> None:
    assert "malmo" not in rules.partner_by_home


@pytest.mark.parametrize("typed", ["LBR", "LSP", "CVB", "Luleå Business Region"])
@pytest.mark.parametrize(
    ("place", "country"), [("Hamburg", "DE"), ("Wien", "AT"), ("Las Vegas", "US")]
)
def test_the_business_regions_own_work_is_in_its_focus_area(
    interpreter: Interpreter, typed: str, place: str, country: str
) -> None:
    parsed = interpreter.parse("partner", typed, "sv")
    assert isinstance(parsed, Accepted)
    check = Check(
        kind="activity",
        title="Mässa",
        department="Luleå Business Region",
        partner=PartnerRef.model_validate(parsed.value),
        destination=Destination(name=place, country=country),
        contributes_development=True,
        external_monitoring=True,
        influence=False,
        goals=(8,),
        physical_necessary="yes",
        travellers=2,
        travel_mode="flight",
        equality_considered=True,
        in_annual_plan=True,
    )
    decision = evaluate(check, interpreter.rules, "sv")
    assert decision.focus_area == "business_region"
    assert "outside_focus_area" not in {a.code for a in decision.advisories}
