"""An HTTP server on loopback that answers like Cin7 Omni's v1 REST API.

Resources live at ``<base_url>/v1/<Resource>`` with ``base_url`` = ``http://127.0.0.1:<port>/api``.
A call is checked in this order, and the first failure answers it:

1. the path: an unknown resource is 404, any method but GET is 405;
2. HTTP Basic credentials: wrong or missing is 401;
3. injected faults (callbacks run, delays sleep, a status fault or an active daily cap answers);
4. the rate limits: 429, with ``Retry-After`` if so configured;
5. the connection's Read permission for the resource: 403;
6. the parameters: 400; a single record that does not exist: 404.

A call refused at steps 1-4 uses no rate-limit budget; calls answered at 5-6 do, as they reached
the service. Every body is JSON: an array of records, one record, or an error *string*.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from moselle_cin7.sandbox.account import SandboxAccount, Table, canonical_endpoint
from moselle_cin7.sandbox.constants import DEFAULT_API_KEY, DEFAULT_USERNAME
from moselle_cin7.sandbox.faults import Fault, FaultPlan, FaultSet
from moselle_cin7.sandbox.query import (
    QueryError,
    QueryRules,
    parse_fields,
    parse_list_query,
    project,
    run_list_query,
)
from moselle_cin7.sandbox.ratelimit import (
    RateLimiter,
    RateLimits,
    SandboxClock,
    Throttled,
    seconds_to_utc_midnight,
)

logger = logging.getLogger(__name__)

UNAUTHORIZED_MESSAGE = (
    "Authorization has been denied for this request: the API username or API key is not valid."
)
RATE_LIMIT_MESSAGE = "Rate limit exceeded. Please wait before making further API calls."
_STATUS_MESSAGES = {
    400: "The request is invalid.",
    401: UNAUTHORIZED_MESSAGE,
    429: RATE_LIMIT_MESSAGE,
    500: "An error has occurred.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable. Please try again later.",
    504: "The gateway timed out.",
}
_HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    b"<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your "
    b"request. Please try again later.</p></body></html>\n"
)


def forbidden_message(endpoint: str) -> str:
    return (
        f"Access denied: this API connection does not have Read permission for {endpoint}. "
        "Grant it under Settings > Integrations & API > API v1."
    )


@dataclass(frozen=True)
class LoggedRequest:
    """One call the sandbox answered.

    Attributes:
        endpoint: the resource, or ``None`` for an unknown path.
        record_id: the id in ``/v1/<Resource>/<id>``, as text, else ``None``.
        params: the decoded query string.
        status: the HTTP status sent.
        at: ``time.monotonic()`` when the call arrived.
        rows: records in the body (1 for a single record), ``None`` for an error.
        faults: kinds of the injected faults that fired on this call.
    """

    endpoint: str | None
    record_id: str | None
    params: dict[str, str]
    status: int
    at: float
    rows: int | None
    faults: tuple[str, ...] = ()
    method: str = "GET"
    duration: float = 0.0


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    rows: int | None = None


def _json_answer(status: int, payload: Any, rows: int | None = None) -> _Answer:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _Answer(status, body, rows=rows)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise hold their threads until a client leaves.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Cin7Sandbox/1.0"
    sys_version = ""
    timeout = 60
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.sandbox._handle(self)

    def _refuse(self) -> None:
        self.server.sandbox._handle(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class SandboxServer:
    """Serves a ``SandboxAccount`` over HTTP on loopback, like Cin7 Omni's API.

    Args:
        account: the records to serve; tests may change them while the server runs.
        username, api_key: the HTTP Basic credentials the server accepts.
        limits: Cin7's rate limits to enforce, or ``None`` for none (the default, for fast tests).
        time_scale: runs the rate-limit clock this many times faster than real time.
        permissions: resources mapped to False answer 403, as for a connection without Read
            permission; any resource not named is allowed.
        host, port: where to listen; port 0 picks a free port.
        rules: how the query language treats what Cin7 leaves unverified.

    Use as a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        account: SandboxAccount,
        username: str = DEFAULT_USERNAME,
        api_key: str = DEFAULT_API_KEY,
        limits: RateLimits | None = None,
        time_scale: float = 1.0,
        permissions: Mapping[str, bool] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rules: QueryRules | None = None,
    ) -> None:
        self.account = account
        self.username = username
        self.api_key = api_key
        self.limits = limits
        self.time_scale = time_scale
        self.permissions = {
            canonical_endpoint(name): bool(allowed) for name, allowed in (permissions or {}).items()
        }
        self.host = host
        self.requested_port = port
        self.rules = rules or QueryRules()
        self.faults = FaultSet()
        self._clock = SandboxClock(time_scale)
        self._limiter = RateLimiter(limits, self._clock) if limits is not None else None
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"cin7-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("Cin7 sandbox listening at %s", self.base_url)
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None
        logger.info("Cin7 sandbox stopped")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api``; resources are under ``/v1/<Resource>``."""
        return f"http://{self.host}:{self.port}/api"

    # ------------------------------------------------------------------ observation

    @property
    def request_log(self) -> list[LoggedRequest]:
        """A snapshot of every call answered since the start or the last ``reset_counters``."""
        with self._log_lock:
            return list(self._log)

    def calls(self, endpoint: str | None = None) -> int:
        """Calls that reached ``endpoint`` (any resource if ``None``) so far."""
        with self._log_lock:
            return sum(1 for entry in self._log if endpoint is None or entry.endpoint == endpoint)

    def reset_counters(self) -> None:
        """Forget every rate-limit window and daily count, and empty the request log."""
        if self._limiter is not None:
            self._limiter.reset()
        with self._log_lock:
            self._log.clear()

    # ------------------------------------------------------------------ answering

    def _handle(self, handler: _Handler) -> None:
        arrived = time.monotonic()
        split = urlsplit(handler.path)
        # Decoded once, as a web framework does: %23 is '#', %25 is '%', '+' is a space.
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        endpoint, record_id = _route(split.path)
        plan = FaultPlan()
        try:
            answer, plan = self._answer(handler, endpoint, record_id, params)
        except Exception:
            logger.exception("sandbox failed on %s", handler.path)
            answer = _json_answer(500, _STATUS_MESSAGES[500])
        if handler.command != "GET" and "Content-Length" in handler.headers:
            handler.rfile.read(int(handler.headers["Content-Length"] or 0))
        entry = LoggedRequest(
            endpoint=endpoint,
            record_id=record_id,
            params=params,
            status=answer.status,
            at=arrived,
            rows=answer.rows,
            faults=tuple(plan.kinds),
            method=handler.command,
            duration=time.monotonic() - arrived,
        )
        with self._log_lock:
            self._log.append(entry)
        # Logged first, so a client that has its answer also finds the call in the log.
        self._send(handler, answer)

    def _answer(
        self,
        handler: _Handler,
        endpoint: str | None,
        record_id: str | None,
        params: dict[str, str],
    ) -> tuple[_Answer, FaultPlan]:
        plan = FaultPlan()
        if endpoint is None:
            return _json_answer(404, f"No HTTP resource was found at {handler.path!r}."), plan
        if handler.command != "GET":
            answer = _json_answer(
                405, f"The requested resource does not support {handler.command}."
            )
            answer.headers["Allow"] = "GET"
            return answer, plan
        if not self._authorised(handler.headers.get("Authorization")):
            answer = _json_answer(401, UNAUTHORIZED_MESSAGE)
            answer.headers["WWW-Authenticate"] = 'Basic realm="Cin7 API"'
            return answer, plan

        plan = self.faults.plan(endpoint)
        for callback in plan.callbacks:
            callback(self.account, dict(params))
        if plan.delay:
            time.sleep(plan.delay)
        if plan.status is not None:
            return self._fault_answer(plan.status, endpoint), plan
        if plan.daily_cap is not None:
            return self._daily_cap_answer(plan.daily_cap), plan
        if self._limiter is not None:
            refusal = self._limiter.acquire()
            if refusal is not None:
                return self._throttled_answer(refusal), plan
        if self.permissions.get(endpoint) is False:
            return _json_answer(403, forbidden_message(endpoint)), plan

        lowered = {name.casefold(): value for name, value in params.items()}
        try:
            if record_id is not None:
                answer = self._single(endpoint, record_id, lowered)
            else:
                answer = self._list(endpoint, lowered)
        except QueryError as error:
            return _json_answer(400, str(error)), plan
        return _spoil(answer, plan), plan

    def _authorised(self, header: str | None) -> bool:
        if not header or header[:6].lower() != "basic ":
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, api_key = decoded.partition(":")
        # Both compared in full, so a wrong username takes as long as a wrong key.
        username_ok = hmac.compare_digest(username.encode(), self.username.encode())
        key_ok = hmac.compare_digest(api_key.encode(), self.api_key.encode())
        return username_ok and key_ok

    def _single(self, endpoint: str, record_id: str, params: dict[str, str]) -> _Answer:
        if endpoint == "Stock":
            return _json_answer(404, "Stock rows have no id: list them with where= instead.")
        try:
            key = int(record_id)
        except ValueError:
            return _json_answer(404, f"{endpoint} {record_id!r} was not found.")
        with self.account.lock:
            table = self.account.table(endpoint)
            fields_text = (params.get("fields") or "").strip()
            projection = parse_fields(fields_text, table) if fields_text else None
            row = table.rows.get(key)
            record = None if row is None else project(Table.materialize(row), projection)
        if record is None:
            return _json_answer(404, f"{endpoint} {key} was not found.")
        return _json_answer(200, record, rows=1)

    def _list(self, endpoint: str, params: dict[str, str]) -> _Answer:
        with self.account.lock:
            table = self.account.table(endpoint)
            query = parse_list_query(params, table, self.rules)
            records = run_list_query(table, query, self.rules)
        return _json_answer(200, records, rows=len(records))

    def _fault_answer(self, fault: Fault, endpoint: str) -> _Answer:
        if fault.status == 403:
            message = forbidden_message(endpoint)
        else:
            message = _STATUS_MESSAGES.get(fault.status, f"Error {fault.status}.")
        answer = _json_answer(fault.status, message)
        if fault.status == 401:
            answer.headers["WWW-Authenticate"] = 'Basic realm="Cin7 API"'
        if fault.retry_after is not None:
            answer.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return answer

    def _daily_cap_answer(self, fault: Fault) -> _Answer:
        per_day = self.limits.per_day if self.limits and self.limits.per_day else 5000
        answer = _json_answer(
            429, f"Rate limit exceeded: {per_day} calls per day. {RATE_LIMIT_MESSAGE}"
        )
        if fault.retry_after is not None:
            answer.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        elif self.limits is not None and self.limits.retry_after:
            now = self._clock.sandbox_ticks(self._clock.monotonic())
            wait = seconds_to_utc_midnight(now) / self._clock.time_scale
            answer.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return answer

    def _throttled_answer(self, refusal: Throttled) -> _Answer:
        answer = _json_answer(429, refusal.message)
        if self.limits is not None and self.limits.retry_after:
            answer.headers["Retry-After"] = str(refusal.retry_after)
        return answer

    @staticmethod
    def _send(handler: _Handler, answer: _Answer) -> None:
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", answer.content_type)
            handler.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a read timeout during a slow fault, say); nothing to tell it.
            handler.close_connection = True


def _spoil(answer: _Answer, plan: FaultPlan) -> _Answer:
    """Apply the body faults to a good answer."""
    if plan.empty_page:
        answer = _json_answer(200, [], rows=0)
    if plan.not_json:
        return _Answer(200, _HTML_ERROR_PAGE, content_type="text/html; charset=utf-8")
    if plan.truncated:
        answer.body = answer.body[: len(answer.body) // 2]
    return answer


def _route(path: str) -> tuple[str | None, str | None]:
    """(resource, record id text) for ``/api/v1/<Resource>[/<id>]``; (None, None) otherwise."""
    parts = [unquote(part) for part in path.split("/") if part]
    if len(parts) not in (3, 4) or parts[0].casefold() != "api" or parts[1].casefold() != "v1":
        return None, None
    try:
        endpoint = canonical_endpoint(parts[2])
    except ValueError:
        return None, None
    return endpoint, parts[3] if len(parts) == 4 else None
