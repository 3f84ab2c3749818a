"""The Cin7 Omni API client: a Dagster resource that opens read-only sessions.

``Cin7Resource`` holds configuration only (the API key comes from an ``EnvVar`` and is hidden from
its repr). ``Cin7Session`` does the work for one run or one step: it keeps a single HTTP connection
pool, paces every HTTP attempt under Cin7's per-second and per-minute limits, retries what can
succeed later, stops before the daily call budget runs out, and counts what it spent.

A session can only read: it sends nothing but ``GET``.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import requests
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from moselle_cin7.cin7.errors import (
    Cin7AuthError,
    Cin7DailyLimitReached,
    Cin7Error,
    Cin7PermissionError,
    Cin7RequestError,
    Cin7ResponseError,
    Cin7UnavailableError,
    describe_reply,
)
from moselle_cin7.cin7.query import and_, field_name, ge, gt, lt
from moselle_cin7.cin7.throttle import RateWindow, SlidingWindowThrottle

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.cin7.com/api"
# Cin7 refuses rows > 250 with a 400.
MAX_PAGE_SIZE = 250
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_ENDPOINT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# Guards the lazy creation of a resource's throttle. Module level, because a lock held in the
# resource itself would make the resource impossible to copy, which Dagster does.
_THROTTLE_LOCK = threading.Lock()


@dataclass(frozen=True)
class PageLog:
    """One page read: what was asked, how many rows came back and what it cost."""

    endpoint: str
    label: str
    page: int
    rows: int
    new_rows: int
    attempts: int
    waited_seconds: float
    duration_seconds: float


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns ``None`` when there is no usable value (absent, garbage), so the caller backs off on its
    own; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            # RFC 9110 dates are always GMT; email.utils returns naive for "-0000".
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


class _Transient(Exception):
    """An attempt that failed in a way a later attempt may not (internal to the retry loop)."""

    def __init__(self, kind: str, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.kind = kind  # rate_limited | server | timeout | connection | unreadable
        self.cause = cause
        self.retry_after = retry_after


def _describe_window(label: str) -> str:
    return f" [{label}]" if label else ""


def _record_key(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]``, tolerating a different key case (Cin7's casing is not reliable)."""
    if name in record:
        return record[name]
    folded = name.casefold()
    for key, value in record.items():
        if key.casefold() == folded:
            return value
    return None


