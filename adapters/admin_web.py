"""The web admin at /admin for Kommunstaben: a dashboard, the decision list with filters and a
CSV export, each decision in full, and reviews. Sign-in, CSRF and rate limiting live in
adapters/admin_auth.py, the SVG charts in adapters/admin_charts.py."""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
    LoginLimiter,
    PasswordChecker,
    Session,
    Sessions,
    same_token,
    signer_from,
)
from adapters.admin_charts import (
    OUTCOME_COLOURS,
    avoided_chart,
    month_keys,
    monthly_totals,
    outcomes_chart,
)
from bot.admin_chat import quarter_start
from bot.decision_log import DecisionFilter, DecisionLog, Verdict
from bot.engine import Engine
from bot.export import CSV_COLUMNS, csv_row, stats_total
from bot.logs import pseudonym
from bot.settings import Settings
from bot.storage import StorageError
from rules.decision import Outcome
from rules.models import FOCUS_AREAS

log = logging.getLogger("tripcheck.admin_web")

HOME = "/admin"
PAGE_SIZE = 50
MAX_COMMENT = 2000
MAX_TEXT_FILTER = 200
MAX_USERNAME = 200
MAX_PASSWORD = 1024
MAX_FORM_BYTES = 64 * 1024
CSV_CHUNK = 64 * 1024
UNREADABLE_FORM = "The form could not be read (too large or malformed), so nothing was changed."
TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "admin.css"
OUTCOMES: tuple[str, ...] = get_args(Outcome)
VERDICTS: tuple[str, ...] = get_args(Verdict)
OUTCOME_LABELS = {value: label for value, label, _ in OUTCOME_COLOURS}
FOCUS_AREA_LABELS = {
    "regional_arctic": "Regional / Arctic",
    "eu": "EU",
    "twin_city": "Twin cities",
    "business_region": "Luleå Business Region",
    "other": "Other",
}
KNOWN_CHANNELS = ("slack", "teams", "telegram", "rest", "terminal")
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


@dataclass
class ListQuery:
    """The decision list's filter and page as an admin gave them, with what is wrong."""

    where: DecisionFilter = field(default_factory=DecisionFilter)
    form: dict[str, str] = field(default_factory=dict)
    page: int = 1
    errors: list[str] = field(default_factory=list)

    def link(self, **changes: str | int) -> str:
        """The query string of this filter (without the page unless given)."""
        values: dict[str, str | int] = {k: v for k, v in self.form.items() if v}
        values.update(changes)
        return urlencode(values)


def read_list_query(params: Mapping[str, str]) -> ListQuery:
    """The filter and page in a query string, validated like `tripcheck decisions list`."""
    query = ListQuery()
    form = {name: (params.get(name) or "").strip() for name in FILTER_FIELDS}
    query.form = form
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        days[name] = None
        if form[name]:
            try:
                days[name] = date.fromisoformat(form[name])
            except ValueError:
                query.errors.append(f"“{name}” must be a date like 2026-10-01.")
    since, until = days["since"], days["until"]
    if since is not None and until is not None and since > until:
        query.errors.append("“since” must not be after “until”.")
    if form["outcome"] and form["outcome"] not in OUTCOMES:
        query.errors.append(f"“outcome” must be one of {', '.join(OUTCOMES)}.")
    if form["focus_area"] and form["focus_area"] not in FOCUS_AREAS:
        query.errors.append(f"“focus area” must be one of {', '.join(FOCUS_AREAS)}.")
    for name in ("channel", "department", "partner", "search"):
        if len(form[name]) > MAX_TEXT_FILTER:
            query.errors.append(f"“{name}” may be at most {MAX_TEXT_FILTER} characters.")
    page = params.get("page") or "1"
    if page.isdigit() and int(page) >= 1:
        query.page = int(page)
    else:
        query.errors.append("“page” must be a whole number from 1.")
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
    if path.startswith((HOME + "/login", HOME + "/logout")):
        return HOME
    return path + (f"?{parts.query}" if parts.query else "")


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "–"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _kg(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}".replace(",", "\u2009") + " kg"


def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    environment.filters["kg"] = _kg
    environment.filters["outcome"] = lambda value: OUTCOME_LABELS.get(value, value)
    environment.filters["focus_area"] = lambda value: FOCUS_AREA_LABELS.get(value, value)
    return environment


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
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


