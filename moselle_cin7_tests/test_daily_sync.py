"""The daily sync end to end: a hand-written Cin7 account served over HTTP, real Dagster runs, and
the planning tables checked against values worked out by hand."""

from __future__ import annotations

from datetime import time

import dagster as dg
import pytest
import yaml

from moselle_cin7.sandbox import Fault, RateLimits, SandboxAccount, SandboxServer
from moselle_cin7.settings import SETTINGS_ENV_VAR, _load_cached
from moselle_cin7_tests.support import (
    ALLOCATION,
    AUCKLAND,
    CHRISTCHURCH,
    ONLINE,
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


def planning_account() -> SandboxAccount:
    """Two warehouses, a Shopify store, an allocation branch, and one record per mapping rule."""
    kit_line = line("KIT-1", 1)
    orders = [
        sales_order(
            "SO-1", day(2), [line("JKT-S", 2, id=9001), line("BEANIE", 1, id=9002)], id=101
        ),
        sales_order(
            "SO-2",
            day(2),
            [line("JKT-M", 3, id=9003)],
            stage=" DISPATCHED ",
            branch_id=CHRISTCHURCH,
            id=102,
        ),
        sales_order("SO-3", day(2), [line("JKT-S", 5)], isVoid=True, status="Void", id=103),
        sales_order("SO-4", day(2), [line("JKT-S", 7)], stage="Awaiting Payment", id=104),
        sales_order(
            "#1050", day(2), [line("BEANIE", 4)], source="Shopify", branch_id=ONLINE, id=105
        ),
        # 00:10 in Auckland is the previous day in UTC: it must land on the local day.
        sales_order("SO-6", day(1), [line("JKT-M", 1, id=9006)], clock=time(0, 10), id=106),
        sales_order(
            "SO-7",
            day(1),
            [
                kit_line,
                line("JKT-M", 1, parentId=kit_line["id"], id=9007),
                line("BEANIE", 1, parentId=kit_line["id"], id=9008),
            ],
            id=107,
        ),
        sales_order("SO-9", day(1), [line("GHOST-1", 2, id=9009)], id=109),
        sales_order("SO-10", None, [line("JKT-S", 1)], stage="New", status="Draft", id=110),
    ]
    purchase_orders = [
        _purchase_order(201, "PO-1", "Draft", day(10), [line("JKT-S", 10)]),
        _purchase_order(
            202,
            "PO-2",
            "Approved",
            day(10),
            [line("JKT-M", 20, id=9202)],
            estimatedDeliveryDate=local_stamp(day(-7)),
        ),
        _purchase_order(203, "PO-3", "Void", day(10), [line("JKT-M", 5)], isVoid=True),
        _purchase_order(
            204,
            "PO-4",
            "Approved",
            day(9),
            [line("BEANIE", 6, shipped=6)],
            fullyReceivedDate=local_stamp(day(3)),
        ),
        _purchase_order(205, "PO-5", "APPROVED", day(9), [line("JKT-S", 10, shipped=4, id=9205)]),
        _purchase_order(206, "PO-6", "DRAFT", day(9), [line("BEANIE", 3)]),
    ]
    branch_transfers = [
        _transfer(301, "TR-1", day(4)),
        _transfer(302, "TR-2", day(4), dispatchedDate=local_stamp(day(3))),
        _transfer(
            303,
            "TR-3",
            day(4),
            dispatchedDate=local_stamp(day(3)),
            receivedDate=local_stamp(day(2)),
        ),
    ]
    stock = [
        stock_row(11, "JKT-S", AUCKLAND, stockOnHand=12, openSales=2, incoming=6),
        stock_row(12, "JKT-M", AUCKLAND, stockOnHand=5, holding=2),
        stock_row(21, "BEANIE", CHRISTCHURCH, stockOnHand=-1),
        stock_row(11, "JKT-S", ALLOCATION, stockOnHand=0, available=3),
    ]
    return SandboxAccount(
        records={
            "Branches": branches(),
            "Products": [
                product(1, "Trail Jacket", "Outerwear", "JKT-S", "JKT-M"),
                product(2, "Wool Beanie", "Accessories", "BEANIE"),
                product(3, "Camp Kit", "Kits", "KIT-1"),
            ],
            "SalesOrders": orders,
            "PurchaseOrders": purchase_orders,
            "BranchTransfers": branch_transfers,
            "Stock": stock,
        }
    )  # fmt: skip


def _purchase_order(order_id, reference, status, created, lines, **extra):
    return purchase_order(order_id, reference, created, lines, status=status, **extra)


def _transfer(transfer_id, reference, created, **extra):
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
        "lineItems": [line("JKT-M", 2)],
        **extra,
    }


