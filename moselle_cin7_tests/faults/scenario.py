"""Helpers of the fault tests: a small account that spans several pages, a fast client, and ways
to read what a run stored, how its steps ended and what they said.

Every read is paged two records at a time (``page_size=2``), so "a failure after the first page"
is a real mid-scan failure. The sandbox has no rate limits and the client no pacing: the tests
measure behaviour, not Cin7's speed.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from moselle_cin7.db.engine import engine_for
from moselle_cin7.sandbox import SandboxAccount, SandboxServer
from moselle_cin7_tests.support import (
    ALLOCATION,
    AUCKLAND,
    CHRISTCHURCH,
    Harness,
    branches,
    day,
    line,
    local_stamp,
    product,
    purchase_order,
    sales_order,
    stock_row,
)

# A client that retries at once and never waits for a rate window.
FAST_CIN7: dict[str, Any] = {
    "calls_per_second": 10_000,
    "calls_per_minute": 1_000_000,
    "page_size": 2,
    "backoff_seconds": 0.01,
    "max_backoff_seconds": 0.05,
    "timeout_seconds": 5,
}

SALES = dg.AssetSelection.assets("cin7_sales_orders", "sales_order_lines")
TRANSACTIONS = SALES | dg.AssetSelection.assets(
    "cin7_purchase_orders", "purchase_orders", "cin7_branch_transfers", "transfers"
)

# The day range most tests sync, inclusive, and the ids it holds (worked out from the account).
FIRST, LAST = day(12), day(0)
SALES_ORDER_IDS = [101, 102, 103, 104, 105, 106, 107]
# SO-106 is awaiting payment: its line is not sales history.
SALES_LINE_IDS = [9101, 9102, 9103, 9104, 9105, 9106, 9108]
PURCHASE_ORDER_IDS = [201, 202, 203]
TRANSFER_IDS = [301, 302]

# Primary-key order of the tables the tests compare.
TABLE_ORDER = {
    "raw_sales_orders": "cin7_id",
    "raw_purchase_orders": "cin7_id",
    "raw_branch_transfers": "cin7_id",
    "raw_products": "partition_day,cin7_id",
    "raw_stock": "partition_day,product_option_id,branch_id",
    "raw_branches": "cin7_id",
    "sales_order_lines": "cin7_line_id",
    "purchase_orders": "cin7_order_id",
    "purchase_order_lines": "cin7_line_id",
    "transfers": "cin7_transfer_id",
    "transfer_lines": "cin7_line_id",
    "inventory": "snapshot_date,cin7_option_id,warehouse_id",
    "products": "cin7_option_id",
    "warehouses": "warehouse_id",
    "sync_state": "entity",
}
RAW_TABLE_OF_STEP = {
    "cin7_sales_orders": "raw_sales_orders",
    "cin7_purchase_orders": "raw_purchase_orders",
    "cin7_branch_transfers": "raw_branch_transfers",
}
MAPPED_TABLES_OF_STEP = {
    "sales_order_lines": ("sales_order_lines",),
    "purchase_orders": ("purchase_orders", "purchase_order_lines"),
    "transfers": ("transfers", "transfer_lines"),
}
# Columns that say when and by which run a row was written, not what it holds.
RUN_COLUMNS = frozenset({"synced_at", "run_id", "mapped_at", "last_success_at"})


def branch_transfer(transfer_id: int, reference: str, created: date, lines, **extra) -> dict:
    return {
        "id": transfer_id,
        "reference": reference,
        "createdDate": local_stamp(created),
        "modifiedDate": local_stamp(created),
        "isApproved": True,
        "sourceBranchId": AUCKLAND,
        "destinationBranchId": CHRISTCHURCH,
        "dispatchedDate": None,
        "receivedDate": None,
        "stage": "",
        "customFields": {},
        "lineItems": lines,
        **extra,
    }


def fault_account() -> SandboxAccount:
    """Seven sales orders, three purchase orders and two transfers in ``[FIRST, LAST]``.

    Paged two at a time, the sales orders of the range take four calls ([101, 102], [103, 104],
    [105, 106], [107]); SO-110 lies outside the range.
    """
    return SandboxAccount(
        records={
            "Branches": branches(),
            "Products": [
                product(1, "Trail Jacket", "Outerwear", "JKT-S", "JKT-M"),
                product(2, "Wool Beanie", "Accessories", "BEANIE"),
            ],
            "SalesOrders": [
                sales_order("SO-101", day(6), [line("JKT-S", 2, id=9101)], id=101),
                sales_order(
                    "SO-102", day(5), [line("JKT-M", 1, id=9102), line("BEANIE", 3, id=9103)],
                    id=102,
                ),
                sales_order("SO-103", day(5), [line("BEANIE", 1, id=9104)], id=103),
                sales_order("SO-104", day(4), [line("JKT-S", 4, id=9105)], id=104),
                sales_order(
                    "SO-105", day(3), [line("JKT-M", 2, id=9106)], branch_id=CHRISTCHURCH,
                    id=105,
                ),
                sales_order(
                    "SO-106", day(2), [line("JKT-S", 1, id=9107)], stage="Awaiting Payment",
                    id=106,
                ),
                sales_order("SO-107", day(1), [line("BEANIE", 5, id=9108)], id=107),
                sales_order("SO-110", day(30), [line("JKT-S", 1, id=9110)], id=110),
            ],
            "PurchaseOrders": [
                purchase_order(201, "PO-201", day(8), [line("JKT-S", 10, id=9201)]),
                purchase_order(202, "PO-202", day(7), [line("JKT-M", 5, id=9202)]),
                purchase_order(203, "PO-203", day(2), [line("BEANIE", 6, id=9203)]),
            ],
            "BranchTransfers": [
                branch_transfer(301, "TR-301", day(4), [line("JKT-M", 2, id=9301)]),
                branch_transfer(
                    302, "TR-302", day(3), [line("BEANIE", 1, id=9302)],
                    dispatchedDate=local_stamp(day(2)),
                ),
            ],
            "Stock": [
                stock_row(11, "JKT-S", AUCKLAND, stockOnHand=12, openSales=2),
                stock_row(12, "JKT-M", AUCKLAND, stockOnHand=5),
                stock_row(21, "BEANIE", CHRISTCHURCH, stockOnHand=7),
                stock_row(11, "JKT-S", ALLOCATION, stockOnHand=0),
            ],
        }
    )  # fmt: skip


def fast_harness(tmp_path, instance, account: SandboxAccount, **overrides: Any) -> Harness:
    """A harness over ``account`` whose client is ``FAST_CIN7`` plus ``overrides``."""
    return Harness(
        tmp_path=tmp_path,
        account=account,
        instance=instance,
        cin7_overrides={**FAST_CIN7, **overrides},
    )


def window_label(date_field: str, first: date = FIRST, last: date = LAST) -> str:
    """How the raw assets name an inclusive day range ``[first, last]`` in logs and errors."""
    return f"{date_field} days [{first}, {last + timedelta(days=1)})"


def table_rows(harness: Harness, table: str) -> list[dict[str, Any]]:
    """Every row of ``table``, all columns, in primary-key order."""
    return harness.rows(table, order_by=TABLE_ORDER[table])


def content(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the columns that only say which run wrote them."""
    return [{k: v for k, v in row.items() if k not in RUN_COLUMNS} for row in rows]


