"""The web admin at /admin for Kommunstaben: a dashboard, the decision list with filters and a
CSV export, each decision in full, reviews, the annual plan view with its .xlsx export and the
accessibility statement. In Swedish, or English by choice; every text from the rules' text
data. Sign-in, CSRF and rate limiting live in adapters/admin_auth.py, sign-in with the
municipality's accounts in adapters/admin_oidc.py, the SVG charts in adapters/admin_charts.py."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, get_args
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from adapters.admin_auth import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    LOGIN_FORM_SECONDS,
    SESSION_COOKIE,
    Clock,
    CsrfTokens,
    PasswordChecker,
    Session,
    SharedLoginLimiter,
    SharedSessions,
    same_token,
    signer_from,
)
from adapters.admin_charts import avoided_chart, month_keys, monthly_totals, outcomes_chart
from adapters.admin_oidc import (
    FLOW_COOKIE,
    FLOW_SECONDS,
    USER_PREFIX,
    OidcRefused,
    OidcSettings,
    OidcSignIn,
)
from adapters.admin_plan import annual_plan, normalised_department, plan_workbook
from adapters.admin_time import local_day, local_time, month_key, quarter_of
from bot.decision_log import DecisionFilter, DecisionLog, MonthStats, Verdict
from bot.engine import Engine
from bot.export import csv_chunks, stats_total
from bot.logs import pseudonym
from bot.settings import Settings
from bot.storage import StorageError, StoredDecision
from rules.decision import Outcome
from rules.models import FOCUS_AREAS, Lang
from rules.ruleset import RuleSet

log = logging.getLogger("tripcheck.admin_web")

HOME = "/admin"
PAGE_SIZE = 50
MAX_PAGE = 1_000_000
# SQLite's integers are 64-bit: a larger id is no decision, not an overflow.
MAX_ID = 2**63 - 1
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_COMMENT = 2000
MAX_TEXT_FILTER = 200
MAX_USERNAME = 200
MAX_PASSWORD = 1024
MAX_FORM_BYTES = 64 * 1024
LANGS: tuple[Lang, ...] = ("sv", "en")
DEFAULT_LANG: Lang = "sv"
LANG_COOKIE = "tripcheck_admin_lang"
LANG_COOKIE_SECONDS = 365 * 86400
TEXT_PREFIX = "admin.web."
TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "admin.css"
OUTCOMES: tuple[str, ...] = get_args(Outcome)
VERDICTS: tuple[str, ...] = get_args(Verdict)
KNOWN_CHANNELS = ("slack", "teams", "telegram", "rest", "terminal", "jsonl")
FILTER_FIELDS = (
    "since",
    "until",
    "outcome",
    "channel",
    "department",
    "partner",
    "focus_area",
    "search",
)
ASCII_DIGITS = re.compile(r"[0-9]{1,20}")
# Admin pages hold personal data: no caching, no framing, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Endpoint = Callable[[Request], Awaitable[Response]]
PageHandler = Callable[[Request, Session], Awaitable[Response]]
FormHandler = Callable[[Request, Session, dict[str, str]], Awaitable[Response]]


def bounded_int(text: str | None, low: int, high: int) -> int | None:
    """A whole number written in ASCII digits between `low` and `high`, else None.

    `str.isdigit()` also accepts other scripts' digits and superscripts, which int() or SQLite
    then refuse or overflow on; this accepts only what the database can hold."""
    if text is None or not ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


class Words:
    """The admin's texts in one language, and words for the codes decisions store."""

    def __init__(self, rules: RuleSet, lang: Lang) -> None:
        self.rules = rules
        self.lang: Lang = lang
        self._texts = rules.texts[lang]

    def __call__(self, text_id: str, **values: object) -> str:
        return self.rules.text(TEXT_PREFIX + text_id, self.lang, **values)

    def _plain(self, text_id: str, fallback: str) -> str:
        """A text without placeholders, or the fallback when there is none."""
        text = self._texts.get(text_id)
        if text is None or "{" in text:
            return fallback
        return text

    def code(self, group: str, value: str | None) -> str:
        """The admin's word for a stored code (outcome, focus area, channel, role, language,
        verdict); an unknown code shows as stored."""
        if not value:
            return "–"
        return self._plain(f"{TEXT_PREFIX}{group}.{value}", value)

    def field(self, name: str) -> str:
        """A question's name as the checklist calls it."""
        return self._plain(f"field.{name}", name.replace("_", " "))

    def kind(self, value: str) -> str:
        return self._plain(f"kind.{value}", value)

    def mode(self, value: str | None) -> str:
        return self._plain(f"mode.{value}", value) if value else "–"

    def item(self, group: str, item: Mapping[str, Any], decision_lang: str) -> tuple[str, str]:
        """A reason, advisory or guideline in words, with the language it is in: the text the
        user was given (in the decision's language), else the rules' text in the admin's."""
        text = item.get("text")
        if isinstance(text, str) and text.strip():
            return text, decision_lang
        code = str(item.get("code", ""))
        return self._plain(f"{group}.{code}", code.replace("_", " ")), self.lang

    def number(self, value: float | None, decimals: int = 1) -> str:
        if value is None:
            return "–"
        text = f"{value:,.{decimals}f}".replace(",", "\u2009")
        return text.replace(".", ",") if self.lang == "sv" else text

    def kg(self, value: float | None) -> str:
        return "–" if value is None else self.number(value) + " kg"

    def when(self, timestamp: float | None) -> str:
        """A stored time as Stockholm wall-clock time."""
        if timestamp is None:
            return "–"
        return local_time(timestamp).strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def iso(timestamp: float | None) -> str:
        return "" if timestamp is None else local_time(timestamp).isoformat(timespec="minutes")


