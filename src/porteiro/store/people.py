"""People, cards, faces, per-device sync status and the audit log in the store.

Synchronous, like :class:`~porteiro.store.Store`'s other bookkeeping (callers on the
event loop use ``asyncio.to_thread``); each change is one short transaction. Events
keep going through the single writer: these tables are written rarely and by the API.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa

from porteiro.access.people import CardState, Person, PersonStatus, PersonType, SiteCard
from porteiro.codes import CardType
from porteiro.store.schema import audit, cards, faces, people, sync_status

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["PeopleStore", "SyncRow"]

_ANALYZE_AFTER = 1000
"""Bulk saves of at least this many people refresh PostgreSQL's statistics."""
_encode = msgspec.json.Encoder()
_decode = msgspec.json.Decoder()


class SyncRow(msgspec.Struct, frozen=True):
    """One (device, person) sync outcome."""

    user_id: str
    state: str
    fingerprint: str | None = None
    error_code: int | None = None
    error: str | None = None


def _person_values(person: Person) -> dict[str, Any]:
    return {
        "user_id": person.user_id, "external_id": person.external_id or None,
        "name": person.name, "type": str(person.type), "status": str(person.status),
        "valid_from": person.valid_from, "valid_to": person.valid_to,
        "doors": _encode.encode({k: list(v) for k, v in person.doors.items()}).decode(),
        "time_sections": _encode.encode(list(person.time_sections)).decode(),
        "holiday_schedule": person.holiday_schedule, "guest_uses": person.guest_uses,
        "uses": person.uses, "password_hash": person.password_hash,
        "device_password": person.device_password, "version": person.version,
        "created_at": person.created_at, "updated_at": person.updated_at,
    }


def _person(row: Any, person_cards: Sequence[SiteCard], face_sha: str | None) -> Person:
    doors = _decode.decode(row.doors)
    return Person(
        user_id=row.user_id, name=row.name, type=PersonType(row.type),
        status=PersonStatus(row.status), valid_from=row.valid_from, valid_to=row.valid_to,
        doors={str(k): tuple(int(d) for d in v) for k, v in doors.items()},
        time_sections=tuple(int(s) for s in _decode.decode(row.time_sections)),
        holiday_schedule=row.holiday_schedule, guest_uses=row.guest_uses, uses=row.uses,
        external_id=row.external_id, password_hash=row.password_hash,
        device_password=row.device_password, face_sha256=face_sha, cards=tuple(person_cards),
        version=row.version, created_at=row.created_at, updated_at=row.updated_at)


def _card(row: Any) -> SiteCard:
    return SiteCard(row.card_no, CardType(int(row.card_type)), CardState(row.status))


