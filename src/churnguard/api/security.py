"""Secrets: scrypt password hashes, random API keys and session tokens stored as digests.

>>> h = hash_password("correct horse")
>>> h.startswith("scrypt$"), verify_password("correct horse", h), verify_password("x", h)
(True, True, False)
>>> key = new_token("cg_")
>>> key.startswith("cg_") and len(key) > 40 and token_digest(key) != key
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: scrypt cost (RFC 7914): n=2**14, r=8, p=1 takes ~50 ms and 16 MiB per hash
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$hash`` of a password (salt: 16 random bytes)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                            maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                             n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM,
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def new_token(prefix: str = "") -> str:
    """A fresh random token with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a high-entropy token (API key, session): what the DB keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string equality."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
