"""Fixtures of the fault tests."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from moselle_cin7.db.engine import engine_for
from moselle_cin7.sandbox import SandboxServer
from moselle_cin7_tests.faults.scenario import (
    FIRST,
    LAST,
    TRANSACTIONS,
    fast_harness,
    fault_account,
)

DATABASE_FILE = "planning.sqlite"


@pytest.fixture
def harness(tmp_path, dagster_instance):
    """``fault_account`` served on loopback, a fresh planning database and a fast client."""
    harness = fast_harness(tmp_path, dagster_instance, fault_account())
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory) -> Path:
    """A planning database holding ``fault_account``'s transactions of ``[FIRST, LAST]``, as a
    good sync stored them. Synced once per test process; tests start from a copy."""
    folder = tmp_path_factory.mktemp("faults-seeded")
    # The run's own events go to a throw-away instance on a tmpfs when there is one, as in the
    # dagster_instance fixture: its commits are most of a run's time.
    scratch = Path("/dev/shm") if Path("/dev/shm").is_dir() else folder
    with (
        tempfile.TemporaryDirectory(dir=scratch, prefix="moselle-dagster-") as home,
        dg.instance_for_test(temp_dir=home) as instance,
    ):
        seeder = fast_harness(folder, instance, fault_account())
        with SandboxServer(seeder.account) as server:
            seeder.server = server
            assert seeder.sync(FIRST, LAST, selection=TRANSACTIONS).success
    # Closing the pooled connections folds SQLite's write-ahead log into the file.
    engine_for(seeder.database_url).dispose()
    return folder / DATABASE_FILE


@pytest.fixture
def synced(tmp_path, seeded_database, dagster_instance):
    """Like ``harness``, with a database that already holds a good sync of the range."""
    shutil.copyfile(seeded_database, tmp_path / DATABASE_FILE)
    harness = fast_harness(tmp_path, dagster_instance, fault_account())
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness
