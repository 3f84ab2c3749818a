"""Transport behaviour over real HTTP: routes, credentials, permissions, paging, the log."""

from __future__ import annotations

import requests

from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME, SandboxServer
from moselle_cin7_tests.sandbox.conftest import AUTH, Api, order, serve


def _branches(count: int) -> list[dict]:
    return [{"id": n, "company": f"Branch {n}", "isActive": True} for n in range(1, count + 1)]


def test_missing_and_wrong_credentials_are_401_with_a_json_string(tiny_api: Api) -> None:
    url = tiny_api.url("SalesOrders")

    missing = requests.get(url, timeout=5)
    wrong_key = requests.get(url, auth=(DEFAULT_USERNAME, "not-the-key"), timeout=5)
    wrong_user = requests.get(url, auth=("someone-else", DEFAULT_API_KEY), timeout=5)

    for response in (missing, wrong_key, wrong_user):
        assert response.status_code == 401
        assert isinstance(response.json(), str)
        assert "API username or API key" in response.json()
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_an_endpoint_without_read_permission_is_403_not_401(tiny_account) -> None:
    with SandboxServer(tiny_account, permissions={"Stock": False}) as server:
        api = Api(server)
        forbidden = api.get("Stock")
        allowed = api.get("SalesOrders", rows=1)
        unauthorised = requests.get(api.url("Stock"), timeout=5)

    assert forbidden.status_code == 403
    assert isinstance(forbidden.json(), str)
    assert "Read permission for Stock" in forbidden.json()
    assert allowed.status_code == 200
    # Bad credentials are reported as such even for a forbidden endpoint, and read differently.
    assert unauthorised.status_code == 401
    assert unauthorised.json() != forbidden.json()


def test_rows_and_page_bounds(tiny_api: Api) -> None:
    assert tiny_api.get("SalesOrders", rows=251).status_code == 400
    assert isinstance(tiny_api.get("SalesOrders", rows=251).json(), str)
    assert tiny_api.get("SalesOrders", rows=0).status_code == 400
    assert tiny_api.get("SalesOrders", page=0).status_code == 400
    assert tiny_api.get("SalesOrders", page=-1).status_code == 400
    assert tiny_api.get("SalesOrders", page="two").status_code == 400
    orders = tiny_api.server.account.count("SalesOrders")
    assert orders > 100
    assert len(tiny_api.rows("SalesOrders", rows=250)) == min(250, orders)
    last_page = (orders + 99) // 100
    assert len(tiny_api.rows("SalesOrders", rows=100, page=last_page)) == orders - 100 * (
        last_page - 1
    )
    assert len(tiny_api.rows("SalesOrders")) == 50  # the default page size


def test_paging_ends_with_a_short_page_then_an_empty_one() -> None:
    with serve({"Branches": _branches(7)}) as server:
        api = Api(server)
        pages = [api.ids("Branches", rows=3, page=page, order="id ASC") for page in (1, 2, 3, 4)]

    assert pages == [[1, 2, 3], [4, 5, 6], [7], []]


def test_the_body_is_a_bare_array_and_a_single_record_an_object(tiny_api: Api) -> None:
    listed = tiny_api.get("Branches")
    single = tiny_api.get("Branches/6")

    assert listed.headers["Content-Type"].startswith("application/json")
    assert isinstance(listed.json(), list)
    assert single.json()["company"] == "Online Store"
    assert tiny_api.get("Branches/999").status_code == 404
    assert isinstance(tiny_api.get("Branches/999").json(), str)
    assert tiny_api.get("Branches/abc").status_code == 404
    assert tiny_api.get("Stock/1").status_code == 404


def test_single_record_honours_fields(tiny_api: Api) -> None:
    record = tiny_api.get("SalesOrders/100010", fields="id,reference,lineItems(code)").json()

    assert list(record) == ["id", "reference", "lineItems"]
    assert all(list(line) == ["code"] for line in record["lineItems"])


def test_unknown_resources_are_404_and_other_methods_405(tiny_api: Api) -> None:
    base = tiny_api.server.base_url

    assert requests.get(f"{base}/v1/Invoices", auth=AUTH, timeout=5).status_code == 404
    assert requests.get(f"{base}/v2/SalesOrders", auth=AUTH, timeout=5).status_code == 404
    posted = requests.post(
        f"{base}/v1/SalesOrders", auth=AUTH, json=[{"reference": "x"}], timeout=5
    )
    deleted = requests.delete(f"{base}/v1/SalesOrders/100010", auth=AUTH, timeout=5)
    assert posted.status_code == 405
    assert posted.headers["Allow"] == "GET"
    assert deleted.status_code == 405
    # The connection survives a refused body: the next call on the session still works.
    assert tiny_api.get("Branches").status_code == 200


def test_parameter_names_ignore_case_and_unknown_ones_are_ignored(tiny_api: Api) -> None:
    # Cin7 silently ignores parameters it does not know, such as `orderby` or `sort`.
    unordered = tiny_api.ids("Branches")
    ignored = tiny_api.ids("Branches", orderby="id ASC", sort="id")

    assert ignored == unordered == [8, 7, 6, 4, 3]
    assert tiny_api.ids("Branches", ORDER="id ASC", Rows=2) == [3, 4]


def test_the_request_log_records_each_call(tiny_api: Api) -> None:
    tiny_api.get("SalesOrders", rows=5, where="branchId = 3")
    requests.get(tiny_api.url("Stock"), timeout=5)
    tiny_api.get("SalesOrders/100010")

    log = tiny_api.server.request_log
    assert [(entry.endpoint, entry.status, entry.rows) for entry in log] == [
        ("SalesOrders", 200, 5),
        ("Stock", 401, None),
        ("SalesOrders", 200, 1),
    ]
    assert log[0].params == {"rows": "5", "where": "branchId = 3"}
    assert log[2].record_id == "100010"
    assert log[0].at <= log[1].at <= log[2].at
    assert tiny_api.server.calls("SalesOrders") == 2

    tiny_api.server.reset_counters()
    assert tiny_api.server.request_log == []


def test_the_server_restarts_cleanly_and_frees_its_port() -> None:
    server = serve({"SalesOrders": [order(1)]})
    api = Api(server)
    assert api.ids("SalesOrders") == [1]
    port = server.port

    server.stop()
    server.stop()  # stopping twice is harmless

    try:
        requests.get(f"http://127.0.0.1:{port}/api/v1/SalesOrders", timeout=1)
        reached = True
    except requests.ConnectionError:
        reached = False
    assert not reached
