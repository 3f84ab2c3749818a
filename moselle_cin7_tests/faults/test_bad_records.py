"""Records that are odd but legal flow through a whole sync untouched; records that are wrong are
kept and explained, or stop their window with a message that names them.

Odd but legal: unicode (emoji, right-to-left text, combining marks), quotes, ``#`` and ``%`` in
references, SKUs and names; numbers as large as 1e308 and 2**63; nulls and missing keys; unknown
stages and statuses; ``lineItems: null``. They must reach the planning tables byte for byte.

Wrong: dates that are not dates. A full sync stores the raw records (a sales order whose
``invoiceDate`` cannot be read goes to the first day of the window that returned it, as the raw
assets document) and the quality gate keeps them out of the model; re-mapping the stored window
without Cin7 keeps each row with its ``mapping_issue``. A line without a usable id cannot become a
row at all: its window is not mapped and says why.
"""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from moselle_cin7.db.engine import engine_for
from moselle_cin7.sandbox import SandboxAccount, SandboxServer
from moselle_cin7_tests.faults.scenario import (
    FIRST,
    LAST,
    TRANSACTIONS,
    branch_transfer,
    fast_harness,
    purchase_order,
    step_failures,
    step_outcomes,
    table_rows,
)
from moselle_cin7_tests.support import (
    AUCKLAND,
    CHRISTCHURCH,
    branches,
    day,
    line,
    product,
    sales_order,
    stock_row,
)

RAW_AND_MODEL = dg.AssetSelection.groups("cin7_raw", "planning_model")
REMAP = dg.AssetSelection.assets("sales_order_lines", "purchase_orders", "transfers")

ROCKET_REFERENCE = 'O\'Brien "Rush" #7 100% 🚀'
RTL_REFERENCE = "\u200fطلب-٤٠٢\u200e"
PERCENT_REFERENCE = "SO%2F403%"
UNICODE_COMPANY = 'Ünïcødé Café\u0301 Ltd "Trade"'
PO_REFERENCE = "PO#501 %25 'A'"
SUPPLIER = 'Ωmega "Supplies" 🚚 שלום'
TRANSFER_REFERENCE = "TR-😀-601"
JACKET = 'Trail Jacket ⛰️ "Alpine"'
MUG = "Cafe\u0301 Mug"
BEANIE = "كنزة صوف"


def odd_account() -> SandboxAccount:
    no_branch = sales_order("SO-405", day(3), [], id=405)
    del no_branch["branchId"]
    no_branch["reference"] = None
    no_branch["lineItems"] = [
        line("JKT-S", 1, id=9405, transactionId=405),
        {**line("", 2, id=9406, transactionId=405), "code": None, "productOptionId": 12},
        {"id": 9407, "transactionId": 405, "qty": 1.0},
    ]
    no_stage = sales_order("SO-407", day(2), [line("JKT-S", 1, id=9409)], id=407)
    del no_stage["stage"]
    return SandboxAccount(
        records={
            "Branches": branches(),
            "Products": [
                {**product(1, JACKET, "Outer'wear", "JKT-S", "JKT-M")},
                product(2, BEANIE, "Accessories", "BEANIE"),
                product(3, MUG, "Home & \"Kitchen\"", "MUG#1", "MUG%20"),
            ],
            "SalesOrders": [
                sales_order(
                    ROCKET_REFERENCE,
                    day(5),
                    [
                        line("MUG#1", 1e308, id=9401, unitPrice=2**63),
                        line("MUG%20", 2**63, id=9402),
                    ],
                    company=UNICODE_COMPANY,
                    id=401,
                ),
                sales_order(RTL_REFERENCE, day(5), [line("JKT-S", 2, id=9403)], id=402),
                sales_order(
                    PERCENT_REFERENCE, day(4), [line("JKT-M", None, id=9404)],
                    stage=" dispatched ", id=403,
                ),
                sales_order("SO-404", day(4), [], lineItems=None, id=404),
                no_branch,
                sales_order("SO-406", day(2), [line("JKT-S", 1, id=9408)], stage="Shipped",
                            id=406),
                no_stage,
            ],
            "PurchaseOrders": [
                purchase_order(
                    501, PO_REFERENCE, day(6), [line("JKT-S", 3, id=9501, shipped=None)],
                    status="Pending", company=SUPPLIER,
                ),
                purchase_order(502, "PO-502", day(6), None, status=None),
                purchase_order(503, "PO-503", day(6), [line("BEANIE", 1, id=9503)],
                               status="VOID"),
                purchase_order(504, "PO-504", day(6), [line("BEANIE", 1, id=9504)],
                               status="draft"),
            ],
            "BranchTransfers": [
                branch_transfer(601, TRANSFER_REFERENCE, day(3), None),
                branch_transfer(602, "TR-602", day(3), [line("JKT-M", None, id=9602)]),
            ],
            "Stock": [
                stock_row(11, "JKT-S", AUCKLAND, stockOnHand=1e308),
                {**stock_row(12, "JKT-M", AUCKLAND), "stockOnHand": None, "available": None},
                stock_row(21, "BEANIE", CHRISTCHURCH, stockOnHand=3),
            ],
        }
    )  # fmt: skip


