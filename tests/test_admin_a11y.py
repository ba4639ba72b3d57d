"""The web admin against WCAG 2.1 AA in headless Chromium (Debian's, never a downloaded build):
axe-core on every page and every error state in both languages, failing on serious or
critical violations; keyboard-only use with visible focus; a refused review keeps its error
in view; and a 5000-character unbroken text never makes a page wider than a 360 px phone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

import bot.passwords
from adapters import admin_web
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.passwords import hash_password
from bot.settings import Settings
from bot.state import ConversationState
from bot.storage import DecisionRecord, StorageError
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Clock
from tests.decision_factory import build_log
from tests.servers import running
from tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS
from tripcheck.server import create_app

ADMIN, PASSWORD = "kerstin", "correct horse battery"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()
LONG = "ö" * 2500 + "x" * 2500  # one unbroken 5000-character word
PHONE = {"width": 360, "height": 800}
LAPTOP = {"width": 1280, "height": 900}
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not at /usr/bin/chromium"
)


@dataclass
class Site:
    url: str
    long_id: int
    other_lang_id: int
    engine: Engine


def _record(**changes: Any) -> DecisionRecord:
    values: dict[str, Any] = {
        "channel": "teams",
        "chat": "c1",
        "user_id": "u1",
        "role": "employee",
        "created_at": NOW - 3600,
        "lang": "sv",
        "kind": "trip",
        "title": "Konferens",
        "department": "Kommunstaben",
        "partner": "SERN",
        "partner_id": None,
        "destination": "Bologna",
        "outcome": "travel",
        "focus_area": "eu",
        "advisories": [{"code": "not_in_annual_plan"}],
        "reasons": [{"code": "adds_value", "text": "Det tillför värde.", "section": "Inriktning"}],
        "guidelines": [],
        "answers": {"title": {"raw": "konferens", "value": "Konferens", "label": "Konferens"}},
        "rules_version": "2024.1+test",
        "transcript": [{"at": NOW - 3600, "step": "title", "in": "konferens"}],
        "co2": {"distance_km": 2400.0, "planned_mode": "flight", "planned_kg": 900.0},
    }
    values.update(changes)
    return DecisionRecord(**values)


@pytest.fixture
async def site(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Site]:
    monkeypatch.setattr(bot.passwords, "N", 2**10)
    db = tmp_path / "tripcheck.db"
    await asyncio.to_thread(build_log, db, 60)
    storage = await SQLiteStorage.open(db)
    await storage.decision_log.save_admin(ADMIN, hash_password(PASSWORD), NOW)
    key = ConversationKey("teams", "c1", "u1")
    state = ConversationState(lang="sv")
    long_id = await storage.record_decision(
        key,
        _record(
            title=LONG,
            department=LONG,
            partner=LONG,
            destination=LONG,
            answers={"title": {"raw": LONG, "value": LONG, "label": LONG}},
            transcript=[{"at": NOW - 3600, "step": "title", "in": LONG}],
        ),
        state,
    )
    other_lang_id = await storage.record_decision(
        key, _record(lang="en", title="Study visit", created_at=NOW - 60), state
    )
    engine = Engine(rules, storage, clock=Clock(NOW), decision_log=storage.decision_log)
    settings = Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": "a11y-test-secret"})
    async with running(create_app(settings, engine)) as url:
        yield Site(url, long_id, other_lang_id, engine)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def _broken(*args: Any, **kwargs: Any) -> Any:
    raise StorageError("The database is corrupt.")


async def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options=WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def new_page(chromium: Any, site: Site, lang: str, viewport: dict[str, int]) -> Any:
    context = await chromium.new_context(viewport=viewport)
    await context.add_cookies(
        [{"name": admin_web.LANG_COOKIE, "value": lang, "url": f"{site.url}/admin"}]
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


async def log_in(page: Any, site: Site, password: str = PASSWORD) -> None:
    await page.goto(f"{site.url}/admin/login")
    await page.locator("#username").fill(ADMIN)
    await page.locator("#password").fill(password)
    await page.locator("form.login button[type=submit]").click()
    await page.wait_for_load_state()


async def width_of(page: Any) -> int:
    return int(await page.evaluate("document.documentElement.scrollWidth"))


async def screenshot_width(page: Any) -> int:
    """The width of a whole-page screenshot, read from the PNG's header."""
    png = await page.screenshot(full_page=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big")


def pages(site: Site) -> list[tuple[str, str, int]]:
    """Every admin page and every error state reachable by address: (name, path, status)."""
    return [
        ("dashboard", "/admin", 200),
        ("decisions", "/admin/decisions", 200),
        ("decisions, filtered", "/admin/decisions?outcome=digital&page=2", 200),
        ("decisions, long search", f"/admin/decisions?search={LONG[:150]}", 200),
        (
            "decisions, bad filters",
            f"/admin/decisions?since=igår&until=x&outcome=kanske&focus_area=mars"
            f"&search={'x' * 201}&page=٣",
            400,
        ),
        ("decisions, beyond the last page", "/admin/decisions?page=99", 200),
        ("decision, long text", f"/admin/decisions/{site.long_id}", 200),
        ("decision, other language", f"/admin/decisions/{site.other_lang_id}", 200),
        ("decision, unknown", "/admin/decisions/99999999999999999999999", 404),
        ("annual plan", "/admin/plan", 200),
        ("annual plan, bad year", "/admin/plan?year=٢٠٢٦", 400),
        ("annual plan export, bad year", "/admin/plan.xlsx?year=20266", 400),
        ("no such page", "/admin/nothing-here", 404),
        ("accessibility statement", "/admin/accessibility", 200),
    ]


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_axe_finds_nothing_serious_on_any_page_or_error_state(
    site: Site, chromium: Any, lang: str
) -> None:
    found: dict[str, list[str]] = {}
    for viewport in (LAPTOP, PHONE):
        page = await new_page(chromium, site, lang, viewport)
        width = viewport["width"]

        async def check(
            name: str,
            status: int | None,
            response: Any = None,
            page: Any = page,
            width: int = width,
        ) -> None:
            if status is not None and response is not None:
                assert response.status == status, name
            assert await page.evaluate("document.documentElement.lang") == lang, name
            found[f"{name} @{width}"] = await serious_violations(page)
            if width == PHONE["width"]:
                assert await width_of(page) <= width, f"{name} is wider than {width} px"
                assert await screenshot_width(page) <= width, f"{name}'s screenshot is wider"

        # Before signing in: the login page, a wrong password, too many attempts.
        await check("login", 200, await page.goto(f"{site.url}/admin/login"))
        await check(
            "accessibility statement, signed out",
            200,
            await page.goto(f"{site.url}/admin/accessibility"),
        )
        await log_in(page, site, "wrong password!!")
        await check("login, wrong password", None)
        assert await page.locator("#username").get_attribute("aria-describedby") == "login-error"
        # A refused login form (its token tampered with).
        await page.goto(f"{site.url}/admin/login")
        await page.locator("input[name=csrf]").evaluate("e => e.value = 'forged'")
        await page.locator("#username").fill(ADMIN)
        await page.locator("#password").fill(PASSWORD)
        await page.locator("form.login button[type=submit]").click()
        await page.wait_for_load_state()
        await check("login, refused form", None)

        await log_in(page, site)
        assert "/admin/login" not in page.url
        for name, path, status in pages(site):
            await check(name, status, await page.goto(f"{site.url}{path}"))

        # The database unreadable: a clear 503 page.
        assert site.engine.admin is not None
        log = site.engine.admin.log
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(log, "count_decisions", _broken)
            await check("database unavailable", 503, await page.goto(f"{site.url}/admin/decisions"))

        # A refused review: the error is announced, next to its field, and in view.
        await page.goto(f"{site.url}/admin/decisions/{site.long_id}")
        await page.locator("input[name=verdict][value=disagree]").check()
        await page.locator("#comment").fill(" ")
        await page.locator("form.review-form button[type=submit]").click()
        await page.wait_for_load_state()
        await check("review, refused", None)
        # The error box takes the focus (and so is scrolled into view and read out).
        assert page.url.endswith("/reviews")
        errors = page.locator("#review-errors")
        assert await errors.get_attribute("role") == "alert"
        await expect(errors).to_be_focused()
        assert await errors.is_visible()
        in_view = await errors.evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        )
        assert in_view
        assert await page.locator("#comment").get_attribute("aria-describedby") == "error-comment"
        assert await page.locator("#comment").get_attribute("aria-invalid") == "true"
        # A review form with a forged token.
        await page.goto(f"{site.url}/admin/decisions/{site.other_lang_id}")
        await page.locator("form.review-form input[name=csrf]").evaluate("e => e.value = 'forged'")
        await page.locator("input[name=verdict][value=agree]").check()
        await page.locator("form.review-form button[type=submit]").click()
        await page.wait_for_load_state()
        await check("review, forged token", None)
        await page.context.close()

    # Too many failed logins (a fresh address is not needed: the limit is per account).
    page = await new_page(chromium, site, lang, PHONE)
    for _ in range(6):
        await page.goto(f"{site.url}/admin/login")
        await page.locator("#username").fill("nobody")
        await page.locator("#password").fill("wrong")
        await page.locator("form.login button[type=submit]").click()
        await page.wait_for_load_state()
    assert await page.locator("h1").count() == 1
    found["too many attempts @360"] = await serious_violations(page)
    assert await width_of(page) <= PHONE["width"]
    await page.context.close()

    assert {name: problems for name, problems in found.items() if problems} == {}


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_admin_works_by_keyboard_alone_with_visible_focus(
    site: Site, chromium: Any, lang: str
) -> None:
    page = await new_page(chromium, site, lang, PHONE)
    await page.goto(f"{site.url}/admin/decisions/{site.other_lang_id}")
    assert "/admin/login" in page.url
    # The first Tab reaches the skip link, which shows itself when focused.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    assert await page.locator("a.skip").is_visible()

    async def tab_to(selector: str) -> None:
        for _ in range(30):
            if await page.evaluate(f"document.activeElement.matches({selector!r})"):
                outline = await page.evaluate(
                    "getComputedStyle(document.activeElement).outlineStyle"
                )
                assert outline not in ("none", ""), f"{selector} has no visible focus"
                return
            await page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    await tab_to("#username")
    await page.keyboard.type(ADMIN)
    await tab_to("#password")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/admin/decisions/{site.other_lang_id}")
    # The review by keyboard: arrow keys choose the verdict, Enter sends.
    await tab_to("input[name=verdict]")
    await page.keyboard.press("Space")
    await tab_to("#comment")
    await page.keyboard.type("Kan mötas digitalt")
    await tab_to("form.review-form button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/admin/decisions/{site.other_lang_id}#reviews")
    assert "Kan mötas digitalt" in await page.locator("li.review").inner_text()
    # The decision's English content in a Swedish admin (and the other way) says so.
    other = "en" if lang == "sv" else None
    title_lang = await page.locator("h1 .title").get_attribute("lang")
    assert title_lang == other
    await page.context.close()


async def test_the_axe_check_does_find_violations(chromium: Any) -> None:
    """The check above is not vacuous: a page with known serious violations fails it."""
    page = await chromium.new_page()
    await page.set_content(
        '<html><body><img src="data:,"><input><ul role="alert"><li>x</li></ul></body></html>'
    )
    found = " ".join(await serious_violations(page))
    assert "image-alt" in found and "label" in found and "html-has-lang" in found
    await page.close()
