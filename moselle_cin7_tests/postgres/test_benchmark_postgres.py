"""The benchmark on production's database: a fresh PostgreSQL database per run, dropped after."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from moselle_cin7.benchmark import run_benchmark
from moselle_cin7.settings import SETTINGS_ENV_VAR
from moselle_cin7_tests.postgres.conftest import _server_url, postgres_server  # noqa: F401


@pytest.mark.slow
def test_tiny_profile_on_postgresql(tmp_path, monkeypatch, postgres_server):  # noqa: F811
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(yaml.safe_dump({"lookback_days": 7}), encoding="utf-8")
    monkeypatch.setenv(SETTINGS_ENV_VAR, str(settings_file))
    work_dir = tmp_path / "benchmark"
    work_dir.mkdir()
    # As a user types it: a bare postgresql:// URL (SQLAlchemy alone would want psycopg 3).
    server = _server_url().set(drivername="postgresql").render_as_string(hide_password=False)
    parent = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp_path
    with tempfile.TemporaryDirectory(dir=parent, prefix="moselle-benchmark-") as dagster_dir:
        report = run_benchmark(
            "tiny",
            work_dir=work_dir,
            dagster_dir=Path(dagster_dir),
            baseline=False,
            postgres_url=server,
        )

    assert report["planning_database"] == "postgresql"
    processing = report["processing"]
    assert processing["success"], processing["failures"]
    calls = report["api_calls"]["total"]
    assert calls["calls"] >= calls["minimum"] > 0
    assert processing["stages"]["planning"]["rows"] > 0
    # The run's database is gone again.
    with postgres_server.connect() as conn:
        left = conn.execute(
            sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'moselle_benchmark_%'")
        ).all()
    assert left == []
