"""SandboxAccount: folders, changes while serving, derived options, compact vs plain records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moselle_cin7.sandbox import ENDPOINTS, SandboxAccount, SandboxServer
from moselle_cin7_tests.sandbox.conftest import Api, order


def test_folder_round_trip_keeps_every_record(tmp_path: Path, tiny_account: SandboxAccount) -> None:
    tiny_account.to_folder(tmp_path)
    loaded = SandboxAccount.from_folder(tmp_path)

    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(
        [f"{endpoint}.json" for endpoint in ENDPOINTS if endpoint != "ProductOptions"]
        + ["account.json"]
    )
    assert loaded.timezone == "Pacific/Auckland"
    for endpoint in ENDPOINTS:
        assert loaded.records(endpoint) == tiny_account.records(endpoint), endpoint
    assert loaded.next_id("SalesOrders") == tiny_account.next_id("SalesOrders")


def test_a_folder_of_replayed_payloads_needs_no_metadata(tmp_path: Path) -> None:
    payload = [order(16526, reference="#1050"), order(16527)]
    (tmp_path / "SalesOrders.json").write_text(json.dumps(payload), encoding="utf-8")

    account = SandboxAccount.from_folder(tmp_path, timezone="Australia/Sydney")

    assert account.timezone == "Australia/Sydney"
    assert [record["id"] for record in account.records("SalesOrders")] == [16526, 16527]
    assert account.records("Stock") == []
    assert account.next_id("SalesOrders") == 16528


def test_compact_generated_records_answer_like_plain_ones(
    tmp_path: Path, tiny_account: SandboxAccount
) -> None:
    """The same queries against the generated account and its JSON copy give the same bytes."""
    tiny_account.to_folder(tmp_path)
    plain = SandboxAccount.from_folder(tmp_path)
    queries = [
        ("SalesOrders", {"rows": 250}),
        (
            "SalesOrders",
            {"where": "modifiedDate >= '2026-03-01T00:00:00+13:00'", "order": "modifiedDate ASC"},
        ),
        (
            "SalesOrders",
            {"where": "invoiceDate IS NULL OR stage LIKE '%patched%'", "rows": 100, "page": 2},
        ),
        (
            "SalesOrders",
            {"where": "branchId IN (3, 6) AND isVoid = false", "order": "reference ASC"},
        ),
        (
            "SalesOrders",
            {"fields": "id,reference,dispatchedDate,lineItems(code,qtyShipped)", "rows": 250},
        ),
        ("SalesOrders", {"where": "source = 'Shopify'", "order": "invoiceDate DESC, id ASC"}),
        ("Stock", {"rows": 250}),
        ("Stock", {"where": "holding > 0 OR available < 0", "order": "modifiedDate ASC"}),
        ("Stock", {"where": "branchId = 6", "fields": "code,available,modifiedDate"}),
    ]
    with SandboxServer(tiny_account) as compact_server, SandboxServer(plain) as plain_server:
        compact_api, plain_api = Api(compact_server), Api(plain_server)
        for endpoint, params in queries:
            compact = compact_api.get(endpoint, **params)
            replayed = plain_api.get(endpoint, **params)
            assert compact.status_code == replayed.status_code == 200, (endpoint, params)
            assert compact.json(), (endpoint, params)
            assert compact.content == replayed.content, (endpoint, params)


def test_upsert_inserts_or_replaces_by_id_while_serving(tiny_api: Api) -> None:
    account = tiny_api.server.account
    new_id = account.next_id("SalesOrders")
    account.upsert("SalesOrders", order(new_id, reference="#9999", source="Shopify"))

    assert tiny_api.ids("SalesOrders", where="reference = '#9999'") == [new_id]

    account.upsert("SalesOrders", order(new_id, reference="#9998"))
    assert tiny_api.ids("SalesOrders", where="reference LIKE '#999_'") == [new_id]
    assert tiny_api.get(f"SalesOrders/{new_id}").json()["reference"] == "#9998"


def test_upsert_without_an_id_takes_the_next_one(tiny_account: SandboxAccount) -> None:
    last = max(record["id"] for record in tiny_account.records("SalesOrders"))
    record = order(0)
    del record["id"]

    key = tiny_account.upsert("SalesOrders", record)

    assert key == last + 1
    assert tiny_account.next_id("SalesOrders") == last + 2  # each call reserves an id


def test_update_changes_header_fields_of_a_generated_order(tiny_api: Api) -> None:
    account = tiny_api.server.account
    account.update("SalesOrders", 100010, invoiceDate="2026-03-14T11:17:00Z", stage="On Hold")

    record = tiny_api.get("SalesOrders/100010").json()
    assert record["invoiceDate"] == "2026-03-14T11:17:00Z"
    assert record["stage"] == "On Hold"
    assert record["lineItems"]  # lines kept
    assert tiny_api.ids("SalesOrders", where="invoiceDate = '2026-03-15T00:17:00+13:00'") == [
        100010
    ]

    with pytest.raises(KeyError):
        account.update("SalesOrders", 1, stage="New")
    with pytest.raises(ValueError):
        account.update("SalesOrders", 100010, id=5)


def test_remove_purges_a_record(tiny_api: Api) -> None:
    tiny_api.server.account.remove("SalesOrders", 100010)

    assert tiny_api.get("SalesOrders/100010").status_code == 404
    assert 100010 not in tiny_api.ids("SalesOrders", rows=250)
    with pytest.raises(KeyError):
        tiny_api.server.account.remove("SalesOrders", 100010)


def test_records_are_copies(tiny_account: SandboxAccount) -> None:
    first = tiny_account.records("SalesOrders")[0]
    first["lineItems"][0]["qty"] = 999.0
    first["reference"] = "changed"

    again = tiny_account.records("SalesOrders")[0]
    assert again["reference"] != "changed"
    assert again["lineItems"][0]["qty"] != 999.0


def test_stock_rows_are_keyed_by_option_and_branch(tiny_api: Api) -> None:
    account = tiny_api.server.account
    row = tiny_api.rows("Stock", where="productOptionId = 100001 AND branchId = 3")[0]

    account.upsert("Stock", {**row, "stockOnHand": 5.0, "available": 1.0})
    account.remove("Stock", (100001, 4))

    assert (
        tiny_api.rows("Stock", where="productOptionId = 100001 AND branchId = 3")[0]["stockOnHand"]
        == 5.0
    )
    assert tiny_api.rows("Stock", where="productOptionId = 100001 AND branchId = 4") == []
    with pytest.raises(ValueError):
        account.next_id("Stock")
    with pytest.raises(ValueError):
        account.upsert("Stock", {"productOptionId": 1})


def test_product_options_follow_their_products(tiny_api: Api) -> None:
    account = tiny_api.server.account
    product = account.get("Products", 1001)
    assert product is not None
    product["productOptions"][0]["code"] = "RENAMED-1"
    account.upsert("Products", product)

    assert tiny_api.get("ProductOptions/100001").json()["code"] == "RENAMED-1"

    account.upsert("ProductOptions", {"productId": 1002, "code": "NEW-OPTION", "status": "Active"})
    codes = [option["code"] for option in account.get("Products", 1002)["productOptions"]]
    assert codes[-1] == "NEW-OPTION"
    assert tiny_api.rows("ProductOptions", where="code = 'NEW-OPTION'")[0]["productId"] == 1002

    account.remove("ProductOptions", 100001)
    assert 100001 not in [o["id"] for o in account.get("Products", 1001)["productOptions"]]


def test_explicit_product_options_are_served_as_given() -> None:
    account = SandboxAccount(
        {
            "Products": [{"id": 1, "productOptions": [{"id": 10, "code": "A"}]}],
            "ProductOptions": [{"id": 11, "productId": 1, "code": "B"}],
        }
    )

    assert [option["code"] for option in account.records("ProductOptions")] == ["B"]


@pytest.mark.parametrize(
    "records",
    [
        {"Invoices": []},
        {"SalesOrders": [{"reference": "no id"}]},
        {"SalesOrders": [{"id": "x"}]},
        {"SalesOrders": [["not", "an", "object"]]},
        {"Stock": [{"productOptionId": 1}]},
    ],
)
def test_bad_records_are_refused(records: dict) -> None:
    with pytest.raises(ValueError):
        SandboxAccount(records)
