"""The Cin7 client over real HTTP against the local sandbox: paging, encoding, errors, budget.

Most tests switch the sandbox's rate limits off and give the client generous ones, so that they
run in milliseconds; the test of the real limits is marked slow.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from moselle_cin7.cin7 import (
    Cin7AuthError,
    Cin7DailyLimitReached,
    Cin7PermissionError,
    Cin7RequestError,
    Cin7Resource,
    Cin7ResponseError,
    Cin7Session,
    Cin7UnavailableError,
)
from moselle_cin7.cin7.query import eq, in_
from moselle_cin7.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_USERNAME,
    Fault,
    SandboxAccount,
    SandboxServer,
)
from moselle_cin7.timeutil import days_window_utc

AUCKLAND = ZoneInfo("Pacific/Auckland")


def order(order_id: int, *, branch_id: int = 1, reference: str | None = None, **extra: Any):
    return {
        "id": order_id,
        "reference": reference or f"SO-{order_id}",
        "branchId": branch_id,
        "status": "Approved",
        "modifiedDate": "2026-01-10T00:00:00Z",
        **extra,
    }


def resource_for(server: SandboxServer, **overrides: Any) -> Cin7Resource:
    """A client that retries fast and is not slowed down by the rate limiter."""
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "account_id": DEFAULT_USERNAME,
        "api_key": DEFAULT_API_KEY,
        "timeout_seconds": 5,
        "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
        "calls_per_second": 10_000,
        "calls_per_minute": 100_000,
        **overrides,
    }
    return Cin7Resource(**settings)


def settled_log(server: SandboxServer) -> list[Any]:
    """The request log once the server has logged every call it answered.

    The sandbox logs a call just after sending its answer, so the client can see the answer a
    moment before the entry exists; wait (briefly) until the log stops growing.
    """
    deadline = time.monotonic() + 2.0
    entries = server.request_log
    while time.monotonic() < deadline:
        time.sleep(0.02)
        latest = server.request_log
        if len(latest) == len(entries):
            return latest
        entries = latest
    return entries


def log_entries(server: SandboxServer, endpoint: str = "SalesOrders") -> list[Any]:
    return [entry for entry in settled_log(server) if entry.endpoint == endpoint]


def param(entry: Any, name: str) -> str | None:
    """One query parameter of a request-log entry (the sandbox may keep lists, as parse_qs does)."""
    value = entry.params.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def capture_urls(session: Cin7Session) -> list[str]:
    """The exact URLs the session puts on the wire, collected from a requests response hook."""
    urls: list[str] = []
    session.http.hooks["response"].append(lambda response, *_, **__: urls.append(response.url))
    return urls


@pytest.fixture
def orders_server() -> Iterator[SandboxServer]:
    """600 sales orders, ids 10, 20, ... 6000, on branch 1; no rate limits."""
    account = SandboxAccount(records={"SalesOrders": [order(n * 10) for n in range(1, 601)]})
    with SandboxServer(account, limits=None) as server:
        yield server


# -- keyset paging ---------------------------------------------------------------------------------


def test_600_records_take_exactly_three_calls(orders_server: SandboxServer) -> None:
    with resource_for(orders_server).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders", label="all orders")

    assert [o["id"] for o in orders] == [n * 10 for n in range(1, 601)]
    assert cin7.total_calls == 3
    assert cin7.calls_by_endpoint == {"SalesOrders": 3}
    assert [(p.page, p.rows, p.new_rows) for p in cin7.pages] == [
        (1, 250, 250),
        (2, 250, 250),
        (3, 100, 100),
    ]
    requests_sent = log_entries(orders_server)
    assert [param(e, "where") for e in requests_sent] == [None, "id>2500", "id>5000"]
    assert {param(e, "order") for e in requests_sent} == {"id ASC"}
    assert {param(e, "rows") for e in requests_sent} == {"250"}
    assert {param(e, "page") for e in requests_sent} == {"1"}


def test_500_records_end_on_an_empty_third_page_asked_twice() -> None:
    """An empty page after a full one is asked once more before the scan ends: it is also how an
    upstream hiccup looks, and trusting it would drop every record after the cursor."""
    account = SandboxAccount(records={"SalesOrders": [order(n) for n in range(1, 501)]})
    with SandboxServer(account, limits=None) as server, resource_for(server).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders")

    assert len(orders) == 500
    assert cin7.total_calls == 4
    assert [p.rows for p in cin7.pages] == [250, 250, 0, 0]


def test_filter_and_projection_are_kept_on_every_page(orders_server: SandboxServer) -> None:
    """Every third order moves to branch 2: 200 of them, read in one short page."""
    for n in range(3, 601, 3):
        orders_server.account.update("SalesOrders", n * 10, branchId=2)

    with resource_for(orders_server).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders", where=eq("branchId", 2), fields=["reference"])

    assert len(orders) == 200
    assert {o["id"] for o in orders} == {n * 10 for n in range(3, 601, 3)}
    assert cin7.total_calls == 1
    assert param(log_entries(orders_server)[0], "fields") == "id,reference"


def test_records_changing_between_pages_are_neither_skipped_nor_repeated(
    orders_server: SandboxServer,
) -> None:
    """After page 1 (ids 10-2500): an order already read leaves the filter, one not yet read leaves
    it, one not yet read is modified, and two are inserted (one behind, one ahead of the cursor).
    Offset paging would now skip the order at the page boundary; keyset paging must not."""
    changed = False

    def change_account(response: Any, *_: Any, **__: Any) -> None:
        nonlocal changed
        if changed:
            return
        changed = True
        orders_server.account.update("SalesOrders", 100, branchId=9)  # read, leaves the filter
        orders_server.account.update("SalesOrders", 2600, branchId=9)  # unread, leaves it
        orders_server.account.update("SalesOrders", 3000, reference="SO-3000-EDITED")
        orders_server.account.upsert("SalesOrders", order(15))  # behind the cursor
        orders_server.account.upsert("SalesOrders", order(2505))  # ahead of the cursor

    with resource_for(orders_server).open_session() as cin7:
        cin7.http.hooks["response"].append(change_account)
        orders = cin7.fetch_all("SalesOrders", where=eq("branchId", 1))

    ids = [o["id"] for o in orders]
    expected = sorted({n * 10 for n in range(1, 601)} - {2600} | {2505})
    assert ids == expected
    assert len(ids) == len(set(ids)) == 600
    assert next(o for o in orders if o["id"] == 3000)["reference"] == "SO-3000-EDITED"
    # Page 2 holds 2505 and 2510..4990 (249 orders, 2600 gone): 250 rows. Page 3: 5000..6000.
    assert [p.rows for p in cin7.pages] == [250, 250, 100]


def test_stock_rows_page_on_a_shared_key_without_loss() -> None:
    """Stock has no id: 200 options x 3 branches, paged on productOptionId with >= and the
    (productOptionId, branchId) pair de-duplicating the rows of the option a page ended in."""
    stock = [
        {"productOptionId": option, "branchId": branch, "stockOnHand": float(option + branch)}
        for option in range(1, 201)
        for branch in (1, 2, 3)
    ]
    with SandboxServer(SandboxAccount(records={"Stock": stock}), limits=None) as server:
        with resource_for(server).open_session() as cin7:
            rows = cin7.fetch_all(
                "Stock", key_field="productOptionId", unique_by=["productOptionId", "branchId"]
            )
        wheres = [param(e, "where") for e in log_entries(server, "Stock")]

    assert len(rows) == 600
    assert {(r["productOptionId"], r["branchId"]) for r in rows} == {
        (option, branch) for option in range(1, 201) for branch in (1, 2, 3)
    }
    # Page 1: options 1-83 and one row of 84; page 2 from 84: 84-166 and one row of 167;
    # page 3 from 167: 34 options, 102 rows, short.
    assert wheres == [None, "productOptionId>=84", "productOptionId>=167"]
    assert [p.rows for p in cin7.pages] == [250, 250, 102]
    assert [p.new_rows for p in cin7.pages] == [250, 249, 101]


def test_a_key_shared_by_a_full_page_stops_instead_of_looping() -> None:
    """Three branches of one option with two rows a page: the page after ``>= 1`` repeats itself,
    so the scan must stop with an error rather than ask for ever."""
    stock = [{"productOptionId": 1, "branchId": branch} for branch in (1, 2, 3)]
    with (
        SandboxServer(SandboxAccount(records={"Stock": stock}), limits=None) as server,
        resource_for(server, page_size=2).open_session() as cin7,
        pytest.raises(Cin7ResponseError, match="a full page brought no new records"),
    ):
        cin7.fetch_all(
            "Stock", key_field="productOptionId", unique_by=["productOptionId", "branchId"]
        )

    assert cin7.total_calls == 2


# -- windows and single records --------------------------------------------------------------------


def test_window_is_half_open_in_utc() -> None:
    """The Auckland day 1 Feb 2026 (NZDT, +13) is [31 Jan 11:00Z, 1 Feb 11:00Z)."""
    start, end = days_window_utc(date(2026, 2, 1), date(2026, 2, 2), AUCKLAND)
    stamps = {
        1: "2026-01-31T10:59:59Z",  # just before
        2: "2026-01-31T11:00:00Z",  # the first instant: in
        3: "2026-02-01T10:59:59.9999999Z",  # the last instant: in
        4: "2026-02-01T11:00:00Z",  # the end: out
        5: "2026-02-01T00:00:00+13:00",  # 31 Jan 11:00Z written with an offset: in
    }
    account = SandboxAccount(
        records={"SalesOrders": [order(i, modifiedDate=stamp) for i, stamp in stamps.items()]}
    )
    with SandboxServer(account, limits=None) as server:
        with resource_for(server).open_session() as cin7:
            orders = cin7.fetch_window("SalesOrders", "modifiedDate", start, end)
        sent = log_entries(server)

    assert sorted(o["id"] for o in orders) == [2, 3, 5]
    assert param(sent[0], "where") == (
        "modifiedDate>='2026-01-31T11:00:00Z' AND modifiedDate<'2026-02-01T11:00:00Z'"
    )
    assert cin7.pages[0].label == "modifiedDate 2026-01-31T11:00:00Z..2026-02-01T11:00:00Z"


def test_window_bounds_must_be_aware_and_ordered(orders_server: SandboxServer) -> None:
    with resource_for(orders_server).open_session() as cin7:
        with pytest.raises(ValueError, match="timezone-aware"):
            cin7.fetch_window(
                "SalesOrders", "modifiedDate", datetime(2026, 1, 1), datetime.now(UTC)
            )
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        with pytest.raises(ValueError, match="empty window"):
            cin7.fetch_window("SalesOrders", "modifiedDate", moment, moment)
    assert cin7.total_calls == 0


def test_get_returns_one_record_or_none(orders_server: SandboxServer) -> None:
    with resource_for(orders_server).open_session() as cin7:
        found = cin7.get("SalesOrders", 30)
        missing = cin7.get("SalesOrders", 31)

    assert found is not None and found["reference"] == "SO-30"
    assert missing is None
    assert cin7.total_calls == 2


# -- encoding --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "encoded"),
    [
        ("#1050", "%27%231050%27"),
        ("50%OFF", "%2750%25OFF%27"),
        ("O'Brien & Co", "%27O%27%27Brien%20%26%20Co%27"),
    ],
)
def test_references_with_special_characters_reach_cin7_intact(reference: str, encoded: str) -> None:
    account = SandboxAccount(
        records={
            "SalesOrders": [
                order(1, reference="#1050"),
                order(2, reference="50%OFF"),
                order(3, reference="O'Brien & Co"),
                order(4, reference="1050"),
                order(5, reference="50OFF"),
            ]
        }
    )
    with SandboxServer(account, limits=None) as server:
        with resource_for(server).open_session() as cin7:
            urls = capture_urls(cin7)
            orders = cin7.fetch_all("SalesOrders", where=eq("reference", reference))
        sent = log_entries(server)

    assert [o["reference"] for o in orders] == [reference]
    assert param(sent[0], "where") == f"reference={quote_for_test(reference)}"
    query = urls[0].split("?", 1)[1]
    assert f"where=reference%3D{encoded}" in query
    assert "#" not in urls[0] and "'" not in query and " " not in query and "+" not in query


def quote_for_test(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_in_list_with_spaces_and_quotes() -> None:
    account = SandboxAccount(
        records={
            "SalesOrders": [
                order(1, reference="#1050"),
                order(2, reference="O'Brien"),
                order(3, reference="other"),
            ]
        }
    )
    with SandboxServer(account, limits=None) as server, resource_for(server).open_session() as cin7:
        urls = capture_urls(cin7)
        orders = cin7.fetch_all(
            "SalesOrders", where=in_("reference", ["#1050", "O'Brien"]), fields=["reference"]
        )

    assert sorted(o["id"] for o in orders) == [1, 2]
    assert "where=reference%20IN%20%28%27%231050%27%2C%27O%27%27Brien%27%29" in urls[0]
    assert "order=id%20ASC" in urls[0]


# -- errors that must not be retried ---------------------------------------------------------------


def test_bad_credentials_fail_at_once_with_401(orders_server: SandboxServer) -> None:
    with (
        resource_for(orders_server, api_key="not-the-key").open_session() as cin7,
        pytest.raises(Cin7AuthError) as raised,
    ):
        cin7.fetch_all("SalesOrders", label="nightly")

    assert str(raised.value) == (
        "Cin7 rejected the credentials (HTTP 401) on SalesOrders [nightly]: check "
        "CIN7_ACCOUNT_ID (the API username) and CIN7_API_KEY"
    )
    assert "not-the-key" not in str(raised.value)
    assert len(settled_log(orders_server)) == 1
    assert cin7.total_calls == 1 and cin7.retries == 0


def test_missing_read_permission_is_told_apart_from_bad_credentials() -> None:
    account = SandboxAccount(records={"Stock": [], "Branches": [{"id": 1, "company": "Main"}]})
    with SandboxServer(account, limits=None, permissions={"Stock": False}) as server:
        with resource_for(server).open_session() as cin7:
            with pytest.raises(Cin7PermissionError) as raised:
                cin7.fetch_all("Stock", key_field="productOptionId", label="stock levels")
            branches = cin7.fetch_all("Branches")

        assert str(raised.value) == (
            "the API connection lacks Read permission for Stock (HTTP 403) [stock levels]; the "
            "credentials are fine: enable Read for Stock on the API connection in Cin7"
        )
        assert [b["id"] for b in branches] == [1]
        assert len(log_entries(server, "Stock")) == 1
        assert cin7.retries == 0


@pytest.mark.parametrize("status", [401, 403])
def test_auth_faults_are_not_retried(orders_server: SandboxServer, status: int) -> None:
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=status, times=1))
    expected = Cin7AuthError if status == 401 else Cin7PermissionError

    with resource_for(orders_server).open_session() as cin7, pytest.raises(expected):
        cin7.fetch_all("SalesOrders")

    assert len(settled_log(orders_server)) == 1


def test_bad_query_raises_a_request_error_with_cin7s_message(orders_server: SandboxServer) -> None:
    with (
        resource_for(orders_server).open_session() as cin7,
        pytest.raises(Cin7RequestError) as raised,
    ):
        cin7.fetch_all("SalesOrders", where="id >>> 3", label="bad filter")

    message = str(raised.value)
    assert message.startswith("Cin7 refused SalesOrders [bad filter] with HTTP 400: ")
    assert len(message) > len("Cin7 refused SalesOrders [bad filter] with HTTP 400: ")
    assert raised.value.status == 400
    assert len(settled_log(orders_server)) == 1


# -- retries ---------------------------------------------------------------------------------------


def test_429_with_retry_after_is_honoured(orders_server: SandboxServer) -> None:
    orders_server.faults.add(
        Fault(endpoint="SalesOrders", kind="status", status=429, retry_after=1, times=1)
    )

    with resource_for(orders_server).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders")

    assert len(orders) == 600
    assert cin7.total_calls == 4 and cin7.retries == 1
    # Honoured although longer than max_backoff_seconds: a minute window can ask for that much.
    assert cin7.backoff_wait_seconds == pytest.approx(1.0)
    assert cin7.pages[0].attempts == 2
    statuses = [e.status for e in log_entries(orders_server)]
    assert statuses == [429, 200, 200, 200]
    first, second = log_entries(orders_server)[:2]
    assert second.at - first.at >= 0.99


def test_429_without_retry_after_backs_off_then_succeeds(orders_server: SandboxServer) -> None:
    orders_server.faults.add(
        Fault(endpoint="SalesOrders", kind="status", status=429, retry_after=None, times=2)
    )

    with resource_for(orders_server).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders")

    assert len(orders) == 600
    assert cin7.total_calls == 5 and cin7.retries == 2
    # Back-off of attempts 1 and 2: 0.01 and 0.02 s, each jittered down to no less than half.
    assert 0.015 <= cin7.backoff_wait_seconds <= 0.03


def test_503_twice_then_success(orders_server: SandboxServer) -> None:
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=503, times=2))

    with resource_for(orders_server).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders")

    assert len(orders) == 600
    assert cin7.total_calls == 5 and cin7.retries == 2
    assert [e.status for e in log_entries(orders_server)] == [503, 503, 200, 200, 200]


def test_500s_through_every_retry_give_a_clear_error(orders_server: SandboxServer) -> None:
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=500, times=10))

    with (
        resource_for(orders_server, max_retries=2).open_session() as cin7,
        pytest.raises(Cin7UnavailableError) as raised,
    ):
        cin7.fetch_all("SalesOrders", label="window 2026-01-10")

    assert str(raised.value).startswith(
        "Cin7 SalesOrders [window 2026-01-10]: gave up after 3 attempts; last: HTTP 500"
    )
    assert cin7.total_calls == 3


def test_a_slow_answer_times_out_and_is_retried(orders_server: SandboxServer) -> None:
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="slow", delay=1.5, times=1))

    with resource_for(orders_server, timeout_seconds=0.5).open_session() as cin7:
        orders = cin7.fetch_all("SalesOrders")

    assert len(orders) == 600
    assert cin7.total_calls == 4 and cin7.retries == 1


@pytest.mark.parametrize("kind", ["truncated", "not_json"])
def test_unreadable_bodies_are_retried_then_reported(orders_server: SandboxServer, kind: str):
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind=kind, times=1))
    with resource_for(orders_server).open_session() as cin7:
        assert len(cin7.fetch_all("SalesOrders")) == 600
    assert cin7.total_calls == 4 and cin7.retries == 1

    orders_server.faults.add(Fault(endpoint="SalesOrders", kind=kind, times=10))
    with (
        resource_for(orders_server, max_retries=2).open_session() as cin7,
        pytest.raises(Cin7ResponseError) as raised,
    ):
        cin7.fetch_all("SalesOrders", label="all orders")
    assert str(raised.value).startswith(
        "Cin7 SalesOrders [all orders]: gave up after 3 attempts; last: "
    )
    assert cin7.total_calls == 3


# -- the daily budget ------------------------------------------------------------------------------


def test_session_stops_before_the_call_that_would_reach_the_daily_limit(
    orders_server: SandboxServer,
) -> None:
    """Limit 5 with 3 used: call 4 may go, call 5 would reach the limit. Page 1 only."""
    session = resource_for(orders_server, daily_call_limit=5).open_session(calls_used_today=3)
    assert session.calls_left == 1

    with session, pytest.raises(Cin7DailyLimitReached) as raised:
        session.fetch_all("SalesOrders", label="nightly")

    assert len(settled_log(orders_server)) == 1
    assert session.total_calls == 1 and session.calls_left == 0
    assert str(raised.value).startswith(
        "Cin7 daily call budget reached before SalesOrders [nightly]: 4 of 5 calls used today "
        "(3 before this session, 1 by it)."
    )
    assert "does not document" in str(raised.value)


def test_retries_count_against_the_daily_budget(orders_server: SandboxServer) -> None:
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=503, times=5))
    session = resource_for(orders_server, daily_call_limit=3).open_session()

    with session, pytest.raises(Cin7DailyLimitReached):
        session.fetch_all("SalesOrders")

    assert len(settled_log(orders_server)) == 2


def test_429s_through_the_whole_ladder_mean_the_daily_cap(orders_server: SandboxServer) -> None:
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="daily_cap", times=100))

    with (
        resource_for(orders_server, max_retries=3).open_session() as cin7,
        pytest.raises(Cin7DailyLimitReached) as raised,
    ):
        cin7.fetch_all("SalesOrders", label="nightly")

    assert cin7.total_calls == 4
    assert "HTTP 429 on all 4 attempts" in str(raised.value)
    assert "not documented" in str(raised.value)


def test_a_retry_after_no_rate_window_explains_stops_at_once(orders_server: SandboxServer) -> None:
    """An hour's Retry-After is longer than the minute window and any back-off: the daily cap."""
    orders_server.faults.add(
        Fault(endpoint="SalesOrders", kind="daily_cap", retry_after=3600, times=None)
    )

    with (
        resource_for(orders_server).open_session() as cin7,
        pytest.raises(Cin7DailyLimitReached) as raised,
    ):
        cin7.fetch_all("SalesOrders", label="nightly")

    assert cin7.total_calls == 1 and cin7.retries == 0
    assert str(raised.value).startswith(
        "Cin7 SalesOrders [nightly]: HTTP 429 with Retry-After 3600 s, longer than any rate "
        "window or back-off step: taken as the daily call cap; 1 calls used today."
    )