@dataclass(frozen=True)
class FieldError:
    """A problem with one form field, shown next to it and in the summary."""

    field: str
    text: str


@dataclass
class ListQuery:
    """The decision list's filter and page as an admin gave them, with what is wrong."""

    where: DecisionFilter = field(default_factory=DecisionFilter)
    form: dict[str, str] = field(default_factory=dict)
    page: int = 1
    errors: list[FieldError] = field(default_factory=list)

    def link(self, **changes: str | int) -> str:
        """The query string of this filter (without the page unless given)."""
        values: dict[str, str | int] = {k: v for k, v in self.form.items() if v}
        values.update(changes)
        return urlencode(values)

    def errors_of(self, name: str) -> list[str]:
        return [e.text for e in self.errors if e.field == name]


def read_list_query(params: Mapping[str, str], words: Words) -> ListQuery:
    """The filter and page in a query string, validated like `tripcheck decisions list`."""
    query = ListQuery()
    form = {name: (params.get(name) or "").strip() for name in FILTER_FIELDS}
    query.form = form

    def wrong(name: str, text_id: str, **values: object) -> None:
        query.errors.append(FieldError(name, words(text_id, **values)))

    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        days[name] = None
        if form[name]:
            try:
                days[name] = date.fromisoformat(form[name])
            except ValueError:
                wrong(name, "error.date", field=words(f"filter.{name}"))
    since, until = days["since"], days["until"]
    if since is not None and until is not None and since > until:
        wrong("until", "error.since_after_until")
    if form["outcome"] and form["outcome"] not in OUTCOMES:
        choices = ", ".join(words.code("outcome", o) for o in OUTCOMES)
        wrong("outcome", "error.choice", field=words("filter.outcome"), choices=choices)
    if form["focus_area"] and form["focus_area"] not in FOCUS_AREAS:
        choices = ", ".join(words.code("focus", f) for f in FOCUS_AREAS)
        wrong("focus_area", "error.choice", field=words("filter.focus_area"), choices=choices)
    for name in ("channel", "department", "partner", "search"):
        if len(form[name]) > MAX_TEXT_FILTER:
            wrong(name, "error.too_long", field=words(f"filter.{name}"), limit=MAX_TEXT_FILTER)
    page = bounded_int(params.get("page") or "1", 1, MAX_PAGE)
    if page is None:
        wrong("page", "error.page", limit=MAX_PAGE)
    else:
        query.page = page
    if not query.errors:
        query.where = DecisionFilter(
            since=since,
            until=until,
            outcome=form["outcome"] or None,
            channel=form["channel"] or None,
            department=form["department"] or None,
            partner=form["partner"] or None,
            focus_area=form["focus_area"] or None,
            search=form["search"] or None,
        )
    return query


