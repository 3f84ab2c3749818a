"""Faults a test can inject into the sandbox's answers, one resource at a time.

A fault applies to the next ``times`` matching calls (``None``: every one) after skipping
``after`` matching calls. A matching call is an authenticated call to the fault's resource (or to
any, with ``"*"``). Several faults may fire on one call: callbacks run and delays are slept first,
then a status fault answers instead of the resource, else the body is spoiled as asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from moselle_cin7.sandbox.constants import ENDPOINTS

if TYPE_CHECKING:
    from moselle_cin7.sandbox.account import SandboxAccount

FaultKind = Literal[
    "status", "slow", "truncated", "not_json", "empty_page", "daily_cap", "callback"
]
FAULT_KINDS = ("status", "slow", "truncated", "not_json", "empty_page", "daily_cap", "callback")


@dataclass(frozen=True, eq=False)
class Fault:
    """One injected misbehaviour.

    Attributes:
        endpoint: a resource name from ``ENDPOINTS``, or ``"*"`` for all.
        kind: ``status``: answer ``status`` (429, 500, 503, 401, 403...) with a JSON string body
            and, when ``retry_after`` is set, a ``Retry-After`` header (seconds).
            ``slow``: sleep ``delay`` seconds, then answer normally.
            ``truncated``: send the first half of the JSON body.
            ``not_json``: answer 200 with an HTML error page.
            ``empty_page``: answer ``[]`` although rows exist.
            ``daily_cap``: from this call on, answer every call 429 as if the day's budget were
            spent, until the faults are cleared (``retry_after`` overrides the header).
            ``callback``: run ``callback(account, params)`` before answering, where ``params`` is
            the decoded query string, e.g. to insert a record while a client pages.
    """

    endpoint: str = "*"
    kind: FaultKind = "status"
    times: int | None = 1
    after: int = 0
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    callback: Callable[[SandboxAccount, dict[str, str]], Any] | None = None

    def __post_init__(self) -> None:
        if self.endpoint != "*" and self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; use one of {ENDPOINTS} or '*'")
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for every matching call")
        if self.after < 0:
            raise ValueError("after must not be negative")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("a status fault needs an error status (400-599)")
        if self.kind == "slow" and self.delay <= 0:
            raise ValueError("a slow fault needs a positive delay")
        if self.kind == "callback" and not callable(self.callback):
            raise ValueError("a callback fault needs a callable callback(account, params)")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")

    def matches(self, endpoint: str | None) -> bool:
        return self.endpoint == "*" or self.endpoint == endpoint


@dataclass
class FaultPlan:
    """What the faults that fired on one call ask for."""

    callbacks: list[Callable[..., Any]] = field(default_factory=list)
    delay: float = 0.0
    status: Fault | None = None
    daily_cap: Fault | None = None
    truncated: bool = False
    not_json: bool = False
    empty_page: bool = False
    kinds: list[str] = field(default_factory=list)


@dataclass
class _Armed:
    fault: Fault
    seen: int = 0
    fired: int = 0

    @property
    def spent(self) -> bool:
        return self.fault.times is not None and self.fired >= self.fault.times


class FaultSet:
    """The server's injected faults; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._daily_cap: Fault | None = None

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._armed.append(_Armed(fault))
        return fault

    def clear(self) -> None:
        """Remove every fault and lift an active daily cap."""
        with self._lock:
            self._armed.clear()
            self._daily_cap = None

    def __len__(self) -> int:
        with self._lock:
            return sum(not armed.spent for armed in self._armed)

    def fired(self, fault: Fault) -> int:
        """How many calls ``fault`` has applied to so far."""
        with self._lock:
            return sum(armed.fired for armed in self._armed if armed.fault is fault)

    @property
    def daily_cap(self) -> Fault | None:
        with self._lock:
            return self._daily_cap

    def plan(self, endpoint: str) -> FaultPlan:
        """Count this call against every matching fault and collect those that fire."""
        plan = FaultPlan()
        with self._lock:
            for armed in self._armed:
                fault = armed.fault
                if not fault.matches(endpoint) or armed.spent:
                    continue
                armed.seen += 1
                if armed.seen <= fault.after:
                    continue
                armed.fired += 1
                plan.kinds.append(fault.kind)
                if fault.kind == "callback" and fault.callback is not None:
                    plan.callbacks.append(fault.callback)
                elif fault.kind == "slow":
                    plan.delay += fault.delay
                elif fault.kind == "status" and plan.status is None:
                    plan.status = fault
                elif fault.kind == "daily_cap":
                    self._daily_cap = fault
                elif fault.kind == "truncated":
                    plan.truncated = True
                elif fault.kind == "not_json":
                    plan.not_json = True
                elif fault.kind == "empty_page":
                    plan.empty_page = True
            plan.daily_cap = self._daily_cap
        return plan
