"""Finding what changed in Cin7 since the last look, and which partition days that touches.

Cin7 has no webhooks: changes are found by polling ``modifiedDate``. A changed record may have
moved to another day (a backdated invoice date), so both the day it belongs to now and the day it
is stored in are re-synced. The new day alone would move it (rows are stored once, by id), but
only the old day removes a record whose new day cannot be synced (today, still going on, or
before the history start) or that has no day any more (a cleared date, a purged void).

Open purchase orders and in-transit transfers are also re-read by id when they are older than the
lookback window: receiving goods does not reliably move ``modifiedDate``, and the daily sync no
longer reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from moselle_cin7.cin7.client import Cin7Session
from moselle_cin7.cin7.query import ge, in_
from moselle_cin7.db import schema
from moselle_cin7.ingestion.entities import (
    BRANCH_TRANSFERS,
    PURCHASE_ORDERS,
    TRANSACTION_ENTITIES,
    TransactionEntity,
)
from moselle_cin7.mapping.rules import (
    ACTIVE,
    DRAFT,
    local_day,
    purchase_order_status,
    transfer_status,
)
from moselle_cin7.settings import Settings
from moselle_cin7.timeutil import Cin7DateError, format_cin7_filter, parse_cin7_datetime

logger = logging.getLogger(__name__)

# Ids per ``id IN (...)`` query: well under a page (250), and a short URL.
IDS_PER_QUERY = 100
# Ids per SQL ``IN`` list when looking stored rows up (SQLite's parameter limit is far above).
_STORED_CHUNK = 500
OPEN_STATUSES = (ACTIVE, DRAFT)

# What is re-read of an open record: enough to tell its status, its received quantities and its day.
_OPEN_FIELDS: dict[str, tuple[str, ...]] = {
    PURCHASE_ORDERS.name: (
        "id", "createdDate", "modifiedDate", "status", "isVoid", "fullyReceivedDate",
        "lineItems(id,qty,qtyShipped)",
    ),
    # A transfer's state follows its dates alone (Cin7 gives it no status).
    BRANCH_TRANSFERS.name: (
        "id", "createdDate", "modifiedDate", "dispatchedDate", "receivedDate", "lineItems(id,qty)",
    ),
}  # fmt: skip
# The line quantities compared, as requested above.
_LINE_QUANTITIES: dict[str, tuple[str, ...]] = {
    PURCHASE_ORDERS.name: ("qty", "qtyShipped"),
    BRANCH_TRANSFERS.name: ("qty",),
}
_MAPPED_TABLES: dict[str, tuple[sa.Table, str]] = {
    PURCHASE_ORDERS.name: (schema.purchase_orders, "cin7_order_id"),
    BRANCH_TRANSFERS.name: (schema.transfers, "cin7_transfer_id"),
}


@dataclass(frozen=True)
class RecordChange:
    """One Cin7 record whose stored copy is out of date: where it is stored, where it belongs."""

    entity: str
    cin7_id: int
    stored_day: date | None
    current_day: date | None
    reason: str

    def days(self) -> set[date]:
        return {day for day in (self.stored_day, self.current_day) if day is not None}


@dataclass
class ChangeScan:
    """What one poll found."""

    changes: list[RecordChange] = field(default_factory=list)
    # Records seen but already stored as Cin7 has them now (re-seen through the overlap).
    unchanged: int = 0

    def days_by_entity(self, first_day: date, last_day: date) -> dict[str, set[date]]:
        """The partition days to re-sync per entity, within ``[first_day, last_day]``.

        Days after ``last_day`` (today, still going on) are left to the next daily sync; days
        before the history start do not exist as partitions.
        """
        days: dict[str, set[date]] = {}
        for change in self.changes:
            wanted = {day for day in change.days() if first_day <= day <= last_day}
            if wanted:
                days.setdefault(change.entity, set()).update(wanted)
        return days


@dataclass(frozen=True)
class _Stored:
    day: date
    modified: datetime | None
    payload: Mapping[str, Any] | None = None


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite returns stored timestamps without their zone; they were written in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _parsed(value: Any) -> datetime | None:
    try:
        return parse_cin7_datetime(value)
    except Cin7DateError:
        return None


def stored_records(
    engine: Engine, entity: TransactionEntity, ids: Iterable[int], with_payload: bool = False
) -> dict[int, _Stored]:
    """The stored partition day and modifiedDate (and payload) of each id that is stored."""
    table = entity.raw_table
    columns = [table.c.cin7_id, table.c.partition_day, table.c.modified_date]
    if with_payload:
        columns.append(table.c.payload)
    unique_ids = sorted(set(ids))
    stored: dict[int, _Stored] = {}
    with engine.connect() as conn:
        for start in range(0, len(unique_ids), _STORED_CHUNK):
            chunk = unique_ids[start : start + _STORED_CHUNK]
            for row in conn.execute(sa.select(*columns).where(table.c.cin7_id.in_(chunk))):
                stored[int(row[0])] = _Stored(
                    day=_as_date(row[1]),
                    modified=_utc(row[2]),
                    payload=row[3] if with_payload else None,
                )
    return stored


def scan_modified(
    session: Cin7Session, engine: Engine, settings: Settings, since: datetime
) -> ChangeScan:
    """Records of every transaction entity modified at or after ``since`` minus the overlap.

    One query per entity, asking only for the id, the partitioning date and ``modifiedDate``. A
    record already stored with the same day and an equal or newer ``modifiedDate`` is skipped, so
    the overlap does not make the sensor re-sync what it synced on its previous tick.
    """
    overlap = timedelta(minutes=settings.schedule.sensor_overlap_minutes)
    start = since - overlap
    scan = ChangeScan()
    for entity in TRANSACTION_ENTITIES:
        records = session.fetch_all(
            entity.endpoint,
            where=ge("modifiedDate", start),
            fields=("id", entity.date_field, "modifiedDate"),
            label=f"modified since {format_cin7_filter(start)}",
        )
        stored = stored_records(engine, entity, (record["id"] for record in records))
        for record in records:
            current_day, _issue = local_day(record, entity.date_field, settings.timezone)
            modified = _parsed(record.get("modifiedDate"))
            before = stored.get(int(record["id"]))
            if before is None and current_day is None:
                # Never stored and in no day (e.g. a sales order not invoiced yet): nothing to do.
                continue
            if (
                before is not None
                and before.day == current_day
                and modified is not None
                and before.modified is not None
                and before.modified >= modified
            ):
                scan.unchanged += 1
                continue
            scan.changes.append(
                RecordChange(
                    entity=entity.name,
                    cin7_id=int(record["id"]),
                    stored_day=before.day if before else None,
                    current_day=current_day,
                    reason="modified",
                )
            )
    return scan


def open_record_ids(engine: Engine, entity_name: str, older_than: date) -> list[int]:
    """Ids of mapped purchase orders or transfers still Active or Draft, dated before
    ``older_than`` (those the daily lookback no longer reads)."""
    table, id_column = _MAPPED_TABLES[entity_name]
    with engine.connect() as conn:
        ids = conn.execute(
            sa.select(table.c[id_column])
            .where(table.c.status.in_(OPEN_STATUSES), table.c.order_date < older_than)
            .order_by(table.c[id_column])
        ).scalars()
        return [int(cin7_id) for cin7_id in ids]


def _line_quantities(record: Mapping[str, Any], names: tuple[str, ...]) -> list[tuple]:
    lines = [line for line in record.get("lineItems") or [] if isinstance(line, Mapping)]
    return sorted(
        (str(line.get("id")), *(float(line.get(name) or 0) for name in names)) for line in lines
    )


def _open_state(entity_name: str, record: Mapping[str, Any], settings: Settings) -> tuple:
    """What decides an open record's mapped status and open quantity."""
    if entity_name == PURCHASE_ORDERS.name:
        status, _issue = purchase_order_status(record)
    else:
        dispatched, _ = local_day(record, "dispatchedDate", settings.timezone)
        received, _ = local_day(record, "receivedDate", settings.timezone)
        status = transfer_status(dispatched, received)
    return status, _line_quantities(record, _LINE_QUANTITIES[entity_name])


