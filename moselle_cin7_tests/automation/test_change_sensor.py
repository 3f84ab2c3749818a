"""The change sensor on the sandbox: backdated orders, old open orders, its cursor and budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from moselle_cin7.automation.changes import ChangeCursor
from moselle_cin7.automation.plans import BATCH_TAG, PLAN_AFTER_TAG, REQUEST_KEY_TAG
from moselle_cin7.automation.ranges import RANGE_END_TAG, RANGE_START_TAG
from moselle_cin7.automation.selections import planning_asset_keys
from moselle_cin7.automation.sensors import cin7_change_sensor
from moselle_cin7.db import schema
from moselle_cin7.db.engine import engine_for
from moselle_cin7.definitions import build_definitions
from moselle_cin7_tests.automation.accounts import execute_requests, selected, stamp_now
from moselle_cin7_tests.support import day, line, local_stamp


def since_a_minute_ago() -> ChangeCursor:
    return ChangeCursor(since=datetime.now(UTC) - timedelta(minutes=1))


def tick(harness, cursor: ChangeCursor | str | None):
    resources = harness.resources()
    # Closed at once: a context left open ends its resources whenever it is collected.
    with dg.build_sensor_context(
        instance=harness.instance,
        cursor=cursor.to_json() if isinstance(cursor, ChangeCursor) else cursor,
        definitions=build_definitions(resources),
        resources=resources,
    ) as context:
        return cin7_change_sensor.evaluate_tick(context)


def day_ranges(result) -> list[tuple[date, date]]:
    return [
        (date.fromisoformat(r.tags[RANGE_START_TAG]), date.fromisoformat(r.tags[RANGE_END_TAG]))
        for r in result.run_requests
    ]


def test_before_any_sync_the_first_tick_starts_from_now(harness):
    before = datetime.now(UTC)
    fresh = ChangeCursor.from_json(tick(harness, None).cursor)
    assert fresh.since >= before
    assert harness.server.request_log == []


def test_the_first_tick_starts_from_the_last_sync_without_calling_cin7(synced):
    # From the oldest last success of the three entities, so nothing changed since is missed.
    started = ChangeCursor.from_json(tick(synced, None).cursor)
    with engine_for(synced.database_url).connect() as conn:
        oldest = conn.execute(
            sa.select(sa.func.min(schema.sync_state.c.last_success_at)).where(
                schema.sync_state.c.entity.in_(
                    ["sales_orders", "purchase_orders", "branch_transfers"]
                )
            )
        ).scalar()
    assert started.since == oldest.replace(tzinfo=UTC)
    assert not started.pending
    assert synced.server.request_log == []


def test_a_backdated_order_moves_to_its_new_day(synced):
    harness, cursor = synced, since_a_minute_ago()
    harness.server.account.update(
        "SalesOrders", 101, invoiceDate=local_stamp(day(200)), modifiedDate=stamp_now()
    )

    result = tick(harness, cursor)

    # Exactly the day it left and the day it moved to, 200 days back, one run each.
    assert day_ranges(result) == [(day(200), day(200)), (day(2), day(2))]
    assert [r.run_key for r in result.run_requests] == [f"{cursor.batch}-1", f"{cursor.batch}-2"]
    for request in result.run_requests:
        assert selected(request) == ["cin7_sales_orders", "sales_order_lines"]
        assert request.tags[PLAN_AFTER_TAG] == "true"
        assert request.tags[BATCH_TAG] == cursor.batch
    # One cheap query per entity, plus the open orders older than the window by id.
    polls = [(entry.endpoint, entry.params.get("fields")) for entry in harness.server.request_log]
    assert polls == [
        ("SalesOrders", "id,invoiceDate,modifiedDate"),
        ("PurchaseOrders", "id,createdDate,modifiedDate"),
        ("BranchTransfers", "id,createdDate,modifiedDate"),
        (
            "PurchaseOrders",
            "id,createdDate,modifiedDate,status,isVoid,fullyReceivedDate,lineItems(id,qty,qtyShipped)",
        ),
        (
            "BranchTransfers",
            "id,createdDate,modifiedDate,dispatchedDate,receivedDate,lineItems(id,qty)",
        ),
    ]
    # The cursor waits for the runs before it moves.
    waiting = ChangeCursor.from_json(result.cursor)
    assert waiting.since == cursor.since
    assert waiting.pending_keys == (f"{cursor.batch}-1", f"{cursor.batch}-2")

    assert all(run.success for run in execute_requests(harness, result.run_requests))
    raw = [row for row in harness.rows("raw_sales_orders") if row["cin7_id"] == 101]
    assert [row["partition_day"] for row in raw] == [day(200)]
    lines = [row for row in harness.rows("sales_order_lines") if row["cin7_order_id"] == 101]
    assert [(row["cin7_line_id"], row["order_date"]) for row in lines] == [(9001, day(200))]

    # Next tick: the runs succeeded, so the cursor moves on; the order is seen again through the
    # overlap but is stored as Cin7 has it, so nothing more is requested.
    after = tick(harness, result.cursor)
    assert not after.run_requests
    assert "0 changed records, 3 already stored" in after.skip_message
    moved = ChangeCursor.from_json(after.cursor)
    assert moved.since > cursor.since and not moved.pending


def test_old_open_orders_received_without_a_new_modified_date(synced):
    harness, cursor = synced, since_a_minute_ago()
    assert {r["order_number"]: r["status"] for r in harness.rows("purchase_orders")} == {
        "PO-OLD": "Active",
        "PO-DONE": "Delivered",
        "PO-NEW": "Active",
    }
    # Received in Cin7 150 days after they were raised; modifiedDate left as it was.
    harness.server.account.update(
        "PurchaseOrders",
        201,
        fullyReceivedDate=local_stamp(day(0)),
        lineItems=[line("JKT-S", 10, shipped=10, id=9201)],
    )
    harness.server.account.update("BranchTransfers", 301, receivedDate=local_stamp(day(1)))

    result = tick(harness, cursor)

    # One run: both records are on the same day.
    (request,) = result.run_requests
    assert day_ranges(result) == [(day(150), day(150))]
    assert set(selected(request)) >= {
        "cin7_purchase_orders",
        "purchase_orders",
        "cin7_branch_transfers",
        "transfers",
    }
    assert all(run.success for run in execute_requests(harness, result.run_requests))
    statuses = {r["order_number"]: r["status"] for r in harness.rows("purchase_orders")}
    assert statuses["PO-OLD"] == "Delivered"
    assert {r["order_number"]: r["status"] for r in harness.rows("transfers")}["TR-OLD"] == (
        "Delivered"
    )


def test_a_single_changed_day_rebuilds_the_planning_outputs_in_its_run(synced):
    harness, cursor = synced, since_a_minute_ago()
    harness.server.account.update("SalesOrders", 103, modifiedDate=stamp_now())
    result = tick(harness, cursor)

    (request,) = result.run_requests
    planning = planning_asset_keys(build_definitions(harness.resources()).get_repository_def())
    assert selected(request) == sorted(["cin7_sales_orders", "sales_order_lines", *planning])
    assert PLAN_AFTER_TAG not in request.tags


def test_a_failed_run_is_requested_again_under_a_new_key(synced):
    harness, cursor = synced, since_a_minute_ago()
    harness.server.account.update("SalesOrders", 104, modifiedDate=stamp_now())
    first = tick(harness, cursor)
    (request,) = first.run_requests
    assert request.tags[REQUEST_KEY_TAG] == f"{cursor.batch}-1"

    # The run was never launched (or failed): the next tick polls from the same cursor again.
    again = tick(harness, first.cursor)
    (retry,) = again.run_requests
    assert retry.run_key == f"{ChangeCursor(since=cursor.since, attempt=1).batch}-1"
    assert retry.run_key.endswith("-a1-1")
    assert day_ranges(again) == [(day(8), day(8))]


def test_no_poll_when_the_budget_is_spent(synced):
    harness, cursor = synced, since_a_minute_ago()
    with engine_for(harness.database_url).begin() as conn:
        conn.execute(
            sa.insert(schema.api_calls).values(
                call_day=datetime.now(UTC).date(), run_id="other", endpoint="Stock", calls=4000
            )
        )
    result = tick(harness, cursor)
    assert not result.run_requests
    assert "Not polling Cin7" in result.skip_message
    assert harness.server.request_log == []
    assert ChangeCursor.from_json(result.cursor).since == cursor.since