@pytest.fixture
def odd(tmp_path, dagster_instance):
    harness = fast_harness(tmp_path, dagster_instance, odd_account())
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness


def same_text(stored: str | None, sent: str | None) -> bool:
    """Byte-for-byte equality, so a normalisation (NFC, stripped marks) would show."""
    if sent is None:
        return stored is None
    return stored is not None and stored.encode("utf-8") == sent.encode("utf-8")


def kept_as_sent(stored, sent) -> bool:
    """``stored`` holds what Cin7 ``sent``, equal value by value and text byte for byte.

    A ``fields`` projection answers null for a field the record lacks, so a key missing from
    ``sent`` must be null in ``stored``.
    """
    if isinstance(stored, dict) and isinstance(sent, dict):
        return all(
            kept_as_sent(value, sent[name]) if name in sent else value is None
            for name, value in stored.items()
        )
    if isinstance(stored, list) and isinstance(sent, list):
        return len(stored) == len(sent) and all(map(kept_as_sent, stored, sent))
    if isinstance(sent, str):
        return same_text(stored, sent)
    return type(stored) is type(sent) and stored == sent


def test_odd_but_legal_records_reach_the_planning_tables_exactly(odd):
    result = odd.sync(FIRST, LAST, selection=RAW_AND_MODEL)

    assert result.success, step_failures(result)
    # Raw records are kept whole: every field Cin7 sent, as it sent it.
    for table, endpoint in (
        ("raw_sales_orders", "SalesOrders"),
        ("raw_purchase_orders", "PurchaseOrders"),
        ("raw_branch_transfers", "BranchTransfers"),
    ):
        for row in table_rows(odd, table):
            assert kept_as_sent(row["payload"], odd.account.get(endpoint, row["cin7_id"]))

    lines = {row["cin7_line_id"]: row for row in table_rows(odd, "sales_order_lines")}
    # SO-404 has no lines, SO-406 an unknown stage and SO-407 none at all: not sales history.
    assert sorted(lines) == [9401, 9402, 9403, 9404, 9405, 9406, 9407]
    assert same_text(lines[9401]["order_number"], ROCKET_REFERENCE)
    assert same_text(lines[9401]["sku"], "MUG#1") and same_text(lines[9402]["sku"], "MUG%20")
    assert lines[9401]["quantity"] == 1e308
    assert lines[9401]["unit_price"] == float(2**63)
    assert lines[9402]["quantity"] == float(2**63)
    assert lines[9401]["mapping_issue"] is None and lines[9402]["mapping_issue"] is None
    assert same_text(lines[9403]["order_number"], RTL_REFERENCE)
    assert same_text(lines[9404]["order_number"], PERCENT_REFERENCE)
    assert (lines[9404]["quantity"], lines[9404]["mapping_issue"]) == (
        0.0,
        "quantity is missing, counted as 0",
    )
    assert lines[9405]["order_number"] is None and lines[9405]["warehouse_id"] is None
    assert lines[9405]["mapping_issue"] == "branch is missing"
    assert (lines[9406]["sku"], lines[9406]["mapping_issue"]) == ("JKT-M", "branch is missing")
    assert lines[9407]["sku"] is None
    assert lines[9407]["mapping_issue"] == (
        "branch is missing; line has no SKU (productOptionId None)"
    )

    orders = {row["cin7_order_id"]: row for row in table_rows(odd, "purchase_orders")}
    assert same_text(orders[501]["order_number"], PO_REFERENCE)
    assert same_text(orders[501]["supplier"], SUPPLIER)
    assert {number: row["status"] for number, row in orders.items()} == {
        501: "Active",
        502: "Active",
        503: "Archived",
        504: "Draft",
    }
    assert orders[501]["mapping_issue"] == "unknown Cin7 status 'Pending', treated as approved"
    assert orders[502]["mapping_issue"] == "unknown Cin7 status None, treated as approved"
    po_lines = {row["cin7_line_id"]: row for row in table_rows(odd, "purchase_order_lines")}
    assert sorted(po_lines) == [9501, 9503, 9504]
    assert (po_lines[9501]["quantity_received"], po_lines[9501]["mapping_issue"]) == (0.0, None)

    transfers = {row["cin7_transfer_id"]: row for row in table_rows(odd, "transfers")}
    assert same_text(transfers[601]["order_number"], TRANSFER_REFERENCE)
    assert [
        (row["cin7_line_id"], row["quantity"], row["mapping_issue"])
        for row in table_rows(odd, "transfer_lines")
    ] == [(9602, 0.0, "quantity is missing, counted as 0")]

    products = {row["sku"]: row for row in table_rows(odd, "products")}
    assert set(products) == {"JKT-S", "JKT-M", "BEANIE", "MUG#1", "MUG%20"}
    assert same_text(products["JKT-S"]["name"], JACKET)
    assert same_text(products["JKT-S"]["category"], "Outer'wear")
    assert same_text(products["BEANIE"]["name"], BEANIE)
    assert same_text(products["MUG%20"]["name"], MUG)
    assert same_text(products["MUG#1"]["category"], 'Home & "Kitchen"')

    stock = {row["sku"]: row for row in table_rows(odd, "inventory")}
    assert stock["JKT-S"]["on_hand"] == 1e308 and stock["JKT-S"]["mapping_issue"] is None
    assert (stock["JKT-M"]["on_hand"], stock["JKT-M"]["available"]) == (0.0, 0.0)
    assert stock["JKT-M"]["mapping_issue"] == (
        "available is missing, counted as 0; stockOnHand is missing, counted as 0"
    )


