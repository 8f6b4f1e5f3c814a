"""``/api/people``: the site's people, their cards and face photos; import and export.

Reads need the read scope, writes the admin scope; every write is audited
(:mod:`porteiro.api.audit`), refusals included. Errors name the field:
``{"detail": [{"field": "cards.0.card_no", "message": "..."}]}`` with 422 (invalid),
404 (unknown person or card), 409 (a card or external id owned by another person),
413/415 (photo too large / not a JPEG) or 400 (an import file that cannot be read).
Passwords are write-only: no answer, export or audit entry holds one.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import csv
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from porteiro.access.people import Person
from porteiro.api.audit import AuditEntry, admin_scope, audit_as, audited, dotted, problems
from porteiro.api.auth import Principal, TokenAuth
from porteiro.exceptions import PeopleError
from porteiro.hub import Hub
from porteiro.hub.people import (
    CardInput,
    PersonInput,
    input_from_person,
    parse_people_file,
    people_csv,
    person_json,
)
from porteiro.store.serialize import iso

__all__ = ["IMPORT_MAX_BYTES", "PERSON_MAX_BYTES", "people_router"]

IMPORT_MAX_BYTES = 32 * 1024 * 1024
"""Largest import file one request may carry (``porteiro people import`` sends 1,000
rows per request)."""
PERSON_MAX_BYTES = 1024 * 1024
"""Largest JSON body of a person or card request."""
_SPLIT = re.compile(r"[;,\s]+")


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


def _body_doc(content: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": content}}


_PERSON_BODY = _body_doc({"application/json": {"schema": _schema(PersonInput)}})
_PATCH_BODY = _body_doc({"application/json": {"schema": {
    "type": "object", "description": "Any fields of a person (user_id cannot change)."}}})
_CARD_BODY = _body_doc({"application/json": {"schema": _schema(CardInput)}})
_PHOTO_BODY = _body_doc({"image/jpeg": {"schema": {"type": "string", "format": "binary"}}})
_FILE_BODY = _body_doc({"text/csv": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "array",
                                                        "items": {"type": "object"}}}})


async def _read_body(request: Request, limit: int, field: str) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (not read further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise problems(413, field, f"the body has {declared} bytes; at most {limit} "
                       "are accepted",
                       pt=f"o corpo tem {declared} bytes; no máximo {limit} são aceitos")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise problems(413, field, f"the body has more than {limit} bytes",
                           pt=f"o corpo tem mais de {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await _read_body(request, PERSON_MAX_BYTES, "body")
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise problems(422, "body", f"the body is not JSON: {exc}",
                       pt=f"o corpo não é JSON: {exc}") from None
    if not isinstance(data, dict):
        raise problems(422, "body", "the body must be a JSON object",
                       pt="o corpo deve ser um objeto JSON")
    return data


def _card_numbers(value: Any) -> list[str]:
    """Card numbers mentioned in a ``cards`` value (to mask them in the audit log)."""
    if isinstance(value, str):
        return [v for v in _SPLIT.split(value) if v]
    if isinstance(value, dict):
        number = value.get("card_no")
        return [number] if isinstance(number, str) else []
    if isinstance(value, list):
        return [n for item in value for n in _card_numbers(item)]
    return []


def _describe(entry: AuditEntry, body: dict[str, Any], key: str = "input") -> None:
    """Put a request's person fields in the audit entry (known fields only, cards
    masked, password hidden)."""
    entry.hide(*_card_numbers(body.get("cards")))
    known = {k: v for k, v in body.items() if k in PersonInput.model_fields}
    unknown = [str(k)[:40] for k in body if k not in PersonInput.model_fields][:20]
    entry.detail[key] = known
    if unknown:
        entry.detail["unknown_fields"] = unknown
    if entry.target is None and isinstance(body.get("user_id"), str):
        entry.target = body["user_id"][:64]


def _export_row(person: Person) -> dict[str, Any]:
    row = input_from_person(person)
    row["valid_from"] = iso(person.valid_from)
    row["valid_to"] = iso(person.valid_to)
    return row


def _file_format(request: Request, content: bytes) -> Literal["csv", "json"]:
    ctype = request.headers.get("content-type", "").lower()
    if "json" in ctype:
        return "json"
    if "csv" in ctype:
        return "csv"
    return "json" if content.lstrip()[:1] in (b"[", b"{") else "csv"


def _parse_file(content: bytes, fmt: Literal["csv", "json"]) -> list[dict[str, Any]]:
    """The file's rows, or 400 saying why it cannot be read."""
    try:
        return parse_people_file(content, fmt)
    except UnicodeDecodeError:
        reason, pt = "the file is not UTF-8 text", "o arquivo não é texto UTF-8"
    except json.JSONDecodeError as exc:
        reason, pt = f"the file is not JSON: {exc}", f"o arquivo não é JSON: {exc}"
    except PeopleError as exc:
        reason, pt = str(exc), exc.pt
    except csv.Error as exc:
        reason, pt = f"the file is not CSV: {exc}", f"o arquivo não é CSV: {exc}"
    except ValueError as exc:
        reason, pt = f"the file cannot be read: {exc}", f"o arquivo não pode ser lido: {exc}"
    raise problems(400, "file", reason, pt=pt)


