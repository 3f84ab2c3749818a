"""COPY bulk loading: awkward values survive the round trip, and COPY stores exactly what an INSERT
of the same rows stores."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from moselle_cin7.db import postgres
from moselle_cin7.db.engine import engine_for
from moselle_cin7.db.schema import Json, UtcTimestamp
from moselle_cin7.db.store import insert_rows

pytestmark = pytest.mark.postgres

NZDT = timezone(timedelta(hours=13))


def _awkward_table(name: str, meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        meta,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text),
        sa.Column("code", sa.String(100)),
        sa.Column("payload", Json),
        sa.Column("flag", sa.Boolean),
        sa.Column("day", sa.Date),
        sa.Column("stamp", UtcTimestamp),
        sa.Column("amount", sa.Float),
        sa.Column("status", sa.String(20), default="Active"),
    )


AWKWARD_ROWS = [
    {
        "id": 1,
        "note": 'He said "hi", then left,\tlater;\nsecond line\r\nthird \\N and C:\\temp\\new',
        "code": "Māori \u2013 ☃ 🧥 ß",
        "payload": {
            "quote": 'a "quoted" word',
            "backslash": "C:\\path\\to",
            "newline": "line1\nline2\ttab",
            "unicode": "Ōtautahi 🧥",
            "nested": [1, 2.5, None, True, {"empty": ""}],
        },
        "flag": True,
        "day": date(2024, 2, 29),
        "stamp": datetime(2024, 3, 1, 0, 10, tzinfo=NZDT),
        "amount": 1e-300,
    },
    {
        "id": 2,
        "note": None,
        "code": "",
        "payload": None,
        "flag": None,
        "day": None,
        "stamp": None,
        "amount": None,
    },
    {
        # A lone "\." line ends COPY's data in text format; quoted CSV must keep it as a value.
        "id": 3,
        "note": "\\.",
        "code": "NULL",
        "payload": 'just a JSON string, with "quotes" and a \\ backslash',
        "flag": False,
        "day": date(1999, 12, 31),
        "stamp": datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        "amount": -2.5e-10,
    },
    {
        "id": 4,
        "note": 'first line\n\\.\n"last" line',
        "code": '"',
        "payload": [],
        "flag": True,
        "day": date(2024, 1, 1),
        "stamp": datetime(2024, 1, 1, tzinfo=UTC),
        "amount": math.inf,
    },
]


@pytest.fixture
def engine(planning_url) -> sa.Engine:
    return engine_for(planning_url)


@pytest.fixture
def tables(engine) -> tuple[sa.Table, sa.Table]:
    meta = sa.MetaData()
    copied, inserted = _awkward_table("copied", meta), _awkward_table("inserted", meta)
    meta.create_all(engine)
    return copied, inserted


def test_awkward_values_round_trip(engine, tables):
    copied, _ = tables
    with engine.begin() as conn:
        assert postgres.copy_rows(conn, copied, AWKWARD_ROWS) == 4

    with engine.connect() as conn:
        stored = [dict(row._mapping) for row in conn.execute(sa.select(copied).order_by("id"))]

    for expected, row in zip(AWKWARD_ROWS, stored, strict=True):
        assert row == {**expected, "status": "Active"}
    assert stored[0]["stamp"] == datetime(2024, 2, 29, 11, 10, tzinfo=UTC)
    assert stored[1]["code"] == ""  # an empty string stays an empty string, not NULL
    assert stored[1]["note"] is None


def test_copy_stores_exactly_what_insert_stores(engine, tables):
    copied, inserted = tables
    with engine.begin() as conn:
        postgres.copy_rows(conn, copied, AWKWARD_ROWS)
        conn.execute(inserted.insert(), AWKWARD_ROWS)

    def as_text(table: sa.Table) -> list[tuple]:
        # The server's own text of every value, and whether it is SQL NULL: no Python decoding.
        columns = [sa.cast(column, sa.Text) for column in table.c]
        nulls = [column.is_(None) for column in table.c]
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.select(*columns, *nulls).order_by("id"))]

    assert as_text(copied) == as_text(inserted)
    # As with INSERT, None in a JSON column is JSON null, not SQL NULL.
    with engine.connect() as conn:
        payload = conn.execute(
            sa.text("SELECT payload::text FROM copied WHERE id = 2")
        ).scalar_one()
    assert payload == "null"


def test_copy_joins_the_callers_transaction(engine, tables):
    copied, _ = tables
    with engine.connect() as conn:
        with conn.begin() as transaction:
            insert_rows(conn, copied, AWKWARD_ROWS)
            assert conn.execute(sa.select(sa.func.count()).select_from(copied)).scalar_one() == 4
            transaction.rollback()
        assert conn.execute(sa.select(sa.func.count()).select_from(copied)).scalar_one() == 0


def test_many_rows_stream_in_small_reads(engine, tables, monkeypatch):
    copied, _ = tables
    # Reads far smaller than a row, cutting rows (and multi-byte characters' rows) anywhere.
    monkeypatch.setattr(postgres, "COPY_READ_BYTES", 7)
    rows = [
        {"id": n, "note": f"row {n} ☃\n", "payload": {"n": n}, "amount": n / 3} for n in range(3000)
    ]
    with engine.begin() as conn:
        postgres.copy_rows(conn, copied, rows)

    with engine.connect() as conn:
        count, total, last = conn.execute(
            sa.text("SELECT count(*), sum(id), max(note) FROM copied")
        ).one()
    assert (count, total) == (3000, 3000 * 2999 // 2)
    assert last == "row 999 ☃\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": 1, "note": "nul\x00byte"}, "NUL character"),
        ({"id": 1, "stamp": datetime(2024, 1, 1, 12, 0)}, "naive datetime"),
        ({"id": 1, "colour": "red"}, "has no column"),
    ],
)
def test_values_postgres_cannot_take_are_refused_with_the_column(engine, tables, row, message):
    copied, _ = tables
    with engine.begin() as conn, pytest.raises(ValueError, match=message):
        postgres.copy_rows(conn, copied, [row])


def test_a_row_missing_a_key_of_the_first_row_is_refused(engine, tables):
    copied, _ = tables
    with engine.begin() as conn, pytest.raises(ValueError, match="row 1 for copied lacks 'note'"):
        postgres.copy_rows(conn, copied, [{"id": 1, "note": "a"}, {"id": 2}])