class PeopleStore:
    """The people tables of one database (shares the :class:`Store`'s engine)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- people ------------------------------------------------------------------------

    def load_all(self) -> list[Person]:
        """Every person, with cards and face hash (the hub's directory at start)."""
        with self.engine.connect() as conn:
            by_user: dict[str, list[SiteCard]] = {}
            for row in conn.execute(sa.select(cards).order_by(cards.c.card_no)):
                by_user.setdefault(row.user_id, []).append(_card(row))
            shas = dict(conn.execute(sa.select(faces.c.user_id, faces.c.sha256)).all())
            return [_person(row, by_user.get(row.user_id, ()), shas.get(row.user_id))
                    for row in conn.execute(sa.select(people).order_by(people.c.user_id))]

    def get(self, user_id: str) -> Person | None:
        """One person, or None."""
        with self.engine.connect() as conn:
            return self._get(conn, user_id)

    def _get(self, conn: sa.Connection, user_id: str) -> Person | None:
        row = conn.execute(sa.select(people).where(people.c.user_id == user_id)).first()
        if row is None:
            return None
        person_cards = [_card(c) for c in conn.execute(
            sa.select(cards).where(cards.c.user_id == user_id).order_by(cards.c.card_no))]
        sha = conn.execute(sa.select(faces.c.sha256).where(faces.c.user_id == user_id)
                           ).scalar_one_or_none()
        return _person(row, person_cards, sha)

    def page(self, *, limit: int = 100, after: str | None = None, search: str | None = None
             ) -> list[Person]:
        """A page of people by id (``after`` is the last id of the previous page);
        ``search`` matches the name, id or external id (case-insensitive, partial)."""
        query = sa.select(people.c.user_id).order_by(people.c.user_id).limit(limit)
        if after is not None:
            query = query.where(people.c.user_id > after)
        if search:
            # LIKE's own wildcards in the search are plain characters.
            literal = re.sub(r"([\\%_])", r"\\\1", search.lower())
            pattern = f"%{literal}%"
            query = query.where(sa.or_(
                sa.func.lower(people.c.name).like(pattern, escape="\\"),
                sa.func.lower(people.c.user_id).like(pattern, escape="\\"),
                sa.func.lower(people.c.external_id).like(pattern, escape="\\")))
        with self.engine.connect() as conn:
            ids = conn.execute(query).scalars().all()
            return [p for p in (self._get(conn, i) for i in ids) if p is not None]

    def count(self) -> int:
        """How many people."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(people)).scalar_one())

    def card_owners(self, card_nos: Iterable[str]) -> dict[str, str]:
        """Card number -> owner, for the given numbers that are taken."""
        wanted = sorted({c.upper() for c in card_nos})
        if not wanted:
            return {}
        with self.engine.connect() as conn:
            found: dict[str, str] = {}
            for start in range(0, len(wanted), 500):
                found.update(conn.execute(sa.select(cards.c.card_no, cards.c.user_id).where(
                    cards.c.card_no.in_(wanted[start:start + 500]))).all())
            return found

    def external_owner(self, external_id: str) -> str | None:
        """Who has ``external_id``."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(people.c.user_id).where(
                people.c.external_id == external_id)).scalar_one_or_none()

    def save(self, person: Person) -> Person:
        """Create or replace a person and their cards; returns the stored record (version
        and times set)."""
        (saved,) = self.save_many([person])
        return saved

    def save_many(self, persons: Sequence[Person]) -> list[Person]:
        """Create or replace many people in one transaction (an import's chunk)."""
        now = time.time()
        saved: list[Person] = []
        with self.engine.begin() as conn:
            ids = [p.user_id for p in persons]
            existing: dict[str, tuple[int, float]] = {}
            for start in range(0, len(ids), 500):
                for row in conn.execute(sa.select(people.c.user_id, people.c.version,
                                                  people.c.created_at).where(
                        people.c.user_id.in_(ids[start:start + 500]))):
                    existing[row.user_id] = (row.version, row.created_at)
            shas: dict[str, str] = {}
            for start in range(0, len(ids), 500):
                shas.update(conn.execute(sa.select(faces.c.user_id, faces.c.sha256).where(
                    faces.c.user_id.in_(ids[start:start + 500]))).all())
            new_rows, card_rows = [], []
            for person in persons:
                version, created = existing.get(person.user_id, (0, now))
                stored = msgspec.structs.replace(
                    person, version=version + 1, created_at=created, updated_at=now,
                    face_sha256=shas.get(person.user_id),
                    cards=tuple(msgspec.structs.replace(c, card_no=c.card_no.upper())
                                for c in person.cards))
                saved.append(stored)
                new_rows.append(_person_values(stored))
                card_rows += [{"card_no": c.card_no, "user_id": stored.user_id,
                               "card_type": int(c.card_type), "status": str(c.status)}
                              for c in stored.cards]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                conn.execute(cards.delete().where(cards.c.user_id.in_(chunk)))
            updates = [r for r in new_rows if r["user_id"] in existing]
            inserts = [r for r in new_rows if r["user_id"] not in existing]
            if inserts:
                conn.execute(people.insert(), inserts)
            for values in updates:
                conn.execute(people.update().where(people.c.user_id == values["user_id"])
                             .values(**values))
            if card_rows:
                conn.execute(cards.insert(), card_rows)
        if len(persons) >= _ANALYZE_AFTER and self.engine.dialect.name == "postgresql":
            # A fresh table has no statistics: the planner scans ``people`` for every
            # ``user_id IN (...)`` of the next chunk (an import of 100,000 went from
            # 0.3 s to 3-7 s per chunk) until autovacuum gets to it.
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE people, cards")
        return saved

    def delete(self, user_id: str) -> bool:
        """Remove a person (cards and face go with them)."""
        with self.engine.begin() as conn:
            conn.execute(cards.delete().where(cards.c.user_id == user_id))
            conn.execute(faces.delete().where(faces.c.user_id == user_id))
            return bool(conn.execute(people.delete().where(people.c.user_id == user_id)
                                     ).rowcount)

    def add_uses(self, user_id: str, count: int = 1) -> None:
        """Count passages of a guest."""
        with self.engine.begin() as conn:
            conn.execute(people.update().where(people.c.user_id == user_id)
                         .values(uses=people.c.uses + count))

    # -- faces -------------------------------------------------------------------------

    def set_face(self, user_id: str, content: bytes) -> str:
        """Store (or replace) a person's face photo; returns its SHA-256. Bumps the
        person's version (the photo must reach the readers)."""
        sha = hashlib.sha256(content).hexdigest()
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(faces.delete().where(faces.c.user_id == user_id))
            conn.execute(faces.insert().values(user_id=user_id, content=content, sha256=sha,
                                               updated_at=now))
            conn.execute(people.update().where(people.c.user_id == user_id)
                         .values(version=people.c.version + 1, updated_at=now))
        return sha

    def get_face(self, user_id: str) -> bytes | None:
        """A person's face photo (JPEG), or None."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(faces.c.content).where(faces.c.user_id == user_id)
                                ).scalar_one_or_none()

    def delete_face(self, user_id: str) -> bool:
        """Remove a person's face photo."""
        with self.engine.begin() as conn:
            removed = bool(conn.execute(faces.delete().where(faces.c.user_id == user_id)
                                        ).rowcount)
            if removed:
                conn.execute(people.update().where(people.c.user_id == user_id)
                             .values(version=people.c.version + 1, updated_at=time.time()))
            return removed

    # -- sync status -------------------------------------------------------------------

    def sync_states(self, device_id: int) -> dict[str, SyncRow]:
        """Every person's sync row for one device."""
        with self.engine.connect() as conn:
            return {row.user_id: SyncRow(row.user_id, row.state, row.fingerprint,
                                         row.error_code, row.error)
                    for row in conn.execute(sa.select(sync_status).where(
                        sync_status.c.device_id == device_id))}

    def set_sync(self, device_id: int, rows: Sequence[SyncRow]) -> None:
        """Record outcomes (replacing earlier ones for the same people)."""
        if not rows:
            return
        now = time.time()
        with self.engine.begin() as conn:
            ids = [r.user_id for r in rows]
            for start in range(0, len(ids), 500):
                conn.execute(sync_status.delete().where(
                    sync_status.c.device_id == device_id,
                    sync_status.c.user_id.in_(ids[start:start + 500])))
            conn.execute(sync_status.insert(), [
                {"device_id": device_id, "user_id": r.user_id, "state": r.state,
                 "fingerprint": r.fingerprint, "error_code": r.error_code, "error": r.error,
                 "updated_at": now} for r in rows])

    def forget_sync(self, device_id: int, user_ids: Sequence[str]) -> None:
        """Drop the rows of people no longer on a device."""
        with self.engine.begin() as conn:
            for start in range(0, len(user_ids), 500):
                conn.execute(sync_status.delete().where(
                    sync_status.c.device_id == device_id,
                    sync_status.c.user_id.in_(list(user_ids[start:start + 500]))))

    def sync_list(self, *, device_id: int | None = None, state: str | None = None,
                  user_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Sync rows (device id, user, state, error...), failures first."""
        query = sa.select(sync_status).limit(limit).order_by(
            sa.case((sync_status.c.state == "failed", 0), (sync_status.c.state == "pending", 1),
                    else_=2), sync_status.c.device_id, sync_status.c.user_id)
        if device_id is not None:
            query = query.where(sync_status.c.device_id == device_id)
        if state is not None:
            query = query.where(sync_status.c.state == state)
        if user_id is not None:
            query = query.where(sync_status.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]  # noqa: SLF001

    def sync_counts(self) -> dict[int, dict[str, int]]:
        """Device id -> state -> how many people."""
        out: dict[int, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for device_id, state, count in conn.execute(
                    sa.select(sync_status.c.device_id, sync_status.c.state, sa.func.count())
                    .group_by(sync_status.c.device_id, sync_status.c.state)):
                out.setdefault(device_id, {})[state] = count
        return out

    # -- audit -------------------------------------------------------------------------

    def audit_add(self, *, actor: str, address: str | None, action: str, target: str | None,
                  outcome: str, detail: dict[str, Any] | None = None) -> int:
        """Append one audit entry; returns its id."""
        with self.engine.begin() as conn:
            return int(conn.execute(audit.insert().values(
                at=time.time(), actor=actor, address=address, action=action, target=target,
                outcome=outcome, detail=_encode.encode(detail or {}).decode())
                .returning(audit.c.id)).scalar_one())

    def audit_list(self, *, limit: int = 100, before_id: int | None = None,
                   action: str | None = None, actor: str | None = None,
                   target: str | None = None, since: float | None = None
                   ) -> list[dict[str, Any]]:
        """Audit entries, newest first."""
        query = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit.c.id < before_id)
        if action is not None:
            query = query.where(audit.c.action == action)
        if actor is not None:
            query = query.where(audit.c.actor == actor)
        if target is not None:
            query = query.where(audit.c.target == target)
        if since is not None:
            query = query.where(audit.c.at >= since)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]  # noqa: SLF001
        for row in rows:
            row["detail"] = _decode.decode(row["detail"])
        return rows
