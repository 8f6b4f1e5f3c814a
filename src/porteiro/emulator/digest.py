"""Server side of HTTP Digest authentication (MD5, ``qop=auth``), as the device does it.

Devices challenge with ``WWW-Authenticate: Digest realm="...", nonce="...",
qop="auth"`` [MULTI]. Failed logins count toward a lockout: after ``max_failures``
failures the account is locked for ``lockout_seconds`` and requests get the
``ACCOUNT_HAS_BEEN_LOCKED`` error (the count and duration are the emulator's settings:
the real values are not documented [GUESS]).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

__all__ = ["DigestVerifier", "parse_authorization"]

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))')


def parse_authorization(header: str) -> dict[str, str] | None:
    """The parameters of a ``Digest ...`` Authorization header, or None."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    return {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class DigestVerifier:
    """Issues challenges and checks responses for one account."""

    def __init__(
        self,
        username: str,
        password: str,
        *,
        realm: str = "Login to Intelbras",
        max_failures: int = 5,
        lockout_seconds: float = 300.0,
    ) -> None:
        self.username = username
        self.password = password
        self.realm = realm
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self._opaque = secrets.token_hex(16)
        self._nonces: dict[str, float] = {}
        self._failures = 0
        self._locked_until = 0.0

    def challenge(self) -> str:
        """A fresh ``WWW-Authenticate`` value."""
        nonce = secrets.token_hex(16)
        now = time.monotonic()
        self._nonces[nonce] = now
        if len(self._nonces) > 4096:  # forget the oldest; clients re-authenticate
            for old in sorted(self._nonces, key=self._nonces.__getitem__)[:2048]:
                del self._nonces[old]
        return (f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
                f'opaque="{self._opaque}"')

    def is_locked(self) -> bool:
        """True while the account is locked after too many failures."""
        return time.monotonic() < self._locked_until

    def verify(self, method: str, header: str | None) -> bool | None:
        """True: authenticated. False: wrong credentials (counted). None: no or stale
        credentials (challenge again, not counted)."""
        if header is None:
            return None
        params = parse_authorization(header)
        if params is None or params.get("nonce") not in self._nonces:
            return None
        expected_user = params.get("username") == self.username
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"{method}:{params.get('uri', '')}")
        if params.get("qop"):
            digest = _md5(f"{ha1}:{params['nonce']}:{params.get('nc', '')}:"
                          f"{params.get('cnonce', '')}:{params['qop']}:{ha2}")
        else:
            digest = _md5(f"{ha1}:{params['nonce']}:{ha2}")
        ok = expected_user and hmac.compare_digest(digest, params.get("response", ""))
        if ok:
            self._failures = 0
            return True
        self._failures += 1
        if self._failures >= self.max_failures:
            self._locked_until = time.monotonic() + self.lockout_seconds
            self._failures = 0
        return False

    def unlock(self) -> None:
        """Clear a lockout (the device does so after its lockout time)."""
        self._locked_until = 0.0
        self._failures = 0
