"""The benchmark on the tiny profile: the report's structure, and its API calls against a minimum
worked out here from the generated account itself.

To stay fast the smoke test syncs a 7-day lookback rather than 90 days (Dagster writes events per
partition day) and keeps the Dagster instances on a tmpfs, as the other tests do.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from moselle_cin7.automation.ranges import lookback_range
from moselle_cin7.benchmark import (
    PipelineRun,
    build_report,
    main,
    minimum_calls,
    render,
    run_benchmark,
    seed_snapshot_days,
)
from moselle_cin7.db import schema
from moselle_cin7.db.engine import engine_for, ensure_schema
from moselle_cin7.sandbox import generate_account
from moselle_cin7.settings import SETTINGS_ENV_VAR, load_settings
from moselle_cin7.timeutil import days_window_utc, parse_cin7_datetime, utc_now

SEED = 7
LOOKBACK_DAYS = 7
_FAST_TMP = Path("/dev/shm")


@pytest.mark.parametrize(
    ("rows", "calls"),
    [(0, 1), (1, 1), (249, 1), (250, 2), (251, 2), (499, 2), (500, 3), (19_990, 80)],
)
def test_minimum_calls_counts_the_short_page_that_ends_a_scan(rows, calls):
    assert minimum_calls(rows) == calls


def synthetic_run(**overrides) -> PipelineRun:
    """A run as the pipeline process reports it, with figures chosen by hand."""
    raw_metadata = {
        "fetch_seconds": 30.0,
        "api_response_seconds": 20.0,
        "write_seconds": 5.0,
        "api_retries": 0,
    }
    fields = {
        "run_id": "run-1",
        "success": True,
        "day_range": "2026-09-06...2026-12-04",
        "wall_seconds": 100.0,
        "peak_rss_bytes": 512 * 1024**2,
        "calls_by_endpoint": {
            "Branches": 1,
            "Products": 1,
            "Stock": 82,
            "SalesOrders": 5,
            "PurchaseOrders": 1,
            "BranchTransfers": 1,
        },
        "stored_rows": {
            "raw_branches": 5,
            "raw_products": 40,
            "raw_stock": 20_240,
            "raw_sales_orders": 1_000,
            "raw_purchase_orders": 0,
            "raw_branch_transfers": 12,
            "demand_forecast": 900,
            "projected_stock": 1_800,
            "stock_outlook": 20,
            "replenishment_orders": 3,
        },
        # 250 rows need a second, empty page; 19,990 rows need 80 pages.
        "stock_rows_by_branch": {"3": 250, "4": 19_990},
        "steps": {
            "cin7_stock": {
                "start": 1.0,
                "end": 41.0,
                "seconds": 40.0,
                "metadata": {"cin7_stock": raw_metadata},
            },
            "planning_tables": {"start": 60.0, "end": 90.0, "seconds": 30.0, "metadata": {}},
        },
        "events": {"total": 1_000},
        "event_write_seconds": 0.01,
    }
    return PipelineRun(**{**fields, **overrides})


def report_without_baseline(run: PipelineRun, **rate_limited: Any) -> dict:
    """The report of a large-profile benchmark whose sandbox took 30 s to start, without the
    bare-paging baseline."""
    return build_report(
        profile="large",
        seed=7,
        sandbox_start_seconds=30.0,
        baseline=None,
        baseline_seconds=None,
        run=run,
        **rate_limited,
    )


def test_report_without_baseline_counts_the_minimum_from_stored_rows():
    report = report_without_baseline(synthetic_run())

    calls = report["api_calls"]["by_endpoint"]
    assert calls["Stock"]["minimum"] == 2 + 80
    assert calls["SalesOrders"]["minimum"] == 1_000 // 250 + 1 == 5
    # No purchase order at all still costs the one call that finds none.
    assert calls["PurchaseOrders"]["minimum"] == 1
    assert report["api_calls"]["total"]["minimum"] == 1 + 1 + 82 + 5 + 1 + 1
    assert report["api_calls"]["total"]["ratio"] == 1.0
    assert report["baseline"] is None

    processing = report["processing"]
    # The sandbox's 20 s of answers are not the pipeline's processing.
    assert processing["processing_seconds"] == 80.0
    assert processing["stages"]["sandbox_answers"]["seconds"] == 20.0
    assert processing["stages"]["fetch_and_parse"]["seconds"] == 10.0
    assert processing["stages"]["raw_step_other"]["seconds"] == 40.0 - 30.0 - 5.0
    assert processing["stages"]["planning"] == {
        "seconds": 30.0,
        "rows": 900 + 1_800 + 20 + 3,
        "rows_per_second": round(2_723 / 30),
    }
    assert processing["stages"]["outside_steps"]["seconds"] == 100.0 - 70.0
    assert processing["dagster_events"]["estimated_seconds"] == 10.0
    real_limits = report["real_limits"]
    assert real_limits["predicted_fetch_seconds"] == 91.0
    # The stock fetch ran from 1 s to 31 s of a 100 s run: 1 s before it and 69 s after it
    # come on top of the 91 calls at one a second.
    assert real_limits["after_last_fetch_seconds"] == 69.0
    assert real_limits["predicted_wall_seconds"] == 1.0 + 91.0 + 69.0
    assert [target["met"] for target in report["targets"]] == [True, True, True]


def test_a_pause_between_fetches_costs_only_what_the_minute_window_cannot_make_up():
    def step(start: float, fetch_seconds: float, name: str) -> dict:
        metadata = {"fetch_seconds": fetch_seconds, "api_response_seconds": 0.0}
        return {"start": start, "end": start + fetch_seconds + 5.0, "seconds": fetch_seconds + 5.0,
                "metadata": {name: metadata}}  # fmt: skip

    run = synthetic_run(
        wall_seconds=200.0,
        steps={
            "cin7_sales_orders": step(1.0, 30.0, "cin7_sales_orders"),
            # 100 s of processing between the two fetches: 40 s of it is made up afterwards.
            "cin7_stock": step(131.0, 30.0, "cin7_stock"),
        },
    )
    report = report_without_baseline(run)

    real_limits = report["real_limits"]
    assert real_limits["pauses_between_fetches_seconds"] == [100.0]
    assert real_limits["after_last_fetch_seconds"] == 200.0 - 161.0
    assert real_limits["predicted_wall_seconds"] == 1.0 + 91.0 + (100.0 - 40.0) + 39.0


def test_rate_limited_figures_against_the_ideal():
    report = report_without_baseline(
        synthetic_run(), rate_limited=synthetic_run(wall_seconds=91.0 / 10 + 90.0), time_scale=10
    )

    pacing = report["rate_limited"]
    assert pacing["ideal_seconds"] == 9.1
    assert pacing["ratio"] == round(99.1 / 9.1, 3)
    # Less the 80 s processing measured without limits, the fetching took 19.1 s.
    assert pacing["paced_seconds"] == 19.1
    # Inside the Cin7 sessions (the stock step's fetch_seconds): 30 s.
    assert pacing["fetch_seconds"] == 30.0
    assert pacing["fetch_ratio"] == round(30.0 / 9.1, 3)
    assert report["targets"][-1] == {
        "name": "rate-limited wall time / (calls / allowed rate)",
        "value": round(99.1 / 9.1, 3),
        "limit": 1.05,
        "met": False,
    }


def test_seeded_snapshot_days_copy_the_newest_snapshot_backwards(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'planning.sqlite'}")
    ensure_schema(engine)
    synced = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    newest, older = date(2026, 12, 3), date(2026, 11, 1)
    stock = {"productOptionId": 11, "branchId": 3, "available": 4.0}
    with engine.begin() as conn:
        conn.execute(
            schema.raw_stock.insert(),
            [
                {"product_option_id": 11, "branch_id": 3, "partition_day": day,
                 "modified_date": None, "payload": stock, "synced_at": synced, "run_id": "r"}
                for day in (newest, older)
            ],
        )  # fmt: skip
        conn.execute(
            schema.inventory.insert(),
            {"snapshot_date": newest, "cin7_option_id": 11, "warehouse_id": 3, "sku": "A",
             "available": 4.0, "incoming": 0.0, "on_hand": 4.0, "open_sales": 0.0,
             "holding": 0.0, "mapped_at": synced + timedelta(minutes=5), "mapping_issue": None},
        )  # fmt: skip

    seed_snapshot_days(engine, 3)

    with engine.connect() as conn:
        raw_days = conn.execute(
            sa.select(schema.raw_stock.c.partition_day).order_by(schema.raw_stock.c.partition_day)
        ).scalars()
        mapped = conn.execute(
            sa.select(schema.inventory.c.snapshot_date, schema.inventory.c.available).order_by(
                schema.inventory.c.snapshot_date
            )
        ).all()
    # Only the newest snapshot is copied, to the two days before it.
    assert list(raw_days) == [older, date(2026, 12, 1), date(2026, 12, 2), newest]
    assert mapped == [(date(2026, 12, 1), 4.0), (date(2026, 12, 2), 4.0), (newest, 4.0)]


def expected_rows_per_query() -> dict[str, list[int]]:
    """Rows each query of a daily sync returns, counted in the account the sandbox serves."""
    settings = load_settings()
    account = generate_account(seed=SEED, profile="tiny", timezone=settings.account_timezone)
    day_range = lookback_range(utc_now(), settings)
    start, end = days_window_utc(
        day_range.first, day_range.last + timedelta(days=1), settings.timezone
    )

    def in_window(record: dict, field: str) -> bool:
        moment = parse_cin7_datetime(record.get(field))
        return moment is not None and start <= moment < end

    branches = account.records("Branches")
    enabled = [branch["id"] for branch in branches if settings.warehouse_enabled(branch)]
    stock = account.records("Stock")
    return {
        "Branches": [len(branches)],
        "Products": [len(account.records("Products"))],
        "Stock": [sum(1 for row in stock if row["branchId"] == branch) for branch in enabled],
        "SalesOrders": [
            sum(1 for order in account.records("SalesOrders") if in_window(order, "invoiceDate"))
        ],
        "PurchaseOrders": [
            sum(1 for order in account.records("PurchaseOrders") if in_window(order, "createdDate"))
        ],
        "BranchTransfers": [
            sum(
                1
                for transfer in account.records("BranchTransfers")
                if in_window(transfer, "createdDate")
            )
        ],
    }


@pytest.fixture
def short_lookback(tmp_path, monkeypatch):
    """Settings with a 7-day lookback, seen by this process and the benchmark's children."""
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(yaml.safe_dump({"lookback_days": LOOKBACK_DAYS}), encoding="utf-8")
    monkeypatch.setenv(SETTINGS_ENV_VAR, str(settings_file))
    assert load_settings().lookback_days == LOOKBACK_DAYS


