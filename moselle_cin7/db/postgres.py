"""PostgreSQL specifics of the planning database: COPY bulk loading and per-table write locks.

Nothing here imports a PostgreSQL driver: COPY goes through the psycopg2 connection that
SQLAlchemy already holds, so the module is importable (and a no-op) on SQLite.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

logger = logging.getLogger(__name__)

# How much CSV text is handed to the driver per read: large enough to keep COPY streaming, small
# enough that a million-row window never has to exist as one string.
COPY_READ_BYTES = 1 << 20

# Namespaces the advisory-lock keys of this project, so they cannot collide with the keys another
# application on the same server derives from the same table names.
_LOCK_NAMESPACE = "moselle_cin7"


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` derived from ``name``.

    Python's ``hash()`` is salted per process, so two runs would lock different keys; a digest is
    the same in every process and on every machine.
    """
    digest = hashlib.blake2b(f"{_LOCK_NAMESPACE}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_table_for_replace(conn: Connection, table: sa.Table) -> None:
    """Serialise window replacements of ``table`` across runs, until the transaction ends.

    Two runs replacing the same window under READ COMMITTED would each delete what they can see
    (not the other's uncommitted rows) and both insert: the window would end with both row sets,
    or one run would fail on the primary key. With this lock the second run waits, then deletes
    the first run's committed rows, so the window holds exactly one run's rows.

    An advisory lock (not ``LOCK TABLE``) leaves readers, autovacuum and unrelated writers alone.
    It is released at commit or rollback. No-op on SQLite, whose writers are serialised anyway.
    Callers that read before they write (mapping reads raw rows) may call this first themselves so
    that what they read cannot change underneath them; taking it again is harmless.
    """
    if conn.dialect.name != "postgresql":
        return
    key = advisory_lock_key(f"replace:{table.fullname}")
    if conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key))).scalar_one():
        return
    logger.info("Waiting for another run that is writing %s to commit", table.fullname)
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def copy_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Bulk-load ``rows`` into ``table`` with ``COPY ... FROM STDIN``, in the caller's transaction.

    Each value goes through the same SQLAlchemy type processing as an INSERT would (JSON columns
    are serialised by the engine's JSON serializer, and ``None`` in a JSON column becomes JSON
    ``null`` exactly as with INSERT), then is written as a quoted CSV field, so quotes,
    backslashes, tabs, newlines and ``\\.`` lines need no escaping of their own. SQL NULL is the
    only unquoted empty field. Every row must have the keys of the first row.

    Returns the number of rows written. Falls back to INSERT on drivers without ``copy_expert``.
    """
    if not rows:
        return 0
    if not conn.in_transaction():
        # As any statement would (SQLAlchemy's autobegin), so the caller's commit covers the COPY.
        conn.begin()
    dbapi_connection = conn.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    if not hasattr(cursor, "copy_expert"):
        cursor.close()
        logger.warning("Driver %s has no COPY support; inserting instead", conn.dialect.driver)
        conn.execute(table.insert(), list(rows))
        return len(rows)

    columns = _copy_columns(table, rows[0])
    encoders = [_field_encoder(conn, column) for column in columns]
    names = [column.name for column in columns]
    preparer = conn.dialect.identifier_preparer
    statement = (
        f"COPY {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(name) for name in names)}) FROM STDIN WITH (FORMAT csv)"
    )
    stream = _TextStream(_csv_lines(rows, columns, encoders))
    try:
        cursor.copy_expert(statement, stream, size=COPY_READ_BYTES)
    except Exception:
        # The driver reports a failure inside read() as a cancelled COPY; raise the cause instead.
        if stream.error is not None:
            raise stream.error from None
        raise
    finally:
        cursor.close()
    return len(rows)


def _copy_columns(table: sa.Table, first_row: Mapping[str, Any]) -> list[sa.Column]:
    """The columns of the first row's keys, plus those filled by a Python-side default."""
    unknown = sorted(set(first_row) - set(table.c.keys()))
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    # Columns without a value or a Python-side default (server defaults, serial keys) are left out
    # for PostgreSQL to fill, as INSERT would.
    return [column for column in table.c if column.key in first_row or _has_python_default(column)]


def _has_python_default(column: sa.Column) -> bool:
    default = column.default
    return default is not None and (
        getattr(default, "is_scalar", False) or getattr(default, "is_callable", False)
    )


def _field_encoder(conn: Connection, column: sa.Column) -> Callable[[Any], str]:
    """Python value -> CSV field text, through the column type's own bind processing."""
    dialect = conn.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    aware_required = isinstance(column.type, sa.DateTime) and bool(column.type.timezone)
    where = f"{column.table.name}.{column.name}"

    def encode(value: Any) -> str:
        if process is not None:
            value = process(value)
        if value is None:
            return ""
        if aware_required and isinstance(value, datetime) and value.utcoffset() is None:
            # PostgreSQL would read a naive value in the session's time zone: refuse the guess.
            raise ValueError(f"{where}: naive datetime {value!r} for a timestamp with time zone")
        text = _text_for(value)
        if "\x00" in text:
            raise ValueError(f"{where}: PostgreSQL text cannot hold a NUL character")
        return '"' + text.replace('"', '""') + '"'

    return encode


def _text_for(value: Any) -> str:
    """PostgreSQL's input syntax for one DBAPI value (after SQLAlchemy's processing)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "t" if value else "f"
    if isinstance(value, int | Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, float):
        # repr round-trips a double exactly; PostgreSQL reads "inf", "-inf" and "nan" too.
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _csv_lines(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[sa.Column],
    encoders: Sequence[Callable[[Any], str]],
) -> Iterator[str]:
    defaults = {column.key: column.default for column in columns if column.key not in rows[0]}
    for index, row in enumerate(rows):
        fields = []
        for column, encode in zip(columns, encoders, strict=True):
            if column.key in row:
                value = row[column.key]
            elif column.key in defaults:
                # SQLAlchemy wraps a zero-argument default so that it takes the execution context.
                default = defaults[column.key]
                value = default.arg(None) if default.is_callable else default.arg
            else:
                raise ValueError(
                    f"row {index} for {column.table.name} lacks {column.key!r}, "
                    "which the first row has"
                )
            fields.append(encode(value))
        yield ",".join(fields) + "\n"


class _TextStream:
    """A read-only file over an iterator of text lines, as ``copy_expert`` wants one."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pending = ""
        self.error: Exception | None = None

    def read(self, size: int = -1) -> str:
        try:
            return self._read(size)
        except Exception as error:
            self.error = error
            raise

    def _read(self, size: int) -> str:
        parts = [self._pending]
        length = len(self._pending)
        for line in self._lines:
            parts.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        text = "".join(parts)
        if 0 <= size < len(text):
            text, self._pending = text[:size], text[size:]
        else:
            self._pending = ""
        return text
