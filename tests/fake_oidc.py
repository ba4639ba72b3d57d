"""A fake OpenID Connect provider for tests on loopback, as strict as Microsoft Entra ID where
our code could go wrong: discovery, an authorize endpoint that demands PKCE S256 and answers
at once for the user set in `user`, a token endpoint that checks the code, the redirect
address, the client secret and the PKCE verifier, and the JWKS with its signing key.

`tamper` changes the id_token's claims after they are made (a wrong audience, nonce, ...)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "tripcheck-admin-test-client"
CLIENT_SECRET = "test-client-secret"
ADMIN_GROUP = "5f0c3f5e-admins-group-id"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeOpenIdProvider:
    """The provider; set `url` once it is served, and `now` to the app's clock."""

    now: Callable[[], float]
    kid: str = "fake-oidc-key"
    key: rsa.RSAPrivateKey = field(default_factory=_new_key)
    url: str = ""
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "sub-kerstin",
            "preferred_username": "kerstin.ek@lulea.se",
            "name": "Kerstin Ek",
            "groups": [ADMIN_GROUP],
        }
    )
    tamper: dict[str, Any] = field(default_factory=dict)
    # Sign with another key than the one published (a forged token).
    signing_key: rsa.RSAPrivateKey | None = None
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/keys", self._keys),
            ]
        )

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/keys",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        problems = [
            name
            for name, ok in (
                ("client_id", params.get("client_id") == CLIENT_ID),
                ("response_type", params.get("response_type") == "code"),
                ("code_challenge_method", params.get("code_challenge_method") == "S256"),
                ("code_challenge", len(params.get("code_challenge", "")) == 43),
                ("state", bool(params.get("state"))),
                ("nonce", bool(params.get("nonce"))),
                ("scope", "openid" in params.get("scope", "").split()),
            )
            if not ok
        ]
        if problems:
            return JSONResponse({"error": "invalid_request", "problems": problems}, 400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = params
        query = urlencode({"code": code, "state": params["state"]})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        granted = self._codes.pop(form.get("code", ""), None)
        if granted is None:
            return JSONResponse({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            challenge.decode() != granted["code_challenge"]
            or form.get("redirect_uri") != granted["redirect_uri"]
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("grant_type") != "authorization_code"
        ):
            return JSONResponse({"error": "invalid_grant"}, 400)
        now = int(self.now())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "nonce": granted["nonce"],
            **self.user,
        }
        claims.update(self.tamper)
        token = jwt.encode(
            claims, self.signing_key or self.key, algorithm="RS256", headers={"kid": self.kid}
        )
        return JSONResponse({"id_token": token, "access_token": "at", "token_type": "Bearer"})

    async def _keys(self, request: Request) -> Response:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return JSONResponse({"keys": [public]})