class AdminWeb:
    """The web admin's routes over the decision log."""

    name = "admin"

    def __init__(self, decision_log: DecisionLog, settings: Settings, clock: Clock) -> None:
        self.log = decision_log
        self.clock = clock
        signer = signer_from(settings.admin_secret)
        self.sessions = Sessions(signer, clock)
        self.csrf = CsrfTokens(signer)
        self.limiter = LoginLimiter(clock)
        self.passwords = PasswordChecker(decision_log)
        self.templates = _templates()
        self.stylesheet_bytes = STYLESHEET.read_bytes() if STYLESHEET.exists() else b""

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route(HOME, self._secured(self._page(self.dashboard))),
            Route(HOME + "/login", self._secured(self.login_form), methods=["GET"]),
            Route(HOME + "/login", self._secured(self.login), methods=["POST"]),
            Route(HOME + "/logout", self._secured(self._form(self.logout)), methods=["POST"]),
            Route(HOME + "/decisions", self._secured(self._page(self.decisions))),
            Route(HOME + "/decisions.csv", self._secured(self._page(self.decisions_csv))),
            Route(HOME + "/decisions/{decision_id}", self._secured(self._page(self.decision))),
            Route(
                HOME + "/decisions/{decision_id}/reviews",
                self._secured(self._form(self.review)),
                methods=["POST"],
            ),
            Route(HOME + "/static/admin.css", self.stylesheet),
            Route(HOME + "/{rest:path}", self._secured(self._page(self.not_found))),
        ]

    async def start(self) -> None:
        await self.passwords.prepare()

    async def stop(self) -> None:
        return None

    def _secured(self, endpoint: Endpoint) -> Endpoint:
        """Adds the security headers to every response; a database that cannot be read gets
        a clear 503 page instead of a stack trace."""

        async def guarded(request: Request) -> Response:
            try:
                response = await endpoint(request)
            except StorageError as error:
                log.error("admin page failed: %s", error, extra={"channel": "admin"})
                response = self.message(
                    None,
                    503,
                    "Database unavailable",
                    "The decision log cannot be read right now. Try again in a minute; if it "
                    "persists, tell whoever runs Tripcheck.",
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return guarded

    # --- rendering -----------------------------------------------------------------------

    def render(
        self,
        template: str,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A page; `user` and the session's CSRF token (for the logout form) are always there."""
        html = self.templates.get_template(f"admin/{template}").render(
            user=session.user if session else None,
            csrf=self.csrf.for_session(session) if session else "",
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def message(
        self, session: Session | None, status: int, title: str, text: str, link: str = HOME
    ) -> HTMLResponse:
        """A short page for errors: not found, refused, too many attempts, bad input."""
        return self.render("message.html", session, status, title=title, text=text, link=link)

    # --- who is signed in ----------------------------------------------------------------

    async def signed_in(self, request: Request) -> Session | None:
        """The admin whose valid session cookie came with the request, if any."""
        session = self.sessions.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
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
                return self.message(session, 400, "Bad form", UNREADABLE_FORM)
            if not same_token(self.csrf.for_session(session), form.get("csrf")):
                log.warning("admin form refused: bad CSRF token", extra={"channel": "admin"})
                return self.message(
                    session,
                    403,
                    "Refused",
                    "The form had no valid security token, so nothing was changed. "
                    "Reload the page and try again.",
                )
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
            "login.html",
            None,
            status,
            token=self.csrf.for_login(nonce),
            next=target,
            error=error,
            username=username,
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
        if form is None:
            return self.message(None, 400, "Bad form", UNREADABLE_FORM, HOME + "/login")
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or not same_token(self.csrf.for_login(nonce), form.get("csrf")):
            # A missing cookie is most often plain http: browsers keep `Secure` cookies back.
            hint = "" if nonce else " The admin works only over HTTPS."
            return self.message(
                None,
                403,
                "Refused",
                "The login form had expired or did not come from this site. "
                "Open the login page again and sign in." + hint,
                HOME + "/login",
            )
        username = form.get("username", "").strip()[:MAX_USERNAME]
        password = form.get("password", "")
        target = safe_next(form.get("next"))
        client = _client(request)
        wait = self.limiter.retry_after(username, client)
        if wait is not None:
            log.warning(
                "admin login rate-limited", extra={"channel": "admin", "admin": pseudonym(username)}
            )
            minutes = math.ceil(wait / 60)
            response = self.message(
                None,
                429,
                "Too many attempts",
                f"Too many failed logins for this account from your address. "
                f"Please wait {minutes} minute{'s' if minutes != 1 else ''} and try again.",
                HOME + "/login",
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        stored: str | None = None
        if len(password) <= MAX_PASSWORD:
            stored = await self.passwords.check(username, password)
        if stored is None:
            self.limiter.failed(username, client)
            # What was typed as a username may be a password typed in the wrong field.
            log.info("admin login failed", extra={"channel": "admin", "admin": pseudonym(username)})
            return self.login_page(
                request, target, status=401, error="Wrong username or password.", username=username
            )
        self.limiter.succeeded(username, client)
        _, cookie = self.sessions.start(username, stored)
        signed_in = RedirectResponse(target, status_code=303)
        _set_cookie(signed_in, SESSION_COOKIE, cookie, int(self.sessions.lifetime))
        _clear_cookie(signed_in, LOGIN_COOKIE)
        log.info("admin signed in", extra={"channel": "admin", "admin": username})
        return signed_in

    async def logout(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        self.sessions.end(session)
        response = RedirectResponse(f"{HOME}/login", status_code=303)
        _clear_cookie(response, SESSION_COOKIE)
        log.info("admin signed out", extra={"channel": "admin", "admin": session.user})
        return response

    # --- pages ---------------------------------------------------------------------------

    async def dashboard(self, request: Request, session: Session) -> Response:
        """Outcomes and CO2e avoided per month for a year, and this quarter's answer."""
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        first = _add_months(today.replace(day=1), -11)
        months = monthly_totals(
            await self.log.stats(DecisionFilter(since=first)), month_keys(first, today)
        )
        quarter_from = quarter_start(today)
        quarter = stats_total(await self.log.stats(DecisionFilter(since=quarter_from)))
        return self.render(
            "dashboard.html",
            session,
            months=months,
            outcomes_svg=outcomes_chart(months),
            avoided_svg=avoided_chart(months),
            quarter=quarter,
            quarter_name=f"Q{(quarter_from.month - 1) // 3 + 1} {quarter_from.year}",
            quarter_from=quarter_from.isoformat(),
            digital_link=urlencode({"outcome": "digital", "since": quarter_from.isoformat()}),
        )

    def _list_page(
        self, session: Session, query: ListQuery, status: int = 200, **found: Any
    ) -> HTMLResponse:
        return self.render(
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

    async def decisions(self, request: Request, session: Session) -> Response:
        """The decisions that match the filters, newest first, a page at a time."""
        query = read_list_query(request.query_params)
        if query.errors:
            return self._list_page(session, query, 400)
        total = await self.log.count_decisions(query.where)
        found = await self.log.query_decisions(
            query.where, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return self._list_page(session, query, decisions=found, total=total, pages=pages)

    async def decisions_csv(self, request: Request, session: Session) -> Response:
        """The whole filtered list as CSV, streamed from the log in constant memory."""
        query = read_list_query(request.query_params)
        if query.errors:
            return self._list_page(session, query, 400)

        async def lines() -> AsyncIterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            # The byte-order mark lets Excel, which Kommunstaben uses, read å, ä and ö.
            buffer.write("\ufeff")
            writer.writerow(CSV_COLUMNS)
            async for decision in self.log.stream_decisions(query.where):
                writer.writerow(csv_row(decision))
                if buffer.tell() >= CSV_CHUNK:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        today = datetime.fromtimestamp(self.clock(), UTC).date().isoformat()
        log.info("admin export", extra={"channel": "admin", "admin": session.user})
        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="tripcheck-decisions-{today}.csv"'
            },
        )

    async def _decision_page(
        self,
        session: Session,
        decision_id: str,
        *,
        status: int = 200,
        errors: tuple[str, ...] = (),
        verdict: str = "",
        comment: str = "",
    ) -> Response:
        decision = await self.log.get_decision(int(decision_id)) if decision_id.isdigit() else None
        if decision is None:
            return self.message(
                session,
                404,
                "Not found",
                f"There is no decision {decision_id[:20]}.",
                HOME + "/decisions",
            )
        return self.render(
            "decision.html",
            session,
            status,
            decision=decision,
            reviews=await self.log.reviews(decision.id),
            errors=errors,
            verdict=verdict,
            comment=comment,
            max_comment=MAX_COMMENT,
        )

    async def decision(self, request: Request, session: Session) -> Response:
        """One decision in full, with its reviews and the review form."""
        return await self._decision_page(session, request.path_params["decision_id"])

    async def review(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        """Records the admin's review; the decision itself is never changed."""
        decision_id = request.path_params["decision_id"]
        verdict = form.get("verdict", "")
        comment = form.get("comment", "").replace("\r\n", "\n").strip()
        errors = []
        if verdict not in VERDICTS:
            errors.append("Choose “agree” or “disagree”.")
        if len(comment) > MAX_COMMENT:
            errors.append(f"The comment has {len(comment)} characters; at most {MAX_COMMENT} fit.")
        if verdict == "disagree" and not comment:
            errors.append("Say in the comment why you disagree.")
        decision = await self.log.get_decision(int(decision_id)) if decision_id.isdigit() else None
        if decision is None or errors:
            return await self._decision_page(
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

    async def not_found(self, request: Request, session: Session) -> Response:
        if request.path_params["rest"] == "":
            return RedirectResponse(HOME, status_code=303)
        return self.message(session, 404, "Not found", "There is no such admin page.")

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
    return AdminWeb(engine.admin.log, settings, engine.clock)