def unreadable_instant(on) -> str:
    """Noon on ``on`` in Auckland, written with a +24:00 offset: Cin7 (and the sandbox) read it,
    Python's datetime cannot, so the record comes back from the window but its day is unknown."""
    return f"{on}T23:00:00+24:00"


def quarantined(harness) -> dict[str, str]:
    engine = engine_for(harness.database_url)
    table = sa.Table("quarantine", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.table_name, table.c.record_key, table.c.reason).where(
                table.c.check_name == "fields_have_expected_types"
            )
        ).all()
    return {f"{name} {key}": reason for name, key, reason in rows}


def test_bad_dates_and_quantities_are_held_back_by_the_gate_and_kept_with_the_reason(synced):
    mapped = ("sales_order_lines", "purchase_orders", "purchase_order_lines", "transfers")
    before = {table: table_rows(synced, table) for table in mapped}
    bad_invoice = unreadable_instant(day(3))
    synced.account.update("SalesOrders", 104, invoiceDate=bad_invoice)
    synced.account.update("PurchaseOrders", 202, estimatedDeliveryDate="31/12/2026")
    po_line = synced.account.get("PurchaseOrders", 201)["lineItems"][0]
    synced.account.update("PurchaseOrders", 201, lineItems=[{**po_line, "qty": "10 boxes"}])
    synced.account.update("BranchTransfers", 302, dispatchedDate="2026-13-01T00:00:00Z")
    transfer_line = synced.account.get("BranchTransfers", 301)["lineItems"][0]
    synced.account.update("BranchTransfers", 301, lineItems=[{**transfer_line, "qty": "two"}])

    result = synced.sync(FIRST, LAST, selection=TRANSACTIONS, raise_on_error=False)

    # The raw windows are stored; SO-104 on the first day of the window that returned it.
    outcomes = step_outcomes(result)
    assert [outcomes[step] for step in ("cin7_sales_orders", "cin7_purchase_orders")] == [
        "success",
        "success",
    ]
    raw = {row["cin7_id"]: row for row in table_rows(synced, "raw_sales_orders")}
    assert raw[104]["partition_day"] == FIRST
    assert raw[104]["payload"]["invoiceDate"] == bad_invoice
    warnings = [
        entry.user_message
        for entry in synced.instance.all_logs(result.run_id)
        if entry.user_message.startswith("SalesOrders id 104")
    ]
    assert len(warnings) == 1 and f"stored on {FIRST}" in warnings[0]
    # The gate names each record and field; the model keeps what the last good run built.
    assert not result.success
    assert all(step not in outcomes for step in mapped)
    reasons = quarantined(synced)
    assert f"'{bad_invoice}' is not a readable Cin7 date" in reasons["raw_sales_orders cin7_id=104"]
    assert "estimatedDeliveryDate '31/12/2026'" in reasons["raw_purchase_orders cin7_id=202"]
    assert "qty '10 boxes' is not a finite number" in reasons["raw_purchase_orders cin7_id=201"]
    assert "dispatchedDate '2026-13-01T00:00:00Z'" in reasons["raw_branch_transfers cin7_id=302"]
    assert {table: table_rows(synced, table) for table in mapped} == before

    # Re-mapping the stored windows (no Cin7 call) keeps every row, each with its reason.
    remapped = synced.sync(FIRST, LAST, selection=REMAP)
    assert remapped.success
    line = next(r for r in table_rows(synced, "sales_order_lines") if r["cin7_order_id"] == 104)
    assert line["order_date"] == FIRST
    assert line["mapping_issue"].startswith(f"invoiceDate: unparseable Cin7 date '{bad_invoice}'")
    assert line["mapping_issue"].endswith(f"; kept on {FIRST}, the day it is stored under")
    po = next(r for r in table_rows(synced, "purchase_orders") if r["cin7_order_id"] == 202)
    assert (po["expected_date"], po["mapping_issue"]) == (
        None,
        "estimatedDeliveryDate: unparseable Cin7 date '31/12/2026'",
    )
    transfer = next(r for r in table_rows(synced, "transfers") if r["cin7_transfer_id"] == 302)
    assert transfer["dispatched_date"] is None
    assert transfer["mapping_issue"] == (
        "dispatchedDate: unparseable Cin7 date '2026-13-01T00:00:00Z': month must be in 1..12"
    )
    # Quantities that are not numbers count as 0 and say so (the mapping used to fail on them).
    po_line = next(
        r for r in table_rows(synced, "purchase_order_lines") if r["cin7_line_id"] == 9201
    )
    assert (po_line["quantity_ordered"], po_line["mapping_issue"]) == (
        0.0,
        "quantity '10 boxes' is not a number",
    )
    # Nothing says its goods came: the order stays open rather than Delivered.
    statuses = {r["cin7_order_id"]: r["status"] for r in table_rows(synced, "purchase_orders")}
    assert statuses[201] == "Active"
    moved = next(r for r in table_rows(synced, "transfer_lines") if r["cin7_line_id"] == 9301)
    assert (moved["quantity"], moved["mapping_issue"]) == (0.0, "quantity 'two' is not a number")


