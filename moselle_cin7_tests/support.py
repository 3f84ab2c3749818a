"""Shared test helpers: small hand-written Cin7 accounts and a sync harness over real HTTP.

Days in these accounts are counted back from the newest complete day in the account's time zone,
so the tests keep working whatever the date is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from moselle_cin7.automation.ranges import DayRange
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db.engine import PlanningDatabase, engine_for
from moselle_cin7.definitions import build_definitions
from moselle_cin7.ingestion.partitions import last_complete_day
from moselle_cin7.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_USERNAME,
    SandboxAccount,
    SandboxServer,
)
from moselle_cin7.settings import load_settings

SETTINGS = load_settings()
TZ = SETTINGS.timezone
NEWEST_DAY = last_complete_day(datetime.now(UTC), SETTINGS)


def day(offset: int) -> date:
    """The account-local day ``offset`` days before the newest complete day (0 = yesterday)."""
    return NEWEST_DAY - timedelta(days=offset)


def local_stamp(on: date, clock: time = time(12, 0)) -> str:
    """A Cin7 timestamp (UTC ``Z``) for an account-local day and time."""
    moment = datetime.combine(on, clock, tzinfo=TZ).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


AUCKLAND, CHRISTCHURCH, ONLINE, ALLOCATION = 1, 2, 3, 4


def branches() -> list[dict[str, Any]]:
    def branch(branch_id: int, name: str, branch_type: str) -> dict[str, Any]:
        return {
            "id": branch_id,
            "company": name,
            "isActive": True,
            "branchType": branch_type,
            "createdDate": "2024-01-01T00:00:00Z",
            "modifiedDate": "2024-01-01T00:00:00Z",
        }

    return [
        branch(AUCKLAND, "Auckland Warehouse", "Warehouse"),
        branch(CHRISTCHURCH, "Christchurch Warehouse", "Warehouse"),
        branch(ONLINE, "Online Store", "Retail"),
        branch(ALLOCATION, "Wholesale Allocation", "Allocation"),
    ]


def product(product_id: int, name: str, category: str, *codes: str) -> dict[str, Any]:
    return {
        "id": product_id,
        "name": name,
        "category": category,
        "status": "Public",
        "createdDate": "2024-01-01T00:00:00Z",
        "modifiedDate": "2024-01-01T00:00:00Z",
        "customFields": {},
        "productOptions": [
            {"id": product_id * 10 + n, "productId": product_id, "code": code, "status": "Active"}
            for n, code in enumerate(codes, start=1)
        ],
    }


def line(code: str, qty: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": next_id(),
        "code": code,
        "qty": qty,
        "qtyShipped": extra.pop("shipped", 0.0),
        **extra,
    }


def sales_order(
    reference: str,
    invoice_day: date | None,
    lines: list[dict[str, Any]],
    *,
    stage: str = "Dispatched",
    branch_id: int = AUCKLAND,
    clock: time = time(12, 0),
    **extra: Any,
) -> dict[str, Any]:
    order_id = extra.pop("id", None) or next_id()
    invoice = local_stamp(invoice_day, clock) if invoice_day else None
    return {
        "id": order_id,
        "reference": reference,
        "createdDate": invoice or local_stamp(day(0)),
        "modifiedDate": invoice or local_stamp(day(0)),
        "invoiceDate": invoice,
        "dispatchedDate": invoice if stage.strip().lower() == "dispatched" else None,
        "status": "Approved",
        "stage": stage,
        "isVoid": False,
        "isApproved": True,
        "branchId": branch_id,
        "memberId": 501,
        "company": "Kiwi Outdoor Ltd",
        "source": None,
        "customFields": {},
        "lineItems": [{**item, "transactionId": order_id} for item in lines],
        **extra,
    }


def purchase_order(order_id: int, reference: str, created: date, lines, **extra) -> dict:
    """An approved purchase order to Auckland from Alpine Textiles, created on ``created``."""
    return {
        "id": order_id,
        "reference": reference,
        "createdDate": local_stamp(created),
        "modifiedDate": local_stamp(created),
        "status": "Approved",
        "stage": "",
        "isVoid": False,
        "branchId": AUCKLAND,
        "memberId": 700,
        "company": "Alpine Textiles",
        "estimatedDeliveryDate": None,
        "fullyReceivedDate": None,
        "customFields": {},
        "lineItems": lines,
        **extra,
    }


def stock_row(option_id: int, code: str, branch_id: int, **levels: float) -> dict[str, Any]:
    on_hand = levels.get("stockOnHand", 10.0)
    open_sales = levels.get("openSales", 0.0)
    return {
        "productId": option_id // 10,
        "productOptionId": option_id,
        "code": code,
        "branchId": branch_id,
        "branchName": f"branch {branch_id}",
        "available": levels.get("available", on_hand - open_sales),
        "stockOnHand": on_hand,
        "openSales": open_sales,
        "incoming": levels.get("incoming", 0.0),
        "virtual": 0.0,
        "holding": levels.get("holding", 0.0),
        "modifiedDate": "2024-01-01T00:00:00Z",
    }


@dataclass
class Harness:
    """A sandbox serving ``account`` and a fresh planning database, synced by real Dagster runs."""

    tmp_path: Path
    account: SandboxAccount
    limits: Any = None
    server: SandboxServer | None = None
    instance: dg.DagsterInstance | None = None
    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    # Cin7Resource fields that differ from the sandbox defaults (e.g. a wrong key, scaled limits).
    cin7_overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.tmp_path / 'planning.sqlite'}"

    def resources(self) -> dict[str, Any]:
        assert self.server is not None
        return {
            "cin7": Cin7Resource(
                **{
                    "base_url": self.server.base_url,
                    "account_id": DEFAULT_USERNAME,
                    "api_key": DEFAULT_API_KEY,
                    "backoff_seconds": 0.05,
                    "max_backoff_seconds": 0.2,
                    **self.cin7_overrides,
                }
            ),
            "planning_db": PlanningDatabase(url=self.database_url),
        }

    def sync(
        self,
        first: date,
        last: date,
        *,
        selection: str | dg.AssetSelection | None = None,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        """Run the daily sync job over the inclusive day range ``[first, last]``."""
        defs = build_definitions(self.resources())
        job = defs.resolve_job_def("daily_sync")
        result = job.execute_in_process(
            instance=self.instance,
            tags=DayRange(first, last).tags(),
            raise_on_error=raise_on_error,
            asset_selection=(
                list(
                    dg.AssetSelection.from_coercible(selection).resolve(defs.resolve_asset_graph())
                )
                if selection
                else None
            ),
        )
        self.runs.append(result)
        return result

    def rows(self, table: str, order_by: str | None = None) -> list[dict[str, Any]]:
        engine = engine_for(self.database_url)
        meta = sa.MetaData()
        target = sa.Table(table, meta, autoload_with=engine)
        query = sa.select(target)
        if order_by:
            query = query.order_by(*(target.c[name] for name in order_by.split(",")))
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
