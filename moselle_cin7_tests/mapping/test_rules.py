"""The mapping rules on single records, including the odd shapes Cin7 sends."""

from __future__ import annotations

from datetime import date

import pytest

from moselle_cin7.mapping import rules
from moselle_cin7.settings import Settings, parse_settings

SETTINGS = Settings()
DAY = date(2026, 11, 2)


def catalogue(*skus: str) -> rules.Catalogue:
    return rules.Catalogue(skus=set(skus), warehouse_ids={1, 2})


@pytest.mark.parametrize(
    ("order", "status", "issue"),
    [
        ({"status": "Void", "isVoid": False}, "Archived", None),
        ({"status": "Approved", "isVoid": True}, "Archived", None),
        ({"status": " DRAFT "}, "Draft", None),
        ({"status": "Approved", "lineItems": [{"qty": 5, "qtyShipped": 2}]}, "Active", None),
        ({"status": "Approved", "lineItems": [{"qty": 5, "qtyShipped": 5}]}, "Delivered", None),
        ({"status": "approved", "fullyReceivedDate": "2026-10-01T00:00:00Z"}, "Delivered", None),
        ({"status": "Approved", "lineItems": []}, "Active", None),
        ({"status": "Parked"}, "Active", "unknown Cin7 status 'Parked', treated as approved"),
    ],
)
def test_purchase_order_status(order, status, issue):
    assert rules.purchase_order_status(order) == (status, issue)


@pytest.mark.parametrize(
    ("dispatched", "received", "status"),
    [
        (None, None, "Draft"),
        (DAY, None, "Active"),
        (DAY, DAY, "Delivered"),
        (None, DAY, "Delivered"),
    ],
)
def test_transfer_status_comes_from_the_dates(dispatched, received, status):
    assert rules.transfer_status(dispatched, received) == status


def test_sales_exclusion_reasons():
    order = {"stage": "Dispatched", "status": "Approved", "reference": "SO-1"}
    assert rules.sales_exclusion(order, SETTINGS) is None
    assert rules.sales_exclusion({**order, "status": "VOID"}, SETTINGS) == "voided"
    assert rules.sales_exclusion({**order, "stage": "Fully Picked"}, SETTINGS) == "not dispatched"
    assert rules.sales_exclusion({**order, "reference": "#1050"}, SETTINGS) == "shopify"
    keep_shopify = parse_settings({"shopify_exclusion": {"enabled": False}})
    assert rules.sales_exclusion({**order, "source": "Shopify"}, keep_shopify) is None


def test_kit_parent_is_replaced_by_its_components():
    order = {
        "id": 1,
        "reference": "SO-1",
        "stage": "Dispatched",
        "branchId": 1,
        "lineItems": [
            {"id": 10, "code": "KIT", "qty": 2},
            {"id": 11, "code": "TENT", "qty": 2, "parentId": 10},
            {"id": 12, "code": "MAT", "qty": 4, "parentId": 10},
            {"id": 13, "code": "TENT", "qty": 1},
        ],
    }
    mapped = rules.map_sales_orders([(DAY, order)], SETTINGS, catalogue("KIT", "TENT", "MAT"))
    assert [(line["cin7_line_id"], line["sku"], line["quantity"]) for line in mapped.lines] == [
        (11, "TENT", 2.0),
        (12, "MAT", 4.0),
        (13, "TENT", 1.0),
    ]
    assert mapped.excluded == {"kit parent line": 1}


def test_rows_that_do_not_fit_are_kept_with_the_reason():
    order = {
        "id": 1,
        "reference": "SO-1",
        "stage": "Dispatched",
        "branchId": 99,
        "lineItems": [
            {"id": 10, "code": "", "productOptionId": 555, "qty": 1},
            {"id": 11, "code": "TENT", "qty": "lots"},
        ],
    }
    lines = rules.map_sales_orders([(DAY, order)], SETTINGS, catalogue("TENT")).lines
    assert lines[0]["mapping_issue"] == (
        "branch 99 is not a known Cin7 branch; line has no SKU (productOptionId 555)"
    )
    assert lines[1]["quantity"] == 0.0
    assert lines[1]["mapping_issue"] == (
        "branch 99 is not a known Cin7 branch; quantity 'lots' is not a number"
    )


def test_unparseable_dates_keep_the_purchase_order():
    order = {
        "id": 5,
        "reference": "PO-5",
        "status": "Approved",
        "branchId": 1,
        "estimatedDeliveryDate": "next Tuesday",
        "lineItems": [],
    }
    header = rules.map_purchase_orders([(DAY, order)], SETTINGS, catalogue()).orders[0]
    assert header["expected_date"] is None
    assert header["mapping_issue"] == "estimatedDeliveryDate: unparseable Cin7 date 'next Tuesday'"


def test_duplicate_sku_keeps_the_first_option():
    products = [
        {"id": 2, "name": "B", "productOptions": [{"id": 22, "code": "DUP"}]},
        {"id": 1, "name": "A", "productOptions": [{"id": 11, "code": "DUP"}, {"id": 12}]},
    ]
    rows = rules.map_products(products, DAY, SETTINGS)
    assert [(row["cin7_option_id"], row["sku"], row["mapping_issue"]) for row in rows] == [
        (11, "DUP", None),
        (12, None, "option has no code (SKU)"),
        (22, None, "SKU DUP is also option 11's code"),
    ]


@pytest.mark.parametrize(
    "custom",
    [
        {"Region": "North", "Buyer": "Ana"},
        # The spec's array form, in case Cin7 ever sends it as documented.
        [{"name": "region", "value": "North"}, {"name": "Buyer", "value": "Ana"}],
    ],
)
def test_custom_fields_from_objects_or_arrays(custom):
    assert rules.custom_field_values({"customFields": custom}, ["Region", "Missing"]) == {
        "Region": "North",
        "Missing": None,
    }
