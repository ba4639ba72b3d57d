"""The web admin at /admin over real HTTP on loopback: sign-in, CSRF, rate limiting, the
decision list, a decision in full, reviews, the CSV export and the dashboard."""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
from markupsafe import escape

import bot.passwords
from adapters import admin_auth, admin_web
from adapters.admin_charts import MonthTotals, monthly_totals, nice_ceiling, outcomes_chart
from adapters.admin_plan import normalised_department
from adapters.admin_web import safe_next
from bot.admin_chat import quarter_start
from bot.decision_log import DecisionFilter, MonthStats
from bot.engine import Engine
from bot.export import CSV_COLUMNS, csv_row
from bot.messages import ConversationKey
from bot.passwords import hash_password
from bot.settings import Settings
from bot.state import ConversationState
from bot.storage import DecisionRecord, StorageError
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.log import SQLiteDecisionLog
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Chat, Clock
from tests.decision_factory import build_log
from tests.servers import running
from tests.test_conversation import ENGLISH_CHECK
from tripcheck.server import create_app

SECRET = "admin-secret-for-tests"
ADMIN, PASSWORD = "kerstin", "correct horse battery"
COUNT = 260
# The generated log runs to 2026-11-20; "now" is in its last quarter.
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashes made in these tests use a small scrypt cost, so logins take milliseconds; the
    hash format (and so the verification path) is the production one."""
    monkeypatch.setattr(bot.passwords, "N", 2**10)


@pytest.fixture(scope="module")
def generated_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("admin") / "template.db"
    return path, build_log(path, COUNT)


@dataclass
class Site:
    url: str
    log: SQLiteDecisionLog
    storage: SQLiteStorage
    engine: Engine
    clock: Clock


def site_settings(secret: str = SECRET) -> Settings:
    return Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": secret})


@pytest.fixture
async def site(
    rules: RuleSet,
    place_index: PlaceIndex,
    tmp_path: Path,
    generated_db: tuple[Path, list[dict[str, Any]]],
) -> AsyncIterator[Site]:
    db = tmp_path / "tripcheck.db"
    shutil.copy(generated_db[0], db)
    storage = await SQLiteStorage.open(db)
    await storage.decision_log.save_admin(ADMIN, hash_password(PASSWORD), NOW)
    clock = Clock(NOW)
    engine = Engine(
        rules, storage, clock=clock, places=place_index, decision_log=storage.decision_log
    )
    async with running(create_app(site_settings(), engine)) as url:
        yield Site(url, storage.decision_log, storage, engine, clock)


class Browser:
    """An HTTP client that keeps cookies by hand: httpx (rightly) will not send a `Secure`
    cookie over plain http, and the test server speaks plain http on loopback."""

    def __init__(self, url: str, lang: str = "en") -> None:
        self.http = httpx.AsyncClient(base_url=url)
        # The admin is Swedish unless one chooses English; most tests read the English texts.
        self.cookies: dict[str, str] = {admin_web.LANG_COOKIE: lang}
        self.set_cookies: list[str] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = await self.http.request(method, path, headers=headers, **kwargs)
        self.set_cookies = response.headers.get_list("set-cookie")
        for header in self.set_cookies:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value.strip('"'):  # deleted
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.http.cookies.clear()
        return response

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, data=data, **kwargs)

    async def login(
        self, username: str = ADMIN, password: str = PASSWORD, next_page: str | None = None
    ) -> httpx.Response:
        query = "" if next_page is None else "?" + httpx.QueryParams({"next": next_page}).__str__()
        form = await self.get("/admin/login" + query)
        assert form.status_code == 200
        fields = {"csrf": csrf_of(form.text), "username": username, "password": password}
        fields["next"] = hidden(form.text, "next")
        return await self.post("/admin/login", fields)

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def browser(site: Site) -> AsyncIterator[Browser]:
    client = Browser(site.url)
    yield client
    await client.close()


@pytest.fixture
async def admin(browser: Browser) -> Browser:
    """A browser with a signed-in admin."""
    response = await browser.login()
    assert response.status_code == 303
    return browser


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1).replace("&amp;", "&")


def csrf_of(html: str) -> str:
    return hidden(html, "csrf")


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr>\s*<td><a href="/admin/decisions/(\d+)">', html)]


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def record(site: Site, **changes: Any) -> int:
    """Records one decision as a real channel would."""
    values: dict[str, Any] = {
        "channel": "slack",
        "chat": "c1",
        "user_id": "u1",
        "role": "employee",
        "created_at": NOW - 3600,
        "lang": "en",
        "kind": "trip",
        "title": "Conference",
        "department": "Kommunstaben",
        "partner": "SERN",
        "partner_id": None,
        "destination": "Bologna",
        "outcome": "travel",
        "focus_area": "eu",
        "advisories": [],
        "reasons": [],
        "guidelines": [],
        "answers": {},
        "rules_version": "2024.1+test",
        "transcript": [],
    }
    values.update(changes)
    key = ConversationKey("slack", "c1", "u1")
    return await site.storage.record_decision(
        key, DecisionRecord(**values), ConversationState(lang="en")
    )


# --- the channel --------------------------------------------------------------------------


async def test_the_admin_is_off_without_a_decision_log(rules: RuleSet) -> None:
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage)
    assert admin_web.channel(site_settings(), engine) is None
    async with running(create_app(site_settings(), engine)) as url, httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/admin/login")).status_code == 404


# --- signing in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/admin", "/admin/decisions?outcome=digital&page=2", "/admin/decisions/3", "/admin/x"],
)
async def test_pages_send_strangers_to_the_login_and_back(browser: Browser, path: str) -> None:
    response = await browser.get(path)
    target = location(response)
    assert urlsplit(target).path == "/admin/login"
    assert parse_qs(urlsplit(target).query)["next"] == [path]
    assert ADMIN not in response.text
    signed_in = await browser.login(next_page=path)
    assert location(signed_in) == path


async def test_the_csv_export_needs_a_session_too(browser: Browser) -> None:
    response = await browser.get("/admin/decisions.csv")
    assert urlsplit(location(response)).path == "/admin/login"
    assert "text/csv" not in response.headers.get("content-type", "")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/admin",
        "//evil.example/admin",
        "/\\evil.example",
        "/admin/../elsewhere",
        "/admin/%2e%2e/elsewhere",
        "javascript:alert(1)",
        "/elsewhere",
        "/admin/logout",
        "",
    ],
)
def test_the_return_address_stays_in_the_admin(target: str) -> None:
    assert safe_next(target) == "/admin"


def test_a_local_return_address_keeps_its_query() -> None:
    assert safe_next("/admin/decisions?outcome=digital&page=2") == (
        "/admin/decisions?outcome=digital&page=2"
    )


async def test_the_login_never_sends_you_to_another_site(browser: Browser) -> None:
    response = await browser.login(next_page="https://evil.example/admin")
    assert location(response) == "/admin"


async def test_login_works_with_a_strict_secure_cookie(browser: Browser) -> None:
    response = await browser.login()
    assert location(response) == "/admin"
    session_cookie = next(c for c in browser.set_cookies if c.startswith("tripcheck_admin="))
    attributes = {part.strip().lower() for part in session_cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/admin", "max-age=28800"} <= attributes
    dashboard = await browser.get("/admin")
    assert dashboard.status_code == 200 and ADMIN in dashboard.text
    assert "default-src 'none'" in dashboard.headers["content-security-policy"]
    assert dashboard.headers["cache-control"] == "no-store"
    # Signed in, the login page sends you on.
    assert location(await browser.get("/admin/login")) == "/admin"


@pytest.mark.parametrize("username", [ADMIN, "nobody"])
async def test_a_wrong_password_or_unknown_user_fails(browser: Browser, username: str) -> None:
    response = await browser.login(username=username, password="wrong password!!")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert "tripcheck_admin" not in browser.cookies
    assert urlsplit(location(await browser.get("/admin"))).path == "/admin/login"


async def test_passwords_are_checked_off_the_event_loop_even_for_unknown_users(
    browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real_verify = bot.passwords.verify_password

    def recording(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return real_verify(password, stored)

    monkeypatch.setattr(admin_auth, "verify_password", recording)
    await browser.login(username="nobody", password="whatever it is")
    await browser.login(password="wrong password!!")
    # An unknown user runs scrypt like a wrong password does, so timing does not tell them apart.
    assert len(threads) == 2
    assert threading.main_thread().name not in threads


async def test_failed_logins_are_rate_limited(site: Site, browser: Browser) -> None:
    for _ in range(admin_auth.MAX_FAILURES):
        assert (await browser.login(password="wrong password!!")).status_code == 401
    limited = await browser.login()
    assert limited.status_code == 429
    assert "Too many failed logins" in limited.text and "15 minutes" in limited.text
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    assert "tripcheck_admin" not in browser.cookies
    # Another account from the same address is not blocked.
    assert (await browser.login(username="someone", password="x")).status_code == 401
    site.clock.now += 15 * 60 + 1
    assert location(await browser.login()) == "/admin"


async def test_a_successful_login_clears_the_failures(browser: Browser) -> None:
    for _ in range(admin_auth.MAX_FAILURES - 1):
        await browser.login(password="wrong password!!")
    assert (await browser.login()).status_code == 303
    browser.cookies.pop("tripcheck_admin")
    for _ in range(admin_auth.MAX_FAILURES - 1):
        assert (await browser.login(password="wrong password!!")).status_code == 401
    assert (await browser.login()).status_code == 303


async def test_expired_forged_and_outdated_sessions_are_refused(site: Site, admin: Browser) -> None:
    cookie = admin.cookies["tripcheck_admin"]
    payload, signature = cookie.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    admin.cookies["tripcheck_admin"] = forged
    assert (await admin.get("/admin")).status_code == 303
    other_key = admin_auth.Sessions(admin_auth.Signer(b"another secret"), site.clock)
    _, foreign = other_key.start(ADMIN, await site.log.admin_password_hash(ADMIN) or "")
    admin.cookies["tripcheck_admin"] = foreign
    assert (await admin.get("/admin")).status_code == 303
    admin.cookies["tripcheck_admin"] = cookie
    assert (await admin.get("/admin")).status_code == 200
    # A new password (`tripcheck admin add` again) ends the sessions of the old one.
    await site.log.save_admin(ADMIN, hash_password("a brand new password"), NOW)
    assert (await admin.get("/admin")).status_code == 303
    await admin.login(password="a brand new password")
    assert (await admin.get("/admin")).status_code == 200
    site.clock.now += 8 * 3600 + 1
    assert (await admin.get("/admin")).status_code == 303


async def test_logout_ends_the_session_even_for_a_kept_copy(admin: Browser) -> None:
    page = await admin.get("/admin")
    kept = dict(admin.cookies)
    response = await admin.post("/admin/logout", {"csrf": csrf_of(page.text)})
    assert location(response) == "/admin/login"
    assert "tripcheck_admin" not in admin.cookies
    admin.cookies = kept
    assert urlsplit(location(await admin.get("/admin"))).path == "/admin/login"


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token", "login"])
async def test_a_login_without_the_forms_token_is_refused(
    browser: Browser, token: str | None
) -> None:
    form = await browser.get("/admin/login")
    fields = {"username": ADMIN, "password": PASSWORD}
    if token == "login":
        # A real token, but for another login cookie (another browser).
        other = Browser(browser.http.base_url.__str__())
        fields["csrf"] = csrf_of((await other.get("/admin/login")).text)
        await other.close()
    elif token is not None:
        fields["csrf"] = token
    assert csrf_of(form.text) != fields.get("csrf")
    response = await browser.post("/admin/login", fields)
    assert response.status_code == 403
    assert "tripcheck_admin" not in browser.cookies


async def test_a_login_without_the_login_cookie_is_refused(browser: Browser) -> None:
    form = await browser.get("/admin/login")
    browser.cookies = {admin_web.LANG_COOKIE: "en"}
    fields = {"csrf": csrf_of(form.text), "username": ADMIN, "password": PASSWORD}
    response = await browser.post("/admin/login", fields)
    assert response.status_code == 403 and "only over HTTPS" in response.text
    assert "tripcheck_admin" not in browser.cookies


@pytest.mark.parametrize("token", [None, "", "wrong", "from-another-session"])
async def test_a_review_without_the_sessions_token_changes_nothing(
    site: Site, admin: Browser, token: str | None
) -> None:
    fields = {"verdict": "agree", "comment": "fine"}
    if token == "from-another-session":
        other = Browser(site.url)
        await other.login()
        fields["csrf"] = csrf_of((await other.get("/admin/decisions/5")).text)
        await other.close()
    elif token is not None:
        fields["csrf"] = token
    response = await admin.post("/admin/decisions/5/reviews", fields)
    assert response.status_code == 403 and "nothing was changed" in response.text
    assert await site.log.reviews(5) == []


async def test_a_logout_without_the_token_is_refused(admin: Browser) -> None:
    response = await admin.post("/admin/logout", {"csrf": "wrong"})
    assert response.status_code == 403
    assert (await admin.get("/admin")).status_code == 200


async def test_a_review_by_a_stranger_is_sent_to_the_login(site: Site, browser: Browser) -> None:
    response = await browser.post(
        "/admin/decisions/5/reviews",
        {"verdict": "agree", "comment": ""},
        headers={"Referer": f"{site.url}/admin/decisions/5"},
    )
    assert parse_qs(urlsplit(location(response)).query)["next"] == ["/admin/decisions/5"]
    assert await site.log.reviews(5) == []


# --- the decision list --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"outcome": "digital"},
        {"channel": "slack"},
        {"search": "studiebes"},
        {"since": "2026-01-01", "until": "2026-03-31"},
        {"outcome": "travel", "channel": "teams", "since": "2025-06-01"},
        {"department": "business region", "partner": "SERN", "focus_area": "eu"},
    ],
)
async def test_the_list_matches_the_decision_log(
    site: Site, admin: Browser, query: dict[str, str]
) -> None:
    response = await admin.get("/admin/decisions", params=query)
    assert response.status_code == 200
    where = DecisionFilter(
        since=date.fromisoformat(query["since"]) if "since" in query else None,
        until=date.fromisoformat(query["until"]) if "until" in query else None,
        outcome=query.get("outcome"),
        channel=query.get("channel"),
        department=query.get("department"),
        partner=query.get("partner"),
        focus_area=query.get("focus_area"),
        search=query.get("search"),
    )
    expected = await site.log.query_decisions(where, limit=admin_web.PAGE_SIZE)
    total = await site.log.count_decisions(where)
    assert total > 0
    assert listed_ids(response.text) == [d.id for d in expected]
    assert f'<span id="total">{total}</span>' in response.text
    # The form shows the filter it applied.
    for value in query.values():
        assert f'value="{value}"' in response.text


async def test_the_list_is_paged(site: Site, admin: Browser) -> None:
    total = await site.log.count_decisions(DecisionFilter())
    pages = -(-total // admin_web.PAGE_SIZE)
    first = await admin.get("/admin/decisions")
    assert f"page 1 of {pages}" in first.text
    assert 'rel="next" href="/admin/decisions?page=2"' in first.text
    second = await admin.get("/admin/decisions", params={"page": "2"})
    expected = await site.log.query_decisions(
        DecisionFilter(), limit=admin_web.PAGE_SIZE, offset=admin_web.PAGE_SIZE
    )
    assert listed_ids(second.text) == [d.id for d in expected]
    assert not set(listed_ids(first.text)) & set(listed_ids(second.text))
    last = await admin.get("/admin/decisions", params={"page": str(pages)})
    assert len(listed_ids(last.text)) == total - (pages - 1) * admin_web.PAGE_SIZE
    assert 'rel="next"' not in last.text
    beyond = await admin.get("/admin/decisions", params={"page": str(pages + 1)})
    assert listed_ids(beyond.text) == [] and "No decisions on this page" in beyond.text
    # A filter is kept in the page links.
    digital = await admin.get("/admin/decisions", params={"outcome": "digital"})
    assert 'href="/admin/decisions?outcome=digital&amp;page=2"' in digital.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "yesterday"}, "“Since” must be a date"),
        ({"since": "2026-05-01", "until": "2026-04-01"}, "must not be after"),
        ({"outcome": "maybe"}, "“Outcome” must be one of"),
        ({"focus_area": "mars"}, "“Focus area” must be one of"),
        ({"page": "0"}, "“Page” must be a whole number"),
        ({"search": "x" * 201}, "at most 200 characters"),
    ],
)
async def test_bad_filters_get_a_clear_message(
    admin: Browser, query: dict[str, str], message: str
) -> None:
    for path in ("/admin/decisions", "/admin/decisions.csv"):
        response = await admin.get(path, params=query)
        assert response.status_code == 400 and message in response.text
        assert "Traceback" not in response.text


# --- a decision in full -------------------------------------------------------------------


async def test_the_decision_page_shows_answers_reasons_climate_and_transcript(
    site: Site, admin: Browser
) -> None:
    chat = Chat(site.engine, user="kari", lang="en")
    await chat.say("hello")
    for _, text in ENGLISH_CHECK:
        await chat.say(text)
    await chat.say("save")
    stored = await site.log.get_decision(chat.decision["id"])
    assert stored is not None and stored.co2 is not None
    page = await admin.get(f"/admin/decisions/{stored.id}")
    assert page.status_code == 200
    html = page.text
    assert f"Decision {stored.id}" in html and stored.rules_version in html
    for field, answer in stored.answers.items():
        row = re.search(rf'<tr data-field="{field}">(.*?)</tr>', html, re.S)
        assert row, field
        # The question by its name, not its code.
        assert (
            f'<th scope="row">{site.engine.rules.text(f"field.{field}", "en")}</th>' in row.group(1)
        )
        assert answer["raw"] in row.group(1) and answer["label"] in row.group(1)
    for item in [*stored.reasons, *stored.advisories, *stored.guidelines]:
        assert f'data-code="{item["code"]}"' in html and item["section"] in html
        assert str(escape(item["text"])) in html
        assert f"<code>{item['code']}</code>" not in html
    assert stored.reasons and stored.guidelines
    distance = f"{round(stored.co2['distance_km']):,}".replace(",", "\u2009")
    assert "Flight" in html and f"{distance} km" in html
    transcript = html.split('id="transcript"')[1].split('id="reviews"')[0]
    assert "Study visit on social economy" in transcript and "Bologna" in transcript
    assert "Not reviewed yet." in html


async def test_an_unknown_decision_gets_a_404_page(admin: Browser) -> None:
    for path in ("/admin/decisions/999999", "/admin/decisions/abc", "/admin/nothing-here"):
        response = await admin.get(path)
        assert response.status_code == 404 and "Not found" in response.text
        assert ADMIN in response.text  # the admin's page, with the logout form


# --- reviews ------------------------------------------------------------------------------


async def test_a_review_is_recorded_with_reviewer_and_time_and_the_decision_is_unchanged(
    site: Site, admin: Browser
) -> None:
    before = await site.log.get_decision(12)
    page = await admin.get("/admin/decisions/12")
    site.clock.now = NOW + 60
    response = await admin.post(
        "/admin/decisions/12/reviews",
        {"csrf": csrf_of(page.text), "verdict": "disagree", "comment": "Oulu is one train away"},
    )
    assert location(response) == "/admin/decisions/12#reviews"
    reviews = await site.log.reviews(12)
    assert [(r.reviewer, r.verdict, r.comment, r.created_at) for r in reviews] == [
        (ADMIN, "disagree", "Oulu is one train away", NOW + 60)
    ]
    assert await site.log.get_decision(12) == before
    shown = (await admin.get("/admin/decisions/12")).text.split('id="reviews"')[1]
    assert ADMIN in shown and "disagrees" in shown and "Oulu is one train away" in shown
    # Times are Stockholm time (UTC+1 in November).
    assert "2026-11-25 13:01" in shown


@pytest.mark.parametrize(
    ("verdict", "comment", "message"),
    [
        (None, "ok", "Choose “agree” or “disagree”."),
        ("maybe", "ok", "Choose “agree” or “disagree”."),
        ("agree", "x" * 2001, "at most 2000 fit"),
        ("disagree", "  ", "why you disagree"),
    ],
)
async def test_a_bad_review_gets_a_clear_message_and_is_not_recorded(
    site: Site, admin: Browser, verdict: str | None, comment: str, message: str
) -> None:
    page = await admin.get("/admin/decisions/7")
    fields = {"csrf": csrf_of(page.text), "comment": comment}
    if verdict is not None:
        fields["verdict"] = verdict
    response = await admin.post("/admin/decisions/7/reviews", fields)
    assert response.status_code == 400 and message in response.text
    assert "Traceback" not in response.text
    assert await site.log.reviews(7) == []


async def test_a_comment_of_2000_characters_fits(site: Site, admin: Browser) -> None:
    page = await admin.get("/admin/decisions/7")
    comment = "ö" * 2000
    fields = {"csrf": csrf_of(page.text), "verdict": "agree", "comment": comment}
    assert (await admin.post("/admin/decisions/7/reviews", fields)).status_code == 303
    assert [r.comment for r in await site.log.reviews(7)] == [comment]


async def test_a_review_of_an_unknown_decision_is_a_404(site: Site, admin: Browser) -> None:
    page = await admin.get("/admin/decisions/7")
    fields = {"csrf": csrf_of(page.text), "verdict": "agree", "comment": ""}
    assert (await admin.post("/admin/decisions/999999/reviews", fields)).status_code == 404


# --- the CSV export -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", [{}, {"outcome": "digital", "since": "2026-01-01"}, {"search": "konferens"}]
)
async def test_the_csv_export_has_the_rows_of_the_filter(
    site: Site, admin: Browser, query: dict[str, str]
) -> None:
    listing = await admin.get("/admin/decisions", params=query)
    link = re.search(r'id="csv" href="([^"]*)"', listing.text)
    assert link
    response = await admin.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="tripcheck-decisions-2026-11-25.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(CSV_COLUMNS)
    where = DecisionFilter(
        since=date.fromisoformat(query["since"]) if "since" in query else None,
        outcome=query.get("outcome"),
        search=query.get("search"),
    )
    expected = io.StringIO()
    writer = csv.writer(expected)
    async for decision in site.log.stream_decisions(where):
        writer.writerow(csv_row(decision))
    assert rows[1:] == list(csv.reader(io.StringIO(expected.getvalue())))
    assert len(rows) - 1 == await site.log.count_decisions(where) > 0


# --- escaping -----------------------------------------------------------------------------


async def test_a_hostile_title_shows_literally(site: Site, admin: Browser) -> None:
    decision_id = await record(
        site,
        title=HOSTILE,
        department='"><img src=x onerror=alert(2)>',
        answers={"title": {"raw": HOSTILE, "value": HOSTILE, "label": HOSTILE}},
        transcript=[{"at": NOW, "step": "title", "in": HOSTILE}],
    )
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    listing = await admin.get("/admin/decisions", params={"search": HOSTILE})
    page = await admin.get(f"/admin/decisions/{decision_id}")
    for html in (listing.text, page.text):
        assert HOSTILE not in html and "<img src=x" not in html
        assert escaped in html
        assert "<script" not in html
    assert decision_id in listed_ids(listing.text)
    assert page.text.count(escaped) >= 3  # the title, the answer as typed and understood


# --- the dashboard ------------------------------------------------------------------------


async def test_the_dashboard_answers_this_quarters_question(site: Site, admin: Browser) -> None:
    response = await admin.get("/admin")
    html = response.text
    since = quarter_start(datetime.fromtimestamp(NOW, UTC).date())
    rows = await site.log.stats(DecisionFilter(since=since))
    digital = sum(r.digital for r in rows)
    avoided = sum(r.avoided_kg for r in rows)
    assert digital > 0
    assert f'<strong id="quarter-digital">{digital}</strong>' in html
    avoided_text = f"{avoided:,.1f}".replace(",", "\u2009") + " kg"
    assert f'<strong id="quarter-avoided">{avoided_text}</strong>' in html
    assert "Q4 2026" in html and "since 2026-10-01" in html
    assert "/admin/decisions?outcome=digital&amp;since=2026-10-01" in html


async def test_the_dashboard_charts_twelve_months_as_svg(site: Site, admin: Browser) -> None:
    html = (await admin.get("/admin")).text
    # Drawn on the server: no script, nothing loaded from another site.
    assert html.count("<svg") == 2 and "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    months = re.findall(r'<tr data-month="(\d{4}-\d\d)">(.*?)</tr>', html, re.S)
    assert len(months) == 12 and months[0][0] == "2025-12" and months[-1][0] == "2026-11"
    stats = await site.log.stats(DecisionFilter(since=date(2025, 12, 1)))
    for month, cells in months:
        numbers = re.findall(r'<td class="num">([^<]*)</td>', cells)
        rows = [s for s in stats if s.month == month]
        assert numbers[:3] == [
            str(sum(r.travel for r in rows)),
            str(sum(r.digital for r in rows)),
            str(sum(r.not_qualified for r in rows)),
        ]
    assert 'class="bar bar-digital"' in html and 'class="bar bar-avoided"' in html


def test_the_outcome_chart_stacks_bars_in_proportion() -> None:
    svg = outcomes_chart([MonthTotals("2026-01", 10, 5, 0), MonthTotals("2026-02", 0, 20, 0)], str)
    heights = {
        (cls, title.split(":")[0]): float(height)
        for cls, height, title in re.findall(
            r'class="bar bar-(\w+)"[^>]*height="([\d.]+)"[^>]*><title>([^<]*)</title>', svg
        )
    }
    unit = heights[("travel", "2026-01")] / 10
    assert heights[("digital", "2026-01")] == pytest.approx(5 * unit, abs=0.1)
    assert heights[("digital", "2026-02")] == pytest.approx(20 * unit, abs=0.1)
    assert ("not_qualified", "2026-01") not in heights  # no empty slivers
    assert nice_ceiling(20) == 20 and nice_ceiling(21) == 50 and nice_ceiling(0) == 1


def test_monthly_totals_add_up_departments_and_fill_empty_months() -> None:
    def row(month: str, department: str, digital: int, avoided: float) -> MonthStats:
        return MonthStats(
            month=month,
            department=department,
            total=digital,
            travel=0,
            digital=digital,
            not_qualified=0,
            avoided_kg=avoided,
        )

    totals = monthly_totals(
        [row("2026-01", "A", 2, 10.0), row("2026-01", "B", 3, 5.5), row("2026-03", "A", 1, 1.0)],
        ["2026-01", "2026-02", "2026-03"],
    )
    assert totals == [
        MonthTotals("2026-01", digital=5, avoided_kg=15.5),
        MonthTotals("2026-02"),
        MonthTotals("2026-03", digital=1, avoided_kg=1.0),
    ]


def test_a_random_key_is_used_and_logged_when_no_secret_is_set(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signer = admin_auth.signer_from(None)
    assert "TRIPCHECK_ADMIN_SECRET is not set" in caplog.text
    assert signer.sign("x", "y") != admin_auth.signer_from(None).sign("x", "y")


async def test_an_unreadable_database_gets_a_clear_503_page(
    site: Site, admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert site.engine.admin is not None

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise StorageError("The database tripcheck.db is corrupt.")

    monkeypatch.setattr(site.engine.admin.log, "query_decisions", broken)
    response = await admin.get("/admin/decisions")
    assert response.status_code == 503
    assert "cannot be read right now" in response.text and "Traceback" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_an_oversized_form_is_refused_unread(site: Site, admin: Browser) -> None:
    page = await admin.get("/admin/decisions/7")
    fields = {"csrf": csrf_of(page.text), "verdict": "agree", "comment": "x" * 70_000}
    response = await admin.post("/admin/decisions/7/reviews", fields)
    assert response.status_code == 400 and "could not be read" in response.text
    assert await site.log.reviews(7) == []


# --- Swedish first, words not codes ---------------------------------------------------------

CODES = (
    "contributes_development",
    "adds_value",
    "not_in_annual_plan",
    "not_qualified",
    "eu_funding",
)
PAGES = ("/admin", "/admin/decisions", "/admin/decisions/12", "/admin/plan", "/admin/accessibility")


def visible_text(html: str) -> str:
    """What a reader sees: the markup without tags and attributes."""
    body = html.split("<body>", 1)[1]
    return re.sub(r"<[^>]+>", " ", body)


async def test_the_admin_is_swedish_unless_english_is_chosen(site: Site) -> None:
    swedish = Browser(site.url, lang="")
    swedish.cookies.clear()
    await swedish.login()
    page = await swedish.get("/admin/decisions")
    assert '<html lang="sv">' in page.text and ">Beslut</h1>" in page.text
    # The switch is in the other language and says so.
    assert 'lang="en" hreflang="en">English</a>' in page.text
    english = await swedish.get("/admin/decisions?lang=en")
    assert '<html lang="en">' in english.text and ">Decisions</h1>" in english.text
    # The choice is kept in a cookie for the next pages.
    assert swedish.cookies[admin_web.LANG_COOKIE] == "en"
    assert '<html lang="en">' in (await swedish.get("/admin")).text
    assert '<html lang="sv">' in (await swedish.get("/admin?lang=sv")).text
    await swedish.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("path", PAGES)
async def test_every_page_shows_words_not_codes(site: Site, lang: str, path: str) -> None:
    browser = Browser(site.url, lang=lang)
    await browser.login()
    decision_id = await record(
        site,
        lang="sv" if lang == "en" else "en",
        title="Nätverksmöte",
        outcome="not_qualified",
        advisories=[{"code": "not_in_annual_plan"}],
        reasons=[{"code": "adds_value", "text": "Det tillför värde.", "section": "Inriktning"}],
        answers={"contributes_development": {"raw": "ja", "value": True, "label": "ja"}},
        transcript=[{"at": NOW, "step": "contributes_development", "in": "ja"}],
    )
    response = await browser.get(path.replace("/12", f"/{decision_id}"))
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    text = visible_text(response.text)
    for code in CODES:
        assert code not in text, (path, code)
    if "/decisions/" in path:
        other = "sv" if lang == "en" else "en"
        # Content in the other language says which language it is in.
        assert f'<span class="title" lang="{other}">Nätverksmöte</span>' in response.text
        assert f'<span lang="{other}">Det tillför värde.</span>' in response.text
        question = site.engine.rules.text("field.contributes_development", lang)  # type: ignore[arg-type]
        assert f'<th scope="row">{question}</th>' in response.text
        advisory = site.engine.rules.text("advisory.not_in_annual_plan", lang)  # type: ignore[arg-type]
        assert str(escape(advisory)) in response.text
    await browser.close()


# --- hostile numbers (issue 14) -------------------------------------------------------------

# Digits to str.isdigit() but not to SQLite: other scripts, superscripts, and too many of them.
HOSTILE_NUMBERS = ["٣", "²", "۱۲", "１２", "9" * 20, "9" * 25, "1" * 5000, "0", "-1", "1e3", " 7"]


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
async def test_hostile_numbers_are_refused_not_a_500(
    site: Site, admin: Browser, number: str
) -> None:
    page = await admin.get("/admin/decisions", params={"page": number})
    assert page.status_code == 400 and "“Page” must be a whole number" in page.text
    decision = await admin.get(f"/admin/decisions/{number}")
    assert decision.status_code == 404
    form = await admin.get("/admin/decisions/7")
    fields = {"csrf": csrf_of(form.text), "verdict": "agree", "comment": ""}
    review = await admin.post(f"/admin/decisions/{number}/reviews", fields)
    assert review.status_code == 404
    plan = await admin.get("/admin/plan", params={"year": number})
    assert plan.status_code == 400
    assert (await admin.get("/admin/plan.xlsx", params={"year": number})).status_code == 400
    assert await site.log.reviews(7) == []


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ("1", 1, 10, 1),
        ("10", 1, 10, 10),
        ("11", 1, 10, None),
        ("0", 1, 10, None),
        ("٣", 1, 10, None),
        ("9" * 21, 1, 2**63 - 1, None),
        ("9223372036854775807", 1, 2**63 - 1, 2**63 - 1),
        ("9223372036854775808", 1, 2**63 - 1, None),
        ("", 1, 10, None),
        (None, 1, 10, None),
    ],
)
def test_bounded_integers(text: str | None, low: int, high: int, expected: int | None) -> None:
    assert admin_web.bounded_int(text, low, high) == expected


# --- Stockholm months and quarters ----------------------------------------------------------

# 2026-09-30 23:30 UTC is 2026-10-01 01:30 in Stockholm: October, and the fourth quarter.
AFTER_MIDNIGHT = datetime(2026, 9, 30, 23, 30, tzinfo=UTC).timestamp()


async def test_days_months_and_quarters_are_stockholm_ones(site: Site, admin: Browser) -> None:
    decision_id = await record(site, created_at=AFTER_MIDNIGHT, outcome="digital", title="Natt")
    listing = await admin.get("/admin/decisions", params={"since": "2026-10-01", "search": "natt"})
    assert decision_id in listed_ids(listing.text)
    assert "2026-10-01 01:30" in listing.text
    before = await admin.get("/admin/decisions", params={"until": "2026-09-30", "search": "natt"})
    assert decision_id not in listed_ids(before.text)
    html = (await admin.get("/admin")).text
    quarter = [
        d
        async for d in site.log.stream_decisions(DecisionFilter())
        if d.created_at >= datetime(2026, 9, 30, 22, tzinfo=UTC).timestamp()
    ]
    digital = sum(d.outcome == "digital" for d in quarter)
    assert f'<strong id="quarter-digital">{digital}</strong>' in html
    october = re.search(r'<tr data-month="2026-10">(.*?)</tr>', html, re.S)
    september = re.search(r'<tr data-month="2026-09">(.*?)</tr>', html, re.S)
    assert october and september
    in_october = [
        d
        async for d in site.log.stream_decisions(DecisionFilter())
        if datetime(2026, 9, 30, 22, tzinfo=UTC).timestamp()
        <= d.created_at
        < datetime(2026, 10, 31, 23, tzinfo=UTC).timestamp()
    ]
    numbers = re.findall(r'<td class="num">([^<]*)</td>', october.group(1))
    assert numbers[1] == str(sum(d.outcome == "digital" for d in in_october))


# --- the annual plan view -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "department"),
    [
        ("Kultur & fritid", "Kultur- och fritidsförvaltningen"),
        ("Kultur- och fritidsförvaltningen", "Kultur- och fritidsförvaltningen"),
        ("kultur och fritidsförvaltningen", "Kultur- och fritidsförvaltningen"),
        ("KFF", "Kultur- och fritidsförvaltningen"),
        ("Tekniska förvaltnngen", "Tekniska förvaltningen"),
        ("Socialtjänsten", "Socialförvaltningen"),
        ("Lulebo AB", "Lulebo"),
        ("Avdelning X", None),
        ("Miljö- och byggnadsförvaltningen", None),
    ],
)
def test_departments_are_normalised_to_the_rules_list(
    rules: RuleSet, typed: str, department: str | None
) -> None:
    assert normalised_department(rules, typed) == department


PLAN_DEPARTMENTS = ["Kultur & fritid", "Kultur- och fritidsförvaltningen", "KFF", "Avdelning X"]


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_annual_plan_counts_departments_once_and_lists_unknown_ones(
    site: Site, lang: str
) -> None:
    browser = Browser(site.url, lang=lang)
    await browser.login()
    when = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    for index, department in enumerate(PLAN_DEPARTMENTS):
        await record(
            site,
            created_at=when + index,
            department=department,
            outcome="digital" if index % 2 else "travel",
            co2={"avoided_kg": 10.0} if index % 2 else None,
            advisories=[{"code": "not_in_annual_plan"}] if index == 0 else [],
        )
    page = await browser.get("/admin/plan", params={"year": "2027"})
    assert page.status_code == 200
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\"[^>]*>(.*?)</th>(.*?)</tr>", page.text, re.S)
    cells = {
        re.sub(r"<[^>]+>", "", name).strip(): re.findall(r">([^<]*)</td>", rest)
        for name, rest in rows
    }
    culture = cells["Kultur- och fritidsförvaltningen"]
    assert culture[:6] == ["3", "2", "1", "0", "1", culture[5]]
    unknown = site.engine.rules.text("admin.web.plan.unmatched", lang)  # type: ignore[arg-type]
    assert cells[f"Avdelning X ({unknown})"][0] == "1"
    unmatched = page.text.split('id="unmatched"')[1]
    assert "Avdelning X" in unmatched and "Kultur &amp; fritid" not in unmatched

    response = await browser.get("/admin/plan.xlsx", params={"year": "2027"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="tripcheck-plan-2027.xlsx"' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["2027"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    words = site.engine.rules.texts[lang]  # type: ignore[index]
    assert values[0][0] == words["admin.web.plan.department"]
    by_name = {row[0]: row[1:] for row in values[1:]}
    assert by_name["Kultur- och fritidsförvaltningen"] == [3, 2, 1, 0, 1, 10.0]
    assert by_name[f"Avdelning X ({unknown})"][0] == 1
    assert by_name[words["admin.web.plan.all"]][0] == 4
    spellings = book[words["admin.web.plan.unmatched_sheet"]]
    assert [[c.value for c in row] for row in spellings.iter_rows()][1:] == [["Avdelning X", 1]]
    await browser.close()


async def test_a_department_that_looks_like_a_formula_stays_text_in_the_workbook(
    site: Site, admin: Browser
) -> None:
    await record(site, created_at=datetime(2027, 5, 1, tzinfo=UTC).timestamp(), department="=1+2")
    response = await admin.get("/admin/plan.xlsx", params={"year": "2027"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["2027"]
    names = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert any(str(name).startswith("'=1+2") for name in names)


@pytest.mark.parametrize("typed", ["Kultur & fritid", "KFF", "kultur- och fritidsförvaltningen"])
async def test_a_department_filter_finds_every_spelling_of_it(
    site: Site, admin: Browser, typed: str
) -> None:
    ids = [
        await record(site, department=spelling, title=f"Kulturmöte {n}")
        for n, spelling in enumerate(PLAN_DEPARTMENTS[:3])
    ]
    other = await record(site, department="Avdelning X", title="Kulturmöte 9")
    listing = await admin.get(
        "/admin/decisions", params={"department": typed, "search": "kulturmöte"}
    )
    assert sorted(listed_ids(listing.text)) == sorted(ids) and other not in listed_ids(listing.text)
    # Shown by the rules' name, with what was typed beside it.
    assert (
        'Kultur- och fritidsförvaltningen <span class="typed">(typed: “KFF”)</span>' in listing.text
    )
    export = await admin.get(
        "/admin/decisions.csv", params={"department": typed, "search": "kulturmöte"}
    )
    assert len(list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))) == 4
