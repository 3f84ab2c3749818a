"""A scratch planning database for the quality checks, filled by hand with small Cin7 records.

Days are fixed calendar days in the default account's time zone (Pacific/Auckland): the checks are
judged against the stored data and an explicit ``now``, never against today's date.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.db.store import insert_rows
from moselle_cin7.quality.rules import CheckInputs, Scope
from moselle_cin7.settings import Settings
from moselle_cin7.timeutil import business_day, parse_cin7_datetime

SETTINGS = Settings()
TZ = SETTINGS.timezone
DAY = date(2025, 3, 10)
# 13:00 on DAY in Auckland (NZDT, UTC+13).
NOW = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)


def days(offset: int) -> date:
    return DAY + timedelta(days=offset)


def stamp(on: date, clock: time = time(12, 0)) -> str:
    """A Cin7 timestamp (UTC ``Z``) for an account-local day and time."""
    moment = datetime.combine(on, clock, tzinfo=TZ).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def line(line_id: int, code: str | None, qty: Any, **extra: Any) -> dict[str, Any]:
    return {"id": line_id, "code": code, "qty": qty, "qtyShipped": 0.0, **extra}


def sales_order(
    order_id: int, reference: str, on: date | None, lines: Sequence[dict], **extra: Any
) -> dict[str, Any]:
    invoice = stamp(on) if on else None
    return {
        "id": order_id,
        "reference": reference,
        "createdDate": invoice,
        "modifiedDate": invoice,
        "invoiceDate": invoice,
        "status": "Approved",
        "stage": "Dispatched",
        "isVoid": False,
        "branchId": 1,
        "memberId": 501,
        "source": None,
        "customerOrderNo": None,
        "lineItems": list(lines),
        **extra,
    }


def purchase_order(
    order_id: int, reference: str, on: date, lines: Sequence[dict], **extra: Any
) -> dict[str, Any]:
    return {
        "id": order_id,
        "reference": reference,
        "createdDate": stamp(on),
        "modifiedDate": stamp(on),
        "status": "Approved",
        "stage": "",
        "isVoid": False,
        "branchId": 1,
        "memberId": 700,
        "estimatedDeliveryDate": None,
        "fullyReceivedDate": None,
        "lineItems": list(lines),
        **extra,
    }


def transfer(
    transfer_id: int, reference: str, on: date, lines: Sequence[dict], **extra: Any
) -> dict[str, Any]:
    return {
        "id": transfer_id,
        "reference": reference,
        "createdDate": stamp(on),
        "modifiedDate": stamp(on),
        "sourceBranchId": 1,
        "destinationBranchId": 2,
        "dispatchedDate": None,
        "receivedDate": None,
        "lineItems": list(lines),
        **extra,
    }


def product(product_id: int, name: str, options: Sequence[tuple[int, str | None]]) -> dict:
    return {
        "id": product_id,
        "name": name,
        "category": "Outerwear",
        "status": "Public",
        "modifiedDate": "2024-01-01T00:00:00Z",
        "productOptions": [
            {"id": option_id, "productId": product_id, "code": code, "status": "Active"}
            for option_id, code in options
        ],
    }


def stock_row(option_id: int, branch_id: int, **levels: Any) -> dict[str, Any]:
    return {
        "productOptionId": option_id,
        "branchId": branch_id,
        "code": f"SKU-{option_id}",
        "available": 5.0,
        "stockOnHand": 5.0,
        "openSales": 0.0,
        "incoming": 0.0,
        "holding": 0.0,
        "modifiedDate": "2024-01-01T00:00:00Z",
        **levels,
    }


def branch(branch_id: int, name: str, **extra: Any) -> dict[str, Any]:
    return {"id": branch_id, "company": name, "isActive": True, "branchType": "Warehouse", **extra}


def _own_day(payload: dict[str, Any], date_field: str | None) -> date:
    moment = parse_cin7_datetime(payload.get(date_field)) if date_field else None
    return business_day(moment, TZ) if moment else DAY


class ScratchDatabase:
    """A fresh planning database: SQLite under ``tmp_path``, or the empty database at ``url``."""

    def __init__(self, tmp_path: Path | None = None, url: str | None = None) -> None:
        self.url = url or f"sqlite:///{tmp_path / 'planning.sqlite'}"
        self.engine = PlanningDatabase(url=self.url).get_engine()

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            insert_rows(conn, table, list(rows))

    def add_raw(
        self,
        table: sa.Table,
        payloads: Sequence[dict[str, Any]],
        partition_day: date | None = None,
        date_field: str | None = None,
    ) -> None:
        """Store payloads as the sync would: in ``partition_day``, else their own local day."""
        rows = []
        for payload in payloads:
            row: dict[str, Any] = {
                "payload": payload,
                "synced_at": NOW,
                "run_id": "scratch",
                "modified_date": None,
            }
            if table is schema.raw_stock:
                row["product_option_id"] = payload["productOptionId"]
                row["branch_id"] = payload["branchId"]
            else:
                row["cin7_id"] = payload["id"]
            if "partition_day" in table.c:
                row["partition_day"] = partition_day or _own_day(payload, date_field)
            rows.append(row)
        self.insert(table, rows)

    def add_sales_orders(self, *orders: dict[str, Any], partition_day: date | None = None):
        self.add_raw(schema.raw_sales_orders, orders, partition_day, "invoiceDate")

    def add_purchase_orders(self, *orders: dict[str, Any], partition_day: date | None = None):
        self.add_raw(schema.raw_purchase_orders, orders, partition_day, "createdDate")

    def add_transfers(self, *transfers: dict[str, Any], partition_day: date | None = None):
        self.add_raw(schema.raw_branch_transfers, transfers, partition_day, "createdDate")

    @contextmanager
    def inputs(
        self,
        first_day: date | None = None,
        end_day: date | None = None,
        *,
        now: datetime = NOW,
        settings: Settings = SETTINGS,
    ) -> Iterator[CheckInputs]:
        with self.engine.connect() as conn:
            yield CheckInputs(conn, Scope(first_day, end_day, now), settings)

    def rows(self, table: sa.Table) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


def sales_line_row(
    line_id: int,
    order_id: int,
    on: date,
    sku: Any = "JKT-S",
    quantity: Any = 1.0,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "cin7_line_id": line_id,
        "cin7_order_id": order_id,
        "order_number": f"SO-{order_id}",
        "order_date": on,
        "channel": "Wholesale",
        "warehouse_id": 1,
        "sku": sku,
        "quantity": quantity,
        "unit_price": 10.0,
        "kit_parent_line_id": None,
        "mapping_issue": None,
        **extra,
    }
