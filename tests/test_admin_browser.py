"""The web admin end to end in headless Chromium (Debian's, never a downloaded build): log in,
filter, open a decision, review it, and find the review in the database."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot.passwords
from bot.engine import Engine
from bot.passwords import hash_password
from bot.settings import Settings
from rules.models import Lang
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Clock
from tests.decision_factory import build_log
from tests.servers import running
from tripcheck.server import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces: no host name resolves, so the browser cannot reach beyond loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
ADMIN, PASSWORD = "kerstin", "correct horse battery"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_an_admin_logs_in_filters_and_reviews_a_decision(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: Lang
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not at /usr/bin/chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright, expect

    # A small scrypt cost keeps the login fast; the hash format is the production one.
    monkeypatch.setattr(bot.passwords, "N", 2**10)
    db = tmp_path / "tripcheck.db"
    # build_log runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(build_log, db, 120)
    storage = await SQLiteStorage.open(db)
    await storage.decision_log.save_admin(ADMIN, hash_password(PASSWORD), NOW)
    engine = Engine(rules, storage, clock=Clock(NOW), decision_log=storage.decision_log)
    settings = Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": "browser-test-secret"})

    def t(text_id: str, **values: object) -> str:
        return rules.text(f"admin.web.{text_id}", lang, **values)

    async with running(create_app(settings, engine)) as url, async_playwright() as playwright:
        # launch() gives the browser a new, empty profile directory of its own.
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await chromium.new_page()
            page.set_default_timeout(10_000)
            # A Content-Security-Policy violation or a failed load shows up as a console error
            # (the browser's own request for /favicon.ico aside).
            errors: list[str] = []
            page.on(
                "console",
                lambda m: (
                    errors.append(f"{m.text} {m.location}")
                    if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
                    else None
                ),
            )
            # Swedish unless English is chosen.
            await page.goto(f"{url}/admin/decisions" + ("?lang=en" if lang == "en" else ""))
            assert "/admin/login" in page.url
            assert await page.evaluate("document.documentElement.lang") == lang

            await page.get_by_label(t("login.username")).fill(ADMIN)
            await page.get_by_label(t("login.password")).fill(PASSWORD)
            await page.get_by_role("button", name=t("login.submit")).click()
            await page.wait_for_url(f"{url}/admin/decisions*")

            await page.get_by_label(t("filter.outcome")).select_option("digital")
            await page.get_by_role("button", name=t("filter.submit")).click()
            await page.wait_for_url("**/admin/decisions?*outcome=digital*")
            outcomes = await page.locator("table.decisions tbody td.outcome-digital").count()
            rows = await page.locator("table.decisions tbody tr").count()
            assert rows == outcomes > 0

            first = page.locator("table.decisions tbody tr").first.locator("a").first
            decision_id = int(await first.inner_text())
            await first.click()
            await page.wait_for_url(f"{url}/admin/decisions/{decision_id}")
            await expect(page.locator("#outcome")).to_have_text(t("outcome.digital"))

            await page.get_by_role("radio", name=t("review.disagree"), exact=True).check()
            comment = t("review.comment", limit=2000)
            await page.get_by_role("textbox", name=comment).fill("Oulu is one train ride away")
            await page.get_by_role("button", name=t("review.submit")).click()
            await page.wait_for_url(f"{url}/admin/decisions/{decision_id}#reviews")
            await expect(page.locator("li.review")).to_contain_text("Oulu is one train ride away")
            # The stylesheet loaded under the page's CSP.
            header = page.locator("header.top")
            await expect(header).to_have_css("background-color", "rgb(30, 58, 95)")
            assert errors == []
        finally:
            await chromium.close()

    reviews = (
        sqlite3.connect(db)
        .execute("SELECT decision_id, reviewer, verdict, comment, created_at FROM reviews")
        .fetchall()
    )
    assert reviews == [(decision_id, ADMIN, "disagree", "Oulu is one train ride away", NOW)]
