"""The benchmark on the tiny profile: the report's structure, and its API calls against a minimum
worked out here from the generated account itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from moselle_cin7.automation.ranges import lookback_range
from moselle_cin7.benchmark import minimum_calls, render, run_benchmark
from moselle_cin7.sandbox import generate_account
from moselle_cin7.settings import load_settings
from moselle_cin7.timeutil import days_window_utc, parse_cin7_datetime, utc_now

SEED = 7


@pytest.mark.parametrize(
    ("rows", "calls"),
    [(0, 1), (1, 1), (249, 1), (250, 2), (251, 2), (499, 2), (500, 3), (19_990, 80)],
)
def test_minimum_calls_counts_the_short_page_that_ends_a_scan(rows, calls):
    assert minimum_calls(rows) == calls


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


def test_tiny_profile_report(tmp_path):
    report = run_benchmark("tiny", seed=SEED, rate_limited=True, time_scale=50, work_dir=tmp_path)

    assert set(report) == {
        "benchmark",
        "sandbox_start_seconds",
        "baseline",
        "api_calls",
        "processing",
        "real_limits",
        "rate_limited",
        "targets",
    }
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
