"""The daily schedule's ticks at fixed times: exact ranges, chunks, selections and run keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

from moselle_cin7.automation.plans import (
    BATCH_SIZE_TAG,
    BATCH_TAG,
    PLAN_AFTER_TAG,
    TRIGGER_TAG,
)
from moselle_cin7.automation.ranges import RANGE_END_TAG, RANGE_START_TAG
from moselle_cin7.automation.schedules import daily_cron, daily_sync_schedule
from moselle_cin7.automation.selections import SNAPSHOT_ASSETS, planning_asset_keys
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase, engine_for, ensure_schema
from moselle_cin7.definitions import build_definitions
from moselle_cin7.settings import load_settings

AUCKLAND = ZoneInfo("Pacific/Auckland")
TRANSACTIONS = sorted(
    [
        "cin7_sales_orders",
        "sales_order_lines",
        "cin7_purchase_orders",
        "purchase_orders",
        "cin7_branch_transfers",
        "transfers",
    ]
)


@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'planning.sqlite'}"
    ensure_schema(engine_for(url))
    return url


def definitions(database_url: str) -> dg.Definitions:
    # The schedule never calls Cin7; the resource is only there for the definitions to load.
    unused_cin7 = Cin7Resource(base_url="http://127.0.0.1:9", account_id="-", api_key="-")
    return build_definitions(
        {"planning_db": PlanningDatabase(url=database_url), "cin7": unused_cin7}
    )


def tick(instance, database_url: str, when: datetime):
    defs = definitions(database_url)
    # Closed at once: a context left open ends its resources whenever it is collected.
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=when,
        resources={"planning_db": PlanningDatabase(url=database_url)},
        repository_def=defs.get_repository_def(),
    ) as context:
        return daily_sync_schedule.evaluate_tick(context)


def ranges(result) -> list[tuple[str, str]]:
    return [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests]


def selection(request: dg.RunRequest) -> list[str]:
    return sorted(key.to_user_string() for key in request.asset_selection)


def test_schedule_runs_at_the_sync_time_in_the_account_zone():
    assert daily_cron(load_settings()) == "0 2 * * *"
    assert daily_sync_schedule.execution_timezone == "Pacific/Auckland"
    assert daily_sync_schedule.job_name == "daily_sync"


def test_ninety_complete_days_in_three_chunks(dagster_instance, database_url):
    # 02:00 on 10 March in Auckland is 13:00 on 9 March in UTC: the newest complete day is the
    # local 9 March, not the UTC day before.
    result = tick(dagster_instance, database_url, datetime(2026, 3, 10, 2, 0, tzinfo=AUCKLAND))

    assert ranges(result) == [
        ("2025-12-10", "2026-01-08"),
        ("2026-01-09", "2026-02-07"),
        ("2026-02-08", "2026-03-09"),
    ]
    assert [r.run_key for r in result.run_requests] == [
        "daily-2026-03-09-1",
        "daily-2026-03-09-2",
        "daily-2026-03-09-3",
    ]
    first, second, last = result.run_requests
    # Cin7 has no past snapshots: only the chunk with the newest day reads stock and products.
    assert selection(first) == selection(second) == TRANSACTIONS
    assert selection(last) == sorted([*TRANSACTIONS, *SNAPSHOT_ASSETS])
    # The planning outputs follow once all three have finished (planning_after_sync).
    for request in result.run_requests:
        assert request.tags[PLAN_AFTER_TAG] == "true"
        assert request.tags[BATCH_TAG] == "daily-2026-03-09"
        assert request.tags[BATCH_SIZE_TAG] == "3"
        assert request.tags[TRIGGER_TAG] == "schedule"


def test_the_range_is_clamped_at_the_history_start(dagster_instance, database_url, use_settings):
    use_settings(history_start="2026-02-01")
    result = tick(dagster_instance, database_url, datetime(2026, 3, 10, 2, 0, tzinfo=AUCKLAND))
    assert ranges(result) == [("2026-02-01", "2026-03-02"), ("2026-03-03", "2026-03-09")]


def test_a_tick_late_in_the_evening_still_ends_on_yesterday(dagster_instance, database_url):
    result = tick(dagster_instance, database_url, datetime(2026, 3, 10, 23, 59, tzinfo=AUCKLAND))
    assert ranges(result)[-1][1] == "2026-03-09"


def test_one_chunk_includes_the_planning_outputs(dagster_instance, database_url, use_settings):
    use_settings(schedule={"chunk_days": 90})
    planning = planning_asset_keys(definitions(database_url).get_repository_def())

    result = tick(dagster_instance, database_url, datetime(2026, 3, 10, 2, 0, tzinfo=AUCKLAND))

    assert ranges(result) == [("2025-12-10", "2026-03-09")]
    (request,) = result.run_requests
    assert request.run_key == "daily-2026-03-09-1"
    assert selection(request) == sorted([*TRANSACTIONS, *SNAPSHOT_ASSETS, *planning])
    assert PLAN_AFTER_TAG not in request.tags


def test_spring_forward(dagster_instance, database_url):
    # New Zealand skips 02:00-03:00 on 27 September 2026; the scheduler fires at 03:00 NZDT
    # (14:00 UTC the day before).
    result = tick(dagster_instance, database_url, datetime(2026, 9, 26, 14, 0, tzinfo=UTC))
    assert ranges(result) == [
        ("2026-06-29", "2026-07-28"),
        ("2026-07-29", "2026-08-27"),
        ("2026-08-28", "2026-09-26"),
    ]


def test_a_window_across_the_dst_change_is_one_hour_short(
    dagster_instance, database_url, use_settings
):
    use_settings(lookback_days=7, schedule={"chunk_days": 7})
    result = tick(dagster_instance, database_url, datetime(2026, 9, 30, 2, 0, tzinfo=AUCKLAND))
    assert ranges(result) == [("2026-09-23", "2026-09-29")]
    # The ingestion assets turn the partition window into UTC bounds; the 23-hour day is kept.
    first_utc = datetime(2026, 9, 23, tzinfo=AUCKLAND).astimezone(UTC)
    end_utc = datetime(2026, 9, 30, tzinfo=AUCKLAND).astimezone(UTC)
    assert (first_utc.isoformat(), end_utc.isoformat()) == (
        "2026-09-22T12:00:00+00:00",
        "2026-09-29T11:00:00+00:00",
    )


def test_the_schedule_skips_when_the_budget_is_spent(dagster_instance, database_url):
    # 80% of 5,000 calls for automation = 4,000; 3,998 are spent on the tick's UTC day.
    with engine_for(database_url).begin() as conn:
        conn.execute(
            sa.insert(schema.api_calls).values(
                call_day=date(2026, 3, 9), run_id="earlier", endpoint="SalesOrders", calls=3998
            )
        )
    result = tick(dagster_instance, database_url, datetime(2026, 3, 10, 2, 0, tzinfo=AUCKLAND))

    assert not result.run_requests
    # An empty database: 3 chunks x 3 entities x 1 call, plus branches, products and the stock
    # of the one branch nobody knows yet (1 each).
    assert (
        "an estimated 12 Cin7 calls; 3998 of 4000 allowed on 2026-03-09 (UTC) are spent, 2 left"
        in result.skip_message
    )


def test_the_estimate_follows_the_stored_rows(dagster_instance, database_url):
    rows = [
        {
            "cin7_id": n,
            "partition_day": date(2026, 3, 1),
            "payload": {"id": n},
            "synced_at": datetime(2026, 3, 2, tzinfo=UTC),
            "run_id": "earlier",
        }
        for n in range(1, 601)
    ]
    with engine_for(database_url).begin() as conn:
        conn.execute(sa.insert(schema.raw_sales_orders), rows)
    result = tick(dagster_instance, database_url, datetime(2026, 3, 10, 2, 0, tzinfo=AUCKLAND))
    # 600 sales orders in the newest chunk: two full pages and a short one.
    assert [r.tags["moselle/estimated_api_calls"] for r in result.run_requests] == ["3", "3", "8"]
