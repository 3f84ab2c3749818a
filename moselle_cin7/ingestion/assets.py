"""Raw ingestion: one daily-partitioned asset per Cin7 entity, kept whole in the planning database.

Every asset body works on the run's partition time window, so the same code serves the daily run,
a 90-day ranged run and a support backfill: a run over N days makes one paged query per entity, not
N. A window is written in one transaction, so a failed run leaves what earlier runs stored intact.
"""

# No `from __future__ import annotations` here: Dagster reads the context annotation at runtime.
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.cin7.errors import Cin7DailyLimitReached
from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.db.ledger import calls_used_today, mark_synced, record_calls
from moselle_cin7.db.store import replace_all, replace_window
from moselle_cin7.ingestion.entities import (
    PRODUCT_FIELDS,
    STOCK_FIELDS,
    TRANSACTION_ENTITIES,
    TransactionEntity,
)
from moselle_cin7.ingestion.partitions import daily_partitions, last_complete_day, window_days
from moselle_cin7.mapping.rules import id_problem, local_day
from moselle_cin7.settings import load_settings
from moselle_cin7.timeutil import days_window_utc, parse_cin7_datetime, utc_now

logger = logging.getLogger(__name__)

RAW_GROUP = "cin7_raw"
# One Cin7 API connection allows one call stream: runs that call Cin7 queue on this pool.
CIN7_POOL = "cin7_api"
ONE_DAY = timedelta(days=1)
# The Cin7 session's page lines reach the run's event log at most this often (see _RunLogSample).
PAGE_LOG_INTERVAL_SECONDS = 5.0


class SnapshotNotAvailable(dg.Failure):
    """Cin7 keeps no history of stock or products: a past day's snapshot cannot be read now."""


def _holds_rows(engine: sa.Engine, table: sa.Table, *conditions: Any) -> bool:
    """Whether ``table`` has a row meeting ``conditions``.

    Then an empty answer from Cin7 would erase it, so the read asks once more before believing
    that nothing matches (``confirm_empty``): a hiccup upstream must not wipe a stored window.
    """
    query = sa.select(sa.literal(1)).select_from(table).where(*conditions).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def _modified(record: Mapping[str, Any]) -> Any:
    try:
        return parse_cin7_datetime(record.get("modifiedDate"))
    except ValueError:
        return None


