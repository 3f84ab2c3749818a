"""A support re-sync launched on a running ``dagster dev`` through the webserver's GraphQL API.

The test starts ``dagster dev`` in a Dagster home of its own, on a free port, against the sandbox
on loopback and a scratch SQLite planning database, and ends every process it started (the whole
process group, then any survivor by id).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import moselle_cin7.definitions
from moselle_cin7.automation import commands
from moselle_cin7.automation.launch import DagsterWebserver, LaunchError
from moselle_cin7.cli import build_parser
from moselle_cin7.db.engine import DATABASE_URL_ENV_VAR
from moselle_cin7.definitions import build_definitions
from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME
from moselle_cin7_tests.automation.accounts import SETUP, stamp_now
from moselle_cin7_tests.support import day, line

STARTUP_SECONDS = 90
_INSTANCE = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 10
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dagster_dev(tmp_path: Path, harness, port: int) -> subprocess.Popen:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_INSTANCE, encoding="utf-8")
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CIN7_BASE_URL": harness.server.base_url,
        "CIN7_ACCOUNT_ID": DEFAULT_USERNAME,
        "CIN7_API_KEY": DEFAULT_API_KEY,
        DATABASE_URL_ENV_VAR: harness.database_url,
    }
    dagster = Path(sys.executable).with_name("dagster")
    log = (tmp_path / "dagster_dev.log").open("w")
    return subprocess.Popen(
        [str(dagster), "dev", "-m", "moselle_cin7.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own process group, so that the webserver, daemon and code server can be ended too.
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    family = []
    with contextlib.suppress(psutil.NoSuchProcess):
        family = psutil.Process(process.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    _, alive = psutil.wait_procs(family, timeout=10)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=5)


def wait_until_loaded(webserver: DagsterWebserver, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        if webserver.is_up():
            try:
                webserver.job_location("daily_sync")
                return
            except LaunchError:
                pass
        time.sleep(1)
    pytest.fail(f"dagster dev did not load in {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def lines_of(harness) -> dict[int, float]:
    return {row["cin7_line_id"]: row["quantity"] for row in harness.rows("sales_order_lines")}


@pytest.mark.slow
def test_a_backfill_launched_through_graphql_updates_the_data(
    harness, tmp_path, monkeypatch, capsys
):
    assert harness.sync(day(5), day(0), selection=SETUP).success
    # SO-2 is corrected in Cin7 after it was synced: 1 unit becomes 7.
    harness.server.account.update(
        "SalesOrders",
        102,
        lineItems=[{**line("JKT-M", 7, id=9002), "transactionId": 102}],
        modifiedDate=stamp_now(),
    )
    assert lines_of(harness)[9002] == 1

    port = free_port()
    process = start_dagster_dev(tmp_path, harness, port)
    try:
        webserver = DagsterWebserver(f"http://127.0.0.1:{port}")
        wait_until_loaded(webserver, process, tmp_path / "dagster_dev.log")

        monkeypatch.setenv(DATABASE_URL_ENV_VAR, harness.database_url)
        monkeypatch.setattr(commands, "WAIT_POLL_SECONDS", 1.0)
        monkeypatch.setattr(
            moselle_cin7.definitions, "defs", build_definitions(harness.resources())
        )
        args = build_parser().parse_args(
            ["resync", "sales_orders", "--from", str(day(5)), "--to", str(day(0)),
             "--webserver", webserver.url, "--wait", "--skip-planning"]
        )  # fmt: skip
        # Without the planning outputs the backfill needs one daemon iteration (30 s) less.
        assert args.handler(args) == 0, (tmp_path / "dagster_dev.log").read_text()[-3000:]
        assert lines_of(harness)[9002] == 7

        # "Sync now" from the command line launches the sync_now job the UI shows.
        args = build_parser().parse_args(["sync-now", "--webserver", webserver.url])
        assert args.handler(args) == 0
    finally:
        stop(process)

    output = capsys.readouterr().out
    assert "Backfill " in output and ": COMPLETED_SUCCESS" in output
    assert "sync_now run " in output and " launched: " in output
