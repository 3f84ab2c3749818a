"""Benchmark of the daily sync: API calls, processing time, memory and pacing on a sandbox account.

Run as::

    python -m moselle_cin7.benchmark --profile large
    python -m moselle_cin7.benchmark --profile medium --rate-limited --time-scale 10 --report r.json

What one benchmark does, in order:

1. serves a generated sandbox account (``--profile``, ``--seed``) from its own process, without
   rate limits, so the sandbox's memory and CPU are not counted as the pipeline's;
2. pages the daily sync's queries with bare ``requests`` calls (same ``where``, ``fields``, order
   and page size, no processing): the **baseline**. Its row counts give the theoretical minimum of
   API calls; its time is what fetching alone costs on this machine at this moment
   (``--no-baseline`` skips it and counts the minimum from the rows the run stored);
3. runs the ``daily_sync`` job over the lookback range (the last ``lookback_days`` complete days
   in the account's time zone, with today's stock and product snapshots) in a child process, on a
   fresh SQLite planning database and a fresh Dagster instance (SQLite storage on disk, as the
   demo uses), with the client's own pacing off, and measures its wall time, its peak RSS and the
   time of each stage (``--warm-days N`` times a second run on a database already holding N days
   of stock snapshots, as after weeks of daily syncs);
4. with ``--rate-limited``, serves the account again with Cin7's limits (3/s, 60/min, 5,000/day)
   on a clock running ``--time-scale`` times faster, and runs the sync once more against it, with
   the client pacing itself on the same clock.

*Processing* is the run's wall time less the time spent waiting for the sandbox's answers
(request sent to headers read): the pipeline's own work. How fast a local sandbox pages an account
says nothing of the pipeline, and under Cin7's limits the pacing dwarfs either. Dagster's event
writes (commits to its SQLite storage, a few per partition day of each asset) are part of it, and
are also shown apart, since they depend most on the machine's disk and load. Figures are also
given as ratios against the baseline measured in the same benchmark, since shared machines are
noisy.

Theoretical minimum of API calls: Cin7 returns no total count, so keyset paging only knows a scan
is over when a page comes back short. A query of ``rows`` records therefore needs
``rows // 250 + 1`` calls: ``ceil(rows / 250)`` when ``rows`` is not a multiple of 250, one more
when it is (the full last page forces a call that returns nothing), and 1 for no rows at all.

Under Cin7's real limits the per-minute window binds (60 a minute is one call a second, against
three a second): a run needs at least calls / 1 s. The rate-limited run is compared with calls /
(1 s / time scale).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PAGE_SIZE = 250
# Cin7's limits. The per-minute one binds over any run longer than 20 seconds: 60 a minute is one
# call a second, while 3 a second would allow three.
CALLS_PER_SECOND = 3
CALLS_PER_MINUTE = 60
SUSTAINED_CALLS_PER_SECOND = min(CALLS_PER_SECOND, CALLS_PER_MINUTE / 60)

# The targets for the large profile on a 2-core machine.
TARGET_CALL_RATIO = 1.02
TARGET_PROCESSING_SECONDS = 120.0
TARGET_PEAK_RSS_BYTES = 2 * 1024**3
TARGET_PACING_RATIO = 1.05

# A pause of the calls this long is made up afterwards within Cin7's minute window (see
# _real_limits).
ABSORBED_PAUSE_SECONDS = 40.0
# A Cin7Resource time scale at which the client's rate windows last microseconds: no pacing.
UNTHROTTLED_TIME_SCALE = 1e6
# The pipeline process's address space is capped at this by default (see ``run_pipeline``).
DEFAULT_MEMORY_LIMIT_BYTES = 8 * 1024**3
# How long a generated account may take to be served (the large one takes about 35 s).
SANDBOX_START_TIMEOUT_SECONDS = 600
ENDPOINTS = ("Branches", "Products", "Stock", "SalesOrders", "PurchaseOrders", "BranchTransfers")

RAW_STEPS = (
    "cin7_branches",
    "cin7_products",
    "cin7_stock",
    "cin7_sales_orders",
    "cin7_purchase_orders",
    "cin7_branch_transfers",
)
MAPPING_STEPS = (
    "warehouses",
    "products",
    "sales_order_lines",
    "purchase_orders",
    "transfers",
    "inventory",
)
PLANNING_STEPS = ("planning_tables",)
# Rows written per mapping step, from its materialization metadata.
MAPPING_ROW_KEYS = ("dagster/row_count", "lines")
PLANNING_TABLES = ("replenishment_orders", "demand_forecast", "projected_stock", "stock_outlook")


def minimum_calls(rows: int, page_size: int = PAGE_SIZE) -> int:
    """Fewest calls that page ``rows`` records when only a short page ends a scan."""
    if rows < 0:
        raise ValueError("rows cannot be negative")
    return rows // page_size + 1


# --------------------------------------------------------------------------- the sandbox process


@dataclass
class SandboxProcess:
    """A sandbox served by ``python -m moselle_cin7.sandbox`` in its own process."""

    popen: subprocess.Popen
    base_url: str
    started_seconds: float
    log_path: Path


@contextmanager
def serve_sandbox(
    profile: str,
    seed: int,
    timezone: str,
    work_dir: Path,
    *,
    time_scale: float | None = None,
) -> Iterator[SandboxProcess]:
    """Serve a generated account on a free loopback port; rate-limited when ``time_scale`` is set.

    The account ends on today's date in ``timezone``, as the pipeline expects.
    """
    command = [
        sys.executable,
        "-m",
        "moselle_cin7.sandbox",
        "--profile",
        profile,
        "--seed",
        str(seed),
        "--timezone",
        timezone,
        "--port",
        "0",
    ]
    if time_scale is None:
        command.append("--no-rate-limit")
    else:
        command += ["--time-scale", f"{time_scale:g}"]
    suffix = "unlimited" if time_scale is None else f"scale{time_scale:g}"
    log_path = work_dir / f"sandbox-{suffix}.log"
    started = time.monotonic()
    with log_path.open("wb") as log_file:
        popen = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log_file, text=True, bufsize=1
        )
    try:
        base_url = _wait_for_base_url(popen)
        if base_url is None:
            raise RuntimeError(f"the sandbox did not start; see {log_path}:\n{_tail(log_path)}")
        yield SandboxProcess(popen, base_url, time.monotonic() - started, log_path)
    finally:
        _stop(popen)


def _wait_for_base_url(popen: subprocess.Popen) -> str | None:
    """The base URL the sandbox announces on stdout, or None if it ends or takes too long.

    The pipe is read to its end on a daemon thread, so the sandbox can never block on it.
    """
    announced = threading.Event()
    found: list[str] = []

    def read_announcement() -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            if "base URL:" in line and not found:
                found.append(line.split("base URL:", 1)[1].split()[0])
                announced.set()
        announced.set()

    threading.Thread(target=read_announcement, name="sandbox-stdout", daemon=True).start()
    announced.wait(SANDBOX_START_TIMEOUT_SECONDS)
    return found[0] if found else None


def _stop(popen: subprocess.Popen) -> None:
    """End a child this benchmark started: SIGTERM, then SIGKILL if it lingers."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------- the baseline


