"""Cin7's 5,000-call daily budget: what a sync is expected to cost, and what is left today.

Estimates come from what earlier runs stored: a keyset-paged query over a window costs one call per
250 records plus the short (or empty) page that ends it, so ``rows // 250 + 1``. A window never
synced before counts as empty; the first sync of a large history therefore costs more than its
estimate, which is why the client still stops on its own before the daily limit.

Days here are UTC days (the ledger's): Cin7 does not document when its counter resets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from moselle_cin7.automation.ranges import DayRange
from moselle_cin7.cin7.client import MAX_PAGE_SIZE
from moselle_cin7.db import schema
from moselle_cin7.db.ledger import calls_used_on
from moselle_cin7.ingestion.entities import TransactionEntity
from moselle_cin7.settings import Settings

DAILY_CALL_LIMIT = 5000
# The client keeps one call of the daily limit back (see Cin7Session.calls_left).
CLIENT_RESERVE = 1


def query_calls(rows: int, page_size: int = MAX_PAGE_SIZE) -> int:
    """Calls to page through ``rows`` records: full pages plus the page that ends the scan.

    When the last page is full, the empty page after it is asked twice (the client confirms an
    empty page that follows a full one), hence one more call.
    """
    confirming = 1 if rows and rows % page_size == 0 else 0
    return rows // page_size + 1 + confirming


def stored_rows_per_day(
    engine: Engine, entity: TransactionEntity, days: DayRange
) -> dict[date, int]:
    """Raw records stored per partition day of the inclusive range ``days``."""
    table = entity.raw_table
    with engine.connect() as conn:
        counts = conn.execute(
            sa.select(table.c.partition_day, sa.func.count())
            .where(table.c.partition_day >= days.first, table.c.partition_day <= days.last)
            .group_by(table.c.partition_day)
        )
        return {_as_date(day): int(count) for day, count in counts}


def _as_date(value: date | datetime | str) -> date:
    # SQLite may hand a Date column back as text when it was grouped.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def estimate_window_calls(rows_per_day: dict[date, int], days: DayRange) -> int:
    """Calls for one query over ``days`` given the stored rows per day."""
    return query_calls(sum(count for day, count in rows_per_day.items() if day in days))


def estimate_snapshot_calls(engine: Engine, settings: Settings) -> int:
    """Calls to read branches, the product snapshot and the stock of every enabled branch.

    Stock is read branch by branch; a branch with no stored stock costs its one call.
    """
    with engine.connect() as conn:
        branches = conn.execute(sa.select(schema.raw_branches.c.payload)).scalars().all()
        enabled = sorted(branch["id"] for branch in branches if settings.warehouse_enabled(branch))
        newest_products = conn.execute(
            sa.select(sa.func.max(schema.raw_products.c.partition_day))
        ).scalar()
        product_rows = 0
        if newest_products is not None:
            product_rows = conn.execute(
                sa.select(sa.func.count()).where(
                    schema.raw_products.c.partition_day == newest_products
                )
            ).scalar_one()
        newest_stock = conn.execute(
            sa.select(sa.func.max(schema.raw_stock.c.partition_day))
        ).scalar()
        stock_rows: dict[int, int] = {}
        if newest_stock is not None:
            counts = conn.execute(
                sa.select(schema.raw_stock.c.branch_id, sa.func.count())
                .where(schema.raw_stock.c.partition_day == newest_stock)
                .group_by(schema.raw_stock.c.branch_id)
            )
            stock_rows = {int(branch): int(count) for branch, count in counts}
    # Before the first sync no branch is known; the stock read then costs at least one call.
    stock_calls = sum(query_calls(stock_rows.get(branch, 0)) for branch in enabled) or 1
    return 1 + query_calls(product_rows) + stock_calls


@dataclass(frozen=True)
class ApiBudget:
    """Cin7 calls allowed on one UTC day for one purpose, and how many are already spent."""

    call_day: date
    allowance: int
    used: int
    reserved: int = 0

    @property
    def left(self) -> int:
        return max(0, self.allowance - self.used - self.reserved)

    def allows(self, estimate: int) -> bool:
        return estimate <= self.left

    def describe(self, estimate: int) -> str:
        reserved = f", {self.reserved} kept for the daily sync" if self.reserved else ""
        return (
            f"an estimated {estimate} Cin7 calls; {self.used} of {self.allowance} allowed on "
            f"{self.call_day} (UTC) are spent{reserved}, {self.left} left"
        )


def automation_budget(
    engine: Engine, settings: Settings, now: datetime, reserved: int = 0
) -> ApiBudget:
    """The schedule's and the change sensor's share of today's calls.

    Both draw on ``api_budget_share`` of the daily limit, so the rest stays free for support's
    re-syncs and for anything else that uses the same API connection.
    """
    call_day = now.astimezone(UTC).date()
    allowance = math.floor(settings.schedule.api_budget_share * DAILY_CALL_LIMIT)
    return ApiBudget(call_day, allowance, calls_used_on(engine, call_day), reserved)


def manual_budget(engine: Engine, now: datetime) -> ApiBudget:
    """What a person-launched sync may use today: the whole daily limit but the client's reserve."""
    call_day = now.astimezone(UTC).date()
    return ApiBudget(call_day, DAILY_CALL_LIMIT - CLIENT_RESERVE, calls_used_on(engine, call_day))


def next_daily_tick(now: datetime, settings: Settings) -> datetime:
    """The first daily-sync tick strictly after ``now`` (aware, in the account's time zone).

    A wall-clock time skipped by a DST change (02:30 on the spring-forward night) lands an hour
    later, as the scheduler does.
    """
    local_now = now.astimezone(settings.timezone)
    sync_time: time = settings.schedule.daily_sync_time
    for offset in range(3):
        day = local_now.date() + timedelta(days=offset)
        tick = datetime.combine(day, sync_time, tzinfo=settings.timezone)
        # Round-tripping through UTC normalises a non-existent local time.
        tick = tick.astimezone(UTC).astimezone(settings.timezone)
        if tick > local_now:
            return tick
    raise AssertionError("a daily tick always falls within two days")  # pragma: no cover
