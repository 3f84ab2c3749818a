"""The daily sync in production shape: Dagster's storage (deploy/dagster.yaml) and the planning
database both on PostgreSQL, the run history read back from the instance, and two runs of the
same days at once.

The SQLite integration tests imported below run here again, unchanged, on PostgreSQL.
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
from moselle_cin7_tests.test_daily_sync import (
    planning_account,
    test_failed_fetch_leaves_the_stored_window_intact,
    test_purchase_orders_transfers_and_inventory,
    test_resync_of_a_range_is_idempotent,
    test_sales_history_follows_the_mapping_rules,
)

pytestmark = pytest.mark.postgres

PRODUCTION_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"

# Re-collected here, where `harness` is the PostgreSQL one.
__all__ = [
    "test_failed_fetch_leaves_the_stored_window_intact",
    "test_purchase_orders_transfers_and_inventory",
    "test_resync_of_a_range_is_idempotent",
    "test_sales_history_follows_the_mapping_rules",
]


@dataclass
class PostgresHarness(Harness):
    """The sync harness with its planning database on PostgreSQL."""

    planning_url: str = ""

    @property
    def database_url(self) -> str:
        return self.planning_url


@pytest.fixture
def production_instance(tmp_path, dagster_pg_env):
    """The instance of deploy/dagster.yaml, its storage in a fresh PostgreSQL database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PRODUCTION_YAML, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.fixture
def harness(tmp_path, planning_url, production_instance):
    harness = PostgresHarness(
        tmp_path=tmp_path,
        account=planning_account(),
        instance=production_instance,
        planning_url=planning_url,
    )
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness


def test_the_run_history_is_read_back_from_postgres(harness):
    result = harness.sync(day(20), day(0))
    instance = harness.instance

    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert [record.dagster_run.run_id for record in instance.get_run_records()] == [result.run_id]

    job_assets = {
        event.asset_key
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert {"cin7_sales_orders", "sales_order_lines", "inventory"} <= {
        key.to_user_string() for key in job_assets
    }
    for asset_key in job_assets:
        stored = instance.get_latest_materialization_event(asset_key)
        assert stored is not None and stored.run_id == result.run_id, asset_key
    # The cin7_api pool was used, and no slot is left claimed after the run.
    cin7_api = instance.event_log_storage.get_concurrency_info("cin7_api")
    assert cin7_api.limit == 1 and cin7_api.claimed_slots == []


def test_two_runs_of_the_same_days_at_once_leave_one_copy(harness):
    single = harness.sync(day(3), day(1))
    assert single.success
    tables = ("raw_sales_orders", "sales_order_lines", "purchase_orders", "inventory")
    strip = {"synced_at", "run_id", "mapped_at"}

    def snapshot() -> dict[str, list[dict]]:
        return {
            table: [{k: v for k, v in row.items() if k not in strip} for row in harness.rows(table)]
            for table in tables
        }

    expected = snapshot()
    results: list[dg.ExecuteInProcessResult] = []
    errors: list[BaseException] = []

    def sync() -> None:
        try:
            results.append(harness.sync(day(3), day(1)))
        except BaseException as error:
            errors.append(error)

    runs = [threading.Thread(target=sync) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)

    assert errors == []
    assert [result.success for result in results] == [True, True]
    assert snapshot() == expected
