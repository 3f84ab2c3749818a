"""Fixtures for the sandbox tests: small accounts and servers on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests

from moselle_cin7.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_USERNAME,
    SandboxAccount,
    SandboxServer,
    generate_account,
)

TODAY = date(2026, 3, 15)
AUTH = (DEFAULT_USERNAME, DEFAULT_API_KEY)


class Api:
    """A thin client for the tests: GET a resource with the sandbox credentials."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.auth = AUTH

    def url(self, endpoint: str) -> str:
        return f"{self.server.base_url}/v1/{endpoint}"

    def get(self, endpoint: str, timeout: float = 10, **params: Any) -> requests.Response:
        return self.session.get(self.url(endpoint), params=params, timeout=timeout)

    def rows(self, endpoint: str, **params: Any) -> list[dict[str, Any]]:
        response = self.get(endpoint, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, endpoint: str, **params: Any) -> list[int]:
        return [row["id"] for row in self.rows(endpoint, **params)]


@pytest.fixture
def tiny_account() -> SandboxAccount:
    return generate_account(seed=7, profile="tiny", today=TODAY)


@pytest.fixture(scope="session")
def small_account() -> SandboxAccount:
    """Shared, read-only: tests must not change it."""
    return generate_account(seed=7, profile="small", today=TODAY)


@pytest.fixture
def tiny_server(tiny_account: SandboxAccount) -> Iterator[SandboxServer]:
    with SandboxServer(tiny_account) as server:
        yield server


@pytest.fixture
def tiny_api(tiny_server: SandboxServer) -> Api:
    return Api(tiny_server)


def serve(records: dict[str, list[dict[str, Any]]], **options: Any) -> SandboxServer:
    """A started server over a hand-made account; the caller stops it (use ``with``)."""
    return SandboxServer(SandboxAccount(records), **options).start()


def order(record_id: int, **fields: Any) -> dict[str, Any]:
    """A minimal sales order; every test states the fields it filters on."""
    record: dict[str, Any] = {
        "id": record_id,
        "reference": f"SO-{record_id}",
        "createdDate": "2026-01-01T00:00:00Z",
        "modifiedDate": "2026-01-01T00:00:00Z",
        "invoiceDate": None,
        "status": "Approved",
        "stage": "New",
        "isVoid": False,
        "branchId": 3,
        "company": None,
        "total": 10.0,
        "lineItems": [{"id": record_id * 10, "code": "SKU-1", "qty": 1.0, "qtyShipped": 0.0}],
    }
    record.update(fields)
    return record