class Cin7Session:
    """A read-only conversation with one Cin7 Omni account, with its own budget and statistics.

    Made by :meth:`Cin7Resource.open_session`; close it (or use it as a context manager) to free the
    connection pool. Counters: ``total_calls`` and ``calls_by_endpoint`` count HTTP attempts (each
    retry is a call for Cin7), ``retries`` the repeated attempts, ``wait_seconds`` the time spent
    waiting for the rate limit plus back-off, ``pages`` one :class:`PageLog` per page.
    """

    def __init__(
        self,
        *,
        base_url: str,
        account_id: str,
        api_key: str,
        throttle: SlidingWindowThrottle,
        timeout_seconds: float = 30,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60,
        daily_call_limit: int = 5000,
        page_size: int = MAX_PAGE_SIZE,
        calls_used_today: int = 0,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.daily_call_limit = daily_call_limit
        self.page_size = page_size
        self.calls_used_today = calls_used_today
        self.log = log if log is not None else logger
        self.throttle = throttle
        self._sleep = sleep
        self._jitter = jitter or random.Random()
        self._lock = threading.Lock()

        # The key lives only inside the HTTP session's auth, which requests never prints.
        self.http = requests.Session()
        self.http.auth = (account_id, api_key)
        self.http.headers.update({"Accept": "application/json"})

        self.calls_by_endpoint: dict[str, int] = {}
        self.total_calls = 0
        self.retries = 0
        self.throttle_wait_seconds = 0.0
        self.backoff_wait_seconds = 0.0
        self.pages: list[PageLog] = []

    def __repr__(self) -> str:
        return (
            f"Cin7Session(base_url={self.base_url!r}, account_id={self.account_id!r}, "
            f"total_calls={self.total_calls}, calls_left={self.calls_left})"
        )

    def __enter__(self) -> Cin7Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @property
    def wait_seconds(self) -> float:
        """Time spent waiting for the rate limit and for back-off, in seconds."""
        return self.throttle_wait_seconds + self.backoff_wait_seconds

    @property
    def calls_used(self) -> int:
        """Calls counted against today's budget: those made before the session plus its own."""
        return self.calls_used_today + self.total_calls

    @property
    def calls_left(self) -> int:
        """Calls this session may still make.

        One call of the daily limit is always kept back: the session stops *before* the call that
        would reach ``daily_call_limit``, since how Cin7 counts the last call is not documented.
        """
        return max(0, self.daily_call_limit - 1 - self.calls_used)

    # -- reading ---------------------------------------------------------------------------------

    def fetch_all(
        self,
        endpoint: str,
        *,
        where: str | None = None,
        fields: Sequence[str] | None = None,
        key_field: str = "id",
        label: str = "",
        unique_by: Sequence[str] | None = None,
        confirm_empty: bool = False,
    ) -> list[dict[str, Any]]:
        """Every record of ``endpoint`` matching ``where``, read with keyset paging.

        Each page asks for ``order=<key_field> ASC`` and ``page=1``, and every page after the first
        narrows the filter to keys above the last one seen. Unlike offset paging this neither skips
        nor repeats a record when records are added, changed or leave the filter during the scan.
        A page shorter than ``page_size`` ends the scan without another call. An empty page right
        after a full one is asked for once more before the scan ends: it is how an exact multiple
        of ``page_size`` ends, but also how a hiccup upstream looks, and trusting that would drop
        every record after the cursor (and the window write would then delete them). Two empty
        answers in a row are taken as the end. With ``confirm_empty`` an empty first page is
        asked again too: callers set it when an empty result would erase records they hold.

        Args:
            endpoint: the resource name, e.g. ``"SalesOrders"``.
            where: a ``where`` clause (see :mod:`moselle_cin7.cin7.query`); ``None`` reads all.
            fields: a projection; ``key_field`` (and ``unique_by``) are added when missing.
            key_field: the ascending key the pages are cut on; unique unless ``unique_by`` is set.
            label: names the read in logs and errors (e.g. the time window).
            unique_by: for resources without a unique sortable key (Stock: ``productOptionId`` +
                ``branchId``), the fields that identify a record. Pages then continue from
                ``key_field >= last key`` and the repeated rows of that key are dropped; this works
                while fewer than ``page_size`` records share one key value.
            confirm_empty: ask once more before believing that nothing matches at all.

        Returns:
            The records in key order, each once (a record read twice keeps its later version).
        """
        endpoint = self._endpoint(endpoint)
        key = field_name(key_field)
        identity_fields = [field_name(name) for name in unique_by] if unique_by else []
        projection = self._projection(fields, [key, *identity_fields])

        records: dict[Hashable, dict[str, Any]] = {}
        last_key: Any = None
        page = 0
        confirming_end = False
        while True:
            page += 1
            if last_key is None:
                page_where = where or ""
            else:
                after = ge(key, last_key) if identity_fields else gt(key, last_key)
                page_where = and_(where, after)
            params: dict[str, Any] = {"order": f"{key} ASC", "rows": self.page_size, "page": 1}
            if page_where:
                params["where"] = page_where
            if projection:
                params["fields"] = projection

            started = time.monotonic()
            waited_before = self.wait_seconds
            calls_before = self.total_calls
            batch = self._request(endpoint, f"/v1/{endpoint}", params, label=label, expect=list)

            keys = []
            new_rows = 0
            for record in batch:
                if not isinstance(record, dict):
                    raise Cin7ResponseError(
                        f"Cin7 {endpoint}{_describe_window(label)} page {page}: a row is "
                        f"{type(record).__name__}, not an object",
                        endpoint=endpoint,
                        label=label,
                    )
                record_key = _record_key(record, key)
                if record_key is None:
                    raise Cin7ResponseError(
                        f"Cin7 {endpoint}{_describe_window(label)} page {page}: a row has no "
                        f"{key!r}, so it cannot be paged or de-duplicated",
                        endpoint=endpoint,
                        label=label,
                    )
                keys.append(record_key)
                identity = (
                    tuple(_record_key(record, name) for name in identity_fields)
                    if identity_fields
                    else record_key
                )
                if identity not in records:
                    new_rows += 1
                records[identity] = record
            self._check_page_order(endpoint, label, page, key, keys, last_key)

            page_log = PageLog(
                endpoint=endpoint,
                label=label,
                page=page,
                rows=len(batch),
                new_rows=new_rows,
                attempts=self.total_calls - calls_before,
                waited_seconds=self.wait_seconds - waited_before,
                duration_seconds=time.monotonic() - started,
            )
            self.pages.append(page_log)
            self.log.info(
                "Cin7 %s%s page %d: %d rows (%d new) in %.2f s, waited %.2f s, %d call(s)",
                endpoint,
                _describe_window(label),
                page,
                page_log.rows,
                new_rows,
                page_log.duration_seconds,
                page_log.waited_seconds,
                page_log.attempts,
            )

            if not batch and not confirming_end and (page > 1 or confirm_empty):
                # After a full page, or when nothing at all would erase what the caller holds:
                # ask the same question once more before ending.
                confirming_end = True
                self.log.info(
                    "Cin7 %s%s page %d: empty; asking again to confirm the end",
                    endpoint,
                    _describe_window(label),
                    page,
                )
                continue
            if batch and confirming_end:
                self.log.warning(
                    "Cin7 %s%s page %d: %d rows after an empty answer to the same query; the "
                    "empty page was not the end",
                    endpoint,
                    _describe_window(label),
                    page,
                    len(batch),
                )
            confirming_end = False
            if len(batch) < self.page_size:
                break
            if new_rows == 0:
                # A full page of rows already seen: the filter did not move forward, and asking
                # again would loop for ever.
                raise Cin7ResponseError(
                    f"Cin7 {endpoint}{_describe_window(label)} page {page}: a full page brought "
                    f"no new records after {key}={last_key!r}; either Cin7 ignored the filter or "
                    f"more than {self.page_size} records share one {key}",
                    endpoint=endpoint,
                    label=label,
                )
            last_key = keys[-1]

        return list(records.values())

    def fetch_window(
        self,
        endpoint: str,
        date_field: str,
        start: datetime,
        end: datetime,
        *,
        fields: Sequence[str] | None = None,
        extra_where: str | None = None,
        label: str = "",
        key_field: str = "id",
        confirm_empty: bool = False,
    ) -> list[dict[str, Any]]:
        """Records whose ``date_field`` lies in the half-open UTC window ``[start, end)``.

        ``start`` and ``end`` must be timezone-aware; they are sent as UTC ``yyyy-MM-ddTHH:mm:ssZ``,
        so a window bound with a fraction of a second is cut to the whole second.
        ``confirm_empty`` is passed to :meth:`fetch_all`.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("fetch_window needs timezone-aware start and end")
        if not start < end:
            raise ValueError(f"empty window: start {start.isoformat()} >= end {end.isoformat()}")
        window_where = and_(ge(date_field, start), lt(date_field, end), extra_where)
        if not label:
            label = (
                f"{date_field} {start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
                f"..{end.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
            )
        return self.fetch_all(
            endpoint,
            where=window_where,
            fields=fields,
            key_field=key_field,
            label=label,
            confirm_empty=confirm_empty,
        )

    def get(self, endpoint: str, record_id: int | str, *, label: str = "") -> dict[str, Any] | None:
        """One record by id; ``None`` when Cin7 answers 404."""
        endpoint = self._endpoint(endpoint)
        path = f"/v1/{endpoint}/{quote(str(record_id), safe='')}"
        label = label or f"id {record_id}"
        return self._request(endpoint, path, {}, label=label, expect=dict, missing_ok=True)

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _endpoint(endpoint: str) -> str:
        if not _ENDPOINT_NAME.match(endpoint or ""):
            raise ValueError(f"not a Cin7 resource name: {endpoint!r}")
        return endpoint

    @staticmethod
    def _projection(fields: Sequence[str] | None, required: Sequence[str]) -> str:
        if fields is None:
            return ""
        if isinstance(fields, str):
            raise TypeError("fields must be a sequence of names, not one string")
        chosen = [name.strip() for name in fields if name.strip()]
        present = {name.casefold() for name in chosen}
        for name in required:
            if name.casefold() not in present:
                chosen.insert(0, name)
                present.add(name.casefold())
        return ",".join(chosen)

    def _check_page_order(
        self, endpoint: str, label: str, page: int, key: str, keys: list[Any], last_key: Any
    ) -> None:
        """Refuse a page out of key order: keyset paging would silently skip records.

        Cin7's default order is reportedly descending and unknown parameters are ignored, so a
        wrong order is the failure to expect. Only numeric keys are checked, as Cin7's collation
        of text may differ from Python's.
        """
        numeric = [k for k in keys if isinstance(k, int | float) and not isinstance(k, bool)]
        if len(numeric) != len(keys):
            return
        previous = last_key if isinstance(last_key, int | float) else None
        for current in numeric:
            if previous is not None and current < previous:
                raise Cin7ResponseError(
                    f"Cin7 {endpoint}{_describe_window(label)} page {page}: rows are not in "
                    f"ascending {key} order ({current!r} after {previous!r}); Cin7 did not honour "
                    f"order={key} ASC, and paging on would skip records",
                    endpoint=endpoint,
                    label=label,
                )
            previous = current

    def _check_budget(self, endpoint: str, label: str) -> None:
        if self.calls_used + 1 >= self.daily_call_limit:
            raise Cin7DailyLimitReached(
                f"Cin7 daily call budget reached before {endpoint}{_describe_window(label)}: "
                f"{self.calls_used} of {self.daily_call_limit} calls used today "
                f"({self.calls_used_today} before this session, {self.total_calls} by it). "
                "Stopping before the call that would reach the limit. The budget resets at a "
                "time Cin7 does not document (UTC midnight or a rolling 24 hours): run again "
                "later.",
                endpoint=endpoint,
                label=label,
            )

    @property
    def _longest_honoured_wait(self) -> float:
        """The longest ``Retry-After`` obeyed: a minute-window refusal may ask for a minute."""
        longest_window = max(window.seconds for window in self.throttle.windows)
        return max(self.max_backoff_seconds, longest_window)

    def _backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: between half and all of ``backoff * 2**(n-1)``."""
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._jitter.random())

    def _request(
        self,
        endpoint: str,
        path: str,
        params: Mapping[str, Any],
        *,
        label: str,
        expect: type,
        missing_ok: bool = False,
    ) -> Any:
        """GET ``path`` and return its decoded JSON body, retrying what may succeed later."""
        url = self.base_url + path
        # Encoded here, once, with %20 for spaces: the where clause carries quotes, '#' and '%',
        # which must reach Cin7 as %27, %23 and %25.
        query = urlencode(params, quote_via=quote, safe="")
        where = _describe_window(label)
        attempts = 0
        consecutive_429 = 0
        while True:
            attempts += 1
            self._check_budget(endpoint, label)
            try:
                return self._attempt(endpoint, url, query, label, expect, missing_ok)
            except _Transient as failure:
                consecutive_429 = consecutive_429 + 1 if failure.kind == "rate_limited" else 0
                if attempts > self.max_retries:
                    raise self._final_error(
                        endpoint, label, failure, attempts, consecutive_429
                    ) from None
                if failure.retry_after is not None:
                    if failure.retry_after > self._longest_honoured_wait:
                        # Cin7 asks for a longer pause than any rate window or back-off step
                        # explains: only the daily cap lasts that long.
                        raise Cin7DailyLimitReached(
                            f"Cin7 {endpoint}{where}: HTTP 429 with Retry-After "
                            f"{failure.retry_after:.0f} s, longer than any rate window or "
                            "back-off step: taken as the daily call cap; "
                            f"{self.calls_used} calls used today. The reset time is not "
                            "documented by Cin7: run again later.",
                            endpoint=endpoint,
                            label=label,
                        ) from None
                    delay = failure.retry_after
                else:
                    delay = self._backoff(attempts)
                self.retries += 1
                self.log.warning(
                    "Cin7 %s%s: %s; retry %d of %d in %.2f s",
                    endpoint,
                    where,
                    failure.cause,
                    attempts,
                    self.max_retries,
                    delay,
                )
                if delay > 0:
                    self._sleep(delay)
                    self.backoff_wait_seconds += delay

    def _attempt(
        self, endpoint: str, url: str, query: str, label: str, expect: type, missing_ok: bool
    ) -> Any:
        """One HTTP attempt under the throttle; raises ``_Transient`` for what may be retried."""
        where = _describe_window(label)
        with self.throttle.slot() as waited:
            with self._lock:
                self.total_calls += 1
                self.calls_by_endpoint[endpoint] = self.calls_by_endpoint.get(endpoint, 0) + 1
                self.throttle_wait_seconds += waited
            if waited > 0:
                self.log.debug(
                    "Cin7 %s%s: waited %.3f s for the rate limit", endpoint, where, waited
                )
            try:
                response = self.http.get(
                    f"{url}?{query}" if query else url, timeout=self.timeout_seconds
                )
                body = response.content
            except requests.Timeout:
                raise _Transient(
                    "timeout", f"no answer within {self.timeout_seconds:g} s"
                ) from None
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ):
                raise _Transient(
                    "unreadable", "the reply body was cut off or undecodable"
                ) from None
            except requests.RequestException as error:
                raise _Transient(
                    "connection", f"connection failed ({type(error).__name__})"
                ) from None

        status = response.status_code
        if status == 200:
            try:
                payload = response.json()
            except ValueError:
                raise _Transient(
                    "unreadable", f"HTTP 200 with a body that is not JSON ({len(body)} bytes)"
                ) from None
            if not isinstance(payload, expect):
                shape = "a JSON array" if expect is list else "a JSON object"
                raise _Transient(
                    "unreadable", f"HTTP 200 with a JSON {type(payload).__name__}, not {shape}"
                )
            return payload
        reply = describe_reply(response.text)
        if status == 404 and missing_ok:
            return None
        if status == 401:
            raise Cin7AuthError(
                f"Cin7 rejected the credentials (HTTP 401) on {endpoint}{where}: check "
                "CIN7_ACCOUNT_ID (the API username) and CIN7_API_KEY",
                endpoint=endpoint,
                label=label,
            )
        if status == 403:
            raise Cin7PermissionError(
                f"the API connection lacks Read permission for {endpoint} (HTTP 403){where}; the "
                f"credentials are fine: enable Read for {endpoint} on the API connection in Cin7",
                endpoint=endpoint,
                label=label,
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _Transient("rate_limited", f"HTTP 429 ({reply})", retry_after=retry_after)
        if status in RETRIED_STATUSES:
            raise _Transient("server", f"HTTP {status} ({reply})")
        if 400 <= status < 500:
            raise Cin7RequestError(
                f"Cin7 refused {endpoint}{where} with HTTP {status}: {reply}",
                endpoint=endpoint,
                label=label,
                status=status,
            )
        raise Cin7ResponseError(
            f"Cin7 {endpoint}{where}: unexpected HTTP {status}: {reply}",
            endpoint=endpoint,
            label=label,
        )

    def _final_error(
        self, endpoint: str, label: str, failure: _Transient, attempts: int, consecutive_429: int
    ) -> Cin7Error:
        where = _describe_window(label)
        if failure.kind == "rate_limited" and consecutive_429 == attempts:
            return Cin7DailyLimitReached(
                f"Cin7 {endpoint}{where}: HTTP 429 on all {attempts} attempts through the "
                "back-off: taken as the daily call cap. "
                f"{self.calls_used} calls counted today ({self.total_calls} by this session). The "
                "reset time is not documented by Cin7: run again later.",
                endpoint=endpoint,
                label=label,
            )
        summary = (
            f"Cin7 {endpoint}{where}: gave up after {attempts} attempts; last: {failure.cause}"
        )
        if failure.kind == "unreadable":
            return Cin7ResponseError(summary, endpoint=endpoint, label=label)
        return Cin7UnavailableError(summary, endpoint=endpoint, label=label)


class Cin7Resource(ConfigurableResource):
    """Read access to one Cin7 Omni account.

    Wire the credentials from the environment so they never appear in the UI or run config::

        Cin7Resource(account_id=EnvVar("CIN7_ACCOUNT_ID"), api_key=EnvVar("CIN7_API_KEY"))

    Sessions opened from one resource instance share one throttle, so two reads in the same
    process cannot together exceed Cin7's rate.
    """

    base_url: str = Field(default=DEFAULT_BASE_URL, description="Cin7 Omni API root (no /v1).")
    account_id: str = Field(description="The API username of the Cin7 API connection.")
    api_key: str = Field(repr=False, description="The API key of the Cin7 API connection.")
    timeout_seconds: float = Field(default=30, gt=0, description="Per HTTP attempt.")
    max_retries: int = Field(default=5, ge=0, description="Repeated attempts after a failure.")
    backoff_seconds: float = Field(default=1.0, ge=0, description="First back-off step.")
    max_backoff_seconds: float = Field(default=60, ge=0, description="Longest back-off step.")
    calls_per_second: float = Field(default=3, gt=0)
    calls_per_minute: float = Field(default=60, gt=0)
    daily_call_limit: int = Field(default=5000, ge=1)
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description=(
            "How many times faster than real time the rate windows run: 1 against Cin7. A local "
            "sandbox started with time_scale=N is matched by the same N."
        ),
    )

    _throttle: SlidingWindowThrottle | None = PrivateAttr(default=None)

    def rate_windows(self) -> list[RateWindow]:
        """The per-second and per-minute limits as sliding windows, in real seconds."""
        return [
            RateWindow.from_rate(self.calls_per_second, 1.0 / self.time_scale),
            RateWindow.from_rate(self.calls_per_minute, 60.0 / self.time_scale),
        ]

    def throttle(self) -> SlidingWindowThrottle:
        """The throttle shared by every session this instance opens."""
        with _THROTTLE_LOCK:
            if self._throttle is None:
                self._throttle = SlidingWindowThrottle(self.rate_windows())
            return self._throttle

    def open_session(
        self,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        calls_used_today: int = 0,
    ) -> Cin7Session:
        """A session for one step; ``calls_used_today`` is what earlier runs already spent.

        ``log`` may be a ``logging.Logger`` or Dagster's ``context.log``.
        """
        return Cin7Session(
            base_url=self.base_url,
            account_id=self.account_id,
            api_key=self.api_key,
            throttle=self.throttle(),
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            max_backoff_seconds=self.max_backoff_seconds,
            daily_call_limit=self.daily_call_limit,
            page_size=self.page_size,
            calls_used_today=calls_used_today,
            log=log,
        )