@dataclass
class Query:
    """One paged query of the daily sync, as the raw assets send it."""

    endpoint: str
    label: str
    key: str
    where: str | None = None
    fields: Sequence[str] | None = None


@dataclass
class PagedQuery:
    """One query paged by the baseline: rows, calls, seconds, and the seconds spent waiting for
    the sandbox's answers (request sent to headers read)."""

    endpoint: str
    label: str
    rows: int
    calls: int
    seconds: float
    answer_seconds: float

    @property
    def minimum_calls(self) -> int:
        return minimum_calls(self.rows)


def daily_sync_queries(branches: Sequence[dict[str, Any]], now: datetime) -> list[Query]:
    """The queries a daily sync sends after reading the branches, in the raw assets' terms."""
    from moselle_cin7.automation.ranges import lookback_range
    from moselle_cin7.cin7.query import and_, ge, lt
    from moselle_cin7.ingestion.entities import PRODUCT_FIELDS, STOCK_FIELDS, TRANSACTION_ENTITIES
    from moselle_cin7.settings import load_settings
    from moselle_cin7.timeutil import days_window_utc

    settings = load_settings()
    day_range = lookback_range(now, settings)
    start, end = days_window_utc(
        day_range.first, day_range.last + timedelta(days=1), settings.timezone
    )
    queries = [Query("Products", "all products", "id", fields=PRODUCT_FIELDS)]
    enabled = sorted(branch["id"] for branch in branches if settings.warehouse_enabled(branch))
    queries += [
        Query(
            "Stock",
            f"branch {branch_id}",
            "productOptionId",
            where=f"branchId={int(branch_id)}",
            fields=STOCK_FIELDS,
        )
        for branch_id in enabled
    ]
    queries += [
        Query(
            entity.endpoint,
            f"{entity.date_field} {day_range}",
            "id",
            where=and_(ge(entity.date_field, start), lt(entity.date_field, end)),
            fields=entity.fields,
        )
        for entity in TRANSACTION_ENTITIES
    ]
    return queries


def page_bare(
    session: Any, base_url: str, query: Query, *, keep: bool = False
) -> tuple[PagedQuery, list[dict]]:
    """Page one query with keyset paging and nothing else: the fetching the sync cannot avoid.

    Returns the paged query and, with ``keep``, its records (else an empty list).
    """
    from urllib.parse import quote, urlencode

    from moselle_cin7.cin7.query import and_, gt

    started = time.monotonic()
    records: list[dict] = []
    rows = 0
    calls = 0
    answer_seconds = 0.0
    last_key: Any = None
    while True:
        where = query.where if last_key is None else and_(query.where, gt(query.key, last_key))
        params: dict[str, Any] = {"order": f"{query.key} ASC", "rows": PAGE_SIZE, "page": 1}
        if where:
            params["where"] = where
        if query.fields:
            params["fields"] = ",".join(query.fields)
        response = session.get(
            f"{base_url}/v1/{query.endpoint}?{urlencode(params, quote_via=quote, safe='')}",
            timeout=60,
        )
        calls += 1
        answer_seconds += response.elapsed.total_seconds()
        response.raise_for_status()
        page = response.json()
        rows += len(page)
        if keep:
            records += page
        if len(page) < PAGE_SIZE:
            break
        last_key = page[-1][query.key]
    seconds = time.monotonic() - started
    return PagedQuery(query.endpoint, query.label, rows, calls, seconds, answer_seconds), records


def stored_queries(run: PipelineRun) -> list[PagedQuery]:
    """The daily sync's queries as the run's fresh database counts them, when the baseline is
    skipped: every record a query returned is stored once (stock once per branch)."""
    rows = run.stored_rows
    queries = [
        PagedQuery("Branches", "all branches", rows.get("raw_branches", 0), 0, 0.0, 0.0),
        PagedQuery("Products", "all products", rows.get("raw_products", 0), 0, 0.0, 0.0),
    ]
    queries += [
        PagedQuery("Stock", f"branch {branch}", count, 0, 0.0, 0.0)
        for branch, count in sorted(run.stock_rows_by_branch.items(), key=lambda i: int(i[0]))
    ]
    for endpoint, table in (
        ("SalesOrders", "raw_sales_orders"),
        ("PurchaseOrders", "raw_purchase_orders"),
        ("BranchTransfers", "raw_branch_transfers"),
    ):
        queries.append(PagedQuery(endpoint, run.day_range, rows.get(table, 0), 0, 0.0, 0.0))
    return queries


