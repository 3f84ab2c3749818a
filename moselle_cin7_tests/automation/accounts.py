"""Helpers of the automation tests: a settings file, a small account with old open orders, and
running the RunRequests a schedule or sensor returned the way the daemon would."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import dagster as dg

from moselle_cin7.definitions import build_definitions
from moselle_cin7.sandbox import SandboxAccount
from moselle_cin7_tests.support import (
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

# What a first sync in these tests loads: transactions, and the catalogue their mapping checks
# SKUs against (stock and the planning outputs are not needed). Past days take TRANSACTIONS only:
# Cin7 has no past product snapshot.
TRANSACTIONS = dg.AssetSelection.assets(
    "cin7_sales_orders", "sales_order_lines", "cin7_purchase_orders", "purchase_orders",
    "cin7_branch_transfers", "transfers",
)  # fmt: skip
SETUP = TRANSACTIONS | dg.AssetSelection.assets(
    "cin7_branches", "warehouses", "cin7_products", "products"
)


def stamp_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def transfer(transfer_id: int, reference: str, created: date, **extra) -> dict:
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
        "lineItems": [line("JKT-M", 2, id=transfer_id * 10)],
        **extra,
    }


def automation_account() -> SandboxAccount:
    """Sales on recent days; 150 days back, past the 90-day window, an open purchase order, a
    received one and a transfer in transit."""
    return SandboxAccount(
        records={
            "Branches": branches(),
            "Products": [
                product(1, "Trail Jacket", "Outerwear", "JKT-S", "JKT-M"),
                product(2, "Wool Beanie", "Accessories", "BEANIE"),
            ],
            "SalesOrders": [
                sales_order("SO-1", day(2), [line("JKT-S", 2, id=9001)], id=101),
                sales_order("SO-2", day(3), [line("JKT-M", 1, id=9002)], id=102),
                sales_order("SO-3", day(5), [line("BEANIE", 4, id=9003)], id=103),
                sales_order("SO-4", day(8), [line("BEANIE", 1, id=9004)], id=104),
            ],
            "PurchaseOrders": [
                purchase_order(201, "PO-OLD", day(150), [line("JKT-S", 10, id=9201)]),
                purchase_order(
                    202,
                    "PO-DONE",
                    day(150),
                    [line("JKT-M", 4, shipped=4, id=9202)],
                    fullyReceivedDate=local_stamp(day(110)),
                ),
                purchase_order(203, "PO-NEW", day(4), [line("BEANIE", 6, id=9203)]),
            ],
            "BranchTransfers": [
                transfer(301, "TR-OLD", day(150), dispatchedDate=local_stamp(day(149))),
                transfer(302, "TR-NEW", day(6)),
            ],
            "Stock": [
                stock_row(11, "JKT-S", AUCKLAND, stockOnHand=12),
                stock_row(12, "JKT-M", AUCKLAND, stockOnHand=5),
                stock_row(21, "BEANIE", CHRISTCHURCH, stockOnHand=3),
            ],
        }
    )


def execute_requests(
    harness: Harness, run_requests: Iterable[dg.RunRequest], raise_on_error: bool = True
) -> list[dg.ExecuteInProcessResult]:
    """Run each request's asset selection with its tags, as the daemon would launch it."""
    defs = build_definitions(harness.resources())
    job = defs.resolve_job_def("daily_sync")
    results = []
    for request in run_requests:
        result = job.execute_in_process(
            instance=harness.instance,
            tags=request.tags,
            asset_selection=list(request.asset_selection or []),
            raise_on_error=raise_on_error,
        )
        harness.runs.append(result)
        results.append(result)
    return results


def selected(request: dg.RunRequest) -> list[str]:
    return sorted(key.to_user_string() for key in request.asset_selection or [])
