"""Bearer tokens for the REST API: ``[[tokens]]`` with scope ``read`` or ``admin``.

Only SHA-256 digests are kept (a memory dump or a debug page never shows a token);
a presented token is hashed and compared with every digest in constant time. With no
tokens configured the API is open, which is meant for a hub listening on loopback.
Device-facing paths never see this: readers cannot send a token.

Failed logins are rate limited per client address (:class:`FailedLogins`): after
``FAILED_LOGIN_LIMIT`` invalid tokens within ``FAILED_LOGIN_WINDOW`` seconds, every
request from that address that presents a token gets 429 with ``Retry-After`` until the
oldest failure leaves the window; a valid token is refused too meanwhile, so the limit
cannot be used to tell a right guess from a wrong one. A missing token is not a failure
(a browser's first request has none).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence
    from typing import Any

    from porteiro.hub.config import TokenSettings

__all__ = ["FAILED_LOGIN_LIMIT", "FAILED_LOGIN_WINDOW", "FailedLogins", "Principal", "Scope",
           "TokenAuth", "client_address"]

_LOG = logging.getLogger(__name__)

Scope = Literal["read", "admin"]

FAILED_LOGIN_LIMIT = 10
"""Invalid tokens one client address may present within :data:`FAILED_LOGIN_WINDOW`."""
FAILED_LOGIN_WINDOW = 60.0
"""Seconds over which failed logins are counted."""
_MAX_ADDRESSES = 10_000

_RANK = {"read": 1, "admin": 2}
_bearer = HTTPBearer(auto_error=False, description="A token from [[tokens]] in porteiro.toml.")


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the token's name (``anonymous`` on an open API) and scope."""

    name: str
    scope: Scope


_ANONYMOUS = Principal("anonymous", "admin")


class FailedLogins:
    """Invalid tokens per client address in a sliding window (bounded memory: at most
    ``max_addresses`` addresses are tracked, the stalest dropped first)."""

    def __init__(self, limit: int = FAILED_LOGIN_LIMIT, window: float = FAILED_LOGIN_WINDOW,
                 *, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = _MAX_ADDRESSES) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max = max_addresses
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def retry_after(self, address: str) -> int | None:
        """Seconds ``address`` must wait before presenting a token, or None."""
        now = self._clock()
        failures = self._recent(address, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[-self.limit] + self.window - now))

    def failed(self, address: str) -> None:
        """Count an invalid token from ``address``."""
        now = self._clock()
        failures = self._recent(address, now)
        if failures is None:
            if len(self._failures) >= self._max:
                self._prune(now)
            failures = self._failures[address] = deque(maxlen=self.limit)
        failures.append(now)
        if len(failures) == self.limit:
            _LOG.warning("%d invalid API tokens from %s within %g s: its tokens are refused "
                         "(429) for a while", self.limit, address, self.window)

    def _prune(self, now: float) -> None:
        for address in list(self._failures):
            self._recent(address, now)
        while len(self._failures) >= self._max:
            stalest = min(self._failures, key=lambda a: self._failures[a][-1])
            del self._failures[stalest]


class TokenAuth:
    """Checks bearer tokens against the configured digests; counts failed logins."""

    def __init__(self, tokens: Sequence[TokenSettings],
                 failed_logins: FailedLogins | None = None) -> None:
        self._digests = [(bytes.fromhex(t.digest()), Principal(t.name, t.scope))
                         for t in tokens]
        self.failed_logins = failed_logins if failed_logins is not None else FailedLogins()

    @property
    def open(self) -> bool:
        """True when no token is configured (every request is allowed)."""
        return not self._digests

    def identify(self, token: str) -> Principal | None:
        """The principal holding ``token``, or None (every digest is compared)."""
        presented = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for digest, principal in self._digests:
            if hmac.compare_digest(digest, presented) and found is None:
                found = principal
        return found

    def check(self, token: str | None, scope: Scope, address: str | None = None
              ) -> Principal:
        """The caller for ``token`` presented from ``address``; 401 when missing or
        unknown, 429 when ``address`` presented too many invalid tokens lately, 403 when
        the token's scope is below ``scope``."""
        if self.open:
            return _ANONYMOUS
        if not token:
            raise HTTPException(401, "a bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        client = address or "unknown"
        wait = self.failed_logins.retry_after(client)
        if wait is not None:
            raise HTTPException(429, "too many invalid tokens from this address; retry "
                                f"in {wait} s", headers={"Retry-After": str(wait)})
        principal = self.identify(token)
        if principal is None:
            self.failed_logins.failed(client)
            raise HTTPException(401, "invalid token",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if _RANK[principal.scope] < _RANK[scope]:
            raise HTTPException(403, f"this needs a token with the {scope} scope")
        return principal

    def require(self, scope: Scope, *, query_token: bool = False
                ) -> Callable[..., Coroutine[Any, Any, Principal]]:
        """A FastAPI dependency demanding ``scope``; ``query_token`` also accepts
        ``?access_token=`` (browsers' EventSource cannot set headers)."""
        if query_token:
            async def header_or_query(
                request: Request,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                access_token: Annotated[str | None, Query(
                    description="The bearer token, for clients that cannot send headers "
                    "(EventSource).")] = None,
            ) -> Principal:
                token = credentials.credentials if credentials is not None else access_token
                return self.check(token, scope, client_address(request))
            return header_or_query

        async def header(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> Principal:
            return self.check(credentials.credentials if credentials else None, scope,
                              client_address(request))
        return header


def client_address(request: Request) -> str | None:
    """The caller's address (the proxy's, unless uvicorn trusts its forwarded headers)."""
    return request.client.host if request.client is not None else None
