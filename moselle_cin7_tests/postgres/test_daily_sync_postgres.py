"""The daily sync in production shape: Dagster's storage (deploy/dagster.yaml) and the planning
database both on PostgreSQL, the run history read back from the instance, and two runs of the
same days at once, which also runs on SQLite (the local dagster.yaml and a SQLite planning file).
"""

from __future__ import annotations

import itertools
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import dagster as dg
import pytest

from moselle_cin7.automation.ranges import DayRange
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.definitions import build_definitions
from moselle_cin7.ingestion.assets import CIN7_POOL, raw_assets
from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME, SandboxServer
from moselle_cin7_tests.support import Harness, day
from moselle_cin7_tests.test_daily_sync import planning_account

REPOSITORY = Path(__file__).resolve().parents[2]
INSTANCE_YAML = {
    "sqlite": REPOSITORY / "dagster.yaml",
    "postgres": REPOSITORY / "deploy" / "dagster.yaml",
}
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class PlanningHarness(Harness):
    """The sync harness with the planning database at any URL."""

    planning_url: str = ""

    @property
    def database_url(self) -> str:
        return self.planning_url or super().database_url


@pytest.fixture(params=BACKENDS)
def harness(request, tmp_path):
    """A sandbox and a Dagster instance loaded from the backend's own dagster.yaml, with Dagster's
    storage and the planning database both on that backend (fresh PostgreSQL databases)."""
    backend = request.param
    planning_url = ""
    if backend == "postgres":
        request.getfixturevalue("dagster_pg_env")  # DAGSTER_PG_* for deploy/dagster.yaml
        planning_url = request.getfixturevalue("planning_url")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_YAML[backend], home / "dagster.yaml")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        harness = PlanningHarness(
            tmp_path=tmp_path,
            account=planning_account(),
            instance=instance,
            planning_url=planning_url,
        )
        with SandboxServer(harness.account) as server:
            harness.server = server
            yield harness


# SQLite runs of the whole job are covered by test_daily_sync; this one is about PostgreSQL.
@pytest.mark.parametrize(
    "harness", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_run_history_is_read_back_from_the_instance(harness):
    result = harness.sync(day(20), day(0))
    instance = harness.instance

    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert [record.dagster_run.run_id for record in instance.get_run_records()] == [result.run_id]
    materialized = {
        event.asset_key
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert {"cin7_sales_orders", "sales_order_lines", "inventory"} <= {
        key.to_user_string() for key in materialized
    }
    for asset_key in materialized:
        stored = instance.get_latest_materialization_event(asset_key)
        assert stored is not None and stored.run_id == result.run_id, asset_key
    # The steps that call Cin7 went through the cin7_api pool, and released their slot.
    cin7_api = instance.event_log_storage.get_concurrency_info("cin7_api")
    assert (cin7_api.limit, cin7_api.claimed_slots) == (1, [])

    # The planning rows are the same as in the SQLite tests: dispatched lines only, kits exploded.
    lines = harness.rows("sales_order_lines", order_by="cin7_line_id")
    assert [row["cin7_line_id"] for row in lines] == [9001, 9002, 9003, 9006, 9007, 9008, 9009]


def _sync_in_a_process_of_its_own(
    dagster_home: str, planning_url: str, cin7_url: str, first: date, last: date, selection: str
) -> tuple[str, bool]:
    """One daily sync, as a run launched by the daemon would do it: its own process and instance.

    Runs are processes, not threads, in production; two in-process runs in threads of one process
    can also deadlock inside Python's logging, which Dagster reconfigures at every run start.
    """
    resources = {
        "cin7": Cin7Resource(
            base_url=cin7_url,
            account_id=DEFAULT_USERNAME,
            api_key=DEFAULT_API_KEY,
            backoff_seconds=0.05,
            max_backoff_seconds=0.2,
        ),
        "planning_db": PlanningDatabase(url=planning_url),
    }
    defs = build_definitions(resources)
    job = defs.resolve_job_def("daily_sync")
    assets = dg.AssetSelection.from_coercible(selection).resolve(defs.resolve_asset_graph())
    with dg.DagsterInstance.from_config(dagster_home) as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=DayRange(first, last).tags(),
            asset_selection=list(assets),
            raise_on_error=False,
        )
    return result.run_id, result.success


def _cin7_api_step_intervals(
    instance: dg.DagsterInstance, run_id: str
) -> list[tuple[float, float]]:
    """When each step of the cin7_api pool ran in ``run_id``: (start, end) POSIX timestamps."""
    pool_steps = {asset.op.name for asset in raw_assets if asset.op.pool == CIN7_POOL}
    started: dict[str, float] = {}
    intervals = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key not in pool_steps:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            intervals.append((started[event.step_key], entry.timestamp))
    return intervals


def test_two_runs_of_the_same_days_at_once_leave_one_copy(harness):
    # The sales history of days 4..1 (the whole job is covered above; this keeps the test short).
    first, last = day(4), day(1)
    selection = "key:cin7_sales_orders or key:sales_order_lines"
    assert harness.sync(first, last, selection=selection).success
    tables = ("raw_sales_orders", "sales_order_lines")
    per_run = {"synced_at", "run_id", "mapped_at"}

    def stored() -> dict[str, list[dict]]:
        return {
            table: [
                {key: value for key, value in row.items() if key not in per_run}
                for row in harness.rows(table)
            ]
            for table in tables
        }

    after_one_run = stored()
    assert after_one_run["sales_order_lines"]

    arguments = (
        str(harness.tmp_path / "dagster_home"),
        harness.database_url,
        harness.server.base_url,
        first,
        last,
        selection,
    )
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as processes:
        runs = [processes.submit(_sync_in_a_process_of_its_own, *arguments) for _ in range(2)]
        outcomes = [run.result(timeout=180) for run in runs]

    assert [success for _, success in outcomes] == [True, True]
    assert stored() == after_one_run
    # One call stream to Cin7: the two runs' Cin7 steps took turns on the single cin7_api slot.
    intervals = sorted(
        interval
        for run_id, _ in outcomes
        for interval in _cin7_api_step_intervals(harness.instance, run_id)
    )
    assert len(intervals) == 2
    for (_, previous_end), (next_start, _) in itertools.pairwise(intervals):
        assert next_start >= previous_end