@pytest.fixture
def harness(tmp_path, dagster_instance):
    harness = Harness(tmp_path=tmp_path, account=planning_account(), instance=dagster_instance)
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness


def test_sales_history_follows_the_mapping_rules(harness):
    result = harness.sync(day(12), day(0))
    assert result.success

    lines = harness.rows("sales_order_lines", order_by="cin7_line_id")
    by_line = {row["cin7_line_id"]: row for row in lines}
    # Dispatched (any case) only; voided, awaiting payment, Shopify and drafts are out; the kit's
    # own line is replaced by its two components.
    assert sorted(by_line) == [9001, 9002, 9003, 9006, 9007, 9008, 9009]
    assert {row["order_number"] for row in lines} == {"SO-1", "SO-2", "SO-6", "SO-7", "SO-9"}
    assert by_line[9001]["quantity"] == 2 and by_line[9001]["sku"] == "JKT-S"
    assert by_line[9001]["order_date"] == day(2)
    assert by_line[9003]["warehouse_id"] == CHRISTCHURCH
    assert by_line[9006]["order_date"] == day(1)
    assert by_line[9007]["kit_parent_line_id"] is not None
    assert {row["channel"] for row in lines} == {"Wholesale"}
    # A SKU missing from products keeps its row, with the reason.
    assert by_line[9009]["mapping_issue"] == "SKU GHOST-1 is not in products"
    assert all(by_line[n]["mapping_issue"] is None for n in (9001, 9002, 9003, 9006))


def test_purchase_orders_transfers_and_inventory(harness):
    assert harness.sync(day(12), day(0)).success

    statuses = {row["order_number"]: row for row in harness.rows("purchase_orders")}
    assert {ref: row["status"] for ref, row in statuses.items()} == {
        "PO-1": "Draft",
        "PO-2": "Active",
        "PO-3": "Archived",
        "PO-4": "Delivered",
        "PO-5": "Active",
        "PO-6": "Draft",
    }
    assert statuses["PO-2"]["expected_date"] == day(-7)
    assert statuses["PO-6"]["expected_date"] is None
    assert statuses["PO-4"]["fully_received_date"] == day(3)
    assert statuses["PO-2"]["supplier"] == "Alpine Textiles"
    po_lines = {row["cin7_line_id"]: row for row in harness.rows("purchase_order_lines")}
    assert (po_lines[9205]["quantity_ordered"], po_lines[9205]["quantity_received"]) == (10, 4)

    transfers = {row["order_number"]: row for row in harness.rows("transfers")}
    assert {ref: row["status"] for ref, row in transfers.items()} == {
        "TR-1": "Draft",
        "TR-2": "Active",
        "TR-3": "Delivered",
    }
    assert transfers["TR-2"]["source_warehouse_id"] == AUCKLAND
    assert transfers["TR-2"]["destination_warehouse_id"] == CHRISTCHURCH
    assert transfers["TR-2"]["dispatched_date"] == day(3)
    assert transfers["TR-3"]["received_date"] == day(2)
    assert len(harness.rows("transfer_lines")) == 3

    inventory = harness.rows("inventory", order_by="warehouse_id,cin7_option_id")
    # The allocation branch is not a planned warehouse: its stock is neither read nor mapped.
    assert [(row["warehouse_id"], row["sku"]) for row in inventory] == [
        (AUCKLAND, "JKT-S"),
        (AUCKLAND, "JKT-M"),
        (CHRISTCHURCH, "BEANIE"),
    ]
    jacket = inventory[0]
    assert (jacket["available"], jacket["on_hand"], jacket["open_sales"], jacket["incoming"]) == (
        10,
        12,
        2,
        6,
    )
    assert inventory[1]["holding"] == 2
    assert {row["snapshot_date"] for row in inventory} == {day(0)}

    warehouses = {row["warehouse_id"]: row["enabled"] for row in harness.rows("warehouses")}
    assert warehouses == {AUCKLAND: True, CHRISTCHURCH: True, ONLINE: True, ALLOCATION: False}
    products = {row["sku"]: row for row in harness.rows("products")}
    assert set(products) == {"JKT-S", "JKT-M", "BEANIE", "KIT-1"}
    assert products["JKT-M"]["category"] == "Outerwear"
    assert products["JKT-M"]["cin7_option_id"] == 12


