"""The accessibility statement says how to report a problem: the configured contact, else the
default text, in the page's language, and never as markup."""

from __future__ import annotations

import httpx
import pytest

from bot.engine import Engine
from bot.settings import Settings
from rules.models import Lang
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.servers import running
from tripcheck.server import create_app

CONTACT = "Kommunstaben, e-post <tillganglighet@lulea.se>, tel. 0920-45 30 00"


async def statement(rules: RuleSet, lang: Lang, **values: str) -> str:
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, decision_log=storage.decision_log)
    settings = Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": "s" * 32, **values})
    async with running(create_app(settings, engine)) as url, httpx.AsyncClient() as http:
        page = await http.get(f"{url}/admin/accessibility?lang={lang}")
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_configured_contact_is_shown(rules: RuleSet, lang: Lang) -> None:
    page = await statement(rules, lang, TRIPCHECK_ACCESSIBILITY_CONTACT=CONTACT)
    escaped = CONTACT.replace("<", "&lt;").replace(">", "&gt;")
    shown = rules.text("admin.web.a11y.report.contact_at", lang, contact=escaped)
    assert f'<p id="contact" class="contact">{shown}</p>' in page
    assert rules.text("admin.web.a11y.report.contact", lang) not in page


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_without_a_setting_the_default_contact_is_shown(rules: RuleSet, lang: Lang) -> None:
    page = await statement(rules, lang, TRIPCHECK_ACCESSIBILITY_CONTACT="  ")
    default = rules.text("admin.web.a11y.report.contact", lang).replace("'", "&#39;")
    assert f'<p id="contact" class="contact">{default}</p>' in page
