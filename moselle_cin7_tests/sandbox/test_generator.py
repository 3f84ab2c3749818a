"""The generated account: determinism, speed, and the facts the pipeline relies on."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from moselle_cin7.sandbox import ENDPOINTS, PROFILES, SandboxAccount, generate_account
from moselle_cin7.sandbox.constants import DOCUMENTED_FIELDS
from moselle_cin7.sandbox.records import CompactRecord
from moselle_cin7.sandbox.timestamps import parse_ticks, ticks_to_datetime
from moselle_cin7_tests.sandbox.conftest import TODAY

AUCKLAND = ZoneInfo("Pacific/Auckland")
# The account stands at 06:00 on 2026-03-15 in Auckland (NZDT, +13:00).
AS_OF = parse_ticks("2026-03-15T06:00:00+13:00")
DAY = 86_400 * 10_000_000
DATE_FIELDS = re.compile(r"Date$")


def _instant(text: str | None) -> int | None:
    return None if text is None else parse_ticks(text)


@pytest.fixture(scope="module")
def small(small_account: SandboxAccount) -> dict[str, list[dict[str, Any]]]:
    return {endpoint: small_account.records(endpoint) for endpoint in ENDPOINTS}


def _is_dispatched(stage: str | None) -> bool:
    return (stage or "").strip().casefold() == "dispatched"


def test_generation_is_deterministic() -> None:
    first = generate_account(seed=3, profile="tiny", today=TODAY)
    second = generate_account(seed=3, profile="tiny", today=TODAY)
    other = generate_account(seed=4, profile="tiny", today=TODAY)

    for endpoint in ENDPOINTS:
        assert first.records(endpoint) == second.records(endpoint), endpoint
    assert first.records("SalesOrders") != other.records("SalesOrders")


def test_today_defaults_to_the_local_date_of_the_zone() -> None:
    account = generate_account(seed=1, profile="tiny", timezone="Pacific/Chatham")

    assert account.timezone == "Pacific/Chatham"
    newest = max(_instant(r["createdDate"]) for r in account.records("SalesOrders"))
    local_today = time.time() * 10_000_000
    assert newest <= local_today


def test_tiny_and_small_generate_fast() -> None:
    started = time.perf_counter()
    generate_account(seed=11, profile="tiny", today=TODAY)
    tiny_seconds = time.perf_counter() - started
    started = time.perf_counter()
    generate_account(seed=11, profile="small", today=TODAY)
    small_seconds = time.perf_counter() - started

    assert tiny_seconds < 0.5
    assert small_seconds < 3.0


def test_branches(small: dict[str, list[dict[str, Any]]]) -> None:
    branches = {b["id"]: (b["company"], b["branchType"], b["isActive"]) for b in small["Branches"]}

    assert branches == {
        3: ("Auckland Warehouse", "Head Office", True),
        4: ("Christchurch Warehouse", "Warehouse", True),
        5: ("Wellington Store", "Retail", True),
        6: ("Online Store", "Retail", True),
        7: ("Wholesale Allocation", "Allocation", True),
        8: ("Hamilton Warehouse (closed)", "Warehouse", False),
    }


def test_every_stage_and_status_variant_is_present(small: dict[str, list[dict[str, Any]]]) -> None:
    stages = {order["stage"] for order in small["SalesOrders"]}
    statuses = {order["status"] for order in small["SalesOrders"]}

    assert stages >= {
        "New",
        "Awaiting Payment",
        "Processing",
        "On Hold",
        "Release to Pick",
        "Fully Picked",
        "Dispatched",
        "DISPATCHED",
        " dispatched ",
    }
    assert statuses == {"Draft", "DRAFT", "Approved", "APPROVED", "Void", "VOID"}


def test_tiny_shows_every_variant_too() -> None:
    orders = generate_account(seed=7, profile="tiny", today=TODAY).records("SalesOrders")

    assert {o["stage"] for o in orders} >= {
        "New", "Awaiting Payment", "Processing", "On Hold", "Release to Pick", "Fully Picked",
        "Dispatched", "DISPATCHED", " dispatched ",
    }  # fmt: skip
    assert {o["status"] for o in orders} >= {"Draft", "DRAFT", "Approved", "APPROVED", "Void"}
    assert any(o["isVoid"] and _is_dispatched(o["stage"]) for o in orders)
    assert any(line["parentId"] for o in orders for line in o["lineItems"])


def test_sales_order_headers(small: dict[str, list[dict[str, Any]]]) -> None:
    orders = small["SalesOrders"]
    expected_keys = [key for key in DOCUMENTED_FIELDS["SalesOrders"]]

    for sales_order in orders:
        assert list(sales_order) == expected_keys
        void = sales_order["status"].casefold() == "void"
        assert sales_order["isVoid"] is void
        if sales_order["status"].casefold() == "draft":
            assert sales_order["isApproved"] is False
            assert sales_order["invoiceDate"] is None
            assert sales_order["dispatchedDate"] is None
        if _is_dispatched(sales_order["stage"]):
            assert sales_order["dispatchedDate"] is not None
            assert all(line["qtyShipped"] == line["qty"] for line in sales_order["lineItems"])
        else:
            assert sales_order["dispatchedDate"] is None
        assert isinstance(sales_order["customFields"], dict)
        assert isinstance(sales_order["id"], int)
    # Voided after dispatch: still Dispatched, dispatch date kept.
    assert any(o["isVoid"] and _is_dispatched(o["stage"]) for o in orders)
    assert any(o["isVoid"] and not _is_dispatched(o["stage"]) for o in orders)


def test_partial_dispatch_only_on_orders_not_yet_dispatched(
    small: dict[str, list[dict[str, Any]]],
) -> None:
    partial = [
        order
        for order in small["SalesOrders"]
        if any(0 < line["qtyShipped"] < line["qty"] for line in order["lineItems"])
    ]

    assert partial
    assert all(not _is_dispatched(order["stage"]) for order in partial)


def test_shopify_orders(small: dict[str, list[dict[str, Any]]]) -> None:
    orders = small["SalesOrders"]
    shopify = [order for order in orders if order["source"] == "Shopify"]
    online_store = [order for order in orders if order["branchId"] == 6]

    assert len(shopify) > 1000
    assert all(order["branchId"] == 6 for order in shopify)
    assert all(re.fullmatch(r"#\d+", order["reference"]) for order in shopify)
    assert all(order["company"] is None and order["memberId"] >= 50_001 for order in shopify)
    # Phone orders typed by staff at the online branch are not Shopify's.
    others = [order for order in online_store if order["source"] != "Shopify"]
    assert others and all(order["reference"].startswith("SO-") for order in others)
    assert not any(
        order["reference"].startswith("#") for order in orders if order["source"] != "Shopify"
    )


def test_kit_component_lines_point_at_their_kit_line(
    small: dict[str, list[dict[str, Any]]],
) -> None:
    kit_products = {p["id"] for p in small["Products"] if p["orderType"] == "Kit"}
    components = 0

    for order in small["SalesOrders"]:
        lines = {line["id"]: line for line in order["lineItems"]}
        for line in order["lineItems"]:
            assert line["transactionId"] == order["id"]
            if line["parentId"]:
                parent = lines[line["parentId"]]
                assert parent["productId"] in kit_products
                assert line["unitPrice"] == 0.0
                components += 1
            else:
                assert line["parentId"] == 0

    assert kit_products
    assert components > 50


def test_ids_grow_with_creation_and_times_are_ordered(
    small: dict[str, list[dict[str, Any]]],
) -> None:
    for endpoint in ("SalesOrders", "PurchaseOrders", "BranchTransfers"):
        records = sorted(small[endpoint], key=lambda r: r["id"])
        created = [_instant(r["createdDate"]) for r in records]
        assert created == sorted(created), endpoint
        for record in records:
            assert _instant(record["createdDate"]) <= _instant(record["modifiedDate"]) <= AS_OF


def test_voids_older_than_six_months_are_purged(small: dict[str, list[dict[str, Any]]]) -> None:
    voided = [o for o in small["SalesOrders"] + small["PurchaseOrders"] if o["isVoid"]]

    assert voided
    assert all(_instant(o["modifiedDate"]) >= AS_OF - 183 * DAY for o in voided)


def test_purchase_orders(small: dict[str, list[dict[str, Any]]]) -> None:
    orders = small["PurchaseOrders"]
    open_orders = [
        o for o in orders if o["status"].casefold() == "approved" and o["fullyReceivedDate"] is None
    ]

    assert {o["status"] for o in orders} >= {"Draft", "Approved", "APPROVED", "Void"}
    assert any(o["estimatedDeliveryDate"] is None for o in orders)
    assert any(_instant(o["createdDate"]) < AS_OF - 150 * DAY for o in open_orders)
    assert any(sum(line["qtyShipped"] for line in o["lineItems"]) > 0 for o in open_orders)
    for order in orders:
        received_all = all(line["qtyShipped"] == line["qty"] for line in order["lineItems"])
        assert (order["fullyReceivedDate"] is not None) == received_all, order["id"]
        assert all(0 <= line["qtyShipped"] <= line["qty"] for line in order["lineItems"])


def test_branch_transfers_in_every_state(small: dict[str, list[dict[str, Any]]]) -> None:
    transfers = small["BranchTransfers"]
    states = defaultdict(int)
    for transfer in transfers:
        assert "status" not in transfer and "isVoid" not in transfer
        assert transfer["sourceBranchId"] != transfer["destinationBranchId"]
        dispatched, received = (
            _instant(transfer["dispatchedDate"]),
            _instant(transfer["receivedDate"]),
        )
        if received is not None:
            assert dispatched is not None and dispatched <= received
        states[(dispatched is not None, received is not None)] += 1

    assert set(states) == {(False, False), (True, False), (True, True)}


def test_stock_agrees_with_the_open_transactions(small: dict[str, list[dict[str, Any]]]) -> None:
    """openSales, incoming and holding recomputed by hand from the transactions."""
    kit_products = {p["id"] for p in small["Products"] if p["orderType"] == "Kit"}
    open_sales: dict[tuple[int, int], float] = defaultdict(float)
    incoming: dict[tuple[int, int], float] = defaultdict(float)
    holding: dict[tuple[int, int], float] = defaultdict(float)
    for order in small["SalesOrders"]:
        if order["isApproved"] and not order["isVoid"] and not _is_dispatched(order["stage"]):
            for line in order["lineItems"]:
                if line["productId"] not in kit_products:
                    open_sales[(line["productOptionId"], order["branchId"])] += (
                        line["qty"] - line["qtyShipped"]
                    )
    for order in small["PurchaseOrders"]:
        if order["status"].casefold() == "approved" and order["fullyReceivedDate"] is None:
            for line in order["lineItems"]:
                incoming[(line["productOptionId"], order["branchId"])] += (
                    line["qty"] - line["qtyShipped"]
                )
    for transfer in small["BranchTransfers"]:
        if transfer["dispatchedDate"] and not transfer["receivedDate"]:
            for line in transfer["lineItems"]:
                holding[(line["productOptionId"], transfer["sourceBranchId"])] += line["qty"]

    rows = {(row["productOptionId"], row["branchId"]): row for row in small["Stock"]}
    option_ids = {o["id"] for p in small["Products"] for o in p["productOptions"]}
    stock_branches = {
        b["id"] for b in small["Branches"] if b["isActive"] and b["branchType"] != "Allocation"
    }
    assert set(rows) == {(option, branch) for option in option_ids for branch in stock_branches}
    for key, row in rows.items():
        assert row["openSales"] == open_sales.get(key, 0.0), key
        assert row["incoming"] == incoming.get(key, 0.0), key
        assert row["holding"] == holding.get(key, 0.0), key
        assert row["available"] == row["stockOnHand"] - row["openSales"], key
        assert "id" not in row
    assert any(row["stockOnHand"] < 0 for row in rows.values())
    assert sum(1 for row in rows.values() if row["holding"]) > 0
    assert sum(1 for row in rows.values() if row["incoming"]) > 0
    assert sum(1 for row in rows.values() if row["openSales"]) > 0


def test_holding_can_sit_at_the_destination() -> None:
    spec = replace(PROFILES["tiny"], holding_side="destination")
    account = generate_account(seed=7, profile=spec, today=TODAY)
    holding: dict[tuple[int, int], float] = defaultdict(float)
    for transfer in account.records("BranchTransfers"):
        if transfer["dispatchedDate"] and not transfer["receivedDate"]:
            for line in transfer["lineItems"]:
                holding[(line["productOptionId"], transfer["destinationBranchId"])] += line["qty"]

    shown = {
        (r["productOptionId"], r["branchId"]): r["holding"]
        for r in account.records("Stock")
        if r["holding"]
    }
    assert holding and shown == dict(holding)


def test_shopify_source_and_parent_id_are_configurable() -> None:
    spec = replace(PROFILES["tiny"], shopify_source=None, top_line_parent_id=None)
    orders = generate_account(seed=7, profile=spec, today=TODAY).records("SalesOrders")

    shopify = [o for o in orders if o["reference"].startswith("#")]
    assert shopify and all(o["source"] is None for o in shopify)
    assert any(line["parentId"] is None for o in orders for line in o["lineItems"])


def test_timestamps_come_in_every_form(small: dict[str, list[dict[str, Any]]]) -> None:
    texts = [
        value
        for endpoint in ("SalesOrders", "PurchaseOrders", "BranchTransfers", "Products", "Stock")
        for record in small[endpoint]
        for key, value in record.items()
        if DATE_FIELDS.search(key) and value is not None
    ]
    zones = {"Z" if t.endswith("Z") else t[-6:] if t[-6] in "+-" else "none" for t in texts}
    digits = {len(match[1]) for t in texts if (match := re.search(r"\.(\d+)", t))}

    assert zones == {"Z", "+13:00", "+12:00", "none"}
    assert digits == {5, 6, 7}
    assert any("." not in t for t in texts)
    for text in texts:
        parse_ticks(text)  # every one parses


def test_business_dates_are_typed_in_local_time(small: dict[str, list[dict[str, Any]]]) -> None:
    invoice_times = [
        ticks_to_datetime(parse_ticks(o["invoiceDate"])).astimezone(AUCKLAND)
        for o in small["SalesOrders"]
        if o["invoiceDate"]
    ]
    minutes = [moment.hour * 60 + moment.minute for moment in invoice_times]

    assert sum(1 for m in minutes if m == 0) > len(minutes) / 5  # a bare date: local midnight
    assert any(0 < m <= 20 for m in minutes)
    assert any(m >= 23 * 60 + 40 for m in minutes)
    assert any(9 * 60 <= m <= 17 * 60 for m in minutes)
    # The UTC date of such a timestamp is often the day before the local one.
    utc_days = [
        ticks_to_datetime(parse_ticks(o["invoiceDate"])).date()
        for o in small["SalesOrders"]
        if o["invoiceDate"]
    ]
    shifted = sum(
        1 for local, utc in zip(invoice_times, utc_days, strict=True) if local.date() != utc
    )
    assert shifted > len(invoice_times) / 4


def test_history_covers_the_profile_length(small: dict[str, list[dict[str, Any]]]) -> None:
    created = [
        ticks_to_datetime(parse_ticks(o["createdDate"])).astimezone(AUCKLAND).date()
        for o in small["SalesOrders"]
    ]

    assert min(created) == TODAY - timedelta(days=PROFILES["small"].history_days - 1)
    assert max(created) == TODAY
    dispatched_recently = sum(
        1
        for o in small["SalesOrders"]
        if o["dispatchedDate"] and parse_ticks(o["dispatchedDate"]) > AS_OF - 28 * DAY
    )
    assert 15 * 28 <= dispatched_recently <= 25 * 28


def test_compact_records_read_the_same_as_their_text(tiny_account: SandboxAccount) -> None:
    """The ticks and fast fields a filter reads equal what the materialised record says."""
    for endpoint in ("SalesOrders", "Stock"):
        with tiny_account.lock:
            rows = list(tiny_account.table(endpoint).rows.values())
        for row in rows:
            assert isinstance(row, CompactRecord)
            record = row.materialize()
            for key, value in record.items():
                if DATE_FIELDS.search(key):
                    assert row.ticks(key) == _instant(value), (endpoint, key, value)
                if key not in ("lineItems",):
                    assert row.value(key) == value, (endpoint, key)
