"""Injected faults over HTTP, one kind at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from moselle_cin7.sandbox import Fault, SandboxAccount, SandboxServer
from moselle_cin7_tests.sandbox.conftest import Api, order

ORDERS = [order(n, modifiedDate=f"2026-01-0{n}T00:00:00Z") for n in range(1, 6)]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    account = SandboxAccount({"SalesOrders": ORDERS, "Branches": [{"id": 3, "company": "A"}]})
    with SandboxServer(account) as running:
        yield running


@pytest.fixture
def api(server: SandboxServer) -> Api:
    return Api(server)


def test_a_status_fault_answers_once_then_the_resource_does(api: Api) -> None:
    api.server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=500))

    failed = api.get("SalesOrders")
    recovered = api.get("SalesOrders")

    assert failed.status_code == 500
    assert isinstance(failed.json(), str)
    assert recovered.status_code == 200


@pytest.mark.parametrize(
    ("status", "retry_after", "header"),
    [(429, 7, "7"), (429, 2.5, "3"), (429, None, None), (503, 30, "30"), (503, None, None)],
)
def test_status_faults_send_retry_after_only_when_asked(
    api: Api, status: int, retry_after: float | None, header: str | None
) -> None:
    api.server.faults.add(Fault(kind="status", status=status, retry_after=retry_after))

    response = api.get("SalesOrders")

    assert response.status_code == status
    assert response.headers.get("Retry-After") == header


def test_injected_401_and_403_read_like_the_real_ones(api: Api) -> None:
    api.server.faults.add(Fault(kind="status", status=401))
    api.server.faults.add(Fault(kind="status", status=403, after=1))

    unauthorised = api.get("SalesOrders")
    forbidden = api.get("SalesOrders")

    assert unauthorised.status_code == 401
    assert "API username or API key" in unauthorised.json()
    assert forbidden.status_code == 403
    assert "Read permission for SalesOrders" in forbidden.json()


def test_after_and_times_choose_which_calls_fail(api: Api) -> None:
    api.server.faults.add(Fault(endpoint="SalesOrders", status=503, after=2, times=2))

    codes = [api.get("SalesOrders").status_code for _ in range(5)]

    assert codes == [200, 200, 503, 503, 200]


def test_times_none_fails_every_call_until_cleared(api: Api) -> None:
    api.server.faults.add(Fault(status=500, times=None))

    codes = [api.get("SalesOrders").status_code for _ in range(3)]
    api.server.faults.clear()

    assert codes == [500, 500, 500]
    assert api.get("SalesOrders").status_code == 200


def test_faults_apply_per_endpoint_or_to_all(api: Api) -> None:
    api.server.faults.add(Fault(endpoint="Branches", status=500))

    assert api.get("SalesOrders").status_code == 200
    assert api.get("Branches").status_code == 500

    api.server.faults.add(Fault(endpoint="*", status=503, times=2))
    assert api.get("SalesOrders").status_code == 503
    assert api.get("Branches").status_code == 503
    assert api.get("Branches").status_code == 200


def test_slow_delays_the_answer(api: Api) -> None:
    api.server.faults.add(Fault(kind="slow", delay=0.4, times=2))

    with pytest.raises(requests.Timeout):
        api.get("SalesOrders", timeout=0.15)
    started = time.monotonic()
    slow = api.get("SalesOrders")
    elapsed = time.monotonic() - started

    assert slow.status_code == 200
    assert elapsed >= 0.4
    assert api.server.request_log[0].faults == ("slow",)


def test_truncated_sends_the_first_half_of_the_body(api: Api) -> None:
    whole = api.get("SalesOrders", order="id ASC").content
    api.server.faults.add(Fault(kind="truncated"))

    cut = api.get("SalesOrders", order="id ASC")

    assert cut.status_code == 200
    assert cut.content == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)


def test_not_json_sends_an_html_page_with_200(api: Api) -> None:
    api.server.faults.add(Fault(kind="not_json"))

    response = api.get("SalesOrders")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_empty_page_hides_rows_that_exist(api: Api) -> None:
    api.server.faults.add(Fault(kind="empty_page", after=1))

    first = api.ids("SalesOrders", rows=2, page=1, order="id ASC")
    second = api.rows("SalesOrders", rows=2, page=2, order="id ASC")
    third = api.ids("SalesOrders", rows=2, page=3, order="id ASC")

    assert (first, second, third) == ([1, 2], [], [5])


def test_daily_cap_refuses_every_call_on_every_endpoint_until_cleared(api: Api) -> None:
    api.server.faults.add(Fault(endpoint="SalesOrders", kind="daily_cap", after=1))

    assert api.get("Branches").status_code == 200  # another endpoint: not a match, no trigger
    assert api.get("SalesOrders").status_code == 200  # skipped by `after`
    capped = [api.get(endpoint) for endpoint in ("SalesOrders", "Branches", "SalesOrders")]
    api.server.faults.clear()

    assert [response.status_code for response in capped] == [429, 429, 429]
    assert "5000 calls per day" in capped[0].json()
    assert "Retry-After" not in capped[0].headers  # no limits configured, no header asked for
    assert api.get("SalesOrders").status_code == 200


def test_callback_changes_the_account_while_a_client_pages(api: Api) -> None:
    """Moving a record from page 1 to the end while paging by modifiedDate skips another one:
    the offset-paging trap a sync must survive."""
    seen_params: list[dict[str, str]] = []

    def touch_order_1(account: SandboxAccount, params: dict[str, Any]) -> None:
        seen_params.append(params)
        account.update("SalesOrders", 1, modifiedDate="2026-02-01T00:00:00Z")

    api.server.faults.add(
        Fault(endpoint="SalesOrders", kind="callback", callback=touch_order_1, after=1)
    )
    query = {"order": "modifiedDate ASC", "rows": 2}

    page_1 = api.ids("SalesOrders", page=1, **query)
    page_2 = api.ids("SalesOrders", page=2, **query)
    page_3 = api.ids("SalesOrders", page=3, **query)

    assert page_1 == [1, 2]
    assert page_2 == [4, 5]  # order 3 moved up to position 2 and was never served
    assert page_3 == [1]  # order 1 comes round again
    assert seen_params == [{"order": "modifiedDate ASC", "rows": "2", "page": "2"}]


def test_fired_counts_and_the_log_name_the_faults(api: Api) -> None:
    fault = api.server.faults.add(Fault(status=500, times=2))

    api.get("SalesOrders")
    api.get("SalesOrders")
    api.get("SalesOrders")

    assert api.server.faults.fired(fault) == 2
    assert len(api.server.faults) == 0  # spent
    assert [entry.faults for entry in api.server.request_log] == [("status",), ("status",), ()]


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "explode"},
        {"endpoint": "Invoices"},
        {"kind": "status", "status": 200},
        {"kind": "slow"},
        {"kind": "callback"},
        {"times": 0},
        {"after": -1},
    ],
)
def test_invalid_faults_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fault(**arguments)
