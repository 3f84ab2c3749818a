"""The client held to Cin7's real limits (3 a second, 60 a minute) by a sandbox that enforces them.

The sandbox's clock runs four times faster than real time and the client is told so, so the 70
calls take about 16 s instead of about 63 s.
"""

from __future__ import annotations

import time

import pytest

from moselle_cin7.cin7 import Cin7Resource
from moselle_cin7.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_USERNAME,
    RateLimits,
    SandboxAccount,
    SandboxServer,
)

TIME_SCALE = 4


def most_calls_in_any_window(times: list[float], seconds: float) -> int:
    """The largest number of calls whose stamps fit in one window ``(t - seconds, t]``."""
    ordered = sorted(times)
    return max(
        sum(1 for other in ordered if moment - seconds < other <= moment) for moment in ordered
    )


@pytest.mark.slow
def test_seventy_calls_never_trip_cins7_rate_limits() -> None:
    """68 orders read one per page: 68 full pages, an empty one and the call that confirms the
    end (an empty page after a full one is asked twice), 70 calls.

    By hand, in API seconds: calls 1-60 go three a second (0 to 19.x s), call 61 must wait for the
    first call to leave the minute window (60 s), then 61-70 go three a second again: about 63 s,
    i.e. about 15.8 s real.
    """
    account = SandboxAccount(
        records={"SalesOrders": [{"id": n, "reference": f"SO-{n}"} for n in range(1, 69)]}
    )
    limits = RateLimits(per_second=3, per_minute=60, per_day=5000, retry_after=True)
    with SandboxServer(account, limits=limits, time_scale=TIME_SCALE) as server:
        resource = Cin7Resource(
            base_url=server.base_url,
            account_id=DEFAULT_USERNAME,
            api_key=DEFAULT_API_KEY,
            page_size=1,
            time_scale=TIME_SCALE,
        )
        started = time.monotonic()
        with resource.open_session() as cin7:
            orders = cin7.fetch_all("SalesOrders")
        elapsed = time.monotonic() - started
        log = list(server.request_log)

    assert len(orders) == 68
    assert cin7.total_calls == 70 and cin7.retries == 0
    assert [entry.status for entry in log] == [200] * 70
    stamps = [entry.at for entry in log]
    assert most_calls_in_any_window(stamps, 1.0 / TIME_SCALE) <= 3
    assert most_calls_in_any_window(stamps, 60.0 / TIME_SCALE) <= 60
    # No idle time beyond what the limits need: 63 API seconds, plus latency and guards.
    assert 63 / TIME_SCALE <= elapsed <= 63 / TIME_SCALE * 1.05
