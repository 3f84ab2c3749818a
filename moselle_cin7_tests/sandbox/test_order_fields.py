"""`order` and `fields` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moselle_cin7.sandbox import QueryRules
from moselle_cin7_tests.sandbox.conftest import Api, order, serve

ORDERS = [
    order(1, branchId=4, modifiedDate="2026-01-31T12:00:00+13:00", reference="b"),  # 23:00Z on 30th
    order(2, branchId=3, modifiedDate="2026-01-31T00:00:00Z", reference="A"),
    order(3, branchId=4, modifiedDate=None, reference="c"),
    order(4, branchId=3, modifiedDate="2026-01-30T23:30:00.5", reference="D"),
]


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with serve({"SalesOrders": ORDERS}) as server:
        yield Api(server)


@pytest.mark.parametrize(
    ("order_text", "expected"),
    [
        ("id", [4, 3, 2, 1]),  # no direction means DESC
        ("id DESC", [4, 3, 2, 1]),
        ("id ASC", [1, 2, 3, 4]),
        ("ID asc", [1, 2, 3, 4]),
        # Dates sort by instant; a null sorts first ascending and last descending.
        ("modifiedDate ASC", [3, 1, 4, 2]),
        ("modifiedDate", [2, 4, 1, 3]),
        # Text sorts without regard to case.
        ("reference ASC", [2, 1, 3, 4]),
        ("branchId ASC, id", [4, 2, 3, 1]),
        ("branchId ASC, id ASC", [2, 4, 1, 3]),
        ("branchId, modifiedDate ASC", [3, 1, 4, 2]),
    ],
)
def test_order(api: Api, order_text: str, expected: list[int]) -> None:
    assert api.ids("SalesOrders", order=order_text) == expected


def test_without_order_the_newest_id_comes_first(api: Api) -> None:
    assert api.ids("SalesOrders") == [4, 3, 2, 1]


def test_ascending_by_default_can_be_configured() -> None:
    with serve({"SalesOrders": ORDERS}, rules=QueryRules(default_descending=False)) as server:
        assert Api(server).ids("SalesOrders", order="id") == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("order_text", "message"),
    [
        ("colour ASC", "unknown field"),
        ("id UP", "not ASC or DESC"),
        ("id ASC extra", "is not 'field ASC'"),
        ("lineItems ASC", "cannot sort"),
        ("id,", "empty term"),
    ],
)
def test_bad_order_is_400(api: Api, order_text: str, message: str) -> None:
    response = api.get("SalesOrders", order=order_text)

    assert response.status_code == 400
    assert message in response.json()


def test_fields_projects_the_header_and_nested_lines(api: Api) -> None:
    rows = api.rows(
        "SalesOrders", fields="id,reference,lineItems(code,qty)", order="id ASC", rows=1
    )

    assert rows == [{"id": 1, "reference": "b", "lineItems": [{"code": "SKU-1", "qty": 1.0}]}]


def test_fields_names_ignore_case_and_keep_the_record_order(api: Api) -> None:
    rows = api.rows("SalesOrders", fields="REFERENCE, Id, lineitems(QTY, Code)", rows=1)

    assert rows == [{"id": 4, "reference": "D", "lineItems": [{"code": "SKU-1", "qty": 1.0}]}]


def test_fields_without_nested_names_returns_whole_lines(api: Api) -> None:
    rows = api.rows("SalesOrders", fields="id,lineItems", rows=1)

    assert rows[0]["lineItems"] == [{"id": 40, "code": "SKU-1", "qty": 1.0, "qtyShipped": 0.0}]


def test_a_known_field_a_record_lacks_comes_back_null(api: Api) -> None:
    # dispatchedDate is a documented SalesOrders field none of these records carries.
    rows = api.rows("SalesOrders", fields="id,dispatchedDate", rows=1)

    assert rows == [{"id": 4, "dispatchedDate": None}]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("id,colour", "unknown field 'colour'"),
        ("id,lineItems(colour)", "unknown field 'colour' in lineItems"),
        ("reference(code)", "no nested fields"),
        ("id,lineItems(code", "parenthes"),
    ],
)
def test_bad_fields_are_400(api: Api, fields: str, message: str) -> None:
    response = api.get("SalesOrders", fields=fields)

    assert response.status_code == 400
    assert message in response.json()


def test_products_project_their_nested_options(tiny_api: Api) -> None:
    rows = tiny_api.rows("Products", fields="id,productOptions(code,id)", order="id ASC", rows=1)

    assert rows == [
        {
            "id": 1001,
            "productOptions": [
                {"id": 100001, "code": "AP0001-WHT-M"},
                {"id": 100002, "code": "AP0001-WHT-L"},
            ],
        }
    ]
