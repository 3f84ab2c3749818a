"""The sliding-window throttle, on an injected clock so that timings are exact."""

import random

import pytest

from moselle_cin7.cin7.throttle import RateWindow, SlidingWindowThrottle


class FakeClock:
    """A clock that only moves when the code under test sleeps or a call takes time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


CIN7_LIMITS = [RateWindow(3, 1.0), RateWindow(60, 60.0)]


def run_calls(throttle: SlidingWindowThrottle, clock: FakeClock, durations: list[float]):
    """Make one call per duration; return (start, end) of each."""
    spans = []
    for duration in durations:
        with throttle.slot():
            start = clock.now
            clock.now += duration
        spans.append((start, clock.now))
    return spans


def test_instant_calls_follow_cin7_limits_exactly() -> None:
    """3 a second until 60 are used, then the minute window decides: calls 61-63 go at 60 s."""
    clock = FakeClock()
    throttle = SlidingWindowThrottle(CIN7_LIMITS, clock=clock, sleep=clock.sleep, guard_seconds=0)

    starts = [start for start, _ in run_calls(throttle, clock, [0.0] * 70)]

    expected = [float(n // 3) for n in range(60)] + [60, 60, 60, 61, 61, 61, 62, 62, 62, 63]
    assert starts == expected
    assert throttle.total_calls == 70
    # One sleep per blocked call, each exactly as long as needed: no polling, no idle time.
    assert len(clock.sleeps) == 23
    assert throttle.total_wait_seconds == pytest.approx(63.0)


def test_windows_are_measured_from_the_end_of_earlier_calls() -> None:
    """With 0.1 s calls the 4th may start 1 s after the 1st *finished*: at 1.1 s, not 1.0 s."""
    clock = FakeClock()
    throttle = SlidingWindowThrottle(CIN7_LIMITS, clock=clock, sleep=clock.sleep, guard_seconds=0)

    spans = run_calls(throttle, clock, [0.1] * 5)

    assert [round(start, 6) for start, _ in spans] == [0.0, 0.1, 0.2, 1.1, 1.2]


def test_guard_is_added_to_each_wait() -> None:
    clock = FakeClock()
    throttle = SlidingWindowThrottle(
        [RateWindow(1, 1.0)], clock=clock, sleep=clock.sleep, guard_seconds=0.01
    )

    spans = run_calls(throttle, clock, [0.0] * 3)

    assert [round(start, 6) for start, _ in spans] == [0.0, 1.01, 2.02]


def test_random_durations_never_overfill_a_window_and_never_idle() -> None:
    """Whatever the call durations, no window ever holds `limit` earlier calls when one starts,
    and every wait ends at the moment a window frees up."""
    rng = random.Random(7)
    clock = FakeClock()
    throttle = SlidingWindowThrottle(CIN7_LIMITS, clock=clock, sleep=clock.sleep, guard_seconds=0)

    spans = run_calls(throttle, clock, [rng.choice([0.0, 0.05, 0.3, 1.2]) for _ in range(150)])

    for index, (start, _) in enumerate(spans):
        for window in CIN7_LIMITS:
            earlier_in_window = [end for _, end in spans[:index] if end + window.seconds > start]
            assert len(earlier_in_window) < window.limit
    for index in range(1, len(spans)):
        start = spans[index][0]
        if start > spans[index - 1][1] + 1e-9:
            # It waited: just before its start, some window must still have been full.
            full = any(
                len([end for _, end in spans[:index] if end > start - 1e-6 - w.seconds]) >= w.limit
                for w in CIN7_LIMITS
            )
            assert full, f"call {index} waited without need"


@pytest.mark.parametrize(
    ("calls", "seconds", "expected"),
    [(3, 1, RateWindow(3, 1)), (2.5, 1, RateWindow(2, 1)), (0.5, 1, RateWindow(1, 2.0))],
)
def test_rates_become_whole_call_windows(calls, seconds, expected) -> None:
    assert RateWindow.from_rate(calls, seconds) == expected


def test_invalid_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        RateWindow(0, 1)
    with pytest.raises(ValueError):
        RateWindow.from_rate(0, 1)
    with pytest.raises(ValueError):
        SlidingWindowThrottle([])
