"""The `where` parameter over HTTP: operators, logic, dates across offsets, encoding, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from moselle_cin7.sandbox import QueryRules, SandboxServer
from moselle_cin7_tests.sandbox.conftest import AUTH, Api, order, serve

# Instants written in every form the API uses. In UTC they are:
#   1: 10:00:00Z   2: 10:30:00Z   3: 10:45:00.1234567Z   4: 11:00:00.12345Z   5: null
#   6: 09:59:59.9999999Z
ORDERS = [
    order(1, reference="#1050", modifiedDate="2026-01-31T10:00:00Z", company="O'Brien's Garden"),
    order(2, reference="SO-2 50%OFF", modifiedDate="2026-01-31T23:30:00+13:00", stage="Dispatched"),
    order(3, reference="SO-3", modifiedDate="2026-01-31T10:45:00.1234567", stage="DISPATCHED"),
    order(
        4, reference="B2B-4", modifiedDate="2026-01-31T22:00:00.12345+11:00", stage=" dispatched "
    ),
    order(5, reference="SO-5", modifiedDate=None, isVoid=True, status="Void", branchId=6),
    order(6, reference="#1051", modifiedDate="2026-01-31T09:59:59.9999999Z", company="Acme"),
]


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    """Shared by the module's tests, which only read."""
    with serve({"SalesOrders": ORDERS}) as server:
        yield Api(server)


def matching(api: Api, where: str) -> list[int]:
    return sorted(api.ids("SalesOrders", where=where))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("modifiedDate >= '2026-01-31T10:30:00Z'", [2, 3, 4]),
        ("modifiedDate > '2026-01-31T10:30:00Z'", [3, 4]),
        ("modifiedDate < '2026-01-31T10:00:00Z'", [6]),
        ("modifiedDate <= '2026-01-31T10:00:00Z'", [1, 6]),
        # The same instant written with an offset and without a zone (which means UTC).
        ("modifiedDate = '2026-01-31T23:30:00+13:00'", [2]),
        ("modifiedDate = '2026-01-31T10:30:00'", [2]),
        ("modifiedDate >= '2026-01-31T10:45:00.1234567Z'", [3, 4]),
        ("modifiedDate > '2026-01-31T10:45:00.1234567Z'", [4]),
        ("modifiedDate >= '2026-02-01'", []),
        # A filter on a null date is false whichever way it points.
        ("modifiedDate < '2100-01-01T00:00:00Z'", [1, 2, 3, 4, 6]),
        ("modifiedDate <> '2026-01-31T10:00:00Z'", [2, 3, 4, 6]),
        ("modifiedDate IS NULL", [5]),
        ("modifiedDate IS NOT NULL", [1, 2, 3, 4, 6]),
        ("modifiedDate BETWEEN '2026-01-31T10:00:00Z' AND '2026-01-31T10:30:00Z'", [1, 2]),
    ],
)
def test_dates_compare_as_instants(api: Api, where: str, expected: list[int]) -> None:
    assert matching(api, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("reference = '#1050'", [1]),
        ("reference LIKE '#%'", [1, 6]),
        ("reference LIKE '%50\\%OFF'", []),  # no ESCAPE support: backslash is literal
        ("reference LIKE '%50%OFF'", [2]),
        ("reference LIKE 'SO-_'", [3, 5]),
        ("reference LIKE '[BS]%-4'", [4]),
        ("reference NOT LIKE 'SO%'", [1, 4, 6]),
        ("company = 'O''Brien''s Garden'", [1]),
        ("company LIKE '%''%'", [1]),
        ("reference IN ('#1050', '#1051', 'nope')", [1, 6]),
        ("reference NOT IN ('#1050', '#1051')", [2, 3, 4, 5]),
        ("company IS NULL", [2, 3, 4, 5]),
        ("company IS NOT NULL", [1, 6]),
        # Nulls are neither equal nor unequal to anything.
        ("company <> 'Acme'", [1]),
        ("company != 'Acme'", [1]),
        ("NOT company = 'Acme'", [1]),
    ],
)
def test_text_operators(api: Api, where: str, expected: list[int]) -> None:
    assert matching(api, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("id = 3", [3]),
        ("id > 4", [5, 6]),
        ("id IN (1, 3, 99)", [1, 3]),
        ("id = '3'", [3]),
        ("branchId = 6", [5]),
        ("total >= 10.0", [1, 2, 3, 4, 5, 6]),
        ("isVoid = true", [5]),
        ("isVoid = 1", [5]),
        ("isVoid = 'false'", [1, 2, 3, 4, 6]),
        ("isVoid = FALSE AND branchId = 3", [1, 2, 3, 4, 6]),
    ],
)
def test_numbers_and_booleans(api: Api, where: str, expected: list[int]) -> None:
    assert matching(api, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # AND binds tighter than OR, as in SQL.
        ("id = 1 OR id = 2 AND stage = 'New'", [1]),
        ("(id = 1 OR id = 2) AND stage = 'New'", [1]),
        ("(id = 1 OR id = 2) AND (stage = 'New' OR stage = 'Dispatched')", [1, 2]),
        ("reference = '#1050' OR reference = '#1051'", [1, 6]),
        ("NOT (id < 3 OR id > 4)", [3, 4]),
        ("isVoid = true OR modifiedDate >= '2026-01-31T10:30:00Z'", [2, 3, 4, 5]),
    ],
)
def test_and_or_and_parentheses(api: Api, where: str, expected: list[int]) -> None:
    assert matching(api, where) == expected