def run_baseline(base_url: str, now: datetime) -> tuple[list[PagedQuery], float]:
    """Every query of the daily sync paged bare; returns the queries and the total seconds."""
    import requests

    # Imported before the clock starts: loading the project's modules is not paging.
    import moselle_cin7.automation.ranges  # noqa: F401
    from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME

    started = time.monotonic()
    with requests.Session() as session:
        session.auth = (DEFAULT_USERNAME, DEFAULT_API_KEY)
        session.headers["Accept"] = "application/json"
        branches_query, branches = page_bare(
            session, base_url, Query("Branches", "all branches", "id"), keep=True
        )
        paged = [branches_query]
        for query in daily_sync_queries(branches, now):
            result, _ = page_bare(session, base_url, query)
            paged.append(result)
    return paged, time.monotonic() - started


# --------------------------------------------------------------------------- the pipeline run


@dataclass
class PipelineRun:
    """What one daily sync run measured, from its own process."""

    run_id: str
    success: bool
    day_range: str
    wall_seconds: float
    peak_rss_bytes: int
    calls_by_endpoint: dict[str, int]
    stored_rows: dict[str, int]
    stock_rows_by_branch: dict[str, int]
    steps: dict[str, dict[str, Any]]
    events: dict[str, int]
    event_write_seconds: float
    failures: list[str] = field(default_factory=list)


def run_pipeline(
    base_url: str,
    work_dir: Path,
    name: str,
    *,
    time_scale: float | None = None,
    memory_limit_bytes: int | None = None,
    dagster_dir: Path | None = None,
    warm_days: int = 0,
    postgres_url: str | None = None,
) -> PipelineRun:
    """Run the daily sync in a child process against ``base_url``; its peak RSS is its own.

    ``memory_limit_bytes`` caps the child's address space, so a run that outgrows the machine
    fails with a MemoryError instead of waking the kernel's OOM killer. The Dagster instance
    lives in ``dagster_dir`` (default: the work folder, on disk as in a deployment). The planning
    database is a SQLite file in the work folder, or with ``postgres_url`` a fresh database on
    that PostgreSQL server, dropped afterwards.
    """
    with _planning_database(postgres_url, name) as database_url:
        run_dir = work_dir / name
        run_dir.mkdir()
        dagster_home = (dagster_dir or run_dir) / f"dagster_home_{name}"
        dagster_home.mkdir()
        (dagster_home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\n", encoding="utf-8"
        )
        config = {
            "base_url": base_url,
            "database_url": database_url or f"sqlite:///{run_dir / 'planning.sqlite'}",
            "time_scale": time_scale,
            "result_path": str(run_dir / "result.json"),
            "memory_limit_bytes": memory_limit_bytes,
            "warm_days": warm_days,
        }
        config_path = run_dir / "config.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        environment = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
        environment.pop("MOSELLE_DATABASE_URL", None)
        log_path = run_dir / "pipeline.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                [sys.executable, "-m", "moselle_cin7.benchmark", "--child-run", str(config_path)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        # wait4 gives this child's own resource usage; the sandbox, another child, is not in it.
        try:
            _, status, usage = os.wait4(popen.pid, 0)
        except BaseException:
            _stop(popen)
            raise
        popen.returncode = os.waitstatus_to_exitcode(status)
        if popen.returncode != 0:
            raise RuntimeError(
                f"the pipeline process failed ({popen.returncode}); see {log_path}:\n"
                f"{_tail(log_path)}"
            )
        measured = json.loads(Path(config["result_path"]).read_text(encoding="utf-8"))
        measured["peak_rss_bytes"] = max(measured["peak_rss_bytes"], usage.ru_maxrss * 1024)
        return PipelineRun(**measured)


