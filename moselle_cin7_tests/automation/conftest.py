"""Fixtures of the automation tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from moselle_cin7.db.engine import engine_for, ensure_schema
from moselle_cin7.sandbox import SandboxServer
from moselle_cin7.settings import SETTINGS_ENV_VAR, _load_cached
from moselle_cin7_tests.automation.accounts import SETUP, TRANSACTIONS, automation_account
from moselle_cin7_tests.support import Harness, day

DATABASE_FILE = "planning.sqlite"


@pytest.fixture
def use_settings(tmp_path, monkeypatch):
    """Call with setting values to use them (written to a file) for the rest of the test."""

    def write(**values) -> None:
        settings_file = tmp_path / "settings.yaml"
        settings_file.write_text(yaml.safe_dump(values), encoding="utf-8")
        monkeypatch.setenv(SETTINGS_ENV_VAR, str(settings_file))
        _load_cached.cache_clear()

    yield write
    _load_cached.cache_clear()


@pytest.fixture
def harness(tmp_path, dagster_instance):
    harness = Harness(tmp_path=tmp_path, account=automation_account(), instance=dagster_instance)
    ensure_schema(engine_for(harness.database_url))
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory) -> Path:
    """A planning database holding ``automation_account`` as a first sync stores it.

    Synced once per test process and copied by each test that needs it: a ranged run writes an
    event per partition and asset, so syncing the 150 days back to the oldest orders in every
    test would cost most of the suite's time. Only the days that hold records are synced.
    """
    folder = tmp_path_factory.mktemp("seeded")
    with dg.instance_for_test(temp_dir=str(folder)) as instance:
        seeder = Harness(tmp_path=folder, account=automation_account(), instance=instance)
        with SandboxServer(seeder.account) as server:
            seeder.server = server
            assert seeder.sync(day(8), day(0), selection=SETUP).success
            assert seeder.sync(day(150), day(150), selection=TRANSACTIONS).success
    # Closing the pooled connections lets SQLite fold its write-ahead log into the file.
    engine_for(seeder.database_url).dispose()
    return folder / DATABASE_FILE


@pytest.fixture
def synced(tmp_path, seeded_database, dagster_instance):
    """A harness whose database starts as ``seeded_database``."""
    shutil.copyfile(seeded_database, tmp_path / DATABASE_FILE)
    harness = Harness(tmp_path=tmp_path, account=automation_account(), instance=dagster_instance)
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness
