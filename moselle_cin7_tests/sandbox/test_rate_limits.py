"""Rate limits over HTTP: windows, Retry-After, the daily cap and the time scale."""

from __future__ import annotations

import time

import requests

from moselle_cin7.sandbox import RateLimits
from moselle_cin7_tests.sandbox.conftest import Api, order, serve

RECORDS = {"SalesOrders": [order(1)]}


def statuses(api: Api, count: int) -> list[int]:
    return [api.get("SalesOrders").status_code for _ in range(count)]


def test_the_fourth_call_within_a_second_is_429_with_retry_after() -> None:
    with serve(RECORDS, limits=RateLimits()) as server:
        api = Api(server)
        started = time.monotonic()
        answers = [api.get("SalesOrders") for _ in range(4)]
        elapsed = time.monotonic() - started

    assert elapsed < 0.9, "the four calls must fall within one second for this test to mean much"
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    throttled = answers[3]
    assert isinstance(throttled.json(), str)
    assert throttled.json().startswith("Rate limit exceeded")
    assert "3 calls per second" in throttled.json()
    assert throttled.headers["Retry-After"] == "1"


def test_no_retry_after_when_disabled() -> None:
    with serve(RECORDS, limits=RateLimits(retry_after=False)) as server:
        answers = [Api(server).get("SalesOrders") for _ in range(4)]

    assert answers[3].status_code == 429
    assert "Retry-After" not in answers[3].headers


def test_refused_calls_use_no_budget_and_the_window_slides() -> None:
    with serve(RECORDS, limits=RateLimits(per_second=2, per_minute=None, per_day=None)) as server:
        api = Api(server)
        first = statuses(api, 5)
        time.sleep(1.05)
        # Had the three refusals counted, the window would still be full.
        second = statuses(api, 3)

    assert first == [200, 200, 429, 429, 429]
    assert second == [200, 200, 429]


def test_the_minute_window_shrinks_with_the_time_scale() -> None:
    # At 60x, "a minute" lasts one real second.
    limits = RateLimits(per_second=None, per_minute=5, per_day=None)
    with serve(RECORDS, limits=limits, time_scale=60) as server:
        api = Api(server)
        first = [api.get("SalesOrders") for _ in range(6)]
        time.sleep(1.05)
        after_the_minute = statuses(api, 1)

    assert [answer.status_code for answer in first] == [200] * 5 + [429]
    assert "5 calls per minute" in first[5].json()
    assert first[5].headers["Retry-After"] == "1"
    assert after_the_minute == [200]


def test_the_daily_cap_answers_429_until_utc_midnight() -> None:
    limits = RateLimits(per_second=None, per_minute=None, per_day=3)
    with serve(RECORDS, limits=limits) as server:
        api = Api(server)
        answers = [api.get("SalesOrders") for _ in range(4)]
        server.reset_counters()
        after_reset = statuses(api, 1)

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert "3 calls per day" in answers[3].json()
    retry_after = int(answers[3].headers["Retry-After"])
    now = time.time()
    assert 1 <= retry_after <= 86_400
    # The header points at the next UTC midnight (to the second, give or take the call).
    past_midnight = (now + retry_after) % 86_400
    assert min(past_midnight, 86_400 - past_midnight) <= 2
    assert after_reset == [200]


def test_a_rolling_daily_window_can_be_chosen() -> None:
    limits = RateLimits(per_second=None, per_minute=None, per_day=2, daily_reset="rolling")
    # At 86,400x a "day" is one real second.
    with serve(RECORDS, limits=limits, time_scale=86_400) as server:
        api = Api(server)
        first = statuses(api, 3)
        time.sleep(1.05)
        second = statuses(api, 1)

    assert first == [200, 200, 429]
    assert second == [200]


def test_calls_with_bad_credentials_use_no_budget() -> None:
    with serve(RECORDS, limits=RateLimits(per_second=2, per_minute=None, per_day=None)) as server:
        api = Api(server)
        refused = [requests.get(api.url("SalesOrders"), timeout=5).status_code for _ in range(3)]
        allowed = statuses(api, 2)

    assert refused == [401, 401, 401]
    assert allowed == [200, 200]
