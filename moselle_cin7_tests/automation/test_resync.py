"""``moselle-cin7 resync`` and ``sync-now`` in this process: the plan they print, the queries
they make, the partitions they materialize and the budget they respect."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pytest
import sqlalchemy as sa

import moselle_cin7.definitions
from moselle_cin7.cli import build_parser
from moselle_cin7.db import schema
from moselle_cin7.db.engine import DATABASE_URL_ENV_VAR, engine_for, ensure_schema
from moselle_cin7.definitions import build_definitions
from moselle_cin7.settings import load_settings
from moselle_cin7.timeutil import days_window_utc
from moselle_cin7_tests.support import day


@pytest.fixture
def cli_env(harness, tmp_path, monkeypatch):
    """The CLI pointed at the harness: its database, its sandbox, a Dagster home of its own."""
    monkeypatch.setenv(DATABASE_URL_ENV_VAR, harness.database_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("DAGSTER_WEBSERVER_URL", raising=False)
    # The module-level definitions read the Cin7 settings at import; the CLI runs these instead.
    monkeypatch.setattr(moselle_cin7.definitions, "defs", build_definitions(harness.resources()))
    ensure_schema(engine_for(harness.database_url))
    return harness


def main(argv: list[str]) -> int:
    # The parser and handler of `moselle-cin7`, without the logging set-up of its entry point
    # (which would bind a handler to this test's captured stderr for the rest of the session).
    args = build_parser().parse_args(argv)
    return args.handler(args)


def calls_per_endpoint(server) -> Counter:
    return Counter(entry.endpoint for entry in server.request_log)


def test_resync_reads_each_entity_once_per_chunk(cli_env, use_settings, capsys):
    use_settings(schedule={"chunk_days": 3})
    harness = cli_env

    code = main(["resync", "all", "--from", str(day(5)), "--to", str(day(0)), "--in-process"])

    assert code == 0
    # Six days in chunks of three, [5..3] and [2..0]: one query per entity per chunk.
    assert calls_per_endpoint(harness.server) == Counter(
        {"SalesOrders": 2, "PurchaseOrders": 2, "BranchTransfers": 2}
    )
    output = capsys.readouterr().out
    start, end = days_window_utc(day(5), day(2), load_settings().timezone)
    assert (
        f"  SalesOrders: invoiceDate in [{day(5)}, {day(2)}) Pacific/Auckland = "
        f"[{start:%Y-%m-%dT%H:%M:%SZ}, {end:%Y-%m-%dT%H:%M:%SZ}); 0 records stored now, ~1 calls"
    ) in output
    assert "expected Cin7 API calls: 6" in output

    # Every partition of the range is materialized, and the records are stored.
    with dg.DagsterInstance.get() as instance:
        for asset in ("cin7_sales_orders", "sales_order_lines", "cin7_branch_transfers"):
            partitions = instance.get_materialized_partitions(dg.AssetKey(asset))
            assert partitions == {str(day(n)) for n in range(6)}, asset
    assert sorted(row["cin7_id"] for row in harness.rows("raw_sales_orders")) == [101, 102, 103]
    assert [row["cin7_id"] for row in harness.rows("raw_purchase_orders")] == [203]


def test_resync_refuses_what_the_budget_cannot_pay(cli_env, capsys):
    harness = cli_env
    today = datetime.now(UTC).date()
    synced_at = datetime.now(UTC)
    stored = [
        {"cin7_id": n, "partition_day": day(2), "payload": {"id": n}, "synced_at": synced_at,
         "run_id": "earlier"}
        for n in range(50_000, 52_500)
    ]  # fmt: skip
    with engine_for(harness.database_url).begin() as conn:
        conn.execute(sa.insert(schema.raw_sales_orders), stored)
        conn.execute(
            sa.insert(schema.api_calls).values(
                call_day=today, run_id="other", endpoint="Stock", calls=4990
            )
        )
    argv = ["resync", "all", "--from", str(day(2)), "--to", str(day(2)), "--in-process"]

    # 2,500 stored sales orders: 10 full pages, the empty one and the call that confirms it (an
    # empty page after a full one is asked twice), plus one call per other entity.
    assert main(argv) == 1
    output = capsys.readouterr().out
    assert (
        f"This needs an estimated 14 Cin7 calls; 4990 of 4999 allowed on {today} (UTC) are "
        "spent, 9 left. Not started"
    ) in output
    assert harness.server.request_log == []

    assert main([*argv, "--force"]) == 0
    assert "Starting anyway (--force)" in capsys.readouterr().out
    assert calls_per_endpoint(harness.server) == Counter(
        {"SalesOrders": 1, "PurchaseOrders": 1, "BranchTransfers": 1}
    )
    # The stand-in rows are gone: the day now holds what Cin7 holds.
    assert [row["cin7_id"] for row in harness.rows("raw_sales_orders")] == [101]


def test_resync_clamps_to_complete_days(cli_env, capsys):
    # A spent budget stops it right after the plan is printed: only the plan matters here.
    with engine_for(cli_env.database_url).begin() as conn:
        conn.execute(
            sa.insert(schema.api_calls).values(
                call_day=datetime.now(UTC).date(), run_id="other", endpoint="Stock", calls=4999
            )
        )
    today = day(-1)
    code = main(["resync", "sales_orders", "--from", str(day(1)), "--to", str(today)])

    assert code == 1
    output = capsys.readouterr().out
    assert f"Range clamped to {day(1)}...{day(0)}" in output
    assert f"Re-sync of sales_orders for {day(1)}...{day(0)} (2 days, Pacific/Auckland):" in output
    assert cli_env.server.request_log == []
