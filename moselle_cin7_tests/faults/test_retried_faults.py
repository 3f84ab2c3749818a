"""Faults the client rides out: a whole sync still completes, with every record of the range.

Each case injects its faults into the middle of the sales-order scan (the account's seven orders
of the range take four pages of two, so a clean sync makes four calls) and checks the stored range
against the account, the retries the asset reports and the calls the ledger counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from moselle_cin7.sandbox import Fault
from moselle_cin7_tests.faults.scenario import (
    FIRST,
    LAST,
    SALES,
    SALES_LINE_IDS,
    SALES_ORDER_IDS,
    api_calls_of_run,
    ids,
    materialization_metadata,
    purchase_order,
    table_rows,
)
from moselle_cin7_tests.support import day, line

CLEAN_CALLS = 4


@dataclass(frozen=True)
class Case:
    faults: tuple[Fault, ...]
    # Failed attempts the client repeated, and calls made beyond the clean four.
    retries: int
    extra_calls: int
    cin7_overrides: dict[str, Any] = field(default_factory=dict)
    # Seconds the asset must have waited: what Retry-After asked for.
    min_wait: float = 0.0


CASES = {
    "429 burst with Retry-After": Case(
        (Fault("SalesOrders", "status", status=429, times=2, after=1, retry_after=1),),
        retries=2,
        extra_calls=2,
        min_wait=2.0,
    ),
    "429 burst without Retry-After": Case(
        (Fault("SalesOrders", "status", status=429, times=4, after=2),), retries=4, extra_calls=4
    ),
    "500 twice": Case(
        (Fault("SalesOrders", "status", status=500, times=2, after=1),), retries=2, extra_calls=2
    ),
    "503 on the last page": Case(
        (Fault("SalesOrders", "status", status=503, times=3, after=3),), retries=3, extra_calls=3
    ),
    "slower than the timeout": Case(
        (Fault("SalesOrders", "slow", delay=1.0, times=1, after=1),),
        retries=1,
        extra_calls=1,
        cin7_overrides={"timeout_seconds": 0.3},
    ),
    "truncated bodies": Case(
        (Fault("SalesOrders", "truncated", times=2, after=1),), retries=2, extra_calls=2
    ),
    "HTML instead of JSON": Case(
        (Fault("SalesOrders", "not_json", times=2, after=2),), retries=2, extra_calls=2
    ),
    "one of each on one page": Case(
        (
            Fault("SalesOrders", "status", status=503, times=1, after=1),
            Fault("SalesOrders", "truncated", times=1, after=2),
            Fault("SalesOrders", "status", status=429, times=1, after=3, retry_after=0),
        ),
        retries=3,
        extra_calls=3,
    ),
    # Not a retry: an empty page after a full one is asked again once before the scan ends.
    "an empty page in the middle": Case(
        (Fault("SalesOrders", "empty_page", times=1, after=1),), retries=0, extra_calls=1
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_sync_completes_with_every_record(harness, case: Case):
    harness.cin7_overrides.update(case.cin7_overrides)
    for fault in case.faults:
        harness.server.faults.add(fault)

    result = harness.sync(FIRST, LAST, selection=SALES)

    assert result.success
    for fault in case.faults:
        assert harness.server.faults.fired(fault) == (fault.times or 0)
    assert ids(harness, "raw_sales_orders", "cin7_id") == SALES_ORDER_IDS
    assert ids(harness, "sales_order_lines", "cin7_line_id") == SALES_LINE_IDS
    for row in table_rows(harness, "raw_sales_orders"):
        upstream = harness.account.get("SalesOrders", row["cin7_id"])
        assert row["payload"]["reference"] == upstream["reference"]
        assert [item["id"] for item in row["payload"]["lineItems"]] == [
            item["id"] for item in upstream["lineItems"]
        ]

    metadata = materialization_metadata(result, "cin7_sales_orders")
    assert metadata["records"] == len(SALES_ORDER_IDS)
    assert metadata["api_retries"] == case.retries
    assert metadata["api_calls"] == CLEAN_CALLS + case.extra_calls
    assert metadata["api_wait_seconds"] >= case.min_wait
    # Every attempt, failed or not, is spent from the daily budget.
    assert api_calls_of_run(harness, result.run_id) == {
        "SalesOrders": CLEAN_CALLS + case.extra_calls
    }


def test_an_empty_page_is_confirmed_even_when_the_range_is_a_multiple_of_the_page(harness):
    """The purchase orders of the range fill two pages exactly once PO-204 exists: the third page
    is empty, a fourth call confirms it, and nothing is lost or repeated."""
    harness.account.upsert(
        "PurchaseOrders", purchase_order(204, "PO-204", day(2), [line("BEANIE", 1, id=9204)])
    )
    empty = harness.server.faults.add(Fault("PurchaseOrders", "empty_page", times=1, after=1))

    result = harness.sync(FIRST, LAST, selection="cin7_purchase_orders")

    assert result.success
    assert harness.server.faults.fired(empty) == 1
    assert ids(harness, "raw_purchase_orders", "cin7_id") == [201, 202, 203, 204]
    # [201, 202], a false empty page, the same question again: [203, 204], then the real end,
    # confirmed.
    assert materialization_metadata(result, "cin7_purchase_orders")["api_calls"] == 5


def test_an_empty_answer_that_would_erase_a_stored_window_is_asked_again(synced):
    """Cin7 answers the first page of a window the database holds with nothing: believed, the
    write would empty the window. The question is asked once more, and the range is complete."""
    empty = synced.server.faults.add(Fault("SalesOrders", "empty_page", times=1))

    result = synced.sync(FIRST, LAST, selection=SALES)

    assert result.success
    assert synced.server.faults.fired(empty) == 1
    assert ids(synced, "raw_sales_orders", "cin7_id") == SALES_ORDER_IDS
    assert ids(synced, "sales_order_lines", "cin7_line_id") == SALES_LINE_IDS
    assert materialization_metadata(result, "cin7_sales_orders")["api_calls"] == CLEAN_CALLS + 1


def test_an_empty_window_with_nothing_stored_costs_one_call(harness):
    result = harness.sync(day(40), day(35), selection="cin7_sales_orders")

    assert result.success
    assert materialization_metadata(result, "cin7_sales_orders")["api_calls"] == 1