@pytest.mark.slow
def test_tiny_profile_report(tmp_path, short_lookback):
    work_dir = tmp_path / "benchmark"
    work_dir.mkdir()
    parent = _FAST_TMP if _FAST_TMP.is_dir() else tmp_path
    with tempfile.TemporaryDirectory(dir=parent, prefix="moselle-benchmark-") as dagster_dir:
        report = run_benchmark(
            "tiny",
            seed=SEED,
            rate_limited=True,
            time_scale=50,
            work_dir=work_dir,
            dagster_dir=Path(dagster_dir),
        )

    assert set(report) == {
        "benchmark",
        "sandbox_start_seconds",
        "baseline",
        "api_calls",
        "processing",
        "real_limits",
        "rate_limited",
        "targets",
        "planning_database",
    }
    assert report["planning_database"] == "sqlite"
    assert report["benchmark"]["profile"] == "tiny"
    processing = report["processing"]
    assert processing["success"], processing["failures"]
    assert set(processing["stages"]) == {
        "sandbox_answers",
        "fetch_and_parse",
        "raw_write",
        "raw_step_other",
        "mapping",
        "planning",
        "quality_checks",
        "outside_steps",
    }
    assert all(stage["seconds"] >= 0 for name, stage in processing["stages"].items()
               if name != "outside_steps")  # fmt: skip
    assert 0 < processing["processing_seconds"] <= processing["wall_seconds"]
    assert processing["peak_rss_bytes"] > 50 * 1024**2
    assert processing["dagster_events"]["by_type"]["total"] > 0
    assert [target["name"] for target in report["targets"]] == [
        "API calls / theoretical minimum",
        "daily sync processing, rate limit off (s)",
        "peak RSS of the pipeline process (MiB)",
        "rate-limited wall time / (calls / allowed rate)",
    ]

    expected = expected_rows_per_query()
    calls = report["api_calls"]["by_endpoint"]
    for endpoint, rows in expected.items():
        assert calls[endpoint]["rows"] == sum(rows), endpoint
        # The client pages exactly the minimum; on a count that is an exact multiple of 250 it
        # asks once more after the empty page to confirm the end (see Cin7Session.fetch_all).
        confirmations = sum(1 for count in rows if count and count % 250 == 0)
        minimum = sum(count // 250 + 1 for count in rows)
        assert calls[endpoint]["minimum"] == minimum, endpoint
        assert calls[endpoint]["calls"] == minimum + confirmations, endpoint
    total_minimum = sum(count // 250 + 1 for rows in expected.values() for count in rows)
    assert report["api_calls"]["total"]["minimum"] == total_minimum
    assert report["baseline"]["calls"] == total_minimum

    pacing = report["rate_limited"]
    assert pacing["success"], pacing["failures"]
    assert pacing["calls"] == report["api_calls"]["total"]["calls"]
    assert pacing["time_scale"] == 50
    assert pacing["ideal_seconds"] == pytest.approx(pacing["calls"] / 50, abs=0.01)

    table = render(report)
    assert "SalesOrders" in table and "Targets" in table


@pytest.mark.slow
def test_small_profile_smoke(tmp_path):
    """The README's smoke test: the small profile over the default 90-day lookback, through the
    command line, with its table and JSON report; no timing is asserted."""
    report_path = tmp_path / "report.json"
    work_dir = tmp_path / "benchmark"

    assert (
        main(["--profile", "small", "--report", str(report_path), "--work-dir", str(work_dir)]) == 0
    )

    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["benchmark"]["profile"] == "small"
    assert report["processing"]["success"], report["processing"]["failures"]
    calls = report["api_calls"]["total"]
    # Bare paging needs exactly the minimum; the sync asks once more after each full last page.
    queries = report["baseline"]["queries"]
    confirmations = sum(1 for query in queries if query["rows"] and query["rows"] % 250 == 0)
    assert report["baseline"]["calls"] == calls["minimum"]
    assert calls["calls"] == calls["minimum"] + confirmations
    assert report["api_calls"]["by_endpoint"]["SalesOrders"]["rows"] > 0
    assert report["processing"]["stages"]["planning"]["rows"] > 0