def test_a_line_without_a_usable_id_stops_its_window_with_a_clear_message(synced):
    before = table_rows(synced, "sales_order_lines")
    order = synced.account.get("SalesOrders", 107)
    nameless = {key: value for key, value in order["lineItems"][0].items() if key != "id"}
    synced.account.update("SalesOrders", 107, lineItems=[nameless])

    # The gate holds the window back in a full sync...
    gated = synced.sync(FIRST, LAST, selection=TRANSACTIONS, raise_on_error=False)
    assert not gated.success
    assert "sales_order_lines" not in step_outcomes(gated)
    # ...and re-mapping it says which line cannot be stored.
    remapped = synced.sync(FIRST, LAST, selection="sales_order_lines", raise_on_error=False)
    assert not remapped.success
    assert (
        "sales order 107 (SO-107) line 1 has no id; its window cannot be mapped"
        in step_failures(remapped)["sales_order_lines"]
    )
    assert table_rows(synced, "sales_order_lines") == before

    # An id beyond what a BIGINT column holds is named the same way.
    synced.account.update("SalesOrders", 107, lineItems=[{**nameless, "id": 2**63}])
    stored = synced.sync(FIRST, LAST, selection="cin7_sales_orders", raise_on_error=False)
    assert step_outcomes(stored)["cin7_sales_orders"] == "success"
    remapped = synced.sync(FIRST, LAST, selection="sales_order_lines", raise_on_error=False)
    assert not remapped.success
    assert (
        f"sales order 107 (SO-107) line 1 has id {2**63}, beyond the 64-bit ids the planning "
        "database stores" in step_failures(remapped)["sales_order_lines"]
    )
    assert table_rows(synced, "sales_order_lines") == before


def test_a_record_id_beyond_64_bits_stops_its_raw_window_naming_the_record(synced):
    before = table_rows(synced, "raw_sales_orders")
    huge = {**synced.account.get("SalesOrders", 107), "id": 2**63, "reference": "SO-HUGE"}
    synced.account.upsert("SalesOrders", huge)

    result = synced.sync(FIRST, LAST, selection="cin7_sales_orders", raise_on_error=False)

    assert not result.success
    message = step_failures(result)["cin7_sales_orders"]
    assert f"SalesOrders id {2**63} (SO-HUGE)" in message
    assert "beyond the 64-bit ids the planning database stores" in message
    # Nothing of the window was replaced.
    assert table_rows(synced, "raw_sales_orders") == before