def safe_next(value: str | None) -> str:
    """Where to go after login: a local /admin address, never another site (no open redirect)."""
    if not value or len(value) > 2000 or "\\" in value or any(ord(c) < 32 for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME
    path = parts.path
    if path != HOME and not path.startswith(HOME + "/"):
        return HOME
    # Browsers resolve "..", also when percent-encoded, which could leave /admin.
    if any(segment in (".", "..") for segment in unquote(path).split("/")):
        return HOME
    if path.startswith((HOME + "/login", HOME + "/logout", HOME + "/oidc")):
        return HOME
    return path + (f"?{parts.query}" if parts.query else "")


def chosen_lang(request: Request) -> Lang:
    """?lang= if given, else the admin's earlier choice (a cookie), else Swedish."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        for lang in LANGS:
            if value == lang:
                return lang
    return DEFAULT_LANG


def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_cookie(
    response: Response, name: str, value: str, max_age: int, samesite: str = "strict"
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite=samesite,  # type: ignore[arg-type]
    )


def _clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict")


async def _read_form(request: Request) -> dict[str, str] | None:
    """A URL-encoded form body (the first value of each field), or None if it is too large or
    malformed. Read with a cap so a huge body cannot fill memory."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items()}


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_row(decision: StoredDecision) -> MonthStats:
    """One decision as a stats row of its Stockholm month."""
    co2 = decision.co2 or {}
    avoided = _kg(co2.get("avoided_kg"))
    went_digital = decision.actual_outcome == "digital"
    # Confirmed: a meeting that did go digital avoided its planned trip (as the storage's
    # month totals count it).
    confirmed = 0.0
    if went_digital:
        confirmed = _kg(
            co2["avoided_kg"] if co2.get("avoided_kg") is not None else co2.get("planned_kg")
        )
    return MonthStats(
        month=month_key(decision.created_at),
        department=decision.department,
        total=1,
        travel=int(decision.outcome == "travel"),
        digital=int(decision.outcome == "digital"),
        not_qualified=int(decision.outcome == "not_qualified"),
        avoided_kg=avoided,
        asked=int(decision.followed_up_at is not None),
        answered=int(decision.actual_outcome is not None),
        confirmed_digital=int(went_digital),
        confirmed_avoided_kg=confirmed,
    )


def _kg(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


class AdminWeb:
    """The web admin's routes over the decision log."""

    name = "admin"

    def __init__(
        self,
        decision_log: DecisionLog,
        settings: Settings,
        clock: Clock,
        rules: RuleSet,
        oidc: OidcSettings | None = None,
    ) -> None:
        self.log = decision_log
        self.clock = clock
        self.rules = rules
        signer = signer_from(settings.admin_secret)
        # Logouts and failed logins live in the database, so every instance honours them.
        self.sessions = SharedSessions(signer, clock, decision_log)
        self.csrf = CsrfTokens(signer)
        self.limiter = SharedLoginLimiter(clock, decision_log)
        self.passwords = PasswordChecker(decision_log, clock)
        self.oidc = OidcSignIn(oidc, signer, clock) if oidc is not None and oidc.enabled else None
        self.templates = _templates()
        self._departments: dict[str, str | None] = {}
        # TRIPCHECK_ACCESSIBILITY_CONTACT; empty: the statement's default contact text.
        self.accessibility_contact = settings.accessibility_contact.strip()
        self.stylesheet_bytes = STYLESHEET.read_bytes() if STYLESHEET.exists() else b""

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route(HOME, self._secured(self._page(self.dashboard))),
            Route(HOME + "/login", self._secured(self.login_form), methods=["GET"]),
            Route(HOME + "/login", self._secured(self.login), methods=["POST"]),
            Route(HOME + "/oidc/start", self._secured(self.oidc_start), methods=["GET"]),
            Route(HOME + "/oidc/callback", self._secured(self.oidc_callback), methods=["GET"]),
            Route(HOME + "/logout", self._secured(self._form(self.logout)), methods=["POST"]),
            Route(HOME + "/accessibility", self._secured(self.accessibility)),
            Route(HOME + "/decisions", self._secured(self._page(self.decisions))),
            Route(HOME + "/decisions.csv", self._secured(self._page(self.decisions_csv))),
            Route(HOME + "/decisions/{decision_id}", self._secured(self._page(self.decision))),
            Route(
                HOME + "/decisions/{decision_id}/reviews",
                self._secured(self._form(self.review)),
                methods=["POST"],
            ),
            Route(HOME + "/plan", self._secured(self._page(self.plan))),
            Route(HOME + "/plan.xlsx", self._secured(self._page(self.plan_xlsx))),
            Route(HOME + "/static/admin.css", self.stylesheet),
            Route(HOME + "/{rest:path}", self._secured(self._page(self.not_found))),
        ]

    async def start(self) -> None:
        if self.oidc is not None:
            await self.oidc.start()

    async def stop(self) -> None:
        if self.oidc is not None:
            await self.oidc.stop()

    def words(self, request: Request) -> Words:
        return Words(self.rules, chosen_lang(request))

    def _secured(self, endpoint: Endpoint) -> Endpoint:
        """Adds the security headers to every response and keeps a language chosen with
        ?lang=; a database that cannot be read gets a clear 503 page, not a stack trace."""

        async def guarded(request: Request) -> Response:
            try:
                response = await endpoint(request)
            except StorageError as error:
                log.error("admin page failed: %s", error, extra={"channel": "admin"})
                response = self.message(request, None, 503, "unavailable")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            lang = request.query_params.get("lang")
            if lang in LANGS and request.cookies.get(LANG_COOKIE) != lang:
                _set_cookie(response, LANG_COOKIE, lang, LANG_COOKIE_SECONDS, samesite="lax")
            return response

        return guarded

    # --- rendering -----------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A page in the admin's language, with the switch to the other one; `user` and the
        session's CSRF token (for the logout form) are always there."""
        words = self.words(request)
        other: Lang = "en" if words.lang == "sv" else "sv"
        params = {k: v for k, v in request.query_params.items() if k != "lang"}
        # After a form post the switch leads to the page itself, not to the post.
        path = request.url.path if request.method == "GET" else HOME
        switch = f"{path}?{urlencode({**params, 'lang': other})}"
        html = self.templates.get_template(f"admin/{template}").render(
            t=words,
            lang=words.lang,
            other_lang=other,
            switch_link=switch,
            user=self.shown_user(session.user) if session else None,
            shown_user=self.shown_user,
            department=self.department,
            csrf=self.csrf.for_session(session) if session else "",
            **context,
        )
        return HTMLResponse(html, status_code=status)

    @staticmethod
    def shown_user(user: str) -> str:
        """An admin's name as shown: a provider's user without the prefix that marks them."""
        return user.removeprefix(USER_PREFIX)

    def message(
        self,
        request: Request,
        session: Session | None,
        status: int,
        message_id: str,
        link: str = HOME,
        **values: object,
    ) -> HTMLResponse:
        """A short page for errors: not found, refused, too many attempts, bad input. Its
        title and text are the texts `message.<id>.title` and `message.<id>.text`."""
        words = self.words(request)
        return self.render(
            request,
            "message.html",
            session,
            status,
            title=words(f"message.{message_id}.title"),
            text=words(f"message.{message_id}.text", **values),
            link=link,
        )

    # --- who is signed in ----------------------------------------------------------------

    async def signed_in(self, request: Request) -> Session | None:
        """The admin whose valid session cookie came with the request, if any."""
        session = await self.sessions.read_shared(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        if session.user.startswith(USER_PREFIX):
            # Signed in with the provider: valid while the same provider and group are set.
            if self.oidc is None:
                return None
            expected = self.sessions.credential_of(self.oidc.credential_source)
            return session if same_token(expected, session.credential) else None
        stored = await self.log.admin_password_hash(session.user)
        if stored is None:
            return None
        # A new password for the account ends the sessions started with the old one.
        if not same_token(self.sessions.credential_of(stored), session.credential):
            return None
        return session

    def to_login(self, request: Request) -> Response:
        """303 to the login page, which returns to this page (or, after a form, its page)."""
        if request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        else:
            referer = urlsplit(request.headers.get("referer", ""))
            here = referer.path + (f"?{referer.query}" if referer.query else "")
        return RedirectResponse(
            f"{HOME}/login?{urlencode({'next': safe_next(here)})}", status_code=303
        )

    def _page(self, handler: PageHandler) -> Endpoint:
        """An endpoint for signed-in admins only; anyone else is sent to the login page."""

        async def endpoint(request: Request) -> Response:
            session = await self.signed_in(request)
            if session is None:
                return self.to_login(request)
            return await handler(request, session)

        return endpoint

    def _form(self, handler: FormHandler) -> Endpoint:
        """A form post by a signed-in admin with the session's CSRF token; else 403."""

        async def endpoint(request: Request) -> Response:
            session = await self.signed_in(request)
            if session is None:
                return self.to_login(request)
            form = await _read_form(request)
            if form is None:
                return self.message(request, session, 400, "unreadable_form")
            if not same_token(self.csrf.for_session(session), form.get("csrf")):
                log.warning("admin form refused: bad CSRF token", extra={"channel": "admin"})
                return self.message(request, session, 403, "bad_token")
            return await handler(request, session, form)

        return endpoint

    # --- login and logout ----------------------------------------------------------------

    def login_page(
        self,
        request: Request,
        target: str,
        *,
        status: int = 200,
        error: str | None = None,
        username: str = "",
    ) -> Response:
        """The login form, with a CSRF token bound to the login cookie (set if missing)."""
        nonce = request.cookies.get(LOGIN_COOKIE) or ""
        if not (40 <= len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum()):
            nonce = self.csrf.new_login_nonce()
        response = self.render(
            request,
            "login.html",
            None,
            status,
            token=self.csrf.for_login(nonce),
            next=target,
            error=error,
            username=username,
            oidc_link=(f"{HOME}/oidc/start?{urlencode({'next': target})}" if self.oidc else None),
        )
        _set_cookie(response, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS)
        return response

    async def login_form(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if await self.signed_in(request) is not None:
            return RedirectResponse(target, status_code=303)
        return self.login_page(request, target)

    async def login(self, request: Request) -> Response:
        form = await _read_form(request)
        words = self.words(request)
        if form is None:
            return self.message(request, None, 400, "unreadable_form", HOME + "/login")
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or not same_token(self.csrf.for_login(nonce), form.get("csrf")):
            # A missing cookie is most often plain http: browsers keep `Secure` cookies back.
            hint = "" if nonce else words("message.login_expired.https")
            return self.message(
                request, None, 403, "login_expired", HOME + "/login", https_hint=hint
            )
        username = form.get("username", "").strip()[:MAX_USERNAME]
        password = form.get("password", "")
        target = safe_next(form.get("next"))
        client = _client(request)
        wait = await self.limiter.retry_after(username, client)
        if wait is not None:
            log.warning(
                "admin login rate-limited", extra={"channel": "admin", "admin": pseudonym(username)}
            )
            minutes = math.ceil(wait / 60)
            response = self.message(
                request,
                None,
                429,
                "too_many" if minutes != 1 else "too_many_one",
                HOME + "/login",
                minutes=minutes,
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        stored: str | None = None
        if len(password) <= MAX_PASSWORD and not username.startswith(USER_PREFIX):
            stored = await self.passwords.check(username, password)
        if stored is None:
            await self.limiter.failed(username, client)
            # What was typed as a username may be a password typed in the wrong field.
            log.info("admin login failed", extra={"channel": "admin", "admin": pseudonym(username)})
            return self.login_page(
                request, target, status=401, error=words("login.wrong"), username=username
            )
        await self.limiter.succeeded(username, client)
        return self._signed_in_response(username, stored, target)

    def _signed_in_response(
        self, user: str, credential_source: str, target: str, *, page: Response | None = None
    ) -> Response:
        _, cookie = self.sessions.start(user, credential_source)
        response = page or RedirectResponse(target, status_code=303)
        _set_cookie(response, SESSION_COOKIE, cookie, int(self.sessions.lifetime))
        _clear_cookie(response, LOGIN_COOKIE)
        log.info("admin signed in", extra={"channel": "admin", "admin": user})
        return response

    def _redirect_uri(self, request: Request) -> str:
        assert self.oidc is not None
        configured = self.oidc.settings.redirect_url
        return configured or f"{str(request.base_url).rstrip('/')}{HOME}/oidc/callback"

    async def oidc_start(self, request: Request) -> Response:
        """Sends the browser to the provider, with PKCE, state and nonce in a flow cookie."""
        if self.oidc is None:
            return self.message(request, None, 404, "not_found")
        target = safe_next(request.query_params.get("next"))
        try:
            address, flow = await self.oidc.begin(target, self._redirect_uri(request))
        except OidcRefused as refused:
            log.warning("OpenID sign-in: %s", refused, extra={"channel": "admin"})
            return self.message(request, None, 502, "oidc_provider", HOME + "/login")
        response = RedirectResponse(address, status_code=303)
        # Lax, not strict: the provider's redirect back is a cross-site navigation.
        _set_cookie(response, FLOW_COOKIE, flow, FLOW_SECONDS, samesite="lax")
        return response

    async def oidc_callback(self, request: Request) -> Response:
        """Checks the provider's answer; an admin is signed in, anyone else refused."""
        if self.oidc is None:
            return self.message(request, None, 404, "not_found")
        flow = self.oidc.read_flow(request.cookies.get(FLOW_COOKIE))
        params = {k: v[:4096] for k, v in request.query_params.items()}
        try:
            identity = await self.oidc.finish(params, flow, self._redirect_uri(request))
        except OidcRefused as refused:
            log.warning("OpenID sign-in refused: %s", refused, extra={"channel": "admin"})
            status = 502 if refused.reason == "provider" else 403
            response: Response = self.message(
                request, None, status, f"oidc_{refused.reason}", HOME + "/login"
            )
            _clear_cookie(response, FLOW_COOKIE)
            return response
        assert flow is not None
        # The session cookie is strict, so a redirect chain that began at the provider would
        # arrive without it; a page of this site moves on instead.
        page = self.render(request, "signed_in.html", None, 200, target=flow.next)
        response = self._signed_in_response(
            identity.user, self.oidc.credential_source, flow.next, page=page
        )
        _clear_cookie(response, FLOW_COOKIE)
        return response

    async def logout(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        await self.sessions.end_everywhere(session)
        response = RedirectResponse(f"{HOME}/login", status_code=303)
        _clear_cookie(response, SESSION_COOKIE)
        log.info("admin signed out", extra={"channel": "admin", "admin": session.user})
        return response

    # --- pages ---------------------------------------------------------------------------

    async def accessibility(self, request: Request) -> Response:
        """The accessibility statement (tillgänglighetsredogörelse), open to anyone."""
        session = await self.signed_in(request)
        contact = self.accessibility_contact
        return self.render(request, "accessibility.html", session, contact=contact)

    async def dashboard(self, request: Request, session: Session) -> Response:
        """Outcomes and CO2e avoided per Stockholm month for a year, and this quarter's answer."""
        today = local_day(self.clock())
        first = _add_months(today.replace(day=1), -11)
        number, quarter_from = quarter_of(today)
        rows: list[MonthStats] = []
        in_quarter: list[MonthStats] = []
        async for decision in self.log.stream_decisions(DecisionFilter(since=first)):
            row = _month_row(decision)
            rows.append(row)
            if local_day(decision.created_at) >= quarter_from:
                in_quarter.append(row)
        words = self.words(request)
        months = monthly_totals(rows, month_keys(first, today))
        confirmed = {month.month: 0.0 for month in months}
        for row in rows:
            if row.month in confirmed:
                confirmed[row.month] += row.confirmed_avoided_kg
        return self.render(
            request,
            "dashboard.html",
            session,
            months=months,
            confirmed_kg=confirmed,
            outcomes_svg=outcomes_chart(months, words),
            avoided_svg=avoided_chart(months, words),
            quarter=stats_total(in_quarter).with_followups_of(in_quarter),
            quarter_name=f"Q{number} {quarter_from.year}",
            quarter_from=quarter_from.isoformat(),
            digital_link=urlencode({"outcome": "digital", "since": quarter_from.isoformat()}),
        )

    def _list_page(
        self, request: Request, session: Session, query: ListQuery, status: int = 200, **found: Any
    ) -> HTMLResponse:
        return self.render(
            request,
            "decisions.html",
            session,
            status,
            query=query,
            outcomes=OUTCOMES,
            focus_areas=FOCUS_AREAS,
            channels=KNOWN_CHANNELS,
            decisions=found.get("decisions", []),
            total=found.get("total", 0),
            pages=found.get("pages", 1),
            page_size=PAGE_SIZE,
        )

    def department(self, typed: str) -> str | None:
        """The rules' name of a department as stored, or None if it matches none surely."""
        if typed not in self._departments:
            if len(self._departments) > 10_000:
                self._departments.clear()
            self._departments[typed] = normalised_department(self.rules, typed)
        return self._departments[typed]

    async def _read_list_query(self, request: Request) -> ListQuery:
        """The list's query; a department the rules know matches all its stored spellings
        ("KFF", "Kultur & fritid", ...), any other text matches as part of the name."""
        query = read_list_query(request.query_params, self.words(request))
        typed = query.where.department
        known = self.department(typed) if typed else None
        if query.errors or known is None:
            return query
        stored = {row.department for row in await self.log.stats(DecisionFilter())}
        spellings = tuple(sorted(s for s in stored if self.department(s) == known)) or (known,)
        query.where = replace(query.where, department=None, department_spellings=spellings)
        return query

    async def decisions(self, request: Request, session: Session) -> Response:
        """The decisions that match the filters, newest first, a page at a time."""
        query = await self._read_list_query(request)
        if query.errors:
            return self._list_page(request, session, query, 400)
        total = await self.log.count_decisions(query.where)
        found = await self.log.query_decisions(
            query.where, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return self._list_page(request, session, query, decisions=found, total=total, pages=pages)

    async def decisions_csv(self, request: Request, session: Session) -> Response:
        """The whole filtered list as CSV, streamed from the log in constant memory."""
        query = await self._read_list_query(request)
        if query.errors:
            return self._list_page(request, session, query, 400)

        today = local_day(self.clock()).isoformat()
        log.info("admin export", extra={"channel": "admin", "admin": session.user})
        # The byte-order mark lets Excel, which Kommunstaben uses, read å, ä and ö.
        rows = self.log.stream_export_rows(query.where)
        return StreamingResponse(
            csv_chunks(rows, first="\ufeff"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="tripcheck-decisions-{today}.csv"'
            },
        )

    async def _find(self, decision_id: str) -> StoredDecision | None:
        number = bounded_int(decision_id, 1, MAX_ID)
        return None if number is None else await self.log.get_decision(number)

    async def _decision_page(
        self,
        request: Request,
        session: Session,
        decision_id: str,
        *,
        status: int = 200,
        errors: tuple[FieldError, ...] = (),
        verdict: str = "",
        comment: str = "",
    ) -> Response:
        decision = await self._find(decision_id)
        if decision is None:
            return self.message(request, session, 404, "no_decision", HOME + "/decisions")
        return self.render(
            request,
            "decision.html",
            session,
            status,
            decision=decision,
            reviews=await self.log.reviews(decision.id),
            errors=errors,
            error_of={e.field: e.text for e in errors},
            verdict=verdict,
            comment=comment,
            max_comment=MAX_COMMENT,
        )

    async def decision(self, request: Request, session: Session) -> Response:
        """One decision in full, with its reviews and the review form."""
        return await self._decision_page(request, session, request.path_params["decision_id"])

    async def review(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        """Records the admin's review; the decision itself is never changed."""
        words = self.words(request)
        decision_id = request.path_params["decision_id"]
        verdict = form.get("verdict", "")
        comment = form.get("comment", "").replace("\r\n", "\n").strip()
        errors = []
        if verdict not in VERDICTS:
            errors.append(FieldError("verdict", words("review.error.verdict")))
        if len(comment) > MAX_COMMENT:
            errors.append(
                FieldError(
                    "comment",
                    words("review.error.too_long", length=len(comment), limit=MAX_COMMENT),
                )
            )
        if verdict == "disagree" and not comment:
            errors.append(FieldError("comment", words("review.error.why")))
        decision = await self._find(decision_id)
        if decision is None or errors:
            return await self._decision_page(
                request,
                session,
                decision_id,
                status=400,
                errors=tuple(errors),
                verdict=verdict,
                comment=comment,
            )
        checked: Verdict = "agree" if verdict == "agree" else "disagree"
        await self.log.add_review(decision.id, session.user, checked, comment, self.clock())
        log.info(
            "decision reviewed",
            extra={"channel": "admin", "admin": session.user, "decision": decision.id},
        )
        return RedirectResponse(f"{HOME}/decisions/{decision.id}#reviews", status_code=303)

    def _plan_year(self, request: Request) -> int | None:
        given = request.query_params.get("year")
        if given is None:
            return local_day(self.clock()).year
        return bounded_int(given.strip(), MIN_YEAR, MAX_YEAR)

    async def _annual_plan(self, year: int) -> Any:
        where = DecisionFilter(since=date(year, 1, 1), until=date(year, 12, 31))
        return await annual_plan(self.rules, year, self.log.stream_decisions(where))

    async def plan(self, request: Request, session: Session) -> Response:
        """The annual plan view: one year's decisions per department."""
        year = self._plan_year(request)
        if year is None:
            words = self.words(request)
            error = words("plan.error.year", low=MIN_YEAR, high=MAX_YEAR)
            given = request.query_params.get("year", "")[:20]
            return self.render(
                request, "plan.html", session, 400, plan=None, year=given, error=error
            )
        return self.render(
            request,
            "plan.html",
            session,
            plan=await self._annual_plan(year),
            year=str(year),
            error=None,
        )

    async def plan_xlsx(self, request: Request, session: Session) -> Response:
        """The annual plan view as an .xlsx workbook for Kommunstaben."""
        year = self._plan_year(request)
        if year is None:
            return self.message(
                request, session, 400, "bad_year", HOME + "/plan", low=MIN_YEAR, high=MAX_YEAR
            )
        words = self.words(request)
        workbook = plan_workbook(await self._annual_plan(year), words)
        log.info("admin plan export", extra={"channel": "admin", "admin": session.user})
        return Response(
            workbook,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="tripcheck-plan-{year}.xlsx"'},
        )

    async def not_found(self, request: Request, session: Session) -> Response:
        if request.path_params["rest"] == "":
            return RedirectResponse(HOME, status_code=303)
        return self.message(request, session, 404, "not_found")

    async def stylesheet(self, request: Request) -> Response:
        return Response(
            self.stylesheet_bytes,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )


def channel(settings: Settings, engine: Engine) -> AdminWeb | None:
    """The web admin, on when the storage keeps a decision log."""
    if engine.admin is None:
        log.info("channel off: the storage keeps no decision log", extra={"channel": "admin"})
        return None
    oidc = OidcSettings()
    if oidc.issuer and not oidc.enabled:
        log.warning(
            "OpenID sign-in off: set TRIPCHECK_OIDC_CLIENT_ID and TRIPCHECK_OIDC_ADMIN_GROUP too",
            extra={"channel": "admin"},
        )
    return AdminWeb(engine.admin.log, settings, engine.clock, engine.rules, oidc)
