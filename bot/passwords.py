"""Admin passwords, hashed with argon2id at OWASP's parameters; older scrypt hashes still
verify and are replaced by an argon2id hash at the next successful login."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import ARGON2_VERSION

# OWASP (Password Storage Cheat Sheet): argon2id, 19 MiB, 2 iterations, 1 lane.
ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# The scrypt cost hashes made before argon2id used; only verified now, never made.
N, R, P = 2**15, 8, 1
MAX_MEMORY = 256 * 1024 * 1024


def hash_password(password: str) -> str:
    """A self-describing argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$digest)."""
    return ARGON2.hash(password)


def dummy_hash() -> str:
    """A hash no password matches, at today's argon2id cost: checking a password against it
    takes as long as against a real hash, yet making it runs no argon2 (no 19 MiB at start)."""
    salt, digest = (
        base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")
        for size in (ARGON2.salt_len, ARGON2.hash_len)
    )
    cost = f"m={ARGON2.memory_cost},t={ARGON2.time_cost},p={ARGON2.parallelism}"
    return f"$argon2id$v={ARGON2_VERSION}${cost}${salt}${digest}"


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash is weaker than what hash_password makes now (scrypt, old costs)."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return ARGON2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored hash (argon2id, or the older scrypt format)."""
    if stored.startswith("$argon2"):
        try:
            return ARGON2.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return _verify_scrypt(password, stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    """scrypt$N$r$p$salt$digest (base64), compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=MAX_MEMORY,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