def test_inventory_mapped_a_slice_at_a_time_is_the_whole_snapshot(harness, monkeypatch):
    """Two stock rows a slice: the three planned rows still all arrive, once each."""
    from moselle_cin7.mapping import assets as mapping_assets

    monkeypatch.setattr(mapping_assets, "STOCK_ROWS_PER_SLICE", 2)
    assert harness.sync(day(0), day(0)).success

    inventory = harness.rows("inventory", order_by="warehouse_id,cin7_option_id")
    # available = on hand - open sales: 12 - 2, 5 - 0, -1 - 0.
    assert [(row["warehouse_id"], row["sku"], row["available"]) for row in inventory] == [
        (AUCKLAND, "JKT-S", 10),
        (AUCKLAND, "JKT-M", 5),
        (CHRISTCHURCH, "BEANIE", -1),
    ]


def test_resync_of_a_range_is_idempotent(harness):
    assert harness.sync(day(12), day(0)).success
    tables = ("raw_sales_orders", "sales_order_lines", "purchase_orders", "transfers", "inventory")
    first = {table: harness.rows(table) for table in tables}
    assert harness.sync(day(12), day(0)).success
    second = {table: harness.rows(table) for table in tables}
    for table in tables:
        strip = {"synced_at", "run_id", "mapped_at"}
        assert [{k: v for k, v in row.items() if k not in strip} for row in second[table]] == [
            {k: v for k, v in row.items() if k not in strip} for row in first[table]
        ], table


def test_a_record_moved_to_another_day_is_stored_once_in_its_new_day(harness):
    assert harness.sync(day(12), day(0)).success
    harness.server.account.update("SalesOrders", 101, invoiceDate=local_stamp(day(6)))

    # A sync of the new day only: SO-1 leaves day(2) and is stored once, on day(6).
    assert harness.sync(day(6), day(6), selection=_transactions()).success
    raw = [row for row in harness.rows("raw_sales_orders") if row["cin7_id"] == 101]
    assert [row["partition_day"] for row in raw] == [day(6)]
    so1 = [row for row in harness.rows("sales_order_lines") if row["cin7_order_id"] == 101]
    assert sorted((row["cin7_line_id"], row["order_date"]) for row in so1) == [
        (9001, day(6)),
        (9002, day(6)),
    ]

    # Moved back and a sync of its old day only: it leaves day(6) once day(2) is synced again...
    harness.server.account.update("SalesOrders", 101, invoiceDate=local_stamp(day(2)))
    assert harness.sync(day(2), day(2), selection=_transactions()).success
    raw = [row for row in harness.rows("raw_sales_orders") if row["cin7_id"] == 101]
    assert [row["partition_day"] for row in raw] == [day(2)]
    # ...and a sync of the day it left removes nothing else.
    assert harness.sync(day(6), day(6), selection=_transactions()).success
    assert len([r for r in harness.rows("raw_sales_orders") if r["cin7_id"] == 101]) == 1


