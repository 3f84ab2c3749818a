"""The daily sync in production shape: Dagster's storage (deploy/dagster.yaml) and the planning
database both on PostgreSQL, the run history read back from the instance, and two runs of the
same days at once. Each test also runs on SQLite (the local dagster.yaml and a SQLite planning
file), which must behave the same.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from moselle_cin7.sandbox import SandboxServer
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


def test_two_runs_of_the_same_days_at_once_leave_one_copy(harness):
    # Days 2..0: stock and products are only readable for the newest day, so the range ends there.
    assert harness.sync(day(2), day(0)).success
    tables = ("raw_sales_orders", "sales_order_lines", "raw_stock", "inventory")
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
    results: list[dg.ExecuteInProcessResult] = []
    errors: list[BaseException] = []

    def sync() -> None:
        try:
            results.append(harness.sync(day(2), day(0), raise_on_error=False))
        except BaseException as error:
            errors.append(error)

    runs = [threading.Thread(target=sync) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=180)

    assert errors == []
    assert [result.success for result in results] == [True, True]
    assert stored() == after_one_run
