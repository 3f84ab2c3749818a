"""Many syncs of a generated account under random faults, with the account changing between and
during runs (seeded, so a failure can be replayed).

After every run, for each entity: a step that failed (or was skipped) left its tables exactly as
they were; a raw step that succeeded without a change landing mid-scan stored exactly the records
Cin7 holds for the run's window. At the end, one clean sync makes the planning tables equal to a
clean sync of the same range into a fresh database.

Bounded in runs and in seconds: transactions only (sales orders, purchase orders, transfers and
their model tables), whose windows are what the faults can spoil, and without the quality checks,
which the other tests cover and which would cost a third of every run.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import dagster as dg
import pytest

from moselle_cin7.automation.ranges import DayRange
from moselle_cin7.db.engine import engine_for, ensure_schema
from moselle_cin7.definitions import build_definitions
from moselle_cin7.sandbox import Fault, SandboxServer, generate_account
from moselle_cin7.timeutil import Cin7DateError, business_day, parse_cin7_datetime
from moselle_cin7_tests.faults.scenario import (
    MAPPED_TABLES_OF_STEP,
    RAW_TABLE_OF_STEP,
    TRANSACTIONS,
    content,
    fast_harness,
    step_outcomes,
    table_rows,
)
from moselle_cin7_tests.support import TZ, day, local_stamp

logger = logging.getLogger(__name__)

SEED = 20_251_204
MAX_RUNS = 50
MAX_SECONDS = 50
MIN_RUNS = 12
SPAN = 9  # the soak syncs sub-ranges of [day(SPAN), day(0)]

ENTITIES = {
    "cin7_sales_orders": ("SalesOrders", "invoiceDate"),
    "cin7_purchase_orders": ("PurchaseOrders", "createdDate"),
    "cin7_branch_transfers": ("BranchTransfers", "createdDate"),
}
ENDPOINTS = [endpoint for endpoint, _ in ENTITIES.values()]
TABLES = [
    *RAW_TABLE_OF_STEP.values(),
    *(table for tables in MAPPED_TABLES_OF_STEP.values() for table in tables),
]


def retried_fault(rng: random.Random) -> Fault:
    endpoint, after = rng.choice(ENDPOINTS), rng.randint(0, 3)
    kind = rng.choice(["429", "5xx", "truncated", "not_json", "empty_page", "slow"])
    if kind == "429":
        retry_after = rng.choice([None, 0])
        return Fault(endpoint, "status", status=429, times=rng.randint(1, 3), after=after,
                     retry_after=retry_after)  # fmt: skip
    if kind == "5xx":
        status = rng.choice([500, 502, 503, 504])
        return Fault(endpoint, "status", status=status, times=rng.randint(1, 2), after=after)
    if kind == "slow":
        return Fault(endpoint, "slow", delay=0.5, times=1, after=after)
    times = 1 if kind == "empty_page" else rng.randint(1, 2)
    return Fault(endpoint, kind, times=times, after=after)


def fatal_fault(rng: random.Random) -> Fault:
    endpoint, after = rng.choice(ENDPOINTS), rng.randint(0, 1)
    kind = rng.choice(["500", "401", "403", "daily_cap", "truncated"])
    if kind == "daily_cap":
        return Fault(endpoint, "daily_cap", after=after)
    if kind == "truncated":
        return Fault(endpoint, "truncated", times=None, after=after)
    return Fault(endpoint, "status", status=int(kind), times=None, after=after)


class Changes:
    """Changes a Cin7 user makes: new orders, edited quantities, moved dates, voids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.made = 0

    def __call__(self, account, params=None) -> None:
        self.made += 1
        rng = self.rng
        orders = [o for o in account.records("SalesOrders") if o.get("invoiceDate")]
        order = rng.choice(orders)
        on = local_stamp(day(rng.randint(0, SPAN)))
        change = rng.choice(["insert", "edit", "move", "void", "move purchase order"])
        if change == "insert":
            order_id = account.next_id("SalesOrders")
            lines = [
                {**item, "id": order_id * 100 + n, "transactionId": order_id}
                for n, item in enumerate(order["lineItems"], start=1)
            ]
            account.upsert(
                "SalesOrders",
                {**order, "id": order_id, "reference": f"SOAK-{order_id}", "invoiceDate": on,
                 "dispatchedDate": on, "stage": "Dispatched", "isVoid": False,
                 "lineItems": lines},
            )  # fmt: skip
        elif change == "edit" and order["lineItems"]:
            lines = [dict(item) for item in order["lineItems"]]
            lines[0]["qty"] = float(lines[0].get("qty") or 0) + 1
            account.update("SalesOrders", order["id"], lineItems=lines, modifiedDate=on)
        elif change == "move":
            account.update("SalesOrders", order["id"], invoiceDate=on, modifiedDate=on)
        elif change == "void":
            account.update("SalesOrders", order["id"], isVoid=True, modifiedDate=on)
        else:
            purchase_order = rng.choice(account.records("PurchaseOrders"))
            account.update("PurchaseOrders", purchase_order["id"], createdDate=on)