class _RunLogSample:
    """The Cin7 session's log: every line to this module's logger, a sample to the run's log.

    Each line written to ``context.log`` is an event stored in Dagster's event log, a database
    commit of its own (10-50 ms on SQLite storage): two lines a page made event writes a large
    part of a 3,000-page sync whenever Cin7 answers faster than the writes. The run's log gets a
    progress line every few seconds (every fifth page or so under Cin7's one call a second);
    warnings and errors always. Every line still goes to the process log through this module's
    logger.
    """

    def __init__(
        self,
        run_log: logging.Logger | logging.LoggerAdapter,
        interval_seconds: float = PAGE_LOG_INTERVAL_SECONDS,
    ):
        self.run_log = run_log
        self.interval_seconds = interval_seconds
        self._last_sent = -interval_seconds

    def debug(self, message: str, *args: Any) -> None:
        logger.debug(message, *args)

    def info(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last_sent >= self.interval_seconds:
            self._last_sent = now
            self.run_log.info(message, *args)
        else:
            logger.info(message, *args)

    def warning(self, message: str, *args: Any) -> None:
        self.run_log.warning(message, *args)

    def error(self, message: str, *args: Any) -> None:
        self.run_log.error(message, *args)


# Runs of this process whose Cin7 session met the daily cap, with what it said: the run's later
# raw steps stop at once instead of each spending its retries on refusals. Kept per run, so a
# later run (perhaps after the reset, which Cin7 does not document) tries again.
_DAILY_CAP_BY_RUN: dict[str, str] = {}
_CAPPED_RUNS_KEPT = 100


class _Fetch:
    """One asset's Cin7 session, recorded in the call ledger even when the fetch fails.

    It also times the fetch (paging, parsing, waiting), how much of it was spent waiting for
    Cin7's answers, and, through ``writing()``, what follows it, so every materialization says
    where its time went.
    """

    def __init__(self, context: dg.AssetExecutionContext, cin7: Cin7Resource, engine: sa.Engine):
        self.context = context
        self.engine = engine
        self.session = cin7.open_session(
            log=_RunLogSample(context.log), calls_used_today=calls_used_today(engine)
        )
        # Time from sending a request to reading the answer's headers: Cin7's own time.
        self.session.http.hooks["response"].append(self._answered)
        self.fetch_seconds = 0.0
        self.write_seconds = 0.0
        self.response_seconds = 0.0
        self._started = 0.0

    def _answered(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.response_seconds += response.elapsed.total_seconds()

    def __enter__(self):
        capped = _DAILY_CAP_BY_RUN.get(self.context.run.run_id)
        if capped is not None:
            # Every further call today would be refused too, each after its own back-off.
            raise Cin7DailyLimitReached(
                "Not calling Cin7: its daily call cap was reached earlier in this run, so this "
                f"step would only be refused too. Earlier: {capped}"
            )
        self._started = time.monotonic()
        return self.session

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        self.fetch_seconds = time.monotonic() - self._started
        record_calls(self.engine, self.context.run.run_id, self.session.calls_by_endpoint)
        if isinstance(exc, Cin7DailyLimitReached):
            _DAILY_CAP_BY_RUN[self.context.run.run_id] = str(exc)
            while len(_DAILY_CAP_BY_RUN) > _CAPPED_RUNS_KEPT:
                _DAILY_CAP_BY_RUN.pop(next(iter(_DAILY_CAP_BY_RUN)))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Times the shaping and writing of what was fetched."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.write_seconds += time.monotonic() - started

    def metadata(self) -> dict[str, Any]:
        return {
            "api_calls": self.session.total_calls,
            "api_calls_by_endpoint": dg.MetadataValue.json(dict(self.session.calls_by_endpoint)),
            "api_wait_seconds": round(self.session.wait_seconds, 2),
            "api_retries": self.session.retries,
            "fetch_seconds": round(self.fetch_seconds, 3),
            "api_response_seconds": round(self.response_seconds, 3),
            "write_seconds": round(self.write_seconds, 3),
        }


def _transaction_asset(entity: TransactionEntity) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"cin7_{entity.name}",
        description=entity.description,
        group_name=RAW_GROUP,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=CIN7_POOL,
        kinds={"cin7", "sql"},
        metadata={"cin7_endpoint": entity.endpoint, "partitioned_by": entity.date_field},
    )
    def _sync(
        context: dg.AssetExecutionContext, cin7: Cin7Resource, planning_db: PlanningDatabase
    ) -> dg.MaterializeResult:
        settings = load_settings()
        first_day, end_day = window_days(context.partition_time_window)
        start_utc, end_utc = days_window_utc(first_day, end_day, settings.timezone)
        label = f"{entity.date_field} days [{first_day}, {end_day})"
        engine = planning_db.get_engine()
        raw_days = entity.raw_table.c.partition_day
        stored = _holds_rows(engine, entity.raw_table, raw_days >= first_day, raw_days < end_day)

        fetch = _Fetch(context, cin7, engine)
        with fetch as session:
            records = session.fetch_window(
                entity.endpoint,
                entity.date_field,
                start_utc,
                end_utc,
                fields=entity.fields,
                label=label,
                confirm_empty=stored,
            )

        with fetch.writing():
            rows, outside = _partition_rows(context, entity, records, first_day, end_day)
            with engine.begin() as conn:
                written = replace_window(
                    conn,
                    entity.raw_table,
                    day_column="partition_day",
                    first_day=first_day,
                    end_day=end_day,
                    rows=rows,
                    key_column="cin7_id",
                )
                mark_synced(conn, entity.name, context.run.run_id, first_day, end_day)

        context.log.info(
            f"{entity.endpoint} {label}: {len(rows)} records stored, {written['deleted']} replaced,"
            f" {written['moved_from_other_days']} moved from other days"
        )
        return dg.MaterializeResult(
            metadata={
                "window": f"[{first_day}, {end_day})",
                "records": len(rows),
                "rows_replaced": written["deleted"],
                "moved_from_other_days": written["moved_from_other_days"],
                "dated_outside_window": outside,
                **fetch.metadata(),
            }
        )

    return _sync


def _partition_rows(
    context: dg.AssetExecutionContext,
    entity: TransactionEntity,
    records: list[dict[str, Any]],
    first_day: date,
    end_day: date,
) -> tuple[list[dict[str, Any]], int]:
    """Raw rows, each in the partition of its account-local business day.

    Cin7 chose these records by comparing instants; a record whose local day still falls outside
    the window (a zone quirk) is stored in its own day, never in a day it does not belong to. One
    whose date cannot be read stays in the window's first day and is reported.
    """
    settings = load_settings()
    synced_at = utc_now()
    rows: list[dict[str, Any]] = []
    outside = 0
    for record in records:
        day, issue = local_day(record, entity.date_field, settings.timezone)
        if day is None:
            context.log.warning(
                f"{entity.endpoint} id {record.get('id')}: {issue or 'no ' + entity.date_field};"
                f" stored on {first_day}, the first day of the window that returned it"
            )
            day = first_day
        elif not first_day <= day < end_day:
            outside += 1
        rows.append(
            {
                "cin7_id": _raw_id(record, entity.endpoint, first_day, end_day),
                "partition_day": day,
                "modified_date": _modified(record),
                "payload": record,
                "synced_at": synced_at,
                "run_id": context.run.run_id,
            }
        )
    return rows, outside


class UnstorableRecordError(ValueError):
    """A Cin7 record whose id the raw table cannot key: its window is not written at all."""


def _raw_id(record: Mapping[str, Any], endpoint: str, first_day: date, end_day: date) -> int:
    """The record's id as the raw table stores it, or an error naming the record and its window.

    Raised before anything is written, so the window keeps what the last good sync stored
    (the database driver's own overflow error names neither the record nor the window).
    """
    value = record.get("id")
    problem = id_problem(value)
    if problem is not None:
        reference = record.get("reference")
        where = f"{endpoint} id {value!r}" + (f" ({reference})" if reference else "")
        raise UnstorableRecordError(
            f"{where} in days [{first_day}, {end_day}) {problem}; nothing of the window was written"
        )
    return int(value)


transaction_assets = [_transaction_asset(entity) for entity in TRANSACTION_ENTITIES]


def _snapshot_day(context: dg.AssetExecutionContext) -> date:
    """The one day whose closing snapshot can be read now, or a clear failure.

    The partition of day D holds what was read after D ended. Cin7 cannot give the past: for a
    window that does not hold the newest complete day, nothing is read and nothing is touched.
    """
    settings = load_settings()
    first_day, end_day = window_days(context.partition_time_window)
    snapshot_day = last_complete_day(utc_now(), settings)
    if not first_day <= snapshot_day < end_day:
        raise SnapshotNotAvailable(
            description=(
                f"Cin7 keeps no history of stock or products, so the snapshot of days "
                f"[{first_day}, {end_day}) cannot be read now; only {snapshot_day}'s closing "
                f"snapshot can. What is stored for those days is left untouched."
            ),
            metadata={"requested_window": f"[{first_day}, {end_day})"},
        )
    if first_day < snapshot_day:
        context.log.info(
            f"Snapshot taken for {snapshot_day} only; days [{first_day}, {snapshot_day}) keep what"
            " earlier runs stored (Cin7 cannot give past snapshots)."
        )
    return snapshot_day


@dg.asset(
    name="cin7_branches",
    description="Cin7 branches (warehouses, stores, allocation branches), read in full each run.",
    group_name=RAW_GROUP,
    pool=CIN7_POOL,
    kinds={"cin7", "sql"},
    metadata={"cin7_endpoint": "Branches"},
)
def cin7_branches(
    context: dg.AssetExecutionContext, cin7: Cin7Resource, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    engine = planning_db.get_engine()
    fetch = _Fetch(context, cin7, engine)
    with fetch as session:
        branches = session.fetch_all(
            "Branches",
            label="all branches",
            confirm_empty=_holds_rows(engine, schema.raw_branches),
        )

    with fetch.writing():
        synced_at = utc_now()
        rows = [
            {
                "cin7_id": branch["id"],
                "modified_date": _modified(branch),
                "payload": branch,
                "synced_at": synced_at,
                "run_id": context.run.run_id,
            }
            for branch in branches
        ]
        with engine.begin() as conn:
            replace_all(conn, schema.raw_branches, rows)
            mark_synced(conn, "branches", context.run.run_id)
    return dg.MaterializeResult(metadata={"records": len(rows), **fetch.metadata()})


@dg.asset(
    name="cin7_products",
    description=(
        "Daily closing snapshot of Cin7 products with their options (SKU = option code). "
        "The partition of day D holds what was read after D ended."
    ),
    group_name=RAW_GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=CIN7_POOL,
    kinds={"cin7", "sql"},
    metadata={"cin7_endpoint": "Products"},
)
def cin7_products(
    context: dg.AssetExecutionContext, cin7: Cin7Resource, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    snapshot_day = _snapshot_day(context)
    engine = planning_db.get_engine()
    fetch = _Fetch(context, cin7, engine)
    with fetch as session:
        products = session.fetch_all(
            "Products",
            fields=PRODUCT_FIELDS,
            label=f"{snapshot_day}",
            confirm_empty=_holds_rows(engine, schema.raw_products),
        )

    with fetch.writing():
        synced_at = utc_now()
        rows = [
            {
                "cin7_id": product["id"],
                "partition_day": snapshot_day,
                "modified_date": _modified(product),
                "payload": product,
                "synced_at": synced_at,
                "run_id": context.run.run_id,
            }
            for product in products
        ]
        with engine.begin() as conn:
            replace_window(
                conn,
                schema.raw_products,
                day_column="partition_day",
                first_day=snapshot_day,
                end_day=snapshot_day + ONE_DAY,
                rows=rows,
            )
            mark_synced(conn, "products", context.run.run_id, snapshot_day, snapshot_day + ONE_DAY)
    options = sum(len(product.get("productOptions") or []) for product in products)
    return dg.MaterializeResult(
        metadata={
            "snapshot_day": str(snapshot_day),
            "products": len(rows),
            "options": options,
            **fetch.metadata(),
        }
    )


def enabled_branch_ids(engine: sa.Engine) -> list[int]:
    """Branch ids whose stock is planned, from the stored branches and the settings."""
    settings = load_settings()
    with engine.connect() as conn:
        payloads = conn.execute(sa.select(schema.raw_branches.c.payload)).scalars().all()
    return sorted(branch["id"] for branch in payloads if settings.warehouse_enabled(branch))


@dg.asset(
    name="cin7_stock",
    description=(
        "Daily closing snapshot of Cin7 stock per product option and enabled branch. Read in full "
        "every time: Cin7's stock modifiedDate does not move when openSales or incoming change."
    ),
    group_name=RAW_GROUP,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=CIN7_POOL,
    deps=[cin7_branches],
    kinds={"cin7", "sql"},
    metadata={"cin7_endpoint": "Stock"},
)
def cin7_stock(
    context: dg.AssetExecutionContext, cin7: Cin7Resource, planning_db: PlanningDatabase
) -> dg.MaterializeResult:
    snapshot_day = _snapshot_day(context)
    engine = planning_db.get_engine()
    branch_ids = enabled_branch_ids(engine)

    # Stock rows have no id; within one branch the option id is unique, so each branch is paged
    # by option id on its own.
    fetch = _Fetch(context, cin7, engine)
    stock_rows: list[dict[str, Any]] = []
    with fetch as session:
        for branch_id in branch_ids:
            stock_rows += session.fetch_all(
                "Stock",
                where=f"branchId={int(branch_id)}",
                fields=STOCK_FIELDS,
                key_field="productOptionId",
                label=f"{snapshot_day} branch {branch_id}",
                confirm_empty=_holds_rows(
                    engine, schema.raw_stock, schema.raw_stock.c.branch_id == branch_id
                ),
            )

    with fetch.writing():
        synced_at = utc_now()
        rows = [
            {
                "product_option_id": stock["productOptionId"],
                "branch_id": stock["branchId"],
                "partition_day": snapshot_day,
                "modified_date": _modified(stock),
                "payload": stock,
                "synced_at": synced_at,
                "run_id": context.run.run_id,
            }
            for stock in stock_rows
        ]
        with engine.begin() as conn:
            replace_window(
                conn,
                schema.raw_stock,
                day_column="partition_day",
                first_day=snapshot_day,
                end_day=snapshot_day + ONE_DAY,
                rows=rows,
            )
            mark_synced(conn, "stock", context.run.run_id, snapshot_day, snapshot_day + ONE_DAY)
    return dg.MaterializeResult(
        metadata={
            "snapshot_day": str(snapshot_day),
            "stock_rows": len(rows),
            "branches": dg.MetadataValue.json(branch_ids),
            **fetch.metadata(),
        }
    )


raw_assets = [*transaction_assets, cin7_branches, cin7_products, cin7_stock]
