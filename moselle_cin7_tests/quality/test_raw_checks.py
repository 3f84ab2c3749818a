"""The checks of raw Cin7 records, on a scratch database filled by hand."""

from __future__ import annotations

from datetime import time

import pytest

from moselle_cin7.db import schema
from moselle_cin7.quality import rules
from moselle_cin7.quality.quarantine import Finding
from moselle_cin7_tests.quality.scratch import (
    DAY,
    NOW,
    ScratchDatabase,
    branch,
    days,
    line,
    product,
    purchase_order,
    sales_order,
    stamp,
    stock_row,
    transfer,
)


@pytest.fixture
def db(tmp_path) -> ScratchDatabase:
    return ScratchDatabase(tmp_path)


def _reasons(outcome: rules.Outcome) -> dict[str, str]:
    return {finding.record_key: finding.reason for finding in outcome.findings}


# --- no_duplicate_order_numbers ---------------------------------------------------------------


def test_an_order_number_on_two_ids_fails_even_across_days(db):
    db.add_sales_orders(
        sales_order(101, "SO-1", DAY, [line(9001, "JKT-S", 1.0)]),
        # Same number typed differently, forty days earlier: outside the run's range.
        sales_order(102, " so-1", days(-40), [line(9002, "JKT-S", 1.0)]),
        sales_order(103, "SO-3", DAY, [line(9003, "JKT-S", 1.0)]),
        # Orders without a number are not duplicates of each other.
        sales_order(104, "", DAY, []),
        sales_order(105, None, DAY, []),
        # A voided copy counts for nothing: SO-3 is not a duplicate.
        sales_order(106, "SO-3", DAY, [], isVoid=True, status="Void"),
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.duplicate_order_numbers(inputs, rules.RAW_SALES_ORDERS)

    assert not outcome.passed
    assert outcome.checked == 5
    assert _reasons(outcome) == {
        "cin7_id=101": "order number 'SO-1' is also used by Cin7 sales order 102",
        "cin7_id=102": "order number ' so-1' is also used by Cin7 sales order 101",
    }
    assert outcome.summary == (
        "Sales order records sharing an order number with another Cin7 id ('SO-1'): 2 of 5"
    )


def test_distinct_order_numbers_pass(db):
    db.add_transfers(
        transfer(301, "TR-1", DAY, [line(9301, "JKT-S", 1.0)]),
        transfer(302, "TR-2", DAY, [line(9302, "JKT-S", 1.0)]),
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.duplicate_order_numbers(inputs, rules.RAW_BRANCH_TRANSFERS)
    assert outcome.passed
    assert (
        outcome.summary == "Every branch transfer record has an order number of its own (2 checked)"
    )


# --- no_duplicate_line_ids --------------------------------------------------------------------


def test_a_line_id_used_twice_fails(db):
    db.add_purchase_orders(
        purchase_order(201, "PO-1", DAY, [line(9001, "JKT-S", 5.0), line(9002, "JKT-M", 1.0)]),
        purchase_order(202, "PO-2", DAY, [line(9001, "JKT-S", 2.0)]),
        purchase_order(203, "PO-3", DAY, [line(9003, "JKT-S", 1.0), line(9003, "JKT-M", 1.0)]),
        purchase_order(204, "PO-4", DAY, [line(9005, "JKT-S", 1.0)]),
    )
    # Line 9005 is already mapped under a purchase order of another day.
    db.insert(
        schema.purchase_order_lines,
        [
            {
                "cin7_line_id": 9005,
                "cin7_order_id": 555,
                "order_date": days(-20),
                "sku": "JKT-S",
                "quantity_ordered": 1.0,
                "quantity_received": 0.0,
            }
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.duplicate_line_ids(
            inputs, rules.RAW_PURCHASE_ORDERS, schema.purchase_order_lines, "cin7_order_id"
        )

    assert outcome.checked == 4
    assert _reasons(outcome) == {
        "cin7_id=201": "line id 9001 also appears on Cin7 purchase order 202",
        "cin7_id=202": "line id 9001 also appears on Cin7 purchase order 201",
        "cin7_id=203": "line id 9003 appears more than once on this purchase order",
        "cin7_id=204": "line id 9005 is already stored in purchase_order_lines as a line of "
        "Cin7 purchase order 555",
    }


def test_line_ids_already_mapped_for_the_same_order_pass(db):
    db.add_sales_orders(sales_order(101, "SO-1", DAY, [line(9001, "JKT-S", 1.0)]))
    # The previous sync mapped the same order on another day (it moved): no conflict.
    db.insert(
        schema.sales_order_lines,
        [
            {
                "cin7_line_id": 9001,
                "cin7_order_id": 101,
                "order_date": days(-3),
                "channel": "Wholesale",
                "quantity": 1.0,
            }
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.duplicate_line_ids(
            inputs, rules.RAW_SALES_ORDERS, schema.sales_order_lines, "cin7_order_id"
        )
    assert outcome.passed, outcome.findings


# --- fields_have_expected_types ---------------------------------------------------------------


def test_fields_of_the_wrong_type_fail_with_each_problem_named(db):
    db.add_sales_orders(
        sales_order(
            101,
            "SO-1",
            DAY,
            [line(9001, "JKT-S", 2.0), line(9002, "BEANIE", "7")],
            isVoid="no",
            invoiceDate="yesterday",
        ),
        sales_order(102, "SO-2", DAY, [line("x", "JKT-S", 1.0)], branchId=1.5),
        sales_order(103, "SO-3", DAY, [line(9003, "JKT-S", 1.0)]),
        partition_day=DAY,
    )
    # The payload's own id differs from the key it is stored under.
    db.insert(
        schema.raw_sales_orders,
        [
            {
                "cin7_id": 999,
                "partition_day": DAY,
                "payload": sales_order(104, "SO-4", DAY, []),
                "synced_at": NOW,
                "run_id": "scratch",
            }
        ],
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.raw_field_types(inputs, rules.RAW_SALES_ORDERS)

    assert _reasons(outcome) == {
        "cin7_id=101": "isVoid 'no' is not true or false; invoiceDate 'yesterday' is not a "
        "readable Cin7 date; line 2 (id 9002): qty '7' is not a finite number",
        "cin7_id=102": "branchId 1.5 is not a whole number; line 1: id 'x' is not a whole number",
        "cin7_id=999": "payload id equals the stored key fails for cin7_id=999, id=104",
    }
    assert outcome.summary == "Sales order records with fields of the wrong type: 3 of 4"


def test_missing_dates_pass_where_cin7_leaves_them_empty(db):
    # A sales order not invoiced yet has no invoiceDate; numbers may come as 2 or 2.0.
    db.add_sales_orders(
        sales_order(101, "SO-1", None, [line(9001, "JKT-S", 2)], source="Shopify"),
        partition_day=DAY,
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.raw_field_types(inputs, rules.RAW_SALES_ORDERS)
    assert outcome.passed, outcome.findings
    assert outcome.summary == "No sales order record has a field of the wrong type (1 checked)"


def test_purchase_orders_need_a_created_date(db):
    order = purchase_order(201, "PO-1", DAY, [line(9001, "JKT-S", 5.0)], createdDate=None)
    db.add_purchase_orders(order, partition_day=DAY)
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.raw_field_types(inputs, rules.RAW_PURCHASE_ORDERS)
    assert _reasons(outcome) == {"cin7_id=201": "createdDate is missing"}


def test_snapshot_types_are_checked_on_the_newest_day_only(db):
    db.add_raw(schema.raw_products, [product(1, "Jacket", [(11, "JKT-S")])], days(-1))
    db.add_raw(
        schema.raw_products,
        [product(1, "Jacket", [(11, "JKT-S")]), {**product(2, "Beanie", []), "productOptions": {}}],
        DAY,
    )
    db.add_raw(
        schema.raw_stock,
        [stock_row(11, 1), stock_row(12, 1, stockOnHand="5")],
        DAY,
    )
    db.add_raw(schema.raw_branches, [branch(1, "Auckland"), branch(2, "Online", isActive="yes")])
    with db.inputs(days(-5), days(1)) as inputs:
        products = rules.raw_field_types(inputs, rules.RAW_PRODUCTS)
        stock = rules.raw_field_types(inputs, rules.RAW_STOCK)
        branches = rules.raw_field_types(inputs, rules.RAW_BRANCHES)

    assert products.checked == 2 and products.details["snapshot_day"] == str(DAY)
    assert _reasons(products) == {
        f"partition_day={DAY}, cin7_id=2": "productOptions {} is not a list"
    }
    assert _reasons(stock) == {
        f"partition_day={DAY}, product_option_id=12, branch_id=1": "stockOnHand '5' is not a "
        "finite number"
    }
    assert _reasons(branches) == {"cin7_id=2": "isActive 'yes' is not true or false"}


def test_good_snapshots_pass(db):
    db.add_raw(schema.raw_products, [product(1, "Jacket", [(11, "JKT-S"), (12, None)])], DAY)
    db.add_raw(schema.raw_stock, [stock_row(11, 1, stockOnHand=-2.0)], DAY)
    db.add_raw(schema.raw_branches, [branch(1, "Auckland", branchType=None)])
    with db.inputs() as inputs:
        for source in (rules.RAW_PRODUCTS, rules.RAW_STOCK, rules.RAW_BRANCHES):
            outcome = rules.raw_field_types(inputs, source)
            assert outcome.passed, (source.table.name, outcome.findings)


# --- records_in_their_partition_day -----------------------------------------------------------


def test_a_record_stored_in_another_day_than_its_own_fails(db):
    # 12:00 on DAY in Auckland is 23:00 UTC the day before.
    db.add_sales_orders(sales_order(101, "SO-1", DAY, []), partition_day=days(1))
    db.add_transfers(transfer(301, "TR-1", DAY, []), partition_day=days(-1))
    with db.inputs(days(-1), days(2)) as inputs:
        sales = rules.records_outside_partition(inputs, rules.RAW_SALES_ORDERS)
        transfers = rules.records_outside_partition(inputs, rules.RAW_BRANCH_TRANSFERS)

    assert _reasons(sales) == {
        "cin7_id=101": "invoiceDate 2025-03-09T23:00:00Z falls on 2025-03-10 in "
        "Pacific/Auckland, but the record is stored in partition 2025-03-11"
    }
    assert sales.summary == (
        "Sales order records stored outside the day of their invoiceDate: 1 of 1"
    )
    assert _reasons(transfers) == {
        "cin7_id=301": "createdDate 2025-03-09T23:00:00Z falls on 2025-03-10 in "
        "Pacific/Auckland, but the record is stored in partition 2025-03-09"
    }


def test_records_in_their_account_local_day_pass(db):
    # 00:10 in Auckland is still the previous day in UTC: the local day is the right one.
    early = sales_order(101, "SO-1", DAY, [], invoiceDate=stamp(DAY, time(0, 10)))
    assert early["invoiceDate"] == "2025-03-09T11:10:00Z"
    db.add_sales_orders(early, partition_day=DAY)
    # Records without a readable date are the type check's business, not this one's.
    db.add_sales_orders(sales_order(102, "SO-2", None, []), partition_day=DAY)
    db.add_sales_orders(sales_order(103, "SO-3", DAY, [], invoiceDate="soon"), partition_day=DAY)
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.records_outside_partition(inputs, rules.RAW_SALES_ORDERS)
    assert outcome.passed, outcome.findings
    assert outcome.checked == 3


def test_a_ranged_scope_ignores_days_outside_it(db):
    db.add_sales_orders(sales_order(101, "SO-1", DAY, []), partition_day=days(5))
    with db.inputs(DAY, days(1)) as inputs:
        assert rules.records_outside_partition(inputs, rules.RAW_SALES_ORDERS).passed
    with db.inputs() as inputs:
        assert not rules.records_outside_partition(inputs, rules.RAW_SALES_ORDERS).passed


# --- no_duplicate_option_ids ------------------------------------------------------------------


def test_an_option_id_under_two_products_fails(db):
    db.add_raw(
        schema.raw_products,
        [
            product(1, "Jacket", [(11, "JKT-S"), (12, "JKT-M")]),
            product(2, "Beanie", [(12, "BEANIE")]),
            product(3, "Kit", [(31, "KIT"), (31, "KIT-2")]),
        ],
        DAY,
    )
    with db.inputs() as inputs:
        outcome = rules.duplicate_option_ids(inputs)
    assert _reasons(outcome) == {
        f"partition_day={DAY}, cin7_id=1": "option id 12 also belongs to product 2",
        f"partition_day={DAY}, cin7_id=2": "option id 12 also belongs to product 1",
        f"partition_day={DAY}, cin7_id=3": "option id 31 appears more than once on this product",
    }


def test_the_same_option_in_two_snapshots_passes(db):
    db.add_raw(schema.raw_products, [product(1, "Jacket", [(11, "JKT-S")])], days(-1))
    db.add_raw(schema.raw_products, [product(1, "Jacket", [(11, "JKT-S")])], DAY)
    with db.inputs() as inputs:
        outcome = rules.duplicate_option_ids(inputs)
    assert outcome.passed
    assert outcome.summary == "Every product option has an id of its own (1 checked)"


# --- shopify_orders_not_entered_twice ---------------------------------------------------------


def test_a_cin7_copy_of_a_shopify_order_is_reported(db):
    db.add_sales_orders(
        sales_order(105, "#1050", DAY, [], source="Shopify", branchId=3),
        # The copy was keyed in a month earlier, outside the run's range.
        sales_order(201, "SO-77", days(-30), [], customerOrderNo="1050"),
        # This Cin7 order in range points at a Shopify order outside it, with the '#'.
        sales_order(202, "SO-78", DAY, [], customerOrderNo=" #1060"),
        sales_order(106, "#1060", days(-10), [], source="shopify"),
        # A voided copy counts for nothing; an unrelated customer number is fine.
        sales_order(203, "SO-79", DAY, [], customerOrderNo="1050", isVoid=True),
        sales_order(204, "SO-80", DAY, [], customerOrderNo="PO 4471"),
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.shopify_orders_entered_twice(inputs)
    assert outcome.findings == [
        Finding(
            "raw_sales_orders",
            "cin7_id=201",
            "Cin7 order 'SO-77' has customerOrderNo '1050', the number of Shopify order "
            "'#1050' (cin7_id 105)",
        ),
        Finding(
            "raw_sales_orders",
            "cin7_id=202",
            "Cin7 order 'SO-78' has customerOrderNo ' #1060', the number of Shopify order "
            "'#1060' (cin7_id 106)",
        ),
    ]


def test_shopify_orders_without_a_cin7_copy_pass(db):
    db.add_sales_orders(
        sales_order(105, "#1050", DAY, [], source="Shopify"),
        sales_order(201, "SO-77", DAY, [], customerOrderNo="2050"),
    )
    with db.inputs(DAY, days(1)) as inputs:
        outcome = rules.shopify_orders_entered_twice(inputs)
    assert outcome.passed
    assert outcome.summary == "No Cin7 order repeats a Shopify order's number (2 checked)"


def test_a_ranged_run_looks_for_copies_a_month_around_its_range(db):
    db.add_sales_orders(
        sales_order(107, "#1070", DAY, [], source="Shopify"),
        sales_order(205, "SO-90", days(-60), [], customerOrderNo="1070"),
    )
    with db.inputs(DAY, days(1)) as inputs:
        assert rules.shopify_orders_entered_twice(inputs).passed
    with db.inputs() as inputs:
        whole = rules.shopify_orders_entered_twice(inputs)
    assert [f.record_key for f in whole.findings] == ["cin7_id=205"]
