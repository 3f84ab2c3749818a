"""Read-only access to the Cin7 Omni API: the Dagster resource, its sessions and errors."""

from moselle_cin7.cin7.client import (
    DEFAULT_BASE_URL,
    Cin7Resource,
    Cin7Session,
    PageLog,
    parse_retry_after,
)
from moselle_cin7.cin7.errors import (
    Cin7AuthError,
    Cin7DailyLimitReached,
    Cin7Error,
    Cin7PermissionError,
    Cin7RequestError,
    Cin7ResponseError,
    Cin7UnavailableError,
)
from moselle_cin7.cin7.throttle import RateWindow, SlidingWindowThrottle

__all__ = [
    "DEFAULT_BASE_URL",
    "Cin7AuthError",
    "Cin7DailyLimitReached",
    "Cin7Error",
    "Cin7PermissionError",
    "Cin7RequestError",
    "Cin7Resource",
    "Cin7ResponseError",
    "Cin7Session",
    "Cin7UnavailableError",
    "PageLog",
    "RateWindow",
    "SlidingWindowThrottle",
    "parse_retry_after",
]
