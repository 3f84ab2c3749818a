"""A sliding-window rate limiter for Cin7's per-second and per-minute call limits.

Cin7 Omni allows 3 calls a second and 60 a minute per API connection. Every HTTP attempt counts,
retries included, so the limiter is asked before each attempt rather than once per page.

Why not a token bucket (or pyrate-limiter): Cin7 counts calls in windows, and the client must prove
to itself that no window can ever hold one call too many, while waiting no longer than that needs.
A log of recent calls answers both exactly: a new call may go when, in every window, fewer than
``limit`` logged calls lie within the window length before now.

Why calls are logged at their *completion*: the server stamps a request somewhere between the moment
it leaves and the moment its reply is read. Measuring the window from the end of the older call
makes the guarantee hold whatever the latency, at the cost of one round trip per window. A call
that is still in flight counts from its start, so a concurrent caller is never let through early.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RateWindow:
    """At most ``limit`` calls in any ``seconds``-long window."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError(f"a rate window needs limit >= 1 and seconds > 0, not {self}")

    @classmethod
    def from_rate(cls, calls: float, seconds: float) -> RateWindow:
        """``calls`` per ``seconds``, rounded down to whole calls so the rate is never exceeded.

        A rate below one call per window becomes one call per proportionally longer window
        (0.5 a second -> 1 call per 2 seconds).
        """
        if calls <= 0 or seconds <= 0:
            raise ValueError(f"a rate needs calls > 0 and seconds > 0, not {calls}/{seconds}")
        if calls < 1:
            return cls(1, seconds / calls)
        return cls(math.floor(calls), seconds)


class _Call:
    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class SlidingWindowThrottle:
    """Blocks each call until every :class:`RateWindow` has room for it.

    Args:
        windows: the limits that must all hold.
        clock: a monotonic clock in seconds (injected by tests).
        sleep: how to wait (injected by tests).
        guard_seconds: a little slack added to each wait so that timer and clock granularity can
            never put a call a hair inside the window; a fraction of a percent of the rate.
    """

    def __init__(
        self,
        windows: Sequence[RateWindow],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        guard_seconds: float = 0.002,
    ) -> None:
        if not windows:
            raise ValueError("a throttle needs at least one rate window")
        self.windows = tuple(windows)
        self._clock = clock
        self._sleep = sleep
        self._guard = guard_seconds
        self._calls: deque[_Call] = deque()
        self._longest = max(window.seconds for window in self.windows)
        self._lock = threading.Lock()
        self.total_wait_seconds = 0.0
        self.total_calls = 0

    def __deepcopy__(self, memo: dict[int, object]) -> SlidingWindowThrottle:
        # Copies of a resource must keep pacing against the same call log, not a fresh one.
        return self

    def __reduce__(self) -> tuple[object, ...]:
        # Another process has its own clock and call log: it starts empty with the same limits.
        return (type(self), (self.windows,))

    def __repr__(self) -> str:
        limits = ", ".join(f"{w.limit}/{w.seconds:g}s" for w in self.windows)
        return f"SlidingWindowThrottle({limits})"

    def _forget_old_calls(self, now: float) -> None:
        while self._calls and self._calls[0].at + self._longest <= now:
            self._calls.popleft()

    def _wait_needed(self, now: float) -> float:
        """Seconds until a call may start; 0 when every window has room now."""
        needed = 0.0
        times = sorted(call.at for call in self._calls)
        for window in self.windows:
            # Written as ``at + seconds > now`` (not ``at > now - seconds``) so that it agrees
            # exactly, in floating point, with the wait computed below.
            in_window = [at for at in times if at + window.seconds > now]
            if len(in_window) >= window.limit:
                # The call that must leave the window before ours may enter it.
                oldest_blocking = in_window[len(in_window) - window.limit]
                needed = max(needed, oldest_blocking + window.seconds - now + self._guard)
        return needed

    def wait(self) -> tuple[float, _Call]:
        """Wait until a call may start and log it as started; returns (seconds waited, call)."""
        started = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                self._forget_old_calls(now)
                needed = self._wait_needed(now)
                if needed <= 0:
                    call = _Call(now)
                    self._calls.append(call)
                    waited = now - started
                    self.total_calls += 1
                    self.total_wait_seconds += waited
                    return waited, call
            self._sleep(needed)

    def finish(self, call: _Call) -> None:
        """Move a call's stamp to its completion (see the module docstring for why)."""
        with self._lock:
            call.at = max(call.at, self._clock())

    @contextmanager
    def slot(self) -> Iterator[float]:
        """``with throttle.slot() as waited:`` around exactly one HTTP attempt.

        The caller logs the wait, on its own logger (Dagster's ``context.log`` in a run).
        """
        waited, call = self.wait()
        try:
            yield waited
        finally:
            self.finish(call)
