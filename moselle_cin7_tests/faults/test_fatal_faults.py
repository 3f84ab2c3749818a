"""Faults that end a sync: the run fails with a message naming the endpoint, the window and the
cause, and the range stays exactly as the previous run stored it, down to the run id of each row.

Every case starts from a database holding a good sync of the range, lets the first page of the
sales-order scan succeed and fails a later one, so a sync that wrote as it paged would leave half a
range behind. Between the good run and the failing one Cin7's data changes, so a partial write
could not hide by writing the same rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pytest

from moselle_cin7.sandbox import Fault
from moselle_cin7_tests.faults.scenario import (
    FIRST,
    LAST,
    SALES,
    SALES_LINE_IDS,
    SALES_ORDER_IDS,
    TRANSACTIONS,
    api_calls_of_run,
    ids,
    settled_log,
    step_failures,
    step_outcomes,
    table_rows,
    window_label,
)
from moselle_cin7_tests.support import day, line, local_stamp, sales_order

STORED = ("raw_sales_orders", "sales_order_lines", "sync_state")


@dataclass(frozen=True)
class Case:
    fault: Fault
    # Texts the failure message must hold (besides the endpoint and the window).
    says: tuple[str, ...]
    # Sales-order calls after the first page: one means the failure was not retried.
    calls_after_first_page: int | None = None
    cin7_overrides: dict[str, Any] = field(default_factory=dict)


CASES = {
    "500 through every retry": Case(
        Fault("SalesOrders", "status", status=500, times=None, after=1),
        ("gave up after 6 attempts", "HTTP 500", "An error has occurred"),
        calls_after_first_page=6,
    ),
    "503 through every retry": Case(
        Fault("SalesOrders", "status", status=503, times=None, after=1),
        ("gave up after 6 attempts", "HTTP 503", "temporarily unavailable"),
        calls_after_first_page=6,
    ),
    "no answer within the timeout": Case(
        Fault("SalesOrders", "slow", delay=0.6, times=None, after=1),
        ("gave up after 2 attempts", "no answer within 0.3 s"),
        cin7_overrides={"timeout_seconds": 0.3, "max_retries": 1},
    ),
    "truncated bodies": Case(
        Fault("SalesOrders", "truncated", times=None, after=1),
        ("gave up after 6 attempts", "HTTP 200 with a body that is not JSON"),
        calls_after_first_page=6,
    ),
    "HTML instead of JSON": Case(
        Fault("SalesOrders", "not_json", times=None, after=1),
        ("gave up after 6 attempts", "HTTP 200 with a body that is not JSON"),
        calls_after_first_page=6,
    ),
    "401": Case(
        Fault("SalesOrders", "status", status=401, times=None, after=1),
        ("rejected the credentials (HTTP 401)", "CIN7_ACCOUNT_ID", "CIN7_API_KEY"),
        calls_after_first_page=1,
    ),
    "403": Case(
        Fault("SalesOrders", "status", status=403, times=None, after=1),
        ("lacks Read permission for SalesOrders (HTTP 403)", "credentials are fine"),
        calls_after_first_page=1,
    ),
    "Cin7's daily cap, 429 without Retry-After": Case(
        Fault("SalesOrders", "daily_cap", after=1),
        ("HTTP 429 on all 6 attempts", "daily call cap", "reset time", "run again later"),
        calls_after_first_page=6,
    ),
    "Cin7's daily cap, Retry-After until tomorrow": Case(
        Fault("SalesOrders", "daily_cap", after=1, retry_after=6 * 3600),
        ("Retry-After 21600 s", "daily call cap", "reset time", "run again later"),
        calls_after_first_page=1,
    ),
}


def change_cin7(harness) -> None:
    """What happens in Cin7 between the good run and the failing one."""
    account = harness.account
    account.update("SalesOrders", 103, reference="SO-103-EDITED")
    account.update("SalesOrders", 105, invoiceDate=local_stamp(day(40)))
    account.upsert(
        "SalesOrders", sales_order("SO-108", day(2), [line("JKT-S", 1, id=9111)], id=108)
    )


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_failed_sync_leaves_the_range_as_it_was(synced, case: Case):
    before = {table: table_rows(synced, table) for table in STORED}
    change_cin7(synced)
    synced.cin7_overrides.update(case.cin7_overrides)
    synced.server.faults.add(case.fault)

    result = synced.sync(FIRST, LAST, selection=SALES, raise_on_error=False)

    assert not result.success
    assert step_outcomes(result)["cin7_sales_orders"] == "failure"
    assert "sales_order_lines" not in step_outcomes(result)
    message = step_failures(result)["cin7_sales_orders"]
    assert "SalesOrders" in message
    assert window_label("invoiceDate") in message
    for text in case.says:
        assert text in message
    assert {table: table_rows(synced, table) for table in STORED} == before
    if case.calls_after_first_page is not None:
        assert len(settled_log(synced.server, "SalesOrders")) == 1 + case.calls_after_first_page
        # Failed attempts are spent from the daily budget too.
        assert api_calls_of_run(synced, result.run_id) == {
            "SalesOrders": 1 + case.calls_after_first_page
        }


def test_the_next_run_completes_the_range(synced):
    change_cin7(synced)
    synced.server.faults.add(Fault("SalesOrders", "status", status=503, times=None, after=2))
    assert not synced.sync(FIRST, LAST, selection=SALES, raise_on_error=False).success

    synced.server.faults.clear()
    assert synced.sync(FIRST, LAST, selection=SALES).success

    assert ids(synced, "raw_sales_orders", "cin7_id") == sorted({*SALES_ORDER_IDS, 108} - {105})
    stored = {row["cin7_id"]: row for row in table_rows(synced, "raw_sales_orders")}
    assert stored[103]["payload"]["reference"] == "SO-103-EDITED"
    lines = {row["cin7_line_id"]: row for row in table_rows(synced, "sales_order_lines")}
    assert sorted(lines) == sorted({*SALES_LINE_IDS, 9111} - {9106})
    assert lines[9104]["order_number"] == "SO-103-EDITED"


def test_our_own_budget_stops_the_scan_between_pages(synced):
    """The ledger holds the good run's nine calls (four sales-order pages, two purchase-order
    pages, three transfer calls); with a limit of twelve the session makes two more and stops
    before the call that would reach the limit."""
    before = {table: table_rows(synced, table) for table in STORED}
    change_cin7(synced)
    synced.cin7_overrides["daily_call_limit"] = 12

    result = synced.sync(FIRST, LAST, selection=SALES, raise_on_error=False)

    message = step_failures(result)["cin7_sales_orders"]
    assert "daily call budget reached before SalesOrders" in message
    assert window_label("invoiceDate") in message
    assert "11 of 12 calls used today (9 before this session, 2 by it)" in message
    assert "budget resets" in message and "run again later" in message
    assert len(settled_log(synced.server, "SalesOrders")) == 2
    assert {table: table_rows(synced, table) for table in STORED} == before


def test_the_daily_cap_mid_run_writes_each_entity_whole_or_not_at_all(synced):
    """Cin7's cap falls during the purchase-order scan of a run of three entities: each raw table
    afterwards holds either all of the new range or exactly what the good run stored; at least
    the purchase orders failed, naming the cap."""
    mapped_of = {
        "cin7_sales_orders": ("sales_order_lines",),
        "cin7_purchase_orders": ("purchase_orders", "purchase_order_lines"),
        "cin7_branch_transfers": ("transfers", "transfer_lines"),
    }
    new_references = {
        "cin7_sales_orders": ("raw_sales_orders", 103, "SO-103-EDITED"),
        "cin7_purchase_orders": ("raw_purchase_orders", 202, "PO-202-EDITED"),
        "cin7_branch_transfers": ("raw_branch_transfers", 301, "TR-301-EDITED"),
    }
    tables = [
        *(table for table, _, _ in new_references.values()),
        *(table for mapped in mapped_of.values() for table in mapped),
    ]
    before = {table: table_rows(synced, table) for table in tables}
    change_cin7(synced)
    synced.account.update("PurchaseOrders", 202, reference="PO-202-EDITED")
    synced.account.update("BranchTransfers", 301, reference="TR-301-EDITED")
    synced.server.faults.add(Fault("PurchaseOrders", "daily_cap", after=1))

    result = synced.sync(FIRST, LAST, selection=TRANSACTIONS, raise_on_error=False)

    assert not result.success
    outcomes = step_outcomes(result)
    failures = step_failures(result)
    assert outcomes["cin7_purchase_orders"] == "failure"
    assert "daily call cap" in failures["cin7_purchase_orders"]
    assert window_label("createdDate") in failures["cin7_purchase_orders"]
    for step, (table, record_id, reference) in new_references.items():
        rows = table_rows(synced, table)
        if outcomes[step] == "success":
            stored = {row["cin7_id"]: row["payload"]["reference"] for row in rows}
            assert stored[record_id] == reference
        else:
            assert "daily call cap" in failures[step]
            assert rows == before[table]
            for mapped in mapped_of[step]:
                assert table_rows(synced, mapped) == before[mapped]


def test_after_the_daily_cap_the_run_calls_cin7_no_more(synced):
    """Sales orders meet the cap (429 through every retry); the stock step after it in the same
    run stops without a call instead of spending six more on refusals."""
    synced.server.faults.add(Fault("SalesOrders", "daily_cap", after=1))
    calls_before = len(settled_log(synced.server))

    result = synced.sync(
        FIRST,
        LAST,
        selection=SALES | dg.AssetSelection.assets("cin7_branches", "cin7_stock"),
        raise_on_error=False,
    )

    outcomes = step_outcomes(result)
    assert (outcomes["cin7_sales_orders"], outcomes["cin7_stock"]) == ("failure", "failure")
    stock_message = step_failures(result)["cin7_stock"]
    assert "daily call cap was reached earlier in this run" in stock_message
    assert "HTTP 429 on all 6 attempts" in stock_message
    calls = [entry.endpoint for entry in settled_log(synced.server)[calls_before:]]
    assert calls.count("SalesOrders") == 1 + 6
    assert "Stock" not in calls
    assert "Stock" not in api_calls_of_run(synced, result.run_id)
