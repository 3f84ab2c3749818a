"""What can go wrong when reading from Cin7 Omni, one exception per thing a person must do.

Every message names the endpoint and the label (usually the time window) of the read that failed,
and the cause, so a failed run can be understood from its log alone. No message ever contains the
API key or the Authorization header: errors are built from the endpoint, the query and Cin7's reply.
"""

from __future__ import annotations

import json


class Cin7Error(Exception):
    """Base class of every error raised by the Cin7 client."""

    def __init__(self, message: str, *, endpoint: str = "", label: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.label = label


class Cin7AuthError(Cin7Error):
    """HTTP 401: the API username or the API key is wrong. Retrying cannot help."""


class Cin7PermissionError(Cin7Error):
    """HTTP 403: the credentials are valid but the API connection may not read this endpoint."""


class Cin7RequestError(Cin7Error):
    """HTTP 400 (or another 4xx): Cin7 refused the query itself, e.g. a bad ``where`` clause."""

    def __init__(
        self, message: str, *, endpoint: str = "", label: str = "", status: int | None = None
    ) -> None:
        super().__init__(message, endpoint=endpoint, label=label)
        self.status = status


class Cin7ResponseError(Cin7Error):
    """Cin7 answered, but not with what a read returns (truncated, not JSON, not a list...)."""


class Cin7UnavailableError(Cin7Error):
    """Cin7 kept failing (5xx, timeouts, dropped connections) through every retry."""


class Cin7DailyLimitReached(Cin7Error):
    """The daily call budget is spent, by our own count or because Cin7 keeps answering 429."""


# Cin7 replies with a JSON string body on errors; anything longer than this is cut in messages so a
# misbehaving proxy cannot flood the run log with an HTML page.
MAX_REPLY_CHARS = 300


def describe_reply(text: str) -> str:
    """A short, single-line form of an error body for a message.

    Cin7 sends a JSON string (``"Rate limit exceeded"``); other shapes are shown as they came.
    """
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = text
    if isinstance(decoded, dict):
        decoded = decoded.get("message") or decoded.get("Message") or json.dumps(decoded)
    reply = " ".join(str(decoded).split())
    if len(reply) > MAX_REPLY_CHARS:
        reply = reply[:MAX_REPLY_CHARS] + "..."
    return reply or "(empty body)"
