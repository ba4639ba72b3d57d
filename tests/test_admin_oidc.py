"""Sign-in to the web admin with the municipality's accounts (OpenID Connect, as with Entra ID)
end to end over loopback against a fake provider: discovery, the authorize redirect with
PKCE S256, state and nonce, the callback exchanging the code, the id_token checked (issuer,
audience, nonce, signature, expiry) and the admin group or role; and every way it must fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import admin_oidc
from adapters.admin_auth import Signer
from adapters.admin_oidc import FLOW_COOKIE, OidcSettings, code_challenge
from bot.engine import Engine
from bot.settings import Settings
from rules.models import Lang
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Clock
from tests.fake_oidc import ADMIN_GROUP, CLIENT_ID, CLIENT_SECRET, FakeOpenIdProvider
from tests.servers import free_port, running
from tests.test_admin_a11y import serious_violations
from tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_admin_web import Browser
from tripcheck.server import create_app

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp()


@dataclass
class Site:
    url: str
    provider: FakeOpenIdProvider
    browser: Browser
    storage: SQLiteStorage
    clock: Clock


@pytest.fixture
async def site(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Site]:
    clock = Clock(NOW)
    provider = FakeOpenIdProvider(now=clock)
    async with running(provider.app) as provider_url:
        provider.url = provider_url
        for name, value in {
            "TRIPCHECK_OIDC_ISSUER": provider_url,
            "TRIPCHECK_OIDC_CLIENT_ID": CLIENT_ID,
            "TRIPCHECK_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "TRIPCHECK_OIDC_ADMIN_GROUP": ADMIN_GROUP,
        }.items():
            monkeypatch.setenv(name, value)
        storage = await SQLiteStorage.open(tmp_path / "tripcheck.db")
        engine = Engine(rules, storage, clock=clock, decision_log=storage.decision_log)
        settings = Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": "oidc-test-secret"})
        async with running(create_app(settings, engine)) as url:
            browser = Browser(url)
            yield Site(url, provider, browser, storage, clock)
            await browser.close()


async def start(site: Site, next_page: str = "/admin/decisions") -> httpx.Response:
    """The browser follows the login page's link to the provider; returns the redirect."""
    login = await site.browser.get("/admin/login", params={"next": next_page})
    assert 'id="oidc"' in login.text
    response = await site.browser.get("/admin/oidc/start", params={"next": next_page})
    assert response.status_code == 303
    return response