def ids(harness: Harness, table: str, column: str) -> list[int]:
    return [row[column] for row in table_rows(harness, table)]


def step_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Each failed step's error, with every cause Dagster wrapped around it."""
    messages = {}
    for event in result.all_events:
        if event.is_step_failure:
            error, text = event.event_specific_data.error, []
            while error is not None:
                text.append(error.message)
                error = error.cause
            messages[event.step_key] = "\n".join(text)
    return messages


def step_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """``success``, ``failure`` or ``skipped`` for every step the run planned."""
    outcomes = {}
    for event in result.all_events:
        if event.is_step_success:
            outcomes[event.step_key] = "success"
        elif event.is_step_failure:
            outcomes[event.step_key] = "failure"
        elif event.is_step_skipped:
            outcomes[event.step_key] = "skipped"
    return outcomes


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values of ``asset``'s materialization in this run."""
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == dg.AssetKey(asset):
            return {key: entry.value for key, entry in materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def settled_log(server: SandboxServer, endpoint: str | None = None) -> list[Any]:
    """The sandbox's request log once it stopped growing.

    The sandbox logs a call just before sending the answer; a client may hold its answer a moment
    before the entry of a concurrent call exists, so wait briefly for the log to settle.
    """
    deadline = time.monotonic() + 2.0
    entries = server.request_log
    while time.monotonic() < deadline:
        time.sleep(0.02)
        latest = server.request_log
        if len(latest) == len(entries):
            break
        entries = latest
    return [entry for entry in entries if endpoint is None or entry.endpoint == endpoint]


def api_calls_of_run(harness: Harness, run_id: str) -> dict[str, int]:
    """What the ``api_calls`` ledger holds for one run, by endpoint."""
    engine = engine_for(harness.database_url)
    table = sa.Table("api_calls", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.endpoint, sa.func.sum(table.c.calls))
            .where(table.c.run_id == run_id)
            .group_by(table.c.endpoint)
        ).all()
    return {endpoint: int(calls) for endpoint, calls in rows}
