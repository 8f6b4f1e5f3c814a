"""The audit log of state-changing API calls, and ``GET /api/audit``.

Every write route records who called (the token's name), from where, what it asked
(``action``, ``target``), and how it ended: ``ok``, ``refused`` (the call was wrong:
validation, unknown id, conflict, rate limit, a token without the admin scope) or
``failed`` (it was right but could not be carried out). Write routes use:

* :func:`admin_scope` as the caller dependency: it demands the admin scope, records a
  refusal (403) of a known token, and keeps the caller on ``request.state`` so that a
  request refused by FastAPI's own validation (a path or query parameter) is recorded
  too (:func:`install_audit`);
* :func:`audited` around the work: an async context manager that writes the entry on
  the way out, turning :class:`~porteiro.exceptions.PeopleError` and pydantic
  ``ValidationError`` into 4xx answers that name the field
  (``{"detail": [{"field", "message"}]}``);
* :func:`audit_as` in the route's ``openapi_extra``: the action name, used when the
  call is refused before the route runs.

Entries never hold secrets: passwords, tokens and photo bytes are dropped, and card
numbers are masked (``****3004``) wherever they appear, messages included.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator, ValidationError

from porteiro.api.auth import Principal, TokenAuth
from porteiro.api.params import parse_when
from porteiro.device import redact
from porteiro.exceptions import PeopleError
from porteiro.hub import Hub
from porteiro.hub.people import validation_problems
from porteiro.store.serialize import iso

__all__ = ["WRITE_METHODS", "AuditEntry", "admin_scope", "audit_as", "audit_refusal",
           "audit_router", "audited", "dotted", "install_audit", "problems",
           "validation_errors"]

_LOG = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""The methods of state-changing calls (each is audited)."""

_ACTION_KEY = "x-audit-action"
_PROBLEMS_KEY = "x-problem-format"
_HIDDEN_KEYS = frozenset({"password", "device_password", "password_hash", "token",
                          "access_token", "photo", "content"})
_CARD_KEYS = frozenset({"card", "card_no", "cards"})
_MAX_TEXT = 500
_MAX_ITEMS = 100
_INDEX = re.compile(r"\[(\d+)\]")
_bearer = HTTPBearer(auto_error=False, description="A token from [[tokens]] in porteiro.toml.")


def audit_as(action: str, *, problems_format: bool = True) -> dict[str, Any]:
    """``openapi_extra`` of a write route: its audit action (shown in the OpenAPI
    document as ``x-audit-action``); ``problems_format`` answers FastAPI's own 422s
    as ``{"detail": [{"field", "message"}]}`` like the route's other errors."""
    extra: dict[str, Any] = {_ACTION_KEY: action}
    if problems_format:
        extra[_PROBLEMS_KEY] = "field-message"
    return extra