async def at_provider(site: Site, authorize_url: str) -> str:
    """What the provider redirects back to (it signs the user in at once)."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(authorize_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def sign_in(site: Site) -> httpx.Response:
    callback = await at_provider(site, (await start(site)).headers["location"])
    parts = urlsplit(callback)
    return await site.browser.get(f"{parts.path}?{parts.query}")


async def test_an_admin_signs_in_with_the_provider(site: Site) -> None:
    redirect = await start(site)
    authorize = urlsplit(redirect.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == site.provider.url
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["state"] != params["nonce"]
    assert params["redirect_uri"] == f"{site.url}/admin/oidc/callback"
    assert params["client_id"] == CLIENT_ID and "openid" in params["scope"].split()
    flow_cookie = next(c for c in site.browser.set_cookies if c.startswith(FLOW_COOKIE))
    attributes = {part.strip().lower() for part in flow_cookie.split(";")[1:]}
    # Lax: the provider's redirect back is a cross-site navigation.
    assert {"httponly", "secure", "samesite=lax", "path=/admin"} <= attributes

    callback = urlsplit(await at_provider(site, redirect.headers["location"]))
    response = await site.browser.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 200
    assert 'href="/admin/decisions"' in response.text
    assert '<meta http-equiv="refresh" content="0; url=/admin/decisions">' in response.text
    assert "tripcheck_admin" in site.browser.cookies and FLOW_COOKIE not in site.browser.cookies
    # The code was exchanged with the PKCE verifier whose challenge was sent.
    (token_request,) = site.provider.token_requests
    assert code_challenge(token_request["code_verifier"]) == params["code_challenge"]
    page = await site.browser.get("/admin/decisions")
    assert page.status_code == 200 and "kerstin.ek@lulea.se" in page.text
    # The same callback cannot be used twice.
    again = await site.browser.get(f"{callback.path}?{callback.query}")
    assert again.status_code == 403


async def test_an_app_role_makes_an_admin_as_a_group_does(site: Site) -> None:
    site.provider.user = {"sub": "s2", "preferred_username": "ola@lulea.se", "roles": [ADMIN_GROUP]}
    assert (await sign_in(site)).status_code == 200
    assert (await site.browser.get("/admin")).status_code == 200


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong audience", "oidc_token"),
        ("wrong nonce", "oidc_nonce"),
        ("not an admin", "oidc_not_admin"),
        ("wrong issuer", "oidc_token"),
        ("expired", "oidc_token"),
        ("forged signature", "oidc_token"),
        ("no nonce", "oidc_nonce"),
    ],
)
async def test_a_token_that_does_not_prove_an_admin_is_refused(
    site: Site, rules: RuleSet, case: str, message: str
) -> None:
    provider = site.provider
    if case == "wrong audience":
        provider.tamper = {"aud": "another-app"}
    elif case == "wrong nonce":
        provider.tamper = {"nonce": "replayed-nonce"}
    elif case == "not an admin":
        provider.user = {"sub": "s3", "preferred_username": "pia@lulea.se", "groups": ["staff"]}
    elif case == "wrong issuer":
        provider.tamper = {"iss": "https://login.example/other-tenant/v2.0"}
    elif case == "expired":
        provider.tamper = {"exp": int(NOW) - 3600, "iat": int(NOW) - 7200}
    elif case == "forged signature":
        provider.signing_key = _other_key()
    elif case == "no nonce":
        provider.tamper = {"nonce": ""}
    response = await sign_in(site)
    assert response.status_code == 403
    assert rules.text(f"admin.web.message.{message}.title", "en") in response.text
    assert "tripcheck_admin" not in site.browser.cookies
    assert urlsplit((await site.browser.get("/admin")).headers["location"]).path == ("/admin/login")


@pytest.mark.parametrize("case", ["no flow cookie", "other state", "flow expired"])
async def test_a_callback_that_is_not_ours_is_refused(site: Site, case: str) -> None:
    callback = urlsplit(await at_provider(site, (await start(site)).headers["location"]))
    query = callback.query
    if case == "no flow cookie":
        site.browser.cookies.pop(FLOW_COOKIE)
    elif case == "other state":
        params = {k: v[0] for k, v in parse_qs(query).items()}
        query = f"code={params['code']}&state=forged"
    else:
        site.clock.now += admin_oidc.FLOW_SECONDS + 1
    response = await site.browser.get(f"{callback.path}?{query}")
    assert response.status_code == 403
    assert "tripcheck_admin" not in site.browser.cookies
    assert site.provider.token_requests == []  # the code was never exchanged


async def test_a_provider_error_is_a_clear_page_not_a_500(site: Site) -> None:
    redirect = await start(site)
    state = parse_qs(urlsplit(redirect.headers["location"]).query)["state"][0]
    response = await site.browser.get(
        "/admin/oidc/callback", params={"error": "access_denied", "state": state}
    )
    assert response.status_code == 502 and "Traceback" not in response.text


async def test_a_local_account_cannot_pose_as_a_provider_user(site: Site) -> None:
    from bot.passwords import hash_password

    await site.storage.decision_log.save_admin("oidc:kerstin.ek@lulea.se", hash_password("pw"), NOW)
    assert (await site.browser.login("oidc:kerstin.ek@lulea.se", "pw")).status_code == 401


def test_sign_in_with_a_provider_is_off_until_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ISSUER", "CLIENT_ID", "ADMIN_GROUP"):
        monkeypatch.delenv(f"TRIPCHECK_OIDC_{name}", raising=False)
    assert not OidcSettings().enabled
    monkeypatch.setenv("TRIPCHECK_OIDC_ISSUER", "https://login.microsoftonline.com/t/v2.0")
    monkeypatch.setenv("TRIPCHECK_OIDC_CLIENT_ID", "c")
    assert not OidcSettings().enabled
    monkeypatch.setenv("TRIPCHECK_OIDC_ADMIN_GROUP", "g")
    assert OidcSettings().enabled


async def test_without_a_provider_the_login_has_no_provider_button(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIPCHECK_OIDC_ISSUER", raising=False)
    storage = await SQLiteStorage.open(tmp_path / "t.db")
    engine = Engine(rules, storage, clock=Clock(NOW), decision_log=storage.decision_log)
    settings = Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": "s"})
    async with running(create_app(settings, engine)) as url:
        browser = Browser(url)
        assert 'id="oidc"' not in (await browser.get("/admin/login")).text
        assert (await browser.get("/admin/oidc/start")).status_code == 404
        await browser.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not at /usr/bin/chromium")
@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_in_a_browser_an_admin_gets_in_and_anyone_else_gets_a_clear_page(
    site: Site, rules: RuleSet, lang: Lang
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await chromium.new_page()
            page.set_default_timeout(10_000)
            await page.goto(f"{site.url}/admin/decisions?lang={lang}")
            await page.get_by_role("link", name=rules.text("admin.web.login.oidc", lang)).click()
            # Through the provider and back, then on to the page asked for, signed in.
            await page.wait_for_url(f"{site.url}/admin/decisions*")
            assert "kerstin.ek@lulea.se" in await page.locator("header").inner_text()

            site.provider.user = {"sub": "s9", "preferred_username": "pia@lulea.se", "groups": []}
            await page.context.clear_cookies()
            await page.goto(f"{site.url}/admin/login?lang={lang}")
            await page.locator("#oidc").click()
            await page.wait_for_url(f"{site.url}/admin/oidc/callback*")
            title = rules.text("admin.web.message.oidc_not_admin.title", lang)
            assert await page.locator("h1").inner_text() == title
            assert await serious_violations(page) == []
        finally:
            await chromium.close()


async def test_a_rotated_signing_key_is_fetched_again(site: Site) -> None:
    assert (await sign_in(site)).status_code == 200
    site.browser.cookies.pop("tripcheck_admin")
    site.provider.kid, site.provider.key = "rotated-key", _other_key()
    assert (await sign_in(site)).status_code == 200


async def test_an_unreachable_provider_gets_a_clear_page(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIPCHECK_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TRIPCHECK_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TRIPCHECK_OIDC_ADMIN_GROUP", ADMIN_GROUP)
    storage = await SQLiteStorage.open(tmp_path / "t.db")
    engine = Engine(rules, storage, clock=Clock(NOW), decision_log=storage.decision_log)
    settings = Settings.model_validate({"TRIPCHECK_ADMIN_SECRET": "s"})
    async with running(create_app(settings, engine)) as url:
        browser = Browser(url)
        response = await browser.get("/admin/oidc/start")
        assert response.status_code == 502
        assert rules.text("admin.web.message.oidc_provider.title", "en") in response.text
        await browser.close()


@pytest.mark.parametrize(
    "issuer", ["http://login.example/tenant/v2.0", "ftp://127.0.0.1/x", "file:///etc/passwd"]
)
async def test_a_provider_is_only_reached_over_https_or_loopback(issuer: str) -> None:
    settings = OidcSettings(issuer=issuer, client_id=CLIENT_ID, admin_group=ADMIN_GROUP)
    sign_in_with = admin_oidc.OidcSignIn(settings, Signer(b"k"), Clock(NOW))
    with pytest.raises(admin_oidc.OidcRefused):
        await sign_in_with.begin("/admin", "https://tripcheck.example/admin/oidc/callback")
    await sign_in_with.stop()
