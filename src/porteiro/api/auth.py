"""Bearer tokens for the REST API: ``[[tokens]]`` with scope ``read`` or ``admin``.

Only SHA-256 digests are kept (a memory dump or a debug page never shows a token);
a presented token is hashed and compared with every digest in constant time. With no
tokens configured the API is open, which is meant for a hub listening on loopback.
Device-facing paths never see this: readers cannot send a token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from fastapi import Depends, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence
    from typing import Any

    from porteiro.hub.config import TokenSettings

__all__ = ["Principal", "Scope", "TokenAuth"]

Scope = Literal["read", "admin"]

_RANK = {"read": 1, "admin": 2}
_bearer = HTTPBearer(auto_error=False, description="A token from [[tokens]] in porteiro.toml.")


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the token's name (``anonymous`` on an open API) and scope."""

    name: str
    scope: Scope


_ANONYMOUS = Principal("anonymous", "admin")


class TokenAuth:
    """Checks bearer tokens against the configured digests."""

    def __init__(self, tokens: Sequence[TokenSettings]) -> None:
        self._digests = [(bytes.fromhex(t.digest()), Principal(t.name, t.scope))
                         for t in tokens]

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

    def check(self, token: str | None, scope: Scope) -> Principal:
        """The caller for ``token``; 401 when missing or unknown, 403 when its scope is
        below ``scope``."""
        if self.open:
            return _ANONYMOUS
        if not token:
            raise HTTPException(401, "a bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        principal = self.identify(token)
        if principal is None:
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
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                access_token: Annotated[str | None, Query(
                    description="The bearer token, for clients that cannot send headers "
                    "(EventSource).")] = None,
            ) -> Principal:
                token = credentials.credentials if credentials is not None else access_token
                return self.check(token, scope)
            return header_or_query

        async def header(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> Principal:
            return self.check(credentials.credentials if credentials else None, scope)
        return header