def dotted(field: str | None) -> str:
    """``cards[1]`` -> ``cards.1``: field names spelled the way pydantic spells them."""
    return _INDEX.sub(r".\1", field) if field else "body"


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic's errors as ``[{"field", "message", "message_pt"}]`` (without its
    "Value error, ")."""
    return [{"field": p["field"], "message": p["message"].removeprefix("Value error, "),
             "message_pt": p["message_pt"]} for p in validation_problems(exc)]


def problems(status: int, field: str | None, message: str,
             headers: dict[str, str] | None = None, *, pt: str | None = None
             ) -> HTTPException:
    """An HTTP error whose body is ``{"detail": [{"field", "message", "message_pt"}]}``
    (``message_pt``: the message in Brazilian Portuguese, when there is one)."""
    problem = {"field": dotted(field), "message": message}
    if pt is not None:
        problem["message_pt"] = pt
    return HTTPException(status, [problem], headers=headers)


def _route_extra(request: Request) -> dict[str, Any]:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None)
    return extra if isinstance(extra, dict) else {}


def _action_of(request: Request) -> str:
    action = _route_extra(request).get(_ACTION_KEY)
    if isinstance(action, str):
        return action
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _target_of(request: Request) -> str | None:
    """The path parameters, card numbers left out (``portaria/0``, ``1021``)."""
    values = [str(v) for k, v in request.path_params.items() if k not in _CARD_KEYS]
    return "/".join(values) or None


def _address(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


class AuditEntry:
    """The entry being built by :func:`audited`: change ``target``, ``outcome`` or
    ``detail`` inside the block; :meth:`hide` masks card numbers in everything
    recorded; :meth:`skip` when the work records its own entry (``Hub.open_door``)."""

    def __init__(self, action: str, target: str | None, detail: dict[str, Any] | None
                 ) -> None:
        self.action = action
        self.target = target
        self.outcome = "ok"
        self.detail: dict[str, Any] = dict(detail or {})
        self.id: int | None = None
        self.skipped = False
        self._secrets: set[str] = set()

    def hide(self, *card_numbers: object) -> None:
        """Mask these card numbers wherever they appear in the entry."""
        for number in card_numbers:
            if isinstance(number, str) and len(number.strip()) > 4:
                self._secrets.add(number.strip().upper())

    def skip(self) -> None:
        """Record nothing on a normal exit (refusals raised in the block still are)."""
        self.skipped = True

    def scrub(self, value: Any, key: str | None = None) -> Any:
        """``value`` with secrets dropped and card numbers masked."""
        if key in _CARD_KEYS:
            return _redact_cards(value)
        if isinstance(value, dict):
            return {k: "(hidden)" if k in _HIDDEN_KEYS else self.scrub(v, k)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value[:_MAX_ITEMS]]
        if isinstance(value, bytes | bytearray):
            return f"({len(value)} bytes)"
        if isinstance(value, str):
            text = value[:_MAX_TEXT]
            for secret in sorted(self._secrets, key=len, reverse=True):
                text = _replace_folded(text, secret, redact(secret))
            return text
        return value


def _replace_folded(text: str, old: str, new: str) -> str:
    """Replace ``old`` in ``text`` ignoring case."""
    lowered, wanted = text.upper(), old.upper()
    out, start = [], 0
    while (found := lowered.find(wanted, start)) >= 0:
        out += [text[start:found], new]
        start = found + len(old)
    out.append(text[start:])
    return "".join(out)


def _redact_cards(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value.strip().upper())
    if isinstance(value, dict):
        return {k: _redact_cards(v) if k in {"card_no", "card"} else v
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_cards(v) for v in value]
    return value


def _refusal(exc: HTTPException) -> dict[str, Any]:
    detail: Any = exc.detail  # a text, or our list of problems
    if isinstance(detail, list):
        found = [p for p in detail if isinstance(p, dict)]
        reason = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in found)
        return {"status": exc.status_code, "reason": reason, "problems": found}
    return {"status": exc.status_code, "reason": str(detail)}


async def _write(hub: Hub, principal: Principal, address: str | None, entry: AuditEntry
                 ) -> None:
    try:
        entry.id = await hub.audit(
            actor=principal.name, address=address, action=entry.action,
            target=entry.scrub(entry.target), outcome=entry.outcome,
            detail=entry.scrub(entry.detail))
    except Exception:  # noqa: BLE001  # the answer to the caller must not be lost
        _LOG.exception("audit: the entry for %s %s could not be written", entry.action,
                       entry.target)


@asynccontextmanager
async def audited(hub: Hub, principal: Principal, request: Request, action: str, *,
                  target: str | None = None, detail: dict[str, Any] | None = None
                  ) -> AsyncIterator[AuditEntry]:
    """Record a state-changing call when the block ends.

    A normal exit is ``ok`` (or whatever ``entry.outcome`` was set to). An
    ``HTTPException`` below 500 is ``refused`` with its reason; :class:`PeopleError`
    and pydantic's ``ValidationError`` are refused too and come out as HTTP errors
    with ``{"detail": [{"field", "message"}]}``; anything else is ``failed`` and
    propagates. ``detail`` must already be free of secrets; card numbers given to
    :meth:`AuditEntry.hide` are masked anyway.
    """
    entry = AuditEntry(action, target, detail)
    raised: BaseException | None = None
    try:
        yield entry
    except PeopleError as exc:
        raised = problems(exc.status, exc.field, str(exc), pt=exc.pt)
    except ValidationError as exc:
        raised = HTTPException(422, validation_errors(exc))
    except HTTPException as exc:
        raised = exc
    except Exception as exc:
        entry.outcome = "failed"
        entry.detail["reason"] = f"{type(exc).__name__}: {exc}"
        await _write(hub, principal, _address(request), entry)
        raise
    if isinstance(raised, HTTPException):
        entry.outcome = "refused" if raised.status_code < 500 else "failed"
        entry.detail.update(_refusal(raised))
        await _write(hub, principal, _address(request), entry)
        raise raised
    if not entry.skipped:
        await _write(hub, principal, _address(request), entry)


async def audit_refusal(hub: Hub, principal: Principal, request: Request, *, status: int,
                        reason: str, problems_list: list[dict[str, Any]] | None = None,
                        action: str | None = None, target: str | None = None) -> None:
    """Record a call refused before its route ran (scope, parameter validation)."""
    entry = AuditEntry(action or _action_of(request),
                       target if target is not None else _target_of(request),
                       {"status": status, "reason": reason})
    if problems_list is not None:
        entry.detail["problems"] = problems_list
    entry.outcome = "refused"
    await _write(hub, principal, _address(request), entry)


def admin_scope(hub: Hub, auth: TokenAuth) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """The dependency of write routes: the caller, who must hold the admin scope.

    A known token without it gets 403 and, on a write method, an audit entry
    (``refused``); unknown or missing tokens get 401 and no entry. The caller is kept
    on ``request.state.principal`` for :func:`install_audit`.
    """
    async def admin(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        token = credentials.credentials if credentials is not None else None
        try:
            principal = auth.check(token, "admin", _address(request))
        except HTTPException as exc:
            if exc.status_code == 403 and token and request.method in WRITE_METHODS:
                caller = auth.identify(token)
                if caller is not None:
                    await audit_refusal(hub, caller, request, status=403,
                                        reason=str(exc.detail))
            raise
        request.state.principal = principal
        return principal
    return admin


def install_audit(app: FastAPI, hub: Hub) -> None:
    """Record write calls that FastAPI refuses before the route runs (a path or query
    parameter that does not validate), and answer them as ``{"detail": [{"field",
    "message"}]}`` on routes made with :func:`audit_as`."""
    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101  # registered for it
        found = [{"field": ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0]),
                  "message": str(error["msg"])} for error in exc.errors()]
        principal = getattr(request.state, "principal", None)
        if request.method in WRITE_METHODS and isinstance(principal, Principal):
            await audit_refusal(hub, principal, request, status=422,
                                reason="; ".join(f"{p['field']}: {p['message']}"
                                                 for p in found), problems_list=found)
        if _PROBLEMS_KEY in _route_extra(request):
            return JSONResponse({"detail": found}, status_code=422)
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(RequestValidationError, on_invalid)


def audit_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """``GET /api/audit`` of ``hub`` (admin scope)."""
    router = APIRouter(prefix="/api", tags=["audit"])
    tz = ZoneInfo(hub.config.hub.timezone)

    def when(value: object) -> float | None:
        return parse_when(value, tz)

    Time = Annotated[float | None, BeforeValidator(when)]  # noqa: N806  # a type alias

    @router.get("/audit", dependencies=[Depends(admin_scope(hub, auth))])
    async def list_audit(
        *,
        action: Annotated[str | None, Query(
            description="Only this action (people.create, door.open...); a trailing * "
            "matches a prefix (people.*).")] = None,
        actor: Annotated[str | None, Query(description="Only this token name.")] = None,
        target: Annotated[str | None, Query(
            description="Only this target (a user id, DEVICE/DOOR...).")] = None,
        since: Annotated[Time, Query(
            description="From (included): ISO 8601 (without an offset: the hub's time "
            "zone) or epoch seconds.")] = None,
        before_id: Annotated[int | None, Query(
            ge=1, le=2**63 - 1, description="next_before_id of the previous page.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """The audit log, newest first: who (token name) did what (action, target),
        when, from which address, how it ended (ok, refused, failed) and the details
        (never passwords or photos; card numbers masked)."""
        prefix = action[:-1] if action is not None and action.endswith("*") else None
        rows = await asyncio.to_thread(_page, hub, limit=limit, before_id=before_id,
                                       action=None if prefix is not None else action,
                                       prefix=prefix, actor=actor, target=target,
                                       since=since)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"entries": [{**row, "at": iso(row["at"])} for row in rows],
                "next_before_id": rows[-1]["id"] if more else None}

    return router


def _page(hub: Hub, *, limit: int, before_id: int | None, action: str | None,
          prefix: str | None, actor: str | None, target: str | None, since: float | None
          ) -> list[dict[str, Any]]:
    """``limit + 1`` entries (the extra one says there is a next page); a prefix is
    matched here, reading on until the page is full."""
    wanted = limit + 1
    if prefix is None:
        return hub.store.people.audit_list(limit=wanted, before_id=before_id, action=action,
                                           actor=actor, target=target, since=since)
    found: list[dict[str, Any]] = []
    cursor = before_id
    while len(found) < wanted:
        batch = hub.store.people.audit_list(limit=1000, before_id=cursor, actor=actor,
                                            target=target, since=since)
        found += _matching(batch, prefix)
        if len(batch) < 1000:
            break
        cursor = int(batch[-1]["id"])
    return found[:wanted]


def _matching(rows: Iterable[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [row for row in rows if str(row["action"]).startswith(prefix)]
