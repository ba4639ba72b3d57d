"""Web admin sign-in: signed session cookies, CSRF tokens, password checks and a limit on
failed logins. Nothing here knows about pages; adapters/admin_web.py uses it."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from bot.decision_log import DecisionLog
from bot.passwords import dummy_hash, hash_password, needs_rehash, verify_password

log = logging.getLogger("tripcheck.admin_web")

SESSION_COOKIE = "tripcheck_admin"
# Holds the random value the login form's CSRF token is bound to (no session exists yet).
LOGIN_COOKIE = "tripcheck_admin_login"
COOKIE_PATH = "/admin"
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 3600
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
# argon2id takes 19 MiB for tens of ms: a burst of logins must not exhaust memory or threads.
CONCURRENT_PASSWORD_CHECKS = 4

Clock = Callable[[], float]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a token with what a request sent (which may be missing)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class Signer:
    """HMAC-SHA256 with one derived key per purpose, so a value signed for one use (a session)
    never passes for another (a CSRF token)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, purpose: str, message: str) -> str:
        """The signature of `message` for `purpose`, URL- and cookie-safe."""
        key = hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest()
        return _encode(hmac.new(key, message.encode(), hashlib.sha256).digest())

    def verifies(self, purpose: str, message: str, signature: str) -> bool:
        """Whether `signature` is this signer's for `message` and `purpose`."""
        return same_token(self.sign(purpose, message), signature)


def signer_from(secret: SecretStr | None) -> Signer:
    """A signer keyed with TRIPCHECK_ADMIN_SECRET, or with a random key for this process."""
    if secret is not None and secret.get_secret_value():
        return Signer(secret.get_secret_value().encode())
    log.warning(
        "TRIPCHECK_ADMIN_SECRET is not set: admin sessions use a random key and end when the "
        "server restarts",
        extra={"channel": "admin"},
    )
    return Signer(secrets.token_bytes(32))


@dataclass(frozen=True)
class Session:
    """A signed-in admin. `credential` fingerprints the password hash at login, so setting a
    new password (`tripcheck admin add USER`) ends the sessions started with the old one."""

    user: str
    session_id: str
    expires_at: float
    credential: str