# -- secrecy ---------------------------------------------------------------------------------------


def test_the_api_key_never_reaches_logs_errors_or_reprs(
    orders_server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Exercise paging, retries, a 401 and a 403 with everything logged, then look for the key
    and for the Basic credentials in every form they could leak in."""
    token = base64.b64encode(f"{DEFAULT_USERNAME}:{DEFAULT_API_KEY}".encode()).decode()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=503, times=1))
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="not_json", times=1, after=1))
    # Real per-second limit on a 10x clock, so that throttle waits are logged too.
    resource = resource_for(orders_server, calls_per_second=3, time_scale=10)
    texts: list[str] = [repr(resource), str(resource)]

    with resource.open_session(log=logging.getLogger("moselle_cin7.test")) as cin7:
        cin7.fetch_all("SalesOrders", label="window")
        texts.append(repr(cin7))
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=403, times=1))
    with resource.open_session() as cin7, pytest.raises(Cin7PermissionError) as forbidden:
        cin7.fetch_all("SalesOrders")
    orders_server.faults.add(Fault(endpoint="SalesOrders", kind="status", status=401, times=1))
    with resource.open_session() as cin7, pytest.raises(Cin7AuthError) as refused:
        cin7.fetch_all("SalesOrders")
    texts += [str(forbidden.value), repr(forbidden.value), str(refused.value), repr(refused.value)]
    texts += [record.getMessage() for record in caplog.records]

    assert any("page 3" in text for text in texts)
    assert any("retry 2 of 5" in text for text in texts)
    assert any("waited" in text and "for the rate limit" in text for text in texts)
    for text in texts:
        assert DEFAULT_API_KEY not in text
        assert token not in text
        assert "Authorization" not in text
