"""Cin7 Omni's rate limits as the sandbox enforces them.

Cin7 allows 3 calls a second, 60 a minute and 5,000 a day per API connection. The second and
minute limits are sliding windows here; the day limit is a counter reset at UTC midnight of the
sandbox clock (or, with ``daily_reset="rolling"``, a sliding 24-hour window), as the real reset
time is unknown. Only accepted calls count: a call answered 429 uses no budget.

``time_scale`` runs the sandbox clock faster than the real one: at 20, "one minute" lasts three
real seconds and a "day" 72 real minutes, so a benchmark can replay a day's budget quickly.
``Retry-After`` is given in real seconds, rounded up to a whole second.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from moselle_cin7.sandbox.timestamps import TICKS_PER_DAY, TICKS_PER_SECOND, datetime_to_ticks


@dataclass(frozen=True)
class RateLimits:
    """Limits per API connection; ``None`` turns one off.

    Attributes:
        retry_after: send a ``Retry-After`` header with 429 answers (Cin7's habit is disputed).
        daily_reset: ``"utc_midnight"`` (a counter per UTC day) or ``"rolling"`` (24 hours).
    """

    per_second: int | None = 3
    per_minute: int | None = 60
    per_day: int | None = 5000
    retry_after: bool = True
    daily_reset: Literal["utc_midnight", "rolling"] = "utc_midnight"

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute", "per_day"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 or None")
        if self.daily_reset not in ("utc_midnight", "rolling"):
            raise ValueError("daily_reset must be 'utc_midnight' or 'rolling'")


@dataclass(frozen=True)
class Throttled:
    """A refused call: which limit, and how long (real seconds) until a call would pass."""

    limit: str
    wait_seconds: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.wait_seconds - 1e-9))

    @property
    def message(self) -> str:
        return f"Rate limit exceeded: {self.limit}. Please wait before making further API calls."


class SandboxClock:
    """Real monotonic time, and a UTC wall clock that runs ``time_scale`` times faster."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._started_monotonic = time.monotonic()
        self._started_ticks = datetime_to_ticks(datetime.now(UTC))

    def monotonic(self) -> float:
        return time.monotonic()

    def sandbox_ticks(self, monotonic: float) -> int:
        elapsed = (monotonic - self._started_monotonic) * self.time_scale
        return self._started_ticks + int(elapsed * TICKS_PER_SECOND)


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: SandboxClock) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._day_calls: deque[float] = deque()
        self._day_number: int | None = None
        self._day_count = 0

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._day_calls.clear()
            self._day_number = None
            self._day_count = 0

    def acquire(self) -> Throttled | None:
        """Count a call if every limit allows it; otherwise say which limit refused it."""
        scale = self.clock.time_scale
        limits = self.limits
        with self._lock:
            now = self.clock.monotonic()
            minute = 60.0 / scale
            while self._calls and self._calls[0] <= now - minute:
                self._calls.popleft()
            refusal = self._check_window(now, 1.0 / scale, limits.per_second, "calls per second")
            refusal = refusal or self._check_window(
                now, minute, limits.per_minute, "calls per minute"
            )
            refusal = refusal or self._check_day(now)
            if refusal is not None:
                return refusal
            self._calls.append(now)
            if limits.per_day is not None:
                if limits.daily_reset == "rolling":
                    self._day_calls.append(now)
                else:
                    self._day_count += 1
            return None

    def _check_window(
        self, now: float, length: float, limit: int | None, name: str
    ) -> Throttled | None:
        if limit is None:
            return None
        recent = [moment for moment in self._calls if moment > now - length]
        if len(recent) < limit:
            return None
        # The call passes once the oldest call that fills the window has left it.
        oldest_blocking = recent[-limit]
        return Throttled(f"{limit} {name}", oldest_blocking + length - now)

    def _check_day(self, now: float) -> Throttled | None:
        limit = self.limits.per_day
        if limit is None:
            return None
        scale = self.clock.time_scale
        if self.limits.daily_reset == "rolling":
            length = 86_400.0 / scale
            while self._day_calls and self._day_calls[0] <= now - length:
                self._day_calls.popleft()
            if len(self._day_calls) < limit:
                return None
            return Throttled(f"{limit} calls per day", self._day_calls[-limit] + length - now)
        ticks = self.clock.sandbox_ticks(now)
        day_number = ticks // TICKS_PER_DAY
        if day_number != self._day_number:
            self._day_number = day_number
            self._day_count = 0
        if self._day_count < limit:
            return None
        return Throttled(f"{limit} calls per day", seconds_to_utc_midnight(ticks) / scale)


def seconds_to_utc_midnight(ticks: int) -> float:
    """Sandbox seconds from ``ticks`` to the next UTC midnight."""
    return (TICKS_PER_DAY - ticks % TICKS_PER_DAY) / TICKS_PER_SECOND
