"""The site's people as the hub manages them: validation, the store, the directory.

:class:`PersonInput` is the edge schema (pydantic) shared by the REST API, the CSV/JSON
import and the CLI; its errors name the field. :class:`PeopleService` applies changes:
the store first (one transaction), then the in-memory :class:`~porteiro.access.Directory`
that Modo Online decisions read, then, with ``[people] auto_sync``, a background sync
of the readers (:mod:`porteiro.hub.sync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import io
import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from porteiro.access import ALWAYS
from porteiro.access.people import (
    ALL_DEVICES,
    CardState,
    Directory,
    Person,
    PersonStatus,
    PersonType,
    SiteCard,
    hash_password,
)
from porteiro.codes import CardType
from porteiro.exceptions import PeopleError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from porteiro.hub.hub import Hub

__all__ = ["CardInput", "ImportReport", "PeopleError", "PeopleService", "PersonInput",
           "parse_people_file", "person_json", "validation_problems"]

_LOG = logging.getLogger(__name__)
_USER_ID = r"^[0-9A-Za-z_-]{1,30}$"
_CARD_NO = re.compile(r"^[0-9A-Za-z]{1,32}$")
_JPEG = b"\xff\xd8\xff"
_FREEZE_AFTER = 1000
"""An import of at least this many people moves them out of the garbage collector."""


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a number or an ISO 8601 text (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError(
            "porteiro_time", "{text!r} is not a time: use ISO 8601 "
            "(2026-01-31T08:00:00-03:00) or epoch seconds", {"text": text}) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class CardInput(BaseModel):
    """A card in a request: ``"12EA3004"`` or ``{"card_no", "type", "status"}``."""

    model_config = ConfigDict(extra="forbid")

    card_no: str = Field(min_length=1, max_length=32)
    type: Literal["ordinary", "vip", "guest", "patrol", "blocklist", "duress"] = "ordinary"
    status: CardState = CardState.NORMAL

    @field_validator("card_no")
    @classmethod
    def _number(cls, value: str) -> str:
        value = value.strip()
        if not _CARD_NO.match(value):
            raise PydanticCustomError(
                "porteiro_card_number", "a card number is 1-32 letters or digits (hex as the "
                "readers report it, e.g. 12EA3004)")
        return value.upper()

    def to_card(self) -> SiteCard:
        """The stored card."""
        return SiteCard(self.card_no, CardType[self.type.upper()], self.status)


_RESERVED_IDS = frozenset({"export", "import", "sync"})
_FIRST_EPOCH = 0.0
_LAST_EPOCH = 4102444799.0  # 2099-12-31 23:59:59 UTC
_CARD_TYPES = ("ordinary", "vip", "guest", "patrol", "blocklist", "duress")


def _card_text(text: str) -> dict[str, str]:
    """``AB12``, ``AB12:lost`` or ``AB12:vip:frozen`` (a CSV cell's card) as fields."""
    number, *qualifiers = text.split(":")
    card = {"card_no": number}
    for qualifier in qualifiers:
        word = qualifier.strip().lower()
        card["type" if word in _CARD_TYPES else "status"] = word
    return card


class PersonInput(BaseModel):
    """A person as the API, the import files and the CLI give it.

    ``doors``: a list of door numbers (0-based) valid on every reader, or a mapping
    ``{"device name": [doors], "*": [doors]}``. ``password`` is write-only.
    """

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(pattern=_USER_ID)
    name: str = Field(default="", max_length=64)
    type: PersonType = PersonType.GENERAL
    status: PersonStatus = PersonStatus.ACTIVE
    valid_from: float | None = None
    valid_to: float | None = None
    doors: list[int] | dict[str, list[int]] = Field(default_factory=lambda: [0])
    time_sections: list[int] = Field(default_factory=lambda: [ALWAYS], min_length=1,
                                     max_length=4)
    holiday_schedule: int = Field(default=ALWAYS, ge=0, le=255)
    guest_uses: int | None = Field(default=None, ge=0)
    external_id: str | None = Field(default=None, min_length=1, max_length=128)
    password: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{1,32}$")
    cards: list[CardInput] = Field(default_factory=list, max_length=100)

    @field_validator("valid_from", "valid_to", mode="before")
    @classmethod
    def _time(cls, value: Any) -> float | None:
        epoch = _epoch(value)
        if epoch is not None and not _FIRST_EPOCH <= epoch <= _LAST_EPOCH:
            raise PydanticCustomError(
                "porteiro_time_range", "times must be between 1970 and 2099 (readers "
                "keep validity as a date and time)")
        return epoch

    @field_validator("cards", mode="before")
    @classmethod
    def _cards(cls, value: Any) -> Any:
        if isinstance(value, str):  # "AB12;CD34:vip:lost" in a CSV cell
            value = [v for v in re.split(r"[;,\s]+", value) if v]
        if isinstance(value, list):
            return [_card_text(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("user_id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in _RESERVED_IDS:
            raise PydanticCustomError("porteiro_reserved_id",
                                      "{value!r} is reserved (a path of /api/people); choose "
                                      "another id", {"value": value})
        return value

    @field_validator("doors")
    @classmethod
    def _doors(cls, value: list[int] | dict[str, list[int]]) -> list[int] | dict[str, list[int]]:
        lists = value.values() if isinstance(value, dict) else [value]
        for doors in lists:
            if any(not 0 <= d <= 7 for d in doors):
                raise PydanticCustomError("porteiro_door",
                                          "door numbers are 0-7 (0 is the first door)")
        return value

    @field_validator("time_sections")
    @classmethod
    def _sections(cls, value: list[int]) -> list[int]:
        if any(not 0 <= s <= 255 for s in value):
            raise PydanticCustomError(
                "porteiro_section", "time sections are schedule numbers 1-254, or 255 (always)")
        return value

    def to_person(self, *, keep_device_password: bool, old: Person | None = None) -> Person:
        """The record to store (the password hashed; its clear copy kept only for
        readers that need it)."""
        if self.valid_from is not None and self.valid_to is not None \
                and self.valid_to <= self.valid_from:
            raise PeopleError("valid_to must be after valid_from", field="valid_to",
                              pt="valid_to deve ser depois de valid_from")
        doors = ({ALL_DEVICES: tuple(self.doors)} if isinstance(self.doors, list)
                 else {k: tuple(v) for k, v in self.doors.items()})
        numbers = [c.card_no for c in self.cards]
        for index, number in enumerate(numbers):
            if numbers.index(number) != index:
                raise PeopleError(f"card {number} is listed twice", field=f"cards[{index}]",
                                  pt=f"o cartão {number} aparece duas vezes")
        password_hash: str | None
        device_password: str | None
        if self.password is not None:
            password_hash = hash_password(self.password)
            device_password = self.password if keep_device_password else None
        else:
            password_hash = old.password_hash if old else None
            device_password = old.device_password if old else None
        return Person(
            user_id=self.user_id, name=self.name, type=self.type, status=self.status,
            valid_from=self.valid_from, valid_to=self.valid_to, doors=doors,
            time_sections=tuple(self.time_sections), holiday_schedule=self.holiday_schedule,
            guest_uses=self.guest_uses, uses=old.uses if old else 0,
            external_id=self.external_id, password_hash=password_hash,
            device_password=device_password, face_sha256=old.face_sha256 if old else None,
            cards=tuple(c.to_card() for c in self.cards))


def input_from_person(person: Person) -> dict[str, Any]:
    """A person as :class:`PersonInput` fields (no password), for PATCH and export."""
    doors: list[int] | dict[str, list[int]]
    if set(person.doors) == {ALL_DEVICES}:
        doors = list(person.doors[ALL_DEVICES])
    else:
        doors = {k: list(v) for k, v in person.doors.items()}
    return {
        "user_id": person.user_id, "name": person.name, "type": str(person.type),
        "status": str(person.status), "valid_from": person.valid_from,
        "valid_to": person.valid_to, "doors": doors,
        "time_sections": list(person.time_sections),
        "holiday_schedule": person.holiday_schedule, "guest_uses": person.guest_uses,
        "external_id": person.external_id,
        "cards": [{"card_no": c.card_no, "type": c.card_type.name.lower(),
                   "status": str(c.status)} for c in person.cards],
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def person_json(person: Person) -> dict[str, Any]:
    """The API's view of a person (never a password or its hash)."""
    out: dict[str, Any] = input_from_person(person)
    out.update(valid_from=_iso(person.valid_from), valid_to=_iso(person.valid_to),
               has_password=person.has_password, has_face=person.face_sha256 is not None,
               uses=person.uses, uses_left=person.uses_left(), version=person.version,
               created_at=_iso(person.created_at), updated_at=_iso(person.updated_at))
    return out


_PT = {
    "missing": "campo obrigatório",
    "extra_forbidden": "campo desconhecido",
    "string_pattern_mismatch": "formato inválido",
    "string_too_long": "texto longo demais (no máximo {max_length} caracteres)",
    "string_too_short": "texto curto demais (no mínimo {min_length} caractere(s))",
    "string_type": "deve ser um texto",
    "int_parsing": "deve ser um número inteiro", "int_type": "deve ser um número inteiro",
    "int_from_float": "deve ser um número inteiro",
    "float_parsing": "deve ser um número", "float_type": "deve ser um número",
    "bool_parsing": "deve ser true ou false", "bool_type": "deve ser true ou false",
    "greater_than_equal": "deve ser maior ou igual a {ge}",
    "less_than_equal": "deve ser menor ou igual a {le}",
    "greater_than": "deve ser maior que {gt}", "less_than": "deve ser menor que {lt}",
    "enum": "valor inválido: use {expected}", "literal_error": "valor inválido: use {expected}",
    "list_type": "deve ser uma lista", "dict_type": "deve ser um objeto",
    "model_type": "deve ser um objeto", "model_attributes_type": "deve ser um objeto",
    "too_long": "itens demais (no máximo {max_length})",
    "too_short": "itens de menos (no mínimo {min_length})",
    "json_invalid": "JSON inválido",
    "porteiro_time": "{text!r} não é uma data e hora: use ISO 8601 "
                     "(2026-01-31T08:00:00-03:00) ou segundos desde 1970",
    "porteiro_card_number": "um número de cartão tem de 1 a 32 letras ou dígitos "
                            "(hexadecimal como as leitoras informam, ex. 12EA3004)",
    "porteiro_reserved_id": "{value!r} é reservado (um caminho de /api/people); escolha "
                            "outro id",
    "porteiro_door": "as portas são de 0 a 7 (0 é a primeira porta)",
    "porteiro_time_range": "as datas devem estar entre 1970 e 2099 (as leitoras guardam "
                           "a validade como data e hora)",
    "porteiro_section": "as faixas de horário são números de 1 a 254, ou 255 (sempre)",
}
"""pydantic's error types (and ours) in Brazilian Portuguese, with pydantic's context."""
_PT_PATTERNS = {
    "user_id": "use de 1 a 30 letras, dígitos, _ ou -",
    "password": "use de 1 a 32 letras ou dígitos",
}


def _pt(error: Any) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "string_pattern_mismatch" and field in _PT_PATTERNS:
        return _PT_PATTERNS[field]
    template = _PT.get(error["type"])
    if template is None:
        return str(error["msg"])
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return template


def validation_problems(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic errors as ``[{"field": "cards.0.card_no", "message": ...,
    "message_pt": ...}]``."""
    return [{"field": ".".join(str(p) for p in error["loc"]) or "body",
             "message": error["msg"], "message_pt": _pt(error)} for error in exc.errors()]


class ImportReport(msgspec.Struct):
    """What an import did; ``errors`` names the row (1-based, header excluded) and field."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)


_CSV_LISTS = ("doors", "time_sections")


def parse_people_file(content: bytes, fmt: Literal["csv", "json"]) -> list[dict[str, Any]]:
    """Rows of a people file: JSON (a list, or ``{"people": [...]}``) or CSV with a header
    (``user_id,name,type,...``; ``cards``, ``doors`` and ``time_sections`` as ``;``
    separated lists; ``doors`` may be ``device:0;device2:1``)."""
    text = content.decode("utf-8-sig")
    if fmt == "json":
        data = json.loads(text)
        rows = data.get("people") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise PeopleError('a JSON people file is a list, or {"people": [...]}',
                          pt='um arquivo JSON de pessoas é uma lista, ou {"people": [...]}')
        return [r if isinstance(r, dict) else {"_invalid": r} for r in rows]
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "user_id" not in reader.fieldnames:
        raise PeopleError("a CSV people file needs a header line with at least user_id",
                          pt="um arquivo CSV de pessoas precisa de uma linha de cabeçalho "
                          "com pelo menos user_id")
    rows = []
    for raw in reader:
        row: dict[str, Any] = {k: v for k, v in raw.items() if k and v not in (None, "")}
        for key in _CSV_LISTS:
            if key in row:
                # A cell that is not a list of numbers stays text: the row is then
                # refused with the field named, and the other rows are imported.
                with contextlib.suppress(ValueError):
                    row[key] = _csv_list(key, str(row[key]))
        rows.append(row)
    return rows


def _csv_list(key: str, text: str) -> Any:
    parts = [p.strip() for p in re.split(r"[;|]", text) if p.strip()]
    if key == "doors" and any(":" in p for p in parts):
        doors: dict[str, list[int]] = {}
        for part in parts:
            device, _, door = part.rpartition(":")
            doors.setdefault(device or ALL_DEVICES, []).append(int(door))
        return doors
    return [int(p) for p in parts]


def _card_cell(card: Mapping[str, str]) -> str:
    """A card in a CSV cell: the number, then its type and state when not the default."""
    text = card["card_no"]
    if card["type"] != "ordinary":
        text += f":{card['type']}"
    if card["status"] != "normal":
        text += f":{card['status']}"
    return text


def people_csv(people: Iterable[Person]) -> str:
    """The CSV export (the same columns the import reads; no passwords)."""
    out = io.StringIO()
    columns = ["user_id", "name", "type", "status", "valid_from", "valid_to", "doors",
               "time_sections", "holiday_schedule", "guest_uses", "external_id", "cards"]
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for person in people:
        fields = input_from_person(person)
        doors = fields["doors"]
        fields["doors"] = (";".join(str(d) for d in doors) if isinstance(doors, list) else
                           ";".join(f"{k}:{d}" for k, v in doors.items() for d in v))
        fields["time_sections"] = ";".join(str(s) for s in fields["time_sections"])
        fields["cards"] = ";".join(_card_cell(c) for c in fields["cards"])
        fields["valid_from"] = _iso(person.valid_from)
        fields["valid_to"] = _iso(person.valid_to)
        writer.writerow({k: "" if v is None else v for k, v in fields.items()})
    return out.getvalue()


class PeopleService:
    """Changes to the site's people, in the store and in the hub's directory."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.directory = Directory()
        self._lock = asyncio.Lock()
        self.on_change: list[Callable[[Sequence[str]], None]] = []
        """Called with the changed user ids after each committed change (the sync)."""

    @property
    def _settings(self) -> Any:
        return self.hub.config.people

    def load(self) -> None:
        """Read every person into the directory (at start; blocking)."""
        self.directory = Directory({p.user_id: p for p in self.hub.store.people.load_all()})
        _LOG.info("people directory: %d people", len(self.directory))

    def _changed(self, user_ids: Sequence[str]) -> None:
        for callback in self.on_change:
            callback(user_ids)

    def _check(self, person: Person, *, index: str = "") -> None:
        """Cross-record rules: cards and external id free, schedules known."""
        known = {s.number for s in self.hub.config.access.schedules} | {ALWAYS}
        for position, section in enumerate(person.time_sections):
            if section not in known:
                raise PeopleError(f"schedule {section} is not in [access.schedules]",
                                  field=f"{index}time_sections[{position}]",
                                  pt=f"o horário {section} não está em [access.schedules]")
        if person.holiday_schedule not in known:
            raise PeopleError(f"schedule {person.holiday_schedule} is not in "
                              "[access.schedules]", field=f"{index}holiday_schedule",
                              pt=f"o horário {person.holiday_schedule} não está em "
                              "[access.schedules]")
        for position, card in enumerate(person.cards):
            owner = self.directory.card_owner(card.card_no)
            if owner is not None and owner != person.user_id:
                raise PeopleError(f"card {card.card_no} belongs to person {owner}",
                                  field=f"{index}cards[{position}]", status=409,
                                  pt=f"o cartão {card.card_no} é da pessoa {owner}")
        if person.external_id:
            other = self.directory.by_external_id(person.external_id)
            if other is not None and other.user_id != person.user_id:
                raise PeopleError(f"external_id {person.external_id!r} belongs to person "
                                  f"{other.user_id}", field=f"{index}external_id", status=409,
                                  pt=f"o external_id {person.external_id!r} é da pessoa "
                                  f"{other.user_id}")

    async def create(self, data: PersonInput) -> Person:
        """Add a person; 409 when the id exists."""
        async with self._lock:
            if self.directory.get(data.user_id) is not None:
                raise PeopleError(f"person {data.user_id} already exists", field="user_id",
                                  status=409, pt=f"a pessoa {data.user_id} já existe")
            return await self._save(data.to_person(
                keep_device_password=self._settings.device_passwords))

    async def replace(self, user_id: str, data: PersonInput) -> Person:
        """Create or replace a person (PUT semantics; the password is kept if not given)."""
        if data.user_id != user_id:
            raise PeopleError("user_id in the body differs from the path", field="user_id",
                              pt="o user_id do corpo difere do caminho")
        async with self._lock:
            old = self.directory.get(user_id)
            return await self._save(data.to_person(
                keep_device_password=self._settings.device_passwords, old=old))

    async def patch(self, user_id: str, changes: Mapping[str, Any]) -> Person:
        """Change some fields of a person."""
        async with self._lock:
            return await self._patch(user_id, changes)

    async def change_cards(self, user_id: str,
                           change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
                           ) -> Person:
        """Read a person's cards, ``change`` them (it may raise :class:`PeopleError`)
        and save, all under the people lock: a concurrent PATCH cannot lose a card."""
        async with self._lock:
            old = self.directory.get(user_id)
            if old is None:
                raise PeopleError(f"no person {user_id}", status=404,
                              pt=f"não há a pessoa {user_id}")
            return await self._patch(user_id,
                                     {"cards": change(input_from_person(old)["cards"])})

    async def _patch(self, user_id: str, changes: Mapping[str, Any]) -> Person:
        old = self.directory.get(user_id)
        if old is None:
            raise PeopleError(f"no person {user_id}", status=404,
                              pt=f"não há a pessoa {user_id}")
        if "user_id" in changes and changes["user_id"] != user_id:
            raise PeopleError("user_id cannot change (delete and create instead)",
                              field="user_id",
                              pt="o user_id não pode mudar (exclua e crie de novo)")
        merged = {**input_from_person(old), **changes}
        data = PersonInput.model_validate(merged)
        return await self._save(data.to_person(
            keep_device_password=self._settings.device_passwords, old=old))

    async def _save(self, person: Person) -> Person:
        self._check(person)
        stored = await asyncio.to_thread(self.hub.store.people.save, person)
        self.directory.put(stored)
        self._changed([stored.user_id])
        return stored

    async def delete(self, user_id: str) -> Person:
        """Remove a person (from every reader at the next sync)."""
        async with self._lock:
            old = self.directory.get(user_id)
            if old is None:
                raise PeopleError(f"no person {user_id}", status=404,
                              pt=f"não há a pessoa {user_id}")
            await asyncio.to_thread(self.hub.store.people.delete, user_id)
            self.directory.remove(user_id)
            self._changed([user_id])
            return old

    async def set_face(self, user_id: str, photo: bytes) -> Person:
        """Store a face photo (a JPEG, at most ``[people] max_photo_bytes``)."""
        if photo[:3] != _JPEG:
            raise PeopleError("the photo must be a JPEG", field="photo", status=415,
                              pt="a foto deve ser um JPEG")
        limit = self._settings.max_photo_bytes
        if len(photo) > limit:
            raise PeopleError(f"the photo has {len(photo)} bytes; readers refuse more than "
                              f"{limit}", field="photo", status=413,
                              pt=f"a foto tem {len(photo)} bytes; as leitoras recusam mais "
                              f"de {limit}")
        async with self._lock:
            if self.directory.get(user_id) is None:
                raise PeopleError(f"no person {user_id}", status=404,
                              pt=f"não há a pessoa {user_id}")
            await asyncio.to_thread(self.hub.store.people.set_face, user_id, photo)
            stored = await asyncio.to_thread(self.hub.store.people.get, user_id)
            assert stored is not None  # noqa: S101  # the lock keeps it
            self.directory.put(stored)
            self._changed([user_id])
            return stored

    async def delete_face(self, user_id: str) -> Person:
        """Remove a face photo."""
        async with self._lock:
            if self.directory.get(user_id) is None:
                raise PeopleError(f"no person {user_id}", status=404,
                              pt=f"não há a pessoa {user_id}")
            if not await asyncio.to_thread(self.hub.store.people.delete_face, user_id):
                raise PeopleError(f"person {user_id} has no face photo", status=404,
                                  pt=f"a pessoa {user_id} não tem foto do rosto")
            stored = await asyncio.to_thread(self.hub.store.people.get, user_id)
            assert stored is not None  # noqa: S101  # the lock keeps it
            self.directory.put(stored)
            self._changed([user_id])
            return stored

    async def import_rows(self, rows: Sequence[Mapping[str, Any]], *,
                          progress: Callable[[int, int], None] | None = None,
                          chunk: int = 1000) -> ImportReport:
        """Create or update people from file rows; a bad row is reported (row number and
        field) and the others are still imported. Rows equal to the stored person are
        left alone (an import run twice changes nothing)."""
        report = ImportReport()
        done = 0
        async with self._lock:
            for start in range(0, len(rows), chunk):
                batch: list[Person] = []
                seen_cards: dict[str, str] = {}
                for offset, row in enumerate(rows[start:start + chunk]):
                    number = start + offset + 1
                    person = self._import_row(row, number, report, seen_cards)
                    if person is not None:
                        batch.append(person)
                if batch:
                    stored = await asyncio.to_thread(self.hub.store.people.save_many, batch)
                    for person in stored:
                        self.directory.put(person)
                    self._changed([p.user_id for p in stored])
                done = min(len(rows), start + chunk)
                if progress is not None:
                    progress(done, len(rows))
        if report.created + report.updated >= _FREEZE_AFTER:
            gc.freeze()  # the new people are long-lived (see Hub.open)
        return report

    def _import_row(self, row: Mapping[str, Any], number: int, report: ImportReport,
                    seen_cards: dict[str, str]) -> Person | None:
        if "_invalid" in row:
            report.errors.append({"row": number, "field": "row",
                                  "message": "a person is a JSON object",
                                  "message_pt": "uma pessoa é um objeto JSON"})
            return None
        try:
            data = PersonInput.model_validate(row)
            old = self.directory.get(data.user_id)
            person = data.to_person(keep_device_password=self._settings.device_passwords,
                                    old=old)
            self._check(person)
            _claim_cards(person, seen_cards)
        except ValidationError as exc:
            report.errors += [{"row": number, **problem}
                              for problem in validation_problems(exc)]
            return None
        except PeopleError as exc:
            report.errors.append({"row": number, "field": exc.field or "row",
                                  "message": str(exc), "message_pt": exc.pt})
            return None
        if old is not None and _same(old, person) and data.password is None:
            report.unchanged += 1
            return None
        if old is None:
            report.created += 1
        else:
            report.updated += 1
        return person

    def export(self) -> list[Person]:
        """Every person, by id."""
        return sorted(self.directory.people.values(), key=lambda p: p.user_id)


def _claim_cards(person: Person, seen_cards: dict[str, str]) -> None:
    """A card given to two people of one import file is an error of the second row."""
    for position, card in enumerate(person.cards):
        holder = seen_cards.setdefault(card.card_no, person.user_id)
        if holder != person.user_id:
            raise PeopleError(f"card {card.card_no} is also given to {holder} in this file",
                              field=f"cards[{position}]", status=409,
                              pt=f"o cartão {card.card_no} também é dado a {holder} neste "
                              "arquivo")


def _same(old: Person, new: Person) -> bool:
    """Equal in everything an import sets (not version, times, uses or face)."""
    keep = {"version": 0, "created_at": 0.0, "updated_at": 0.0, "uses": 0, "face_sha256": None}
    return msgspec.structs.replace(old, **keep) == msgspec.structs.replace(new, **keep)
