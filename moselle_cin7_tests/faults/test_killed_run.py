"""A sync killed with SIGKILL while the raw window's transaction is open.

The sync runs in a child process through the CLI's own runner (``run_daily_sync``, configured by
environment variables like ``moselle-cin7 sync``), against the sandbox this test serves and a
copy of a database that holds a good sync of the range. To kill it at a known point, and not by
timing, the child listens to its own SQLAlchemy engine: right after the first INSERT into
``raw_sales_orders`` has run (the window's DELETE is already done, the transaction still open) it
says so on stdout and waits. The test checks that the child really holds SQLite's write lock,
kills it, and then finds the previous data of the range intact and a next run that completes it.
The hook lives in this test module only; the product has none.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from moselle_cin7.db.engine import DATABASE_URL_ENV_VAR
from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME
from moselle_cin7.settings import SETTINGS_ENV_VAR
from moselle_cin7_tests.faults.scenario import FIRST, LAST, SALES, ids, table_rows
from moselle_cin7_tests.support import day, line, local_stamp, sales_order

REPOSITORY = Path(__file__).resolve().parents[2]
INSIDE_THE_WRITE = "inside the raw window's transaction"
CHILD_SECONDS = 90


def sync_until_inside_the_write(first: str, last: str) -> None:
    """In the child: sync the sales orders of ``[first, last]`` and stop inside the write."""
    from moselle_cin7.automation.ranges import DayRange
    from moselle_cin7.cli import run_daily_sync
    from moselle_cin7.db.engine import default_database_url, engine_for

    @sa.event.listens_for(engine_for(default_database_url()), "after_cursor_execute")
    def wait_to_be_killed(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RAW_SALES_ORDERS"):
            sys.stdout.write(INSIDE_THE_WRITE + "\n")
            sys.stdout.flush()
            time.sleep(CHILD_SECONDS)

    run_daily_sync(
        DayRange(date.fromisoformat(first), date.fromisoformat(last)),
        selection=["cin7_sales_orders"],
    )


def start_child(harness, tmp_path: Path) -> subprocess.Popen:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in (SETTINGS_ENV_VAR, "PYTHONPATH")
    }
    environment.update(
        {
            "PYTHONPATH": str(REPOSITORY),
            "DAGSTER_HOME": str(tmp_path / "child_dagster_home"),
            DATABASE_URL_ENV_VAR: harness.database_url,
            "CIN7_BASE_URL": harness.server.base_url,
            "CIN7_ACCOUNT_ID": DEFAULT_USERNAME,
            "CIN7_API_KEY": DEFAULT_API_KEY,
        }
    )
    code = (
        "from moselle_cin7_tests.faults.test_killed_run import sync_until_inside_the_write; "
        f"sync_until_inside_the_write({FIRST.isoformat()!r}, {LAST.isoformat()!r})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "child.log").open("w"),
        text=True,
    )


def wait_for_the_write(child: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + CHILD_SECONDS
    assert child.stdout is not None
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([child.stdout], [], [], remaining)
        output = child.stdout.readline() if ready else ""
        if not output:  # no word in time, or the child ended
            break
        if output.strip() == INSIDE_THE_WRITE:
            return
    child.kill()
    child.wait(timeout=10)
    pytest.fail(f"the child never reached the write:\n{log.read_text()[-3000:]}")


def database_is_write_locked(path: Path) -> bool:
    """Whether another connection holds SQLite's write lock (a write transaction is open)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return "locked" in str(error)
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def test_a_run_killed_inside_the_write_leaves_the_range_intact(synced, tmp_path):
    database = tmp_path / "planning.sqlite"
    before = {table: table_rows(synced, table) for table in ("raw_sales_orders", "sync_state")}
    synced.account.update("SalesOrders", 103, reference="SO-103-EDITED")
    synced.account.update("SalesOrders", 105, invoiceDate=local_stamp(day(40)))
    synced.account.upsert(
        "SalesOrders", sales_order("SO-108", day(2), [line("JKT-S", 1, id=9111)], id=108)
    )

    child = start_child(synced, tmp_path)
    try:
        wait_for_the_write(child, tmp_path / "child.log")
        assert database_is_write_locked(database)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)

    with sqlite3.connect(database) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not database_is_write_locked(database)
    assert {table: table_rows(synced, table) for table in before} == before

    assert synced.sync(FIRST, LAST, selection=SALES).success
    assert ids(synced, "raw_sales_orders", "cin7_id") == [101, 102, 103, 104, 106, 107, 108]
    stored = {row["cin7_id"]: row for row in table_rows(synced, "raw_sales_orders")}
    assert stored[103]["payload"]["reference"] == "SO-103-EDITED"
