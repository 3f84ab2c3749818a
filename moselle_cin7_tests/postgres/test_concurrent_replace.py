"""Two writers replacing the same day window at once end with exactly one writer's rows."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from moselle_cin7.db.engine import engine_for
from moselle_cin7.db.migrate import upgrade_to_head
from moselle_cin7.db.schema import raw_sales_orders
from moselle_cin7.db.store import replace_all, replace_window

pytestmark = pytest.mark.postgres

FIRST_DAY, END_DAY = date(2024, 3, 1), date(2024, 3, 4)  # the half-open window [1 Mar, 4 Mar)


def _orders(run_id: str, *ids_and_days: tuple[int, date]) -> list[dict]:
    return [
        {
            "cin7_id": cin7_id,
            "partition_day": day,
            "modified_date": datetime(2024, 3, 5, tzinfo=UTC),
            "payload": {"id": cin7_id, "run": run_id},
            "synced_at": datetime(2024, 3, 5, tzinfo=UTC),
            "run_id": run_id,
        }
        for cin7_id, day in ids_and_days
    ]


# Overlapping ids (102) and ids only one run has: a union of the two would show at once.
FIRST_RUN = _orders("first", (101, date(2024, 3, 1)), (102, date(2024, 3, 2)))
SECOND_RUN = _orders("second", (102, date(2024, 3, 3)), (103, date(2024, 3, 3)))


@pytest.fixture
def engine(planning_url) -> sa.Engine:
    engine = engine_for(planning_url)
    upgrade_to_head(engine)
    return engine


def _stored(engine: sa.Engine) -> list[tuple[int, date, str]]:
    query = sa.select(
        raw_sales_orders.c.cin7_id, raw_sales_orders.c.partition_day, raw_sales_orders.c.run_id
    ).order_by(raw_sales_orders.c.cin7_id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _replace(engine: sa.Engine, rows: list[dict]) -> None:
    with engine.begin() as conn:
        replace_window(
            conn,
            raw_sales_orders,
            day_column="partition_day",
            first_day=FIRST_DAY,
            end_day=END_DAY,
            rows=rows,
            key_column="cin7_id",
        )


def _waiting_on_advisory_lock(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event = 'advisory'"
            )
        ).scalar_one()


def test_a_second_writer_waits_and_replaces_the_first_writers_rows(engine):
    first_wrote = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def first_writer() -> None:
        try:
            with engine.begin() as conn:
                replace_window(
                    conn,
                    raw_sales_orders,
                    day_column="partition_day",
                    first_day=FIRST_DAY,
                    end_day=END_DAY,
                    rows=FIRST_RUN,
                    key_column="cin7_id",
                )
                first_wrote.set()
                release_first.wait(timeout=20)
        except BaseException as error:
            errors.append(error)
            first_wrote.set()

    def second_writer() -> None:
        try:
            _replace(engine, SECOND_RUN)
        except BaseException as error:
            errors.append(error)

    first = threading.Thread(target=first_writer)
    first.start()
    assert first_wrote.wait(timeout=20)
    second = threading.Thread(target=second_writer)
    second.start()

    # The second writer blocks on the first one's lock while the first transaction is open.
    deadline = time.monotonic() + 10
    while _waiting_on_advisory_lock(engine) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting_on_advisory_lock(engine) == 1
    assert second.is_alive()

    release_first.set()
    first.join(timeout=20)
    second.join(timeout=20)

    assert errors == []
    assert _stored(engine) == [
        (102, date(2024, 3, 3), "second"),
        (103, date(2024, 3, 3), "second"),
    ]


def test_writers_started_together_leave_exactly_one_row_set(engine):
    expected = {
        "first": [(101, date(2024, 3, 1), "first"), (102, date(2024, 3, 2), "first")],
        "second": [(102, date(2024, 3, 3), "second"), (103, date(2024, 3, 3), "second")],
    }
    for _ in range(10):
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def writer(rows: list[dict], start: threading.Barrier = start, errors=errors) -> None:
            try:
                start.wait(timeout=20)
                _replace(engine, rows)
            except BaseException as error:
                errors.append(error)

        threads = [
            threading.Thread(target=writer, args=(rows,)) for rows in (FIRST_RUN, SECOND_RUN)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert errors == []
        assert _stored(engine) in (expected["first"], expected["second"])


def test_replace_all_takes_the_same_lock(engine):
    # While one transaction replaces the branches, another cannot start replacing them too.
    from moselle_cin7.db.postgres import advisory_lock_key
    from moselle_cin7.db.schema import raw_branches

    with engine.begin() as conn:
        replace_all(conn, raw_branches, [])
        with engine.connect() as other:
            taken = other.execute(
                sa.select(
                    sa.func.pg_try_advisory_xact_lock(advisory_lock_key("replace:raw_branches"))
                )
            ).scalar_one()
            other.rollback()
    assert taken is False