def _child_run(config_path: Path) -> int:
    """The pipeline side of a benchmark: one daily sync run, measured from inside its process."""
    import warnings

    import dagster as dg
    import sqlalchemy as sa

    from moselle_cin7.automation.ranges import lookback_range
    from moselle_cin7.cin7.client import Cin7Resource
    from moselle_cin7.db import schema
    from moselle_cin7.db.engine import PlanningDatabase
    from moselle_cin7.definitions import build_definitions
    from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME
    from moselle_cin7.settings import load_settings
    from moselle_cin7.timeutil import utc_now

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("memory_limit_bytes"):
        limit = int(config["memory_limit_bytes"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    planning_db = PlanningDatabase(url=config["database_url"])
    cin7 = Cin7Resource(
        base_url=config["base_url"],
        account_id=DEFAULT_USERNAME,
        api_key=DEFAULT_API_KEY,
        # Against the unlimited sandbox the client's own pacing is taken out too (its windows
        # shrink to microseconds): what is left is processing.
        time_scale=config["time_scale"] or UNTHROTTLED_TIME_SCALE,
    )
    job = build_definitions({"cin7": cin7, "planning_db": planning_db}).resolve_job_def(
        "daily_sync"
    )
    day_range = lookback_range(utc_now(), load_settings())
    # The schema is created before the clock starts: a real deployment has it already.
    engine = planning_db.get_engine()

    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    with dg.DagsterInstance.get() as instance:
        warm_days = int(config.get("warm_days") or 0)
        if warm_days:
            # A first, untimed sync fills the database; the snapshots of the days before are
            # copies of its snapshot, as weeks of daily syncs would have left them.
            warm_up = job.execute_in_process(
                instance=instance, tags=day_range.tags(), run_config=run_config
            )
            seed_snapshot_days(engine, warm_days)
            logger.info("warm-up run %s; %d snapshot days seeded", warm_up.run_id, warm_days)
        with RssSampler() as rss:
            started = time.monotonic()
            result = job.execute_in_process(
                instance=instance,
                tags=day_range.tags(),
                run_config=run_config,
                raise_on_error=False,
            )
            wall_seconds = time.monotonic() - started
        records = instance.all_logs(result.run_id)

    with engine.connect() as conn:
        calls = conn.execute(
            sa.select(schema.api_calls.c.endpoint, sa.func.sum(schema.api_calls.c.calls))
            .where(schema.api_calls.c.run_id == result.run_id)
            .group_by(schema.api_calls.c.endpoint)
        ).all()
        stored_rows = {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in schema.metadata.sorted_tables
        }
        raw_stock = schema.raw_stock
        newest = sa.select(sa.func.max(raw_stock.c.partition_day)).scalar_subquery()
        stock_by_branch = conn.execute(
            sa.select(raw_stock.c.branch_id, sa.func.count())
            .where(raw_stock.c.partition_day == newest)
            .group_by(raw_stock.c.branch_id)
        ).all()

    failures = [
        f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure and event.event_specific_data.error
    ]
    measured = PipelineRun(
        run_id=result.run_id,
        success=result.success,
        day_range=str(day_range),
        wall_seconds=wall_seconds,
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        calls_by_endpoint={endpoint: int(count) for endpoint, count in calls},
        stored_rows=stored_rows,
        stock_rows_by_branch={str(branch): count for branch, count in stock_by_branch},
        steps=_steps(records, rss),
        events=_event_counts(records),
        event_write_seconds=_event_write_seconds(records),
        failures=failures,
    )
    Path(config["result_path"]).write_text(json.dumps(asdict(measured)), encoding="utf-8")
    return 0


def seed_snapshot_days(engine: Any, days: int) -> None:
    """Copy the newest stock snapshot (raw and mapped) to the ``days - 1`` days before it.

    SQLite only. The copies keep their sync and mapping times, so the next run finds them up to
    date and re-maps only the day it reads again.
    """
    from moselle_cin7.db import schema

    if engine.dialect.name != "sqlite":
        raise ValueError("seeding snapshot days is written for SQLite planning databases")
    with engine.begin() as conn:
        for table, day_column in (
            (schema.raw_stock, "partition_day"),
            (schema.inventory, "snapshot_date"),
        ):
            names = [column.name for column in table.c]
            shifted = [
                f"date({name}, '-' || back.k || ' days')" if name == day_column else name
                for name in names
            ]
            conn.exec_driver_sql(
                f"WITH RECURSIVE back(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM back "
                f"WHERE k < {int(days) - 1}) "
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"SELECT {', '.join(shifted)} FROM {table.name}, back "
                f"WHERE {day_column} = (SELECT max({day_column}) FROM {table.name})"
            )


class RssSampler:
    """Samples this process's resident set size a few times a second, on a daemon thread.

    ``ru_maxrss`` gives the peak of the whole process; the samples tell which step reached it.
    """

    def __init__(self, interval_seconds: float = 0.2) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval_seconds
        self._stop = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._process.memory_info().rss))
            self._stop.wait(self._interval)

    def peak_between(self, start: float, end: float) -> int | None:
        """The largest sample taken between two ``time.time()`` instants, if any."""
        inside = [rss for at, rss in self.samples if start <= at <= end]
        return max(inside) if inside else None


def _steps(records: Sequence[Any], rss: RssSampler | None = None) -> dict[str, dict[str, Any]]:
    """Per step: start and end (seconds from the run's first event), duration, outcome, peak RSS
    sampled while it ran, and the metadata of the first materialization of each of its assets
    (ranged runs repeat it per day)."""
    steps: dict[str, dict[str, Any]] = {}
    run_start = min(record.timestamp for record in records)
    for record in records:
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        step = steps.setdefault(record.step_key, {"metadata": {}, "events": 0})
        step["events"] += 1
        kind = event.event_type_value
        if kind == "STEP_START":
            step["start"] = record.timestamp - run_start
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            step["end"] = record.timestamp - run_start
            step["outcome"] = kind.removeprefix("STEP_").lower()
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            asset = materialization.asset_key.to_user_string()
            if asset not in step["metadata"]:
                step["metadata"][asset] = {
                    name: _plain(value.value) for name, value in materialization.metadata.items()
                }
    for step in steps.values():
        if "start" in step and "end" in step:
            step["seconds"] = step["end"] - step["start"]
            if rss is not None:
                step["peak_rss_bytes"] = rss.peak_between(
                    run_start + step["start"], run_start + step["end"]
                )
    return steps


