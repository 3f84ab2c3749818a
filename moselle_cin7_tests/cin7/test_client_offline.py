"""Parts of the client that need no server: Retry-After parsing, configuration, secrecy."""

from datetime import UTC, datetime

import pytest
from dagster import EnvVar
from pydantic import ValidationError

from moselle_cin7.cin7 import Cin7Resource, Cin7ResponseError, RateWindow, parse_retry_after
from moselle_cin7.cin7.client import Cin7Session
from moselle_cin7.cin7.errors import describe_reply

NOW = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(header, expected) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_resource_defaults_match_cin7_limits() -> None:
    resource = Cin7Resource(account_id="moselle", api_key="k")
    assert resource.base_url == "https://api.cin7.com/api"
    assert resource.rate_windows() == [RateWindow(3, 1.0), RateWindow(60, 60.0)]
    assert resource.page_size == 250


def test_time_scale_shortens_the_windows_not_the_counts() -> None:
    """A sandbox clock running 4 times faster: a "second" is 0.25 s, a "minute" 15 s."""
    resource = Cin7Resource(account_id="moselle", api_key="k", time_scale=4)
    assert resource.rate_windows() == [RateWindow(3, 0.25), RateWindow(60, 15.0)]


def test_page_size_above_cin7_maximum_is_refused() -> None:
    with pytest.raises(ValidationError):
        Cin7Resource(account_id="moselle", api_key="k", page_size=251)


def test_sessions_of_one_resource_share_one_throttle() -> None:
    resource = Cin7Resource(account_id="moselle", api_key="k")
    with resource.open_session() as first, resource.open_session() as second:
        assert first.throttle is second.throttle


def test_the_key_is_not_in_any_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("CIN7_API_KEY", secret)
    wired = Cin7Resource(account_id="moselle", api_key=EnvVar("CIN7_API_KEY"))
    direct = Cin7Resource(account_id="moselle", api_key=secret)
    session = direct.open_session(calls_used_today=10)

    for text in (repr(wired), str(wired), repr(direct), str(direct), repr(session), str(session)):
        assert secret not in text
    assert "CIN7_API_KEY" not in repr(direct)
    assert repr(session) == (
        "Cin7Session(base_url='https://api.cin7.com/api', account_id='moselle', "
        "total_calls=0, calls_left=4989)"
    )


def test_calls_left_keeps_one_call_back() -> None:
    """With a limit of 5 and 3 used, one call may go: the 5th would reach the limit."""
    resource = Cin7Resource(account_id="moselle", api_key="k", daily_call_limit=5)
    assert resource.open_session(calls_used_today=3).calls_left == 1
    assert resource.open_session(calls_used_today=4).calls_left == 0
    assert resource.open_session(calls_used_today=9).calls_left == 0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    session = Cin7Resource(
        account_id="moselle", api_key="k", backoff_seconds=1, max_backoff_seconds=5
    ).open_session()
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        for _ in range(20):
            assert ceiling / 2 <= session._backoff(attempt) <= ceiling


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (None, ""),
        (["reference", "total"], "id,reference,total"),
        (["ID", "reference"], "ID,reference"),
        (["reference", "lineItems(code,qty)"], "id,reference,lineItems(code,qty)"),
    ],
)
def test_projection_always_carries_the_key(fields, expected) -> None:
    assert Cin7Session._projection(fields, ["id"]) == expected


def test_projection_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError):
        Cin7Session._projection("id,reference", ["id"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('"Rate limit exceeded"', "Rate limit exceeded"),
        ('{"message": "Bad where"}', "Bad where"),
        ("<html>\n<b>Bad gateway</b></html>", "<html> <b>Bad gateway</b></html>"),
        ("", "(empty body)"),
    ],
)
def test_error_bodies_are_shortened_to_one_line(body: str, expected: str) -> None:
    assert describe_reply(body) == expected


def test_a_page_out_of_key_order_is_refused() -> None:
    """Cin7 reportedly defaults to descending order; keyset paging over it would skip records."""
    session = Cin7Resource(account_id="moselle", api_key="k").open_session()
    session._check_page_order("SalesOrders", "w", 1, "id", [1, 2, 2, 5], None)
    session._check_page_order("SalesOrders", "w", 2, "id", ["b", "a"], "c")  # text: not checked
    with pytest.raises(Cin7ResponseError, match=r"not in ascending id order \(5 after 7\)"):
        session._check_page_order("SalesOrders", "w", 2, "id", [7, 5, 3], 4)
    with pytest.raises(Cin7ResponseError, match=r"\(3 after 4\)"):
        session._check_page_order("SalesOrders", "w", 2, "id", [3], 4)