class Sessions:
    """Issues and reads session cookies; logging out revokes a session id until it expires."""

    def __init__(self, signer: Signer, clock: Clock, lifetime: float = SESSION_SECONDS) -> None:
        self._signer = signer
        self._clock = clock
        self.lifetime = lifetime
        # Stateless cookies cannot be taken back, so ended sessions are remembered (per process)
        # until they would have expired anyway.
        self._ended: dict[str, float] = {}

    def credential_of(self, password_hash: str) -> str:
        """The fingerprint of a stored password hash that a session carries."""
        return self._signer.sign("credential", password_hash)[:22]

    def start(self, user: str, password_hash: str) -> tuple[Session, str]:
        """A new session for `user` and its cookie value."""
        session = Session(
            user=user,
            session_id=secrets.token_urlsafe(16),
            expires_at=self._clock() + self.lifetime,
            credential=self.credential_of(password_hash),
        )
        payload = _encode(
            json.dumps(
                {
                    "user": session.user,
                    "sid": session.session_id,
                    "exp": session.expires_at,
                    "cred": session.credential,
                },
                separators=(",", ":"),
            ).encode()
        )
        return session, f"{payload}.{self._signer.sign('session', payload)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None if it is missing, forged, expired or ended."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        # The signature is checked before anything in the payload is trusted or parsed.
        if not self._signer.verifies("session", payload, signature):
            return None
        try:
            data = json.loads(_decode(payload))
            session = Session(
                user=str(data["user"]),
                session_id=str(data["sid"]),
                expires_at=float(data["exp"]),
                credential=str(data["cred"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if session.expires_at <= self._clock() or session.session_id in self._ended:
            return None
        return session

    def end(self, session: Session) -> None:
        """Logs a session out: its cookie no longer works, even if a copy was kept."""
        now = self._clock()
        self._ended = {sid: until for sid, until in self._ended.items() if until > now}
        self._ended[session.session_id] = session.expires_at


class CsrfTokens:
    """Tokens for forms: bound to the login cookie before sign-in and to the session after."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    @staticmethod
    def new_login_nonce() -> str:
        """A fresh random value for the login cookie."""
        return secrets.token_urlsafe(32)

    def for_login(self, nonce: str) -> str:
        """The login form's token for a login cookie value."""
        return self._signer.sign("csrf-login", nonce)

    def for_session(self, session: Session) -> str:
        """The token every form of a signed-in admin carries."""
        return self._signer.sign("csrf-session", session.session_id)


class LoginLimiter:
    """At most MAX_FAILURES failed logins per username and client address in the window; a
    successful login starts afresh. Kept in memory: the count is per server process."""

    def __init__(
        self,
        clock: Clock,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_SECONDS,
        max_keys: int = 100_000,
    ) -> None:
        self._clock = clock
        self.max_failures = max_failures
        self.window = window
        self._max_keys = max_keys
        # Oldest failing key first, so the cap drops one key per failure: O(1).
        self._failures: OrderedDict[tuple[str, str], list[float]] = OrderedDict()

    @staticmethod
    def _key(user: str, client: str) -> tuple[str, str]:
        return user.strip().casefold(), client

    def _recent(self, key: tuple[str, str]) -> list[float]:
        since = self._clock() - self.window
        return [at for at in self._failures.get(key, []) if at > since]

    def retry_after(self, user: str, client: str) -> float | None:
        """Seconds until this user may try again from this address, or None if they may now."""
        recent = self._recent(self._key(user, client))
        if len(recent) < self.max_failures:
            return None
        return max(1.0, recent[-self.max_failures] + self.window - self._clock())

    def failed(self, user: str, client: str) -> None:
        """Counts a failed login."""
        key = self._key(user, client)
        recent = self._recent(key)
        recent.append(self._clock())
        self._failures[key] = recent[-self.max_failures :]
        self._failures.move_to_end(key)
        if len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, user: str, client: str) -> None:
        """A successful login clears the failures of this user and address."""
        self._failures.pop(self._key(user, client), None)


class SharedSessions(Sessions):
    """Sessions whose logout holds on every instance: ended session ids are kept in the
    database (until they would have expired), not in this process."""

    def __init__(
        self,
        signer: Signer,
        clock: Clock,
        decision_log: DecisionLog,
        lifetime: float = SESSION_SECONDS,
    ) -> None:
        super().__init__(signer, clock, lifetime)
        self._log = decision_log

    async def read_shared(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None if missing, forged, expired or logged out
        on any instance."""
        session = self.read(cookie)
        if session is None or await self._log.session_ended(session.session_id, self._clock()):
            return None
        return session

    async def end_everywhere(self, session: Session) -> None:
        """Logs a session out on every instance."""
        self.end(session)
        await self._log.end_session(session.session_id, session.expires_at, self._clock())


class SharedLoginLimiter:
    """LoginLimiter counted in the database, so every instance sees the same failures: at
    most `max_failures` per username and address in a window that starts at the first
    failure. Each attempt costs O(1) rows."""

    def __init__(
        self,
        clock: Clock,
        decision_log: DecisionLog,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_SECONDS,
    ) -> None:
        self._clock = clock
        self._log = decision_log
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def _key(user: str, client: str) -> str:
        return f"{user.strip().casefold()}|{client}"

    async def retry_after(self, user: str, client: str) -> float | None:
        """Seconds until this user may try again from this address, or None if they may now."""
        now = self._clock()
        failures, window_ends = await self._log.login_failures(
            self._key(user, client), now, self.window
        )
        return None if failures < self.max_failures else max(1.0, window_ends - now)

    async def failed(self, user: str, client: str) -> None:
        """Counts a failed login."""
        await self._log.login_failed(self._key(user, client), self._clock(), self.window)

    async def succeeded(self, user: str, client: str) -> None:
        """A successful login clears the failures of this user and address."""
        await self._log.login_succeeded(self._key(user, client))


class PasswordChecker:
    """Checks admin passwords on worker threads, never on the event loop. An unknown user is
    checked against a dummy hash, so it costs as long as a wrong password. A right password
    whose hash is weaker than today's (scrypt) gets a new argon2id hash."""

    def __init__(self, decision_log: DecisionLog, clock: Clock | None = None) -> None:
        self._log = decision_log
        self._clock = clock or time.time
        self._dummy_hash = dummy_hash()
        self._slots = asyncio.Semaphore(CONCURRENT_PASSWORD_CHECKS)

    async def check(self, user: str, password: str) -> str | None:
        """The user's stored hash if the password is right, else None."""
        stored = await self._log.admin_password_hash(user) if user else None
        async with self._slots:
            matches = await asyncio.to_thread(verify_password, password, stored or self._dummy_hash)
        if not matches or stored is None:
            return None
        if needs_rehash(stored):
            async with self._slots:
                stored = await asyncio.to_thread(hash_password, password)
            await self._log.save_admin(user, stored, self._clock())
        return stored
