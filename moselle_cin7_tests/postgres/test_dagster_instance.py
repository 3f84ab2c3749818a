"""The two dagster.yaml files: the local one (SQLite, no server) and production (PostgreSQL from
DAGSTER_PG_* variables), each loaded as a real instance from a copy in a temporary DAGSTER_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
LOCAL_YAML = REPOSITORY / "dagster.yaml"
PRODUCTION_YAML = REPOSITORY / "deploy" / "dagster.yaml"


def _home_with(config: Path, home: Path) -> Path:
    home.mkdir()
    shutil.copy(config, home / "dagster.yaml")
    return home


def _assert_cin7_pool_and_monitoring(instance: dg.DagsterInstance) -> None:
    assert instance.telemetry_enabled is False
    pools = instance.get_concurrency_config().pool_config
    assert (pools.default_pool_limit, pools.pool_granularity.value) == (1, "op")
    cin7_api = instance.event_log_storage.get_concurrency_info("cin7_api")
    assert (cin7_api.limit, cin7_api.using_default_limit) == (1, True)
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0


def test_the_local_instance_needs_no_database_server(tmp_path):
    # The legacy run_queue key cannot be combined with concurrency: make sure it never creeps in.
    assert "run_queue" not in yaml.safe_load(LOCAL_YAML.read_text())
    home = _home_with(LOCAL_YAML, tmp_path / "dagster_home")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        _assert_cin7_pool_and_monitoring(instance)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2


@pytest.mark.postgres
def test_the_production_instance_stores_everything_in_postgres(tmp_path, dagster_pg_env):
    assert "run_queue" not in yaml.safe_load(PRODUCTION_YAML.read_text())
    home = _home_with(PRODUCTION_YAML, tmp_path / "dagster_home")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
        assert [type(storage).__name__ for storage in storages] == [
            "PostgresRunStorage",
            "PostgresEventLogStorage",
            "PostgresScheduleStorage",
        ]
        assert instance.run_storage.postgres_url.startswith("postgresql+psycopg2://")
        assert instance.run_storage.postgres_url.endswith(f"/{dagster_pg_env['DAGSTER_PG_DB']}")
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
        _assert_cin7_pool_and_monitoring(instance)
        assert instance.get_runs() == []


@pytest.mark.postgres
def test_dagster_instance_info_reads_the_production_file(tmp_path, dagster_pg_env):
    home = _home_with(PRODUCTION_YAML, tmp_path / "dagster_home")
    dagster = Path(sys.executable).with_name("dagster")

    info = subprocess.run(
        [str(dagster), "instance", "info"],
        env={**os.environ, **dagster_pg_env, "DAGSTER_HOME": str(home)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert info.returncode == 0, info.stderr
    assert "run_storage: PostgresRunStorage" in info.stdout
    assert "event_log_storage: PostgresEventLogStorage" in info.stdout
    assert "schedule_storage: PostgresScheduleStorage" in info.stdout
    assert "free_slots_after_run_end_seconds: 300" in info.stdout
    # A fresh database gets Dagster's newest schema: current equals latest for each storage.
    schema = yaml.safe_load(info.stdout.split("Storage schema state:")[1].split("\n", 2)[2])
    for storage in ("event_log_storage", "run_storage", "schedule_storage"):
        state = schema["schema"][storage]
        assert state["current"] == state["latest"], storage