def _plain(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, list | dict):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def _event_counts(records: Sequence[Any]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        kind = record.dagster_event.event_type_value if record.dagster_event else "LOG_MESSAGE"
        counts[kind] += 1
    counts["total"] = len(records)
    return dict(sorted(counts.items()))


def _event_write_seconds(records: Sequence[Any]) -> float:
    """Median seconds to store one event, from the gaps between back-to-back writes in the run.

    Dagster writes an ASSET_MATERIALIZATION_PLANNED event per partition before the run starts
    and an ASSET_MATERIALIZATION event per partition as each asset ends, one after another with
    nothing else between them: the gap between two such neighbours is one event's write.
    """
    bulk = {"ASSET_MATERIALIZATION_PLANNED", "ASSET_MATERIALIZATION"}
    gaps = sorted(
        later.timestamp - earlier.timestamp
        for earlier, later in pairwise(records)
        if earlier.dagster_event is not None
        and later.dagster_event is not None
        and earlier.dagster_event.event_type_value in bulk
        and later.dagster_event.event_type_value == earlier.dagster_event.event_type_value
    )
    return gaps[len(gaps) // 2] if gaps else 0.0


# --------------------------------------------------------------------------- the report


def build_report(
    *,
    profile: str,
    seed: int,
    sandbox_start_seconds: float,
    baseline: Sequence[PagedQuery] | None,
    baseline_seconds: float | None,
    run: PipelineRun,
    rate_limited: PipelineRun | None = None,
    time_scale: float | None = None,
    warm_days: int = 0,
) -> dict[str, Any]:
    """The benchmark's findings as plain JSON-ready data (see the module docstring).

    Without a baseline (``baseline`` None) the minimum of API calls comes from the rows the run
    stored, and the ratios to the baseline are None.
    """
    queries = list(baseline) if baseline is not None else stored_queries(run)
    api_calls = _api_calls(queries, run)
    total_calls = api_calls["total"]["calls"]
    baseline_answer_seconds = sum(query.answer_seconds for query in queries)
    processing = _processing(run, baseline_seconds, baseline_answer_seconds)
    report: dict[str, Any] = {
        "benchmark": {
            "profile": profile,
            "seed": seed,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "day_range": run.day_range,
            # 0: the timed run starts from an empty database; N: from one holding N days of
            # stock snapshots (the rate-limited run always starts empty).
            "warm_days": warm_days,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "planning_database": "SQLite file",
            "dagster_storage": "SQLite (default instance storage, on disk)",
            "minimum_calls_rule": (
                "per query rows // 250 + 1: ceil(rows / 250), plus one when rows is a multiple "
                "of 250 (a full last page forces a call that returns nothing)"
            ),
        },
        "sandbox_start_seconds": round(sandbox_start_seconds, 1),
        "baseline": None
        if baseline is None or baseline_seconds is None
        else {
            "description": "the same queries paged with bare requests calls, no processing",
            "seconds": round(baseline_seconds, 2),
            "sandbox_answer_seconds": round(baseline_answer_seconds, 2),
            "client_seconds": round(baseline_seconds - baseline_answer_seconds, 2),
            "calls": sum(query.calls for query in baseline),
            "rows": sum(query.rows for query in baseline),
            "queries": [
                {
                    **asdict(query),
                    "seconds": round(query.seconds, 3),
                    "answer_seconds": round(query.answer_seconds, 3),
                }
                for query in baseline
            ],
        },
        "api_calls": api_calls,
        "processing": processing,
        "real_limits": _real_limits(run, total_calls),
        "rate_limited": None,
    }
    if rate_limited is not None and time_scale is not None:
        report["rate_limited"] = _pacing(rate_limited, time_scale, processing)
    report["targets"] = _targets(report)
    return report


def _real_limits(run: PipelineRun, calls: int) -> dict[str, Any]:
    """What the same sync would take under Cin7's limits, from the unthrottled run's timeline.

    Fetching needs calls / 1 s. The steps run one after another, so processing between two
    fetches pauses the calls: a pause of up to 40 s costs nothing, as the minute window then
    lets the client catch up at 3 calls a second (pausing P seconds and catching up at 3/s
    fits in 60 calls a minute while 1.5 P <= 60); only the rest of a longer pause adds to the
    wall time, and so does everything after the last fetch. This assumes Cin7 answers within a
    third of a second; slower answers absorb less.
    """
    fetches = []
    for step in RAW_STEPS:
        info = run.steps.get(step, {})
        if "start" in info:
            fetch_seconds = _step_metadata(run, step).get("fetch_seconds", 0.0)
            fetches.append((info["start"], info["start"] + fetch_seconds))
    fetches.sort()
    pauses = [later[0] - earlier[1] for earlier, later in pairwise(fetches)]
    after_last_fetch = run.wall_seconds - fetches[-1][1] if fetches else run.wall_seconds
    before_first_fetch = fetches[0][0] if fetches else 0.0
    fetch_seconds = calls / SUSTAINED_CALLS_PER_SECOND
    unabsorbed = sum(max(0.0, pause - ABSORBED_PAUSE_SECONDS) for pause in pauses)
    predicted = before_first_fetch + fetch_seconds + unabsorbed + after_last_fetch
    return {
        "calls": calls,
        "sustained_calls_per_second": SUSTAINED_CALLS_PER_SECOND,
        "predicted_fetch_seconds": round(fetch_seconds, 1),
        "before_first_fetch_seconds": round(before_first_fetch, 1),
        "pauses_between_fetches_seconds": [round(pause, 1) for pause in pauses],
        "after_last_fetch_seconds": round(after_last_fetch, 1),
        "predicted_wall_seconds": round(predicted, 1),
        "predicted_ratio": round(predicted / fetch_seconds, 3) if fetch_seconds else None,
    }


def _api_calls(baseline: Sequence[PagedQuery], run: PipelineRun) -> dict[str, Any]:
    by_endpoint: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        queries = [query for query in baseline if query.endpoint == endpoint]
        calls = run.calls_by_endpoint.get(endpoint, 0)
        minimum = sum(query.minimum_calls for query in queries)
        by_endpoint[endpoint] = {
            "queries": len(queries),
            "rows": sum(query.rows for query in queries),
            "calls": calls,
            "minimum": minimum,
            "ratio": round(calls / minimum, 4) if minimum else None,
            "baseline_calls": sum(query.calls for query in queries) or None,
        }
    calls = sum(entry["calls"] for entry in by_endpoint.values())
    minimum = sum(entry["minimum"] for entry in by_endpoint.values())
    total = {
        "queries": len(baseline),
        "rows": sum(entry["rows"] for entry in by_endpoint.values()),
        "calls": calls,
        "minimum": minimum,
        "ratio": round(calls / minimum, 4) if minimum else None,
        "baseline_calls": sum(query.calls for query in baseline) or None,
    }
    return {"by_endpoint": by_endpoint, "total": total}


def _step_metadata(run: PipelineRun, step: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for metadata in run.steps.get(step, {}).get("metadata", {}).values():
        merged.update(metadata)
    return merged


def _stage(seconds: float, rows: int | None) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_second": round(rows / seconds) if rows is not None and seconds > 0 else None,
    }


def _processing(
    run: PipelineRun, baseline_seconds: float | None, baseline_answer_seconds: float
) -> dict[str, Any]:
    """Where the unthrottled run's time went.

    ``processing_seconds`` is the wall time less the time spent waiting for the sandbox's answers
    (request sent to headers read, summed over every call): the pipeline's own work, which is what
    the 120 s target is about. How fast a local sandbox pages a large account says nothing of
    the pipeline, and under Cin7's limits the waits between calls dwarf either.
    """

    def seconds_of(steps: Sequence[str]) -> float:
        return sum(run.steps.get(step, {}).get("seconds", 0.0) for step in steps)

    raw = [_step_metadata(run, step) for step in RAW_STEPS]
    fetch_seconds = sum(metadata.get("fetch_seconds", 0.0) for metadata in raw)
    answer_seconds = sum(metadata.get("api_response_seconds", 0.0) for metadata in raw)
    write_seconds = sum(metadata.get("write_seconds", 0.0) for metadata in raw)
    # Rows this run fetched: stock of its snapshot day only (a warm database holds more days).
    raw_rows = sum(run.stock_rows_by_branch.values()) + sum(
        run.stored_rows.get(table, 0)
        for table in (
            "raw_branches",
            "raw_products",
            "raw_sales_orders",
            "raw_purchase_orders",
            "raw_branch_transfers",
        )
    )
    mapping_rows = 0
    for step in MAPPING_STEPS:
        metadata = _step_metadata(run, step)
        mapping_rows += sum(int(metadata.get(key) or 0) for key in MAPPING_ROW_KEYS)
    planning_rows = sum(run.stored_rows.get(table, 0) for table in PLANNING_TABLES)
    known = set(RAW_STEPS) | set(MAPPING_STEPS) | set(PLANNING_STEPS)
    check_steps = sorted(step for step in run.steps if step not in known)
    raw_step_seconds = seconds_of(RAW_STEPS)
    all_steps_seconds = seconds_of(list(run.steps))
    processing_seconds = run.wall_seconds - answer_seconds
    baseline_client_seconds = (
        None if baseline_seconds is None else baseline_seconds - baseline_answer_seconds
    )
    events = run.events.get("total", 0)
    event_seconds = events * run.event_write_seconds
    return {
        "wall_seconds": round(run.wall_seconds, 2),
        "sandbox_answer_seconds": round(answer_seconds, 2),
        "processing_seconds": round(processing_seconds, 2),
        # Dagster's event writes are commits to its SQLite storage: the share of the run most
        # at the mercy of the machine's disk and load, so it is also shown apart.
        "processing_without_event_writes_seconds": round(processing_seconds - event_seconds, 2),
        "wall_ratio_to_baseline": _ratio(run.wall_seconds, baseline_seconds),
        "processing_ratio_to_baseline_client": _ratio(processing_seconds, baseline_client_seconds),
        "success": run.success,
        "failures": run.failures,
        "peak_rss_bytes": run.peak_rss_bytes,
        "peak_rss_mib": round(run.peak_rss_bytes / 1024**2),
        "stages": {
            "sandbox_answers": _stage(answer_seconds, raw_rows),
            "fetch_and_parse": _stage(fetch_seconds - answer_seconds, raw_rows),
            "raw_write": _stage(write_seconds, raw_rows),
            "raw_step_other": _stage(raw_step_seconds - fetch_seconds - write_seconds, None),
            "mapping": _stage(seconds_of(MAPPING_STEPS), mapping_rows),
            "planning": _stage(seconds_of(PLANNING_STEPS), planning_rows),
            "quality_checks": _stage(seconds_of(check_steps), None),
            "outside_steps": _stage(run.wall_seconds - all_steps_seconds, None),
        },
        "steps": {
            step: {
                "start": round(info.get("start", 0.0), 2),
                "seconds": round(info.get("seconds", 0.0), 2),
                "events": info.get("events", 0),
                "outcome": info.get("outcome"),
                "peak_rss_mib": round(info["peak_rss_bytes"] / 1024**2)
                if info.get("peak_rss_bytes")
                else None,
            }
            for step, info in sorted(run.steps.items(), key=lambda item: item[1].get("start", 0))
        },
        "dagster_events": {
            "by_type": run.events,
            "seconds_per_event_write": round(run.event_write_seconds, 4),
            "estimated_seconds": round(event_seconds, 1),
        },
        "stored_rows": run.stored_rows,
    }


def _ratio(value: float, base: float | None) -> float | None:
    return round(value / base, 2) if base else None


def _pacing(run: PipelineRun, time_scale: float, unlimited: dict[str, Any]) -> dict[str, Any]:
    """The rate-limited run against the fastest any client could be: calls / allowed rate.

    ``ratio`` is the whole run's wall time over that ideal (the target). The steps run one after
    another, so the run also holds all of its processing; ``pacing_ratio`` takes out what the same
    run spent processing without limits, leaving the fetching alone against the ideal.
    """
    calls = sum(run.calls_by_endpoint.values())
    allowed_rate = SUSTAINED_CALLS_PER_SECOND * time_scale
    ideal = calls / allowed_rate
    raw_steps = [run.steps[step] for step in RAW_STEPS if step in run.steps]
    last_fetch_end = max((step.get("end", 0.0) for step in raw_steps), default=0.0)
    retries = sum(_step_metadata(run, step).get("api_retries", 0) for step in RAW_STEPS)
    paced_seconds = run.wall_seconds - unlimited["processing_seconds"]
    # Time inside the raw steps' Cin7 sessions: waits, answers and the paging loop itself.
    fetch_seconds = sum(_step_metadata(run, step).get("fetch_seconds", 0.0) for step in RAW_STEPS)
    return {
        "time_scale": time_scale,
        "allowed_calls_per_second": allowed_rate,
        "calls": calls,
        "ideal_seconds": round(ideal, 2),
        "wall_seconds": round(run.wall_seconds, 2),
        "ratio": round(run.wall_seconds / ideal, 3) if ideal > 0 else None,
        "paced_seconds": round(paced_seconds, 2),
        "pacing_ratio": round(paced_seconds / ideal, 3) if ideal > 0 else None,
        "fetch_seconds": round(fetch_seconds, 2),
        "fetch_ratio": round(fetch_seconds / ideal, 3) if ideal > 0 else None,
        "last_fetch_ends_at_seconds": round(last_fetch_end, 2),
        "after_last_fetch_seconds": round(run.wall_seconds - last_fetch_end, 2),
        "api_retries": retries,
        "success": run.success,
        "failures": run.failures,
        "processing_without_limits_seconds": unlimited["processing_seconds"],
    }


def _targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    processing = report["processing"]
    targets = [
        {
            "name": "API calls / theoretical minimum",
            "value": report["api_calls"]["total"]["ratio"],
            "limit": TARGET_CALL_RATIO,
        },
        {
            "name": "daily sync processing, rate limit off (s)",
            "value": processing["processing_seconds"],
            "limit": TARGET_PROCESSING_SECONDS,
        },
        {
            "name": "peak RSS of the pipeline process (MiB)",
            "value": processing["peak_rss_mib"],
            "limit": TARGET_PEAK_RSS_BYTES // 1024**2,
        },
    ]
    if report["rate_limited"] is not None:
        targets.append(
            {
                "name": "rate-limited wall time / (calls / allowed rate)",
                "value": report["rate_limited"]["ratio"],
                "limit": TARGET_PACING_RATIO,
            }
        )
    for target in targets:
        target["met"] = target["value"] is not None and target["value"] <= target["limit"]
    return targets


def render(report: dict[str, Any]) -> str:
    """The report as the table printed at the end of a benchmark."""
    meta = report["benchmark"]
    processing = report["processing"]
    lines = [
        f"moselle-cin7 benchmark: profile {meta['profile']} (seed {meta['seed']}), days "
        f"{meta['day_range']}, {meta['machine']['cpus']} CPUs, {meta['measured_at']}, "
        f"planning database {report.get('planning_database', 'sqlite')}",
        "",
        "API calls       rows      calls  minimum  ratio",
    ]
    for endpoint, entry in [*report["api_calls"]["by_endpoint"].items()]:
        lines.append(_calls_line(endpoint, entry))
    lines.append(_calls_line("total", report["api_calls"]["total"]))
    lines += [
        f"  minimum = {meta['minimum_calls_rule']}",
        "",
        f"Rate limit off: {processing['wall_seconds']:.1f} s wall, of which "
        f"{processing['sandbox_answer_seconds']:.1f} s waiting for the sandbox's answers: "
        f"{processing['processing_seconds']:.1f} s of processing; peak RSS "
        f"{processing['peak_rss_mib']} MiB",
        _baseline_line(report),
        "stage              seconds        rows    rows/s",
    ]
    for name, stage in processing["stages"].items():
        rows = "" if stage["rows"] is None else f"{stage['rows']:,}"
        rate = "" if stage["rows_per_second"] is None else f"{stage['rows_per_second']:,}"
        lines.append(f"  {name:<16}{stage['seconds']:>8.1f}{rows:>12}{rate:>10}")
    by_memory = sorted(
        (
            (info["peak_rss_mib"], step)
            for step, info in processing["steps"].items()
            if info.get("peak_rss_mib")
        ),
        reverse=True,
    )[:3]
    if by_memory:
        lines.append(
            "  peak RSS sampled per step: "
            + ", ".join(f"{step} {mib} MiB" for mib, step in by_memory)
        )
    events = processing["dagster_events"]
    lines += [
        f"  Dagster events written: {events['by_type'].get('total', 0):,} at "
        f"{events['seconds_per_event_write'] * 1000:.1f} ms each = about "
        f"{events['estimated_seconds']:.0f} s of the run; processing without them "
        f"{processing['processing_without_event_writes_seconds']:.1f} s",
        "",
        f"Under Cin7's limits: {report['real_limits']['calls']:,} calls at 1/s = "
        f"{report['real_limits']['predicted_fetch_seconds'] / 60:.1f} min of fetching; with "
        f"this run's processing between and after the fetches, about "
        f"{report['real_limits']['predicted_wall_seconds'] / 60:.1f} min "
        f"({report['real_limits']['predicted_ratio']}x)",
    ]
    pacing = report["rate_limited"]
    if pacing is not None:
        lines.append(
            f"Rate-limited at time scale {pacing['time_scale']:g}: {pacing['wall_seconds']:.1f} s "
            f"for {pacing['calls']:,} calls, ideal {pacing['ideal_seconds']:.1f} s "
            f"(ratio {pacing['ratio']}); less the processing measured without limits "
            f"{pacing['paced_seconds']:.1f} s (pacing ratio {pacing['pacing_ratio']}); "
            f"inside the Cin7 sessions {pacing['fetch_seconds']:.1f} s (fetch ratio "
            f"{pacing['fetch_ratio']}); "
            f"{pacing['after_last_fetch_seconds']:.1f} s after the last fetch, "
            f"{pacing['api_retries']} retries"
        )
    lines += ["", "Targets"]
    for target in report["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        lines.append(
            f"  {target['name']:<52}{target['value']!s:>10} <= {target['limit']}  {verdict}"
        )
    return "\n".join(lines) + "\n"


def _baseline_line(report: dict[str, Any]) -> str:
    baseline = report["baseline"]
    if baseline is None:
        return "  baseline: skipped (the minimum of calls counts the rows the run stored)"
    processing = report["processing"]
    return (
        f"  baseline (bare paging): {baseline['seconds']:.1f} s, of which "
        f"{baseline['sandbox_answer_seconds']:.1f} s waiting; wall ratio "
        f"{processing['wall_ratio_to_baseline']}x, processing vs baseline client time "
        f"{processing['processing_ratio_to_baseline_client']}x"
    )


def _calls_line(name: str, entry: dict[str, Any]) -> str:
    ratio = "" if entry["ratio"] is None else f"{entry['ratio']:.3f}"
    return f"  {name:<16}{entry['rows']:>9,}{entry['calls']:>9,}{entry['minimum']:>9,}{ratio:>7}"


# --------------------------------------------------------------------------- the command


@contextmanager
def fresh_postgres_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server at ``server_url`` for one run; dropped
    afterwards. Yields its URL."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from moselle_cin7.db.engine import normalise_url

    # A bare postgresql:// would mean psycopg 3 to SQLAlchemy; the project uses psycopg2.
    server_url = normalise_url(server_url)
    database = f"moselle_benchmark_{name}_{os.getpid()}"
    maintenance = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        yield make_url(server_url).set(database=database).render_as_string(hide_password=False)
    finally:
        from moselle_cin7.db.engine import engine_for

        engine_for.cache_clear()
        with maintenance.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        maintenance.dispose()


def run_benchmark(
    profile: str,
    *,
    seed: int = 7,
    rate_limited: bool = False,
    time_scale: float = 20.0,
    work_dir: Path | None = None,
    memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES,
    dagster_dir: Path | None = None,
    baseline: bool = True,
    warm_days: int = 0,
    postgres_url: str | None = None,
) -> dict[str, Any]:
    """Run the whole benchmark and return its report (see ``build_report``).

    ``work_dir`` keeps the databases and logs (default: a temporary folder, removed at the end);
    ``dagster_dir`` puts the Dagster instances elsewhere (tests use a tmpfs). With
    ``postgres_url`` (a server, as production runs) each sync writes to a fresh database created
    there instead of a SQLite file.
    """
    from moselle_cin7.settings import load_settings
    from moselle_cin7.timeutil import utc_now

    timezone = load_settings().account_timezone
    owned = work_dir is None
    work_dir = Path(tempfile.mkdtemp(prefix="moselle-benchmark-")) if owned else work_dir
    try:
        with serve_sandbox(profile, seed, timezone, work_dir) as sandbox:
            logger.info("sandbox (%s) ready in %.1f s", profile, sandbox.started_seconds)
            paged, baseline_seconds = None, None
            if baseline:
                paged, baseline_seconds = run_baseline(sandbox.base_url, utc_now())
                logger.info("baseline: %d queries in %.1f s", len(paged), baseline_seconds)
            run = run_pipeline(
                sandbox.base_url,
                work_dir,
                "unlimited",
                memory_limit_bytes=memory_limit_bytes,
                dagster_dir=dagster_dir,
                warm_days=warm_days,
                postgres_url=postgres_url,
            )
            logger.info("daily sync, rate limit off: %.1f s", run.wall_seconds)
        paced = None
        if rate_limited:
            with serve_sandbox(
                profile, seed, timezone, work_dir, time_scale=time_scale
            ) as limited_sandbox:
                paced = run_pipeline(
                    limited_sandbox.base_url,
                    work_dir,
                    "rate_limited",
                    time_scale=time_scale,
                    memory_limit_bytes=memory_limit_bytes,
                    dagster_dir=dagster_dir,
                    postgres_url=postgres_url,
                )
                logger.info("daily sync, rate-limited: %.1f s", paced.wall_seconds)
        report = build_report(
            profile=profile,
            seed=seed,
            sandbox_start_seconds=sandbox.started_seconds,
            baseline=paged,
            baseline_seconds=baseline_seconds,
            run=run,
            rate_limited=paced,
            time_scale=time_scale if rate_limited else None,
            warm_days=warm_days,
        )
        report["planning_database"] = "postgresql" if postgres_url else "sqlite"
        return report
    finally:
        if owned:
            shutil.rmtree(work_dir, ignore_errors=True)


@contextmanager
def _planning_database(postgres_url: str | None, name: str) -> Iterator[str | None]:
    if postgres_url is None:
        yield None
        return
    with fresh_postgres_database(postgres_url, name) as url:
        yield url


def build_parser() -> argparse.ArgumentParser:
    from moselle_cin7.sandbox import PROFILES

    parser = argparse.ArgumentParser(
        prog="python -m moselle_cin7.benchmark",
        description="Benchmark the daily sync over a generated sandbox account.",
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="large")
    parser.add_argument("--seed", type=int, default=7, help="sandbox account seed (default: 7)")
    parser.add_argument(
        "--rate-limited",
        action="store_true",
        help="also run the sync against the sandbox with Cin7's limits on a faster clock",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=20.0,
        help="how many times faster the rate-limited sandbox's clock runs (default: 20)",
    )
    parser.add_argument("--report", type=Path, help="write the JSON report to this file")
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="keep the databases, Dagster instances and logs in this (empty) folder",
    )
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=DEFAULT_MEMORY_LIMIT_BYTES / 1024**3,
        help="cap the pipeline process's address space (default: %(default)g GiB; 0: no cap)",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the bare paging baseline (the minimum of calls then counts the stored rows)",
    )
    parser.add_argument(
        "--warm-days",
        type=int,
        default=0,
        help="measure a daily run on a warm database: sync once untimed, copy its stock snapshot "
        "to this many days (the forecast window is 56), then time the next sync. Large: about "
        "250 MB of disk per day",
    )
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="write the planning database to a fresh database on this PostgreSQL server "
        "(e.g. postgresql://postgres@127.0.0.1:5432/postgres), as production does; default: "
        "SQLite, as the demo does",
    )
    parser.add_argument("--child-run", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    if args.child_run is not None:
        return _child_run(args.child_run)
    if args.time_scale <= 0:
        sys.stderr.write("--time-scale must be positive\n")
        return 2
    if args.postgres and args.warm_days:
        sys.stderr.write("--warm-days seeds SQLite only; leave it out with --postgres\n")
        return 2
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        if any(args.work_dir.iterdir()):
            sys.stderr.write(f"--work-dir {args.work_dir} is not empty\n")
            return 2
    report = run_benchmark(
        args.profile,
        seed=args.seed,
        rate_limited=args.rate_limited,
        time_scale=args.time_scale,
        work_dir=args.work_dir.resolve() if args.work_dir else None,
        memory_limit_bytes=int(args.memory_limit_gb * 1024**3) or None,
        baseline=not args.no_baseline,
        warm_days=args.warm_days,
        postgres_url=args.postgres,
    )
    if args.report is not None:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(render(report))
    if args.report is not None:
        sys.stdout.write(f"\nReport written to {args.report}\n")
    return 0 if report["processing"]["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