def stored_ids_in(harness, table: str, first: date, last: date) -> list[int]:
    return [
        row["cin7_id"]
        for row in table_rows(harness, table)
        if first <= row["partition_day"] <= last
    ]


def upstream_ids_in(account, endpoint: str, date_field: str, first: date, last: date) -> list:
    def local(record: dict[str, Any]) -> date | None:
        try:
            moment = parse_cin7_datetime(record.get(date_field))
        except Cin7DateError:
            return None
        return None if moment is None else business_day(moment, TZ)

    return sorted(
        record["id"]
        for record in account.records(endpoint)
        if (on := local(record)) is not None and first <= on <= last
    )


def transactions_job(harness) -> dg.JobDefinition:
    """The daily_sync job cut to the transaction assets, without their checks."""
    defs = build_definitions(harness.resources())
    keys = set(TRANSACTIONS.resolve(defs.resolve_asset_graph()))
    return defs.resolve_job_def("daily_sync").get_subset(
        asset_selection=keys, asset_check_selection=set()
    )


def run_checked(harness, job, rng: random.Random, changes: Callable, stats: dict[str, int]) -> None:
    """One run over a random sub-range with random faults; checks what each step left."""
    first, last = sorted((day(rng.randint(0, SPAN)), day(rng.randint(0, SPAN))))
    faults = [retried_fault(rng) for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.4:
        faults.append(fatal_fault(rng))
    mid_scan = rng.random() < 0.2
    if mid_scan:
        faults.append(Fault(rng.choice(ENDPOINTS), "callback", callback=changes,
                            after=rng.randint(0, 2)))  # fmt: skip
    for fault in faults:
        harness.server.faults.add(fault)
    before = {table: table_rows(harness, table) for table in TABLES}

    result = job.execute_in_process(
        instance=harness.instance, tags=DayRange(first, last).tags(), raise_on_error=False
    )
    changed_mid_scan = mid_scan and harness.server.faults.fired(faults[-1]) > 0
    harness.server.faults.clear()

    outcomes = step_outcomes(result)
    stats["runs"] += 1
    stats["failed runs"] += not result.success
    for step, table in RAW_TABLE_OF_STEP.items():
        if outcomes.get(step) != "success":
            assert table_rows(harness, table) == before[table], (step, first, last, faults)
        elif not changed_mid_scan:
            endpoint, date_field = ENTITIES[step]
            assert stored_ids_in(harness, table, first, last) == upstream_ids_in(
                harness.account, endpoint, date_field, first, last
            ), (step, first, last, faults)
    for step, tables in MAPPED_TABLES_OF_STEP.items():
        if outcomes.get(step) != "success":
            for table in tables:
                assert table_rows(harness, table) == before[table], (step, first, last, faults)
        else:
            stats["mapped windows"] += 1


@pytest.mark.slow
def test_random_faults_never_lose_or_corrupt_data(tmp_path, dagster_instance):
    rng = random.Random(SEED)
    account = generate_account(seed=SEED % 1000, profile="tiny", timezone=TZ.key)
    changes = Changes(rng)
    soak = fast_harness(tmp_path / "soak", dagster_instance, account, page_size=5,
                        timeout_seconds=0.25)  # fmt: skip
    soak.tmp_path.mkdir()
    ensure_schema(engine_for(soak.database_url))
    stats = {"runs": 0, "failed runs": 0, "mapped windows": 0}

    with SandboxServer(account) as server:
        soak.server = server
        job = transactions_job(soak)
        started = time.monotonic()
        while stats["runs"] < MAX_RUNS and time.monotonic() - started < MAX_SECONDS:
            if rng.random() < 0.5:
                changes(account)
            run_checked(soak, job, rng, changes, stats)
        assert soak.sync(day(SPAN), day(0), selection=TRANSACTIONS).success

        clean = fast_harness(tmp_path / "clean", dagster_instance, account, page_size=250)
        clean.tmp_path.mkdir()
        clean.server = server
        assert clean.sync(day(SPAN), day(0), selection=TRANSACTIONS).success

    logger.info("soak: %s in %.0f s", stats, time.monotonic() - started)
    assert stats["runs"] >= MIN_RUNS, stats
    assert 0 < stats["failed runs"] < stats["runs"], stats
    assert changes.made > 0
    for table in TABLES:
        assert content(table_rows(soak, table)) == content(table_rows(clean, table)), table