def scan_open_records(
    session: Cin7Session, engine: Engine, settings: Settings, older_than: date
) -> ChangeScan:
    """Re-read by id the open purchase orders and transfers dated before ``older_than``.

    A record whose status, line quantities, day or ``modifiedDate`` differ from the stored copy is
    a change; one that Cin7 no longer returns (voids are purged after about six months) is too,
    so its stored day is re-synced and the record leaves it.
    """
    scan = ChangeScan()
    for entity in (PURCHASE_ORDERS, BRANCH_TRANSFERS):
        ids = open_record_ids(engine, entity.name, older_than)
        if not ids:
            continue
        stored = stored_records(engine, entity, ids, with_payload=True)
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            records = session.fetch_all(
                entity.endpoint,
                where=in_("id", chunk),
                fields=_OPEN_FIELDS[entity.name],
                label=f"{len(chunk)} open records by id",
            )
            seen = set()
            for record in records:
                cin7_id = int(record["id"])
                seen.add(cin7_id)
                before = stored.get(cin7_id)
                if before is None:
                    continue
                current_day, _ = local_day(record, entity.date_field, settings.timezone)
                modified = _parsed(record.get("modifiedDate"))
                differs = (
                    current_day != before.day
                    or (modified is not None and before.modified != modified)
                    or _open_state(entity.name, record, settings)
                    != _open_state(entity.name, before.payload or {}, settings)
                )
                if differs:
                    scan.changes.append(
                        RecordChange(entity.name, cin7_id, before.day, current_day, "open record")
                    )
                else:
                    scan.unchanged += 1
            for cin7_id in sorted(set(chunk) - seen):
                before = stored.get(cin7_id)
                if before is not None:
                    scan.changes.append(
                        RecordChange(entity.name, cin7_id, before.day, None, "no longer in Cin7")
                    )
    return scan


