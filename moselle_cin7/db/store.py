"""Writing to the planning database: whole ranges in one transaction, never a half-written day.

A range write deletes the half-open day window ``[first_day, end_day)`` and inserts what Cin7 says
is in it now. Deleting by the window (not by the ids Cin7 returned) matters: a day whose records all
vanished upstream must end up empty, not keep stale rows. Records that moved into the window from
another day are also deleted by key first, so every Cin7 record is stored exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from moselle_cin7.db.postgres import lock_table_for_replace

logger = logging.getLogger(__name__)

# Rows per INSERT statement batch; large enough to amortise round trips, small enough that SQLite's
# bound-parameter limit is never reached by SQLAlchemy's multi-values batching.
INSERT_BATCH_ROWS = 5_000
# SQLite accepts at most 32,766 bound parameters; IN lists are chunked below that.
_IN_CHUNK = 10_000


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Bulk-insert ``rows`` (dicts keyed by column name); returns how many were written.

    Every row must have the keys of the first row; a column that is not among them is left to
    its database default, as with ``table.insert()``.
    """
    if not rows:
        return 0
    bulk_copy = _bulk_copy_for(conn)
    if bulk_copy is not None:
        bulk_copy(conn, table, rows)
        return len(rows)
    if conn.dialect.name == "sqlite":
        names = list(rows[0])
        try:
            columns = [[row[name] for row in rows] for name in names]
        except KeyError as missing:
            raise ValueError(
                f"a row for {table.name} lacks {missing}, which the first row has"
            ) from None
        _sqlite_insert(conn, table, names, columns, len(rows))
        return len(rows)
    for start in range(0, len(rows), INSERT_BATCH_ROWS):
        conn.execute(table.insert(), list(rows[start : start + INSERT_BATCH_ROWS]))
    return len(rows)


def insert_columns(
    conn: Connection,
    table: sa.Table,
    columns: Mapping[str, Sequence[Any]],
    sqlite_ready: Collection[str] = (),
) -> int:
    """Bulk-insert rows given column by column: equal-length sequences of plain Python values.

    Writes what ``insert_rows`` would write for the same rows, without building a dict per row
    first (what makes the difference for the millions of rows of the planning tables).

    ``sqlite_ready`` names columns whose values are already what SQLite stores for their type
    (``'YYYY-MM-DD'`` text for a date, 0 or 1 for a boolean): on SQLite they skip SQLAlchemy's
    per-value conversion, a third of the time of writing a planning table. Other databases take
    the plain values only.
    """
    names = list(columns)
    if not names:
        return 0
    count = len(columns[names[0]])
    if any(len(values) != count for values in columns.values()):
        raise ValueError(f"the columns for {table.name} differ in length")
    if count == 0:
        return 0
    if conn.dialect.name != "sqlite":
        rows = [
            dict(zip(names, row, strict=True))
            for row in zip(*(columns[name] for name in names), strict=True)
        ]
        return insert_rows(conn, table, rows)
    _sqlite_insert(conn, table, names, [columns[name] for name in names], count, sqlite_ready)
    return count


def _sqlite_insert(
    conn: Connection,
    table: sa.Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    count: int,
    ready: Collection[str] = (),
) -> None:
    """One prepared INSERT run over every row by the driver (``executemany``).

    ``table.insert()`` with a list of dicts costs more per row in SQLAlchemy's parameter handling
    than in SQLite itself, which made it the slowest part of writing millions of planning rows.
    Values still go through each column type's own bind processing, so what is stored is exactly
    what ``table.insert()`` would store.
    """
    unknown = sorted(set(names) - set(table.c.keys()))
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    dialect = conn.dialect
    preparer = dialect.identifier_preparer
    statement = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(table.c[name].name) for name in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    processors = [
        None if name in ready else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in names
    ]
    for start in range(0, count, INSERT_BATCH_ROWS):
        end = start + INSERT_BATCH_ROWS
        # Processors see None too: a JSON column stores None as JSON null, as table.insert()
        # does. Column by column: one pass of each processor over the batch.
        batch = [
            values[start:end] if process is None else list(map(process, values[start:end]))
            for values, process in zip(columns, processors, strict=True)
        ]
        conn.exec_driver_sql(statement, list(zip(*batch, strict=True)))


def _bulk_copy_for(conn: Connection):
    """PostgreSQL's COPY path when available (see ``db.postgres``), else ``None``."""
    if conn.dialect.name != "postgresql":
        return None
    try:
        from moselle_cin7.db.postgres import copy_rows
    except ImportError:  # pragma: no cover - the module ships with the package
        return None
    return copy_rows


def delete_keys(conn: Connection, table: sa.Table, key_column: str, keys: Iterable[Any]) -> int:
    """Delete the rows whose ``key_column`` is one of ``keys``; chunked for SQLite's limits."""
    column = table.c[key_column]
    unique_keys = sorted(set(keys))
    deleted = 0
    for start in range(0, len(unique_keys), _IN_CHUNK):
        chunk = unique_keys[start : start + _IN_CHUNK]
        deleted += conn.execute(sa.delete(table).where(column.in_(chunk))).rowcount or 0
    return deleted


def delete_window(
    conn: Connection, table: sa.Table, day_column: str, first_day: date, end_day: date
) -> int:
    """Delete the rows whose day lies in the half-open window ``[first_day, end_day)``."""
    column = table.c[day_column]
    statement = sa.delete(table).where(column >= first_day, column < end_day)
    return conn.execute(statement).rowcount or 0


def replace_window(
    conn: Connection,
    table: sa.Table,
    *,
    day_column: str,
    first_day: date,
    end_day: date,
    rows: Sequence[Mapping[str, Any]],
    key_column: str | None = None,
) -> dict[str, int]:
    """Replace the half-open day window of ``table`` with ``rows``, within the caller's transaction.

    When ``key_column`` is given, rows with the same keys elsewhere (a record whose date moved into
    this window) are deleted too, so each record is stored once, in the day of its current date.
    Concurrent replacements of the same table wait for each other (see ``lock_table_for_replace``).
    """
    lock_table_for_replace(conn, table)
    removed = delete_window(conn, table, day_column, first_day, end_day)
    moved = 0
    if key_column is not None and rows:
        moved = delete_keys(conn, table, key_column, (row[key_column] for row in rows))
    inserted = insert_rows(conn, table, rows)
    return {"deleted": removed, "moved_from_other_days": moved, "inserted": inserted}


def replace_all(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Replace every row of an unpartitioned table, within the caller's transaction."""
    clear_table(conn, table)
    return insert_rows(conn, table, rows)


def clear_table(conn: Connection, table: sa.Table) -> None:
    """Empty an unpartitioned table within the caller's transaction, to refill it in parts.

    Takes the same lock as ``replace_all``, so a concurrent replacement waits for the commit.
    """
    lock_table_for_replace(conn, table)
    conn.execute(sa.delete(table))


def count_rows(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
