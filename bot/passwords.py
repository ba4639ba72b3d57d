"""Admin passwords, hashed with scrypt (memory-hard, in the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# 2^15 × 8 × 128 bytes = 32 MiB per hash: slow to brute-force, fine for a login.
N, R, P = 2**15, 8, 1
MAX_MEMORY = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    """A self-describing hash: scrypt$N$r$p$salt$digest (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=MAX_MEMORY)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt${N}${R}${P}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by hash_password (constant-time compare)."""
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
