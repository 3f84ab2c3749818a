"""Keyset pages (``<filter> AND id > last`` ordered by id) read from one remembered answer.

The sandbox answers them from the tail of the base filter's answer instead of filtering the whole
table per page; these tests hold that shortcut to the answer a full evaluation gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date

import pytest

from moselle_cin7.sandbox import QueryRules, SandboxAccount, generate_account
from moselle_cin7.sandbox.query import parse_list_query, run_list_query
from moselle_cin7_tests.sandbox.conftest import Api, order, serve

ORDERS = [
    order(1, branchId=3),
    order(2, branchId=4),
    order(3, branchId=3),
    order(4, branchId=None),
    order(5, branchId=3),
    order(7, branchId=3),
    order(9, branchId=4),
]


@pytest.fixture
def api() -> Iterator[Api]:
    with serve({"SalesOrders": ORDERS}) as server:
        yield Api(server)


@pytest.mark.parametrize(
    ("where", "rows", "page", "expected"),
    [
        ("branchId=3 AND id>1", 2, 1, [3, 5]),
        ("branchId=3 AND id>3", 2, 1, [5, 7]),
        ("branchId=3 AND id>=5", 50, 1, [5, 7]),
        ("branchId=3 AND id>7", 50, 1, []),
        # An id between stored ids, and a fractional one.
        ("branchId=4 AND id>6", 50, 1, [9]),
        ("branchId=3 AND id>4.5", 50, 1, [5, 7]),
        # Page 2 of a keyset call skips the first page's rows of the same filter.
        ("branchId=3 AND id>0", 2, 2, [5, 7]),
        # No base filter; a null branch never equals 3 but still has an id.
        ("id>3", 3, 1, [4, 5, 7]),
        ("branchId<>4 AND id>2", 50, 1, [3, 5, 7]),
    ],
)
def test_keyset_pages(api: Api, where: str, rows: int, page: int, expected: list[int]) -> None:
    assert api.ids("SalesOrders", where=where, order="id ASC", rows=rows, page=page) == expected


def test_a_record_added_mid_scan_is_on_the_next_page(api: Api) -> None:
    first = api.ids("SalesOrders", where="branchId=3 AND id>0", order="id ASC", rows=2)
    api.server.account.upsert("SalesOrders", order(6, branchId=3))
    api.server.account.remove("SalesOrders", 7)
    rest = api.ids("SalesOrders", where="branchId=3 AND id>3", order="id ASC", rows=2)
    assert (first, rest) == ([1, 3], [5, 6])


@pytest.fixture(scope="module")
def tiny_account() -> SandboxAccount:
    return generate_account(seed=11, profile="tiny", today=date(2026, 3, 15))


@pytest.mark.parametrize(
    ("endpoint", "key", "base"),
    [
        ("SalesOrders", "id", "invoiceDate>='2026-02-01T00:00:00Z' AND invoiceDate<'2026-03-01'"),
        ("SalesOrders", "id", "status='Approved'"),
        ("PurchaseOrders", "id", ""),
        ("Stock", "productOptionId", "branchId=3"),
        ("Products", "id", "status='Public'"),
    ],
)
@pytest.mark.parametrize("rules", [QueryRules(), QueryRules(case_insensitive_text=False)])
def test_every_keyset_page_equals_a_full_evaluation(
    tiny_account: SandboxAccount, endpoint: str, key: str, base: str, rules: QueryRules
) -> None:
    table = tiny_account.table(endpoint)
    values = sorted({row[key] for row in tiny_account.records(endpoint)})
    assert values, "the tiny account has records to page"
    lasts = [values[0] - 1, *values, values[-1] + 1]
    for last in lasts:
        for rows, page in ((3, 1), (3, 2), (250, 1)):
            where = f"{base} AND {key}>{last}" if base else f"{key}>{last}"
            params = {"where": where, "order": f"{key} ASC", "rows": str(rows), "page": str(page)}
            with tiny_account.lock:
                query = parse_list_query(params, table, rules)
                assert query.keyset is not None
                shortcut = run_list_query(table, query, rules)
                full = run_list_query(table, dataclasses.replace(query, keyset=None), rules)
            assert shortcut == full, (where, rows, page)


@pytest.mark.parametrize(
    ("where", "order_text"),
    [
        ("branchId=3 AND id>1", "id DESC"),
        ("branchId=3 AND id>1", "id ASC, branchId ASC"),
        ("id>1 AND branchId=3", "id ASC"),
        ("branchId=3 OR id>1", "id ASC"),
        ("branchId=3 AND id<5", "id ASC"),
        ("branchId=3 AND modifiedDate>'2026-01-01'", "modifiedDate ASC"),
    ],
)
def test_other_shapes_take_the_full_evaluation(where: str, order_text: str) -> None:
    account = SandboxAccount({"SalesOrders": ORDERS})
    table = account.table("SalesOrders")
    params = {"where": where, "order": order_text}
    assert parse_list_query(params, table, QueryRules()).keyset is None