def _transactions() -> dg.AssetSelection:
    return dg.AssetSelection.assets(
        "cin7_sales_orders", "sales_order_lines", "products", "warehouses"
    )


def test_channel_rules_and_shopify_setting(harness, tmp_path, monkeypatch):
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(
        yaml.safe_dump(
            {
                "default_channel": "Trade",
                "channel_rules": [
                    {"channel": "South Island", "match": {"branch_ids": [CHRISTCHURCH]}},
                    {"channel": "Web", "match": {"sources": ["shopify"]}},
                ],
                "shopify_exclusion": {"enabled": False},
            }
        )
    )
    monkeypatch.setenv(SETTINGS_ENV_VAR, str(settings_file))
    _load_cached.cache_clear()
    try:
        assert harness.sync(day(12), day(0)).success
    finally:
        monkeypatch.delenv(SETTINGS_ENV_VAR)
        _load_cached.cache_clear()
    channels = {row["order_number"]: row["channel"] for row in harness.rows("sales_order_lines")}
    assert channels == {
        "SO-1": "Trade",
        "SO-2": "South Island",
        "#1050": "Web",
        "SO-6": "Trade",
        "SO-7": "Trade",
        "SO-9": "Trade",
    }


def test_no_429_at_the_sandbox_limits(tmp_path, dagster_instance):
    # Cin7's limits, with the clock running 10x faster so the test stays short.
    scale = 10
    harness = Harness(tmp_path=tmp_path, account=planning_account(), instance=dagster_instance)
    with SandboxServer(
        harness.account, limits=RateLimits(per_second=3, per_minute=60, per_day=5000),
        time_scale=scale,
    ) as server:  # fmt: skip
        harness.server = server
        harness.cin7_overrides = {"time_scale": scale}
        for _ in range(3):
            assert harness.sync(day(12), day(0)).success
        statuses = [entry.status for entry in server.request_log]
    assert len(statuses) >= 24
    assert 429 not in statuses


def test_bad_credentials_and_missing_permission_say_which(tmp_path, dagster_instance):
    harness = Harness(tmp_path=tmp_path, account=planning_account(), instance=dagster_instance)
    with SandboxServer(harness.account, permissions={"Stock": False}) as server:
        harness.server = server
        result = harness.sync(day(12), day(0), raise_on_error=False)
        assert not result.success
        failures = _failure_messages(result)
        assert "cin7_stock" in failures
        assert "lacks Read permission for Stock" in failures["cin7_stock"]
        assert "HTTP 403" in failures["cin7_stock"]
        # Other entities still synced: the sales history is there.
        assert len(harness.rows("raw_sales_orders")) == 8

        harness.cin7_overrides = {"api_key": "not-the-key"}
        result = harness.sync(day(12), day(0), raise_on_error=False)
        failures = _failure_messages(result)
        assert "HTTP 401" in failures["cin7_branches"]
        assert "CIN7_API_KEY" in failures["cin7_branches"]
        assert "not-the-key" not in str(failures)
        # The failed run deleted nothing that the earlier one stored.
        assert len(harness.rows("raw_sales_orders")) == 8


def test_failed_fetch_leaves_the_stored_window_intact(harness):
    assert harness.sync(day(12), day(0)).success
    before = harness.rows("sales_order_lines", order_by="cin7_line_id")
    harness.server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=500, times=50))
    result = harness.sync(day(12), day(0), raise_on_error=False)
    assert not result.success
    assert "SalesOrders" in _failure_messages(result)["cin7_sales_orders"]
    assert harness.rows("sales_order_lines", order_by="cin7_line_id") == before


def _failure_messages(result) -> dict[str, str]:
    """Each failed step's error, with the causes Dagster wraps around it."""
    messages = {}
    for event in result.all_events:
        if event.is_step_failure:
            error, text = event.event_specific_data.error, []
            while error is not None:
                text.append(error.message)
                error = error.cause
            messages[event.step_key] = "\n".join(text)
    return messages