_UserId = Annotated[str, Path(description="The person's id (UserID on the readers).")]


def _answer(person: Person, status: int = 200) -> JSONResponse:
    return JSONResponse(person_json(person), status_code=status)


def _person_or_404(hub: Hub, user_id: str) -> Person:
    person = hub.people.directory.get(user_id)
    if person is None:
        raise PeopleError(f"no person {user_id}", field="user_id", status=404,
                          pt=f"não há a pessoa {user_id}")
    return person


def people_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """The people routes of ``hub``."""
    router = APIRouter(prefix="/api", tags=["people"])
    admin = admin_scope(hub, auth)
    _read_routes(router, hub, auth)
    _person_routes(router, hub, admin)
    _card_and_face_routes(router, hub, admin)
    _import_route(router, hub, admin)
    return router


def _read_routes(router: APIRouter, hub: Hub, auth: TokenAuth) -> None:
    service = hub.people
    read = [Depends(auth.require("read"))]

    @router.get("/people", dependencies=read)
    async def list_people(
        limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
        after: Annotated[str | None, Query(
            description="next_after of the previous page (people come by id).")] = None,
        q: Annotated[str | None, Query(
            max_length=100, description="Search: part of the name, id or external id "
            "(case-insensitive).")] = None,
    ) -> dict[str, Any]:
        """People by id, a page at a time (``next_after`` continues; null at the end)."""
        found = await asyncio.to_thread(hub.store.people.page, limit=limit + 1, after=after,
                                        search=q)
        more = len(found) > limit
        found = found[:limit]
        return {"people": [person_json(p) for p in found],
                "next_after": found[-1].user_id if more else None,
                "total": len(service.directory) if not q else None}

    @router.get("/people/export", dependencies=read,
                responses={200: {"content": {"text/csv": {}}}})
    async def export_people(
        output: Annotated[Literal["json", "csv"], Query(
            alias="format", description="json ({\"people\": [...]}) or csv; both are "
            "what the import reads. No passwords, no photos.")] = "json",
    ) -> Response:
        """Every person, by id, in the import's format."""
        people = service.export()
        stamp = datetime.fromtimestamp(time.time(), UTC).strftime("%Y%m%dT%H%M%SZ")
        if output == "csv":
            text = await asyncio.to_thread(people_csv, people)
            return Response(text, media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="porteiro-people-{stamp}.csv"'})
        body = await asyncio.to_thread(
            lambda: msgspec.json.encode({"people": [_export_row(p) for p in people]}))
        return Response(body, media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="porteiro-people-{stamp}.json"'})

    @router.get("/people/{user_id}", dependencies=read)
    async def get_person(user_id: _UserId) -> Response:
        """One person (never the password: ``has_password`` says whether there is one)."""
        person = service.directory.get(user_id)
        if person is None:
            raise problems(404, "user_id", f"no person {user_id}",
                           pt=f"não há a pessoa {user_id}")
        return _answer(person)

    @router.get("/people/{user_id}/face", dependencies=read, response_class=Response,
                responses={200: {"content": {"image/jpeg": {}}}})
    async def get_face(user_id: _UserId) -> Response:
        """The person's face photo (JPEG)."""
        photo = await asyncio.to_thread(hub.store.people.get_face, user_id)
        if photo is None:
            raise problems(404, "user_id", f"no face photo for person {user_id}",
                           pt=f"a pessoa {user_id} não tem foto do rosto")
        return Response(photo, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _person_routes(router: APIRouter, hub: Hub, admin: Callable[..., Any]) -> None:
    service = hub.people
    Admin = Annotated[Principal, Depends(admin)]  # noqa: N806  # a type alias

    @router.post("/people", status_code=201,
                 openapi_extra={**audit_as("people.create"), **_PERSON_BODY})
    async def create_person(request: Request, principal: Admin) -> Response:
        """Add a person (409 when the id exists). ``password`` is write-only."""
        async with audited(hub, principal, request, "people.create") as entry:
            body = await _json_object(request)
            _describe(entry, body)
            person = await service.create(PersonInput.model_validate(body))
            entry.detail["version"] = person.version
        return _answer(person, 201)

    @router.put("/people/{user_id}",
                openapi_extra={**audit_as("people.replace"), **_PERSON_BODY})
    async def replace_person(request: Request, principal: Admin, user_id: _UserId
                             ) -> Response:
        """Create or replace a person (201 when created). A password not given is
        kept; cards not listed are taken away."""
        async with audited(hub, principal, request, "people.replace", target=user_id) as entry:
            body = await _json_object(request)
            body.setdefault("user_id", user_id)
            _describe(entry, body)
            created = service.directory.get(user_id) is None
            person = await service.replace(user_id, PersonInput.model_validate(body))
            entry.detail.update(version=person.version, created=created)
        return _answer(person, 201 if created else 200)

    @router.patch("/people/{user_id}",
                  openapi_extra={**audit_as("people.patch"), **_PATCH_BODY})
    async def patch_person(request: Request, principal: Admin, user_id: _UserId) -> Response:
        """Change some fields of a person (the others are kept)."""
        async with audited(hub, principal, request, "people.patch", target=user_id) as entry:
            body = await _json_object(request)
            _describe(entry, body, "changes")
            _person_or_404(hub, user_id)
            person = await service.patch(user_id, body)
            entry.detail["version"] = person.version
        return _answer(person)

    @router.delete("/people/{user_id}", status_code=204,
                   openapi_extra=audit_as("people.delete"))
    async def delete_person(request: Request, principal: Admin, user_id: _UserId) -> Response:
        """Remove a person, their cards and photo (from the readers at the next sync)."""
        async with audited(hub, principal, request, "people.delete", target=user_id) as entry:
            _person_or_404(hub, user_id)
            old = await service.delete(user_id)
            entry.detail.update(name=old.name, cards=[c.card_no for c in old.cards])
        return Response(status_code=204)


def _card_and_face_routes(router: APIRouter, hub: Hub, admin: Callable[..., Any]) -> None:
    service = hub.people
    Admin = Annotated[Principal, Depends(admin)]  # noqa: N806  # a type alias

    # -- cards ---------------------------------------------------------------------------

    @router.post("/people/{user_id}/cards", status_code=201,
                 openapi_extra={**audit_as("people.card.add"), **_CARD_BODY})
    async def add_card(request: Request, principal: Admin, user_id: _UserId) -> Response:
        """Give a person one more card (``{"card_no": "12EA3004", "type": "ordinary",
        "status": "normal"}``); 409 when someone already holds it."""
        async with audited(hub, principal, request, "people.card.add", target=user_id) as entry:
            body = await _json_object(request)
            entry.hide(*_card_numbers(body))
            entry.detail["card"] = {k: v for k, v in body.items()
                                    if k in CardInput.model_fields}
            card = CardInput.model_validate(body)
            _person_or_404(hub, user_id)

            def added(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
                if any(c["card_no"] == card.card_no for c in cards):
                    raise PeopleError(f"person {user_id} already has card {card.card_no}",
                                      field="card_no", status=409,
                                      pt=f"a pessoa {user_id} já tem o cartão {card.card_no}")
                return [*cards, card.model_dump(mode="json")]

            try:
                person = await service.change_cards(user_id, added)
            except PeopleError as exc:  # the new card is the one at fault
                if (exc.field or "").startswith("cards"):
                    exc.field = "card_no"
                raise
            entry.detail["version"] = person.version
        return _answer(person, 201)

    @router.delete("/people/{user_id}/cards/{card_no}", status_code=204,
                   openapi_extra=audit_as("people.card.delete"))
    async def delete_card(request: Request, principal: Admin, user_id: _UserId,
                          card_no: Annotated[str, Path(description="The card number.")]
                          ) -> Response:
        """Take a card away from a person."""
        number = card_no.strip().upper()
        async with audited(hub, principal, request, "people.card.delete", target=user_id,
                           detail={"card": number}) as entry:
            entry.hide(number)
            _person_or_404(hub, user_id)

            def removed(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
                kept = [c for c in cards if c["card_no"] != number]
                if len(kept) == len(cards):
                    raise PeopleError(f"person {user_id} has no card {number}",
                                      field="card_no", status=404,
                                      pt=f"a pessoa {user_id} não tem o cartão {number}")
                return kept

            person = await service.change_cards(user_id, removed)
            entry.detail["version"] = person.version
        return Response(status_code=204)

    # -- faces ---------------------------------------------------------------------------

    @router.put("/people/{user_id}/face",
                openapi_extra={**audit_as("people.face.set"), **_PHOTO_BODY})
    async def set_face(request: Request, principal: Admin, user_id: _UserId) -> Response:
        """Store the person's face photo: the raw JPEG as the body (``Content-Type:
        image/jpeg``), at most ``[people] max_photo_bytes`` (413 above, 415 when it
        is not a JPEG)."""
        limit = int(hub.config.people.max_photo_bytes)
        async with audited(hub, principal, request, "people.face.set", target=user_id) as entry:
            _person_or_404(hub, user_id)
            photo = await _read_body(request, limit, "photo")
            entry.detail["bytes"] = len(photo)
            if not photo:
                raise PeopleError("the body is empty: send the JPEG", field="photo",
                                  pt="o corpo está vazio: envie o JPEG")
            person = await service.set_face(user_id, photo)
            entry.detail.update(sha256=person.face_sha256, version=person.version)
        return _answer(person)

    @router.delete("/people/{user_id}/face", status_code=204,
                   openapi_extra=audit_as("people.face.delete"))
    async def delete_face(request: Request, principal: Admin, user_id: _UserId) -> Response:
        """Remove the person's face photo."""
        async with audited(hub, principal, request, "people.face.delete", target=user_id) as entry:
            _person_or_404(hub, user_id)
            person = await service.delete_face(user_id)
            entry.detail["version"] = person.version
        return Response(status_code=204)


def _import_route(router: APIRouter, hub: Hub, admin: Callable[..., Any]) -> None:
    service = hub.people
    Admin = Annotated[Principal, Depends(admin)]  # noqa: N806  # a type alias

    @router.post("/people/import", openapi_extra={**audit_as("people.import"), **_FILE_BODY})
    async def import_people(
        request: Request, principal: Admin,
        file_format: Annotated[Literal["csv", "json"] | None, Query(
            alias="format", description="csv or json (default: from the Content-Type, "
            "else from the first character).")] = None,
    ) -> dict[str, Any]:
        """Create or update people from a CSV or JSON file (the raw file as the body).
        A bad row is reported (row number, 1-based without the header; field; message)
        and the others are still imported; rows equal to what is stored count as
        unchanged, so a file imported twice changes nothing. 400 when the file cannot
        be read at all."""
        async with audited(hub, principal, request, "people.import") as entry:
            content = await _read_body(request, IMPORT_MAX_BYTES, "file")
            fmt = file_format or _file_format(request, content)
            entry.detail.update(format=fmt, bytes=len(content))
            rows = await asyncio.to_thread(_parse_file, content, fmt)
            report = await service.import_rows(rows)
            errors = [{**e, "field": dotted(e.get("field")),
                       "message": str(e.get("message", "")).removeprefix("Value error, ")}
                      for e in report.errors]
            entry.detail.update(
                rows=len(rows), created=report.created, updated=report.updated,
                unchanged=report.unchanged, errors=len(errors),
                error_rows=[{"row": e["row"], "field": e["field"]} for e in errors[:100]])
        return {"rows": len(rows), "created": report.created, "updated": report.updated,
                "unchanged": report.unchanged, "errors": errors}