def estimate_poll_calls(engine: Engine, older_than: date) -> int:
    """Calls of one poll: one modified-since query per entity (more pages are rare between
    ticks) and one per ``IDS_PER_QUERY`` open records."""
    open_calls = sum(
        -(-len(open_record_ids(engine, name, older_than)) // IDS_PER_QUERY)
        for name in _MAPPED_TABLES
    )
    return len(TRANSACTION_ENTITIES) + open_calls


@dataclass(frozen=True)
class ChangeCursor:
    """The change sensor's state, kept as JSON in its cursor.

    ``since`` moves only once the changes found since it are stored: a poll that requests runs
    parks its start time in ``pending_until`` with the run keys, and a later tick commits it when
    every run succeeded, or polls again from ``since`` (``attempt`` + 1, so new run keys) when one
    failed or was lost.
    """

    since: datetime | None = None
    attempt: int = 0
    pending_until: datetime | None = None
    pending_keys: tuple[str, ...] = ()

    @property
    def pending(self) -> bool:
        return self.pending_until is not None

    @property
    def batch(self) -> str:
        """The batch name of a poll from this cursor: the same cursor gives the same run keys."""
        assert self.since is not None
        return f"changes-{self.since.astimezone(UTC):%Y%m%dT%H%M%SZ}-a{self.attempt}"

    def committed(self) -> ChangeCursor:
        return ChangeCursor(since=self.pending_until, attempt=0)

    def retried(self) -> ChangeCursor:
        return ChangeCursor(since=self.since, attempt=self.attempt + 1)

    def advanced(self, until: datetime) -> ChangeCursor:
        return ChangeCursor(since=until, attempt=0)

    def waiting_for(self, until: datetime, run_keys: Sequence[str]) -> ChangeCursor:
        return ChangeCursor(
            since=self.since,
            attempt=self.attempt,
            pending_until=until,
            pending_keys=tuple(run_keys),
        )

    def to_json(self) -> str:
        def stamp(moment: datetime | None) -> str | None:
            return moment.astimezone(UTC).isoformat() if moment else None

        return json.dumps(
            {
                "since": stamp(self.since),
                "attempt": self.attempt,
                "pending_until": stamp(self.pending_until),
                "pending_keys": list(self.pending_keys),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> ChangeCursor:
        if not text:
            return cls()
        state = json.loads(text)

        def moment(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value).astimezone(UTC) if value else None

        return cls(
            since=moment(state.get("since")),
            attempt=int(state.get("attempt") or 0),
            pending_until=moment(state.get("pending_until")),
            pending_keys=tuple(state.get("pending_keys") or ()),
        )