def test_field_names_and_keywords_ignore_case(api: Api) -> None:
    assert matching(api, "REFERENCE = '#1050' or ISVOID = TRUE") == [1, 5]
    assert matching(api, "ModifiedDate is null") == [5]


def test_text_comparison_ignores_case_and_trailing_spaces_but_not_leading_ones(api: Api) -> None:
    # ' dispatched ' has a leading space, which a SQL comparison does not forgive.
    assert matching(api, "stage = 'dispatched'") == [2, 3]
    assert matching(api, "stage LIKE '%DISPATCHED%'") == [2, 3, 4]


def test_exact_text_comparison_can_be_configured() -> None:
    account_records = {"SalesOrders": ORDERS}
    with serve(account_records, rules=QueryRules(case_insensitive_text=False)) as server:
        api = Api(server)
        assert matching(api, "stage = 'Dispatched'") == [2]
        assert matching(api, "stage LIKE '%dispatched%'") == [4]


def test_the_query_string_is_decoded_once(api: Api) -> None:
    # Hand-encoded: %23 is '#', %25 is '%', %27 a quote; a raw '#' would start a URL fragment.
    base = api.url("SalesOrders")
    encoded = requests.get(f"{base}?where=reference%3D%27%231050%27", auth=AUTH, timeout=5)
    like = requests.get(f"{base}?where=reference+LIKE+%27%2550%25OFF%27", auth=AUTH, timeout=5)
    fragment = requests.get(f"{base}?where=reference='#1050'", auth=AUTH, timeout=5)

    assert [row["id"] for row in encoded.json()] == [1]
    assert [row["id"] for row in like.json()] == [2]
    # The fragment never reaches the server: the filter arrives as `reference='` and fails.
    assert fragment.status_code == 400


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("colour = 'red'", "unknown field 'colour'"),
        ("code = 'SKU-1'", "line-item field"),
        ("lineItems IS NULL", "cannot be filtered"),
        ('reference = "#1050"', "single quotes"),
        ("reference = '#1050", "unterminated"),
        ("reference =", "expected a value"),
        ("reference '#1050'", "expected an operator"),
        ("(id = 1", "expected ')'"),
        ("id = 1 id = 2", "expected AND, OR or the end"),
        ("modifiedDate > 'yesterday'", "not a date/time"),
        ("modifiedDate > 5", "is a date"),
        ("reference > 5", "is text"),
        ("total = 'lots'", "is a number"),
        ("isVoid = 'maybe'", "neither"),
        ("modifiedDate LIKE '2026%'", "LIKE does not apply"),
    ],
)
def test_bad_filters_are_400_with_a_message(api: Api, where: str, message: str) -> None:
    response = api.get("SalesOrders", where=where)

    assert response.status_code == 400
    assert isinstance(response.json(), str)
    assert message in response.json()


def test_filters_on_generated_compact_orders_match_a_scan(small_account) -> None:
    """The compact generated records and their index must agree with a plain scan."""
    from moselle_cin7.sandbox.timestamps import parse_ticks

    records = small_account.records("SalesOrders")
    low, high = parse_ticks("2025-12-01T00:00:00Z"), parse_ticks("2025-12-08T00:00:00+13:00")
    expected = sorted(
        r["id"]
        for r in records
        if low <= parse_ticks(r["modifiedDate"]) < high and r["branchId"] in (3, 6)
    )
    where = (
        "modifiedDate >= '2025-12-01T00:00:00Z' AND modifiedDate < '2025-12-08T00:00:00+13:00'"
        " AND branchId IN (3, 6)"
    )
    with SandboxServer(small_account) as server:
        api = Api(server)
        found = []
        page = 1
        while rows := api.ids("SalesOrders", where=where, rows=250, page=page):
            found += rows
            page += 1

    assert len(expected) > 100
    assert sorted(found) == expected
