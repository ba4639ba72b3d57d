"""Sign-in to the web admin with the municipality's accounts: OpenID Connect against Microsoft
Entra ID (or any OpenID provider), next to the local accounts.

The authorization code flow with PKCE (S256), `state` against cross-site requests and `nonce`
against replayed tokens. The id_token is checked here: signature by the provider's JWKS,
issuer, audience, expiry and nonce; the user is an admin only with the configured group
(`groups` claim) or app role (`roles` claim). The flow's secrets travel in a short-lived
signed cookie, so no server state is kept between the redirect and the callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.admin_auth import Clock, Signer

log = logging.getLogger("tripcheck.admin_web")

FLOW_COOKIE = "tripcheck_admin_oidc"
FLOW_SECONDS = 600
# Session user names of accounts signed in by OpenID Connect; a local account is never one.
USER_PREFIX = "oidc:"
# Clocks of the provider and this server may differ a little.
LEEWAY_SECONDS = 120
MAX_RESPONSE_BYTES = 1_048_576
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256"]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class OidcSettings(BaseSettings):
    """TRIPCHECK_OIDC_*: the provider, this app's registration and who is an admin. Sign-in
    with the provider is on when issuer, client id and admin group are all set."""

    model_config = SettingsConfigDict(
        env_prefix="TRIPCHECK_OIDC_", env_file=".env", extra="ignore", frozen=True
    )

    # e.g. https://login.microsoftonline.com/<tenant id>/v2.0
    issuer: str = ""
    client_id: str = ""
    client_secret: SecretStr | None = None
    # A group object id (the `groups` claim) or an app role value (the `roles` claim).
    admin_group: str = ""
    # The public address of /admin/oidc/callback as registered; empty: built from the request.
    redirect_url: str = ""
    scopes: str = "openid profile email"

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id and self.admin_group)


class OidcRefused(Exception):
    """The sign-in did not prove an admin; `reason` names the text that explains it."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Flow:
    """What the callback must match: the state and nonce sent, the PKCE verifier, where to go."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires_at: float


@dataclass(frozen=True)
class Identity:
    """A user the provider vouched for, who holds the admin group or role."""

    user: str
    name: str


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def code_challenge(verifier: str) -> str:
    """PKCE S256: the base64url SHA-256 of the verifier."""
    return _encode(hashlib.sha256(verifier.encode("ascii")).digest())


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


class OidcSignIn:
    """The relying party: builds the authorize redirect and checks the callback."""

    def __init__(self, settings: OidcSettings, signer: Signer, clock: Clock) -> None:
        self.settings = settings
        self._signer = signer
        self._clock = clock
        self._http: httpx.AsyncClient | None = None
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}

    @property
    def credential_source(self) -> str:
        """What a session of a provider's user is bound to, as a password hash is for a local
        one: another provider, client or admin group ends those sessions."""
        s = self.settings
        return f"oidc\n{s.issuer}\n{s.client_id}\n{s.admin_group}"

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _get_json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        if not _https_or_loopback(url):
            raise OidcRefused("provider", f"not https: {url}")
        if self._http is None:
            await self.start()
        assert self._http is not None
        method = "POST" if "data" in kwargs else "GET"
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise OidcRefused("provider", f"{url}: {error}") from error
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise OidcRefused("provider", f"{url}: response too large")
        try:
            body = response.json()
        except ValueError as error:
            raise OidcRefused("provider", f"{url}: not JSON") from error
        if response.status_code != 200 or not isinstance(body, dict):
            raise OidcRefused("provider", f"{url}: HTTP {response.status_code}")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once); its issuer must be the one set."""
        if self._metadata is None:
            issuer = self.settings.issuer.rstrip("/")
            found = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if found.get("issuer") != self.settings.issuer:
                raise OidcRefused("provider", f"discovery names issuer {found.get('issuer')!r}")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(name), str):
                    raise OidcRefused("provider", f"discovery has no {name}")
            self._metadata = found
        return self._metadata

    # --- the redirect --------------------------------------------------------------------

    async def begin(self, target: str, redirect_uri: str) -> tuple[str, str]:
        """The provider's authorize address to send the browser to, and the flow cookie."""
        metadata = await self.metadata()
        flow = Flow(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            next=target,
            expires_at=self._clock() + FLOW_SECONDS,
        )
        query = urlencode(
            {
                "client_id": self.settings.client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "response_mode": "query",
                "scope": self.settings.scopes,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": code_challenge(flow.verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = str(metadata["authorization_endpoint"])
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{query}", self._flow_cookie(flow)

    def _flow_cookie(self, flow: Flow) -> str:
        payload = _encode(json.dumps(flow.__dict__, separators=(",", ":")).encode())
        return f"{payload}.{self._signer.sign('oidc-flow', payload)}"

    def read_flow(self, cookie: str | None) -> Flow | None:
        """The flow a cookie carries, if it is this server's and has not expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not self._signer.verifies("oidc-flow", payload, signature):
            return None
        try:
            flow = Flow(**json.loads(_decode(payload)))
        except (ValueError, TypeError):
            return None
        return flow if flow.expires_at > self._clock() else None

    # --- the callback --------------------------------------------------------------------

    async def finish(
        self, params: dict[str, str], flow: Flow | None, redirect_uri: str
    ) -> Identity:
        """Checks the provider's answer and the id_token; the admin's identity or OidcRefused."""
        if flow is None:
            raise OidcRefused("expired")
        if not hmac.compare_digest(params.get("state", ""), flow.state):
            raise OidcRefused("state")
        if params.get("error"):
            raise OidcRefused("provider", params["error"][:100])
        code = params.get("code", "")
        if not code:
            raise OidcRefused("provider", "no code")
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": flow.verifier,
        }
        if self.settings.client_secret is not None:
            form["client_secret"] = self.settings.client_secret.get_secret_value()
        tokens = await self._get_json(str(metadata["token_endpoint"]), data=form)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefused("token", "no id_token")
        claims = await self.verify(id_token, flow.nonce)
        return self.identity(claims)

    async def _key(self, kid: str) -> jwt.PyJWK:
        """The provider's signing key `kid`; the key set is fetched again for a new kid, as
        providers rotate keys."""
        if kid not in self._keys:
            metadata = await self.metadata()
            found = await self._get_json(str(metadata["jwks_uri"]))
            try:
                keys = jwt.PyJWKSet.from_dict(found).keys
            except jwt.PyJWTError as error:
                raise OidcRefused("provider", f"key set: {error}") from error
            self._keys = {str(key.key_id): key for key in keys if key.key_id}
        if kid not in self._keys:
            raise OidcRefused("token", f"unknown key {kid[:60]!r}")
        return self._keys[kid]

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The id_token's claims once signature, issuer, audience, time and nonce hold."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as error:
            raise OidcRefused("token", str(error)) from error
        if header.get("alg") not in SIGNING_ALGORITHMS:
            raise OidcRefused("token", f"algorithm {header.get('alg')!r}")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=SIGNING_ALGORITHMS,
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options={
                    "require": ["iss", "aud", "exp", "iat", "sub"],
                    # Time is checked below against the server's clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as error:
            raise OidcRefused("token", str(error)) from error
        now = self._clock()
        try:
            expires, issued = float(claims["exp"]), float(claims["iat"])
            not_before = float(claims.get("nbf", issued))
        except (TypeError, ValueError) as error:
            raise OidcRefused("token", "times are not numbers") from error
        if expires + LEEWAY_SECONDS < now:
            raise OidcRefused("token", "expired")
        if min(issued, not_before) - LEEWAY_SECONDS > now:
            raise OidcRefused("token", "issued in the future")
        audience = claims["aud"]
        if (
            isinstance(audience, list)
            and len(audience) > 1
            and claims.get("azp") != (self.settings.client_id)
        ):
            raise OidcRefused("token", "azp is not this client")
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcRefused("nonce")
        return claims

    def identity(self, claims: dict[str, Any]) -> Identity:
        """The admin the claims name; refused without the admin group or role."""
        wanted = self.settings.admin_group
        held = [*_strings(claims.get("groups")), *_strings(claims.get("roles"))]
        if wanted not in held:
            if "groups" in claims.get("_claim_names", {}):
                # Entra leaves the groups out when a user is in too many; app roles avoid it.
                log.warning(
                    "OpenID sign-in: the groups claim overflowed; use an app role",
                    extra={"channel": "admin"},
                )
            raise OidcRefused("not_admin")
        login = next(
            (
                str(claims[name])
                for name in ("preferred_username", "upn", "email")
                if isinstance(claims.get(name), str) and claims[name]
            ),
            str(claims["sub"]),
        )
        name = str(claims.get("name") or login)
        return Identity(user=USER_PREFIX + login[:200], name=name[:200])


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
