"""The planning run after a batch re-runs the model gate; freshness is checked on its own clock."""

from __future__ import annotations

import dagster as dg

from moselle_cin7.automation.plans import planning_run_request
from moselle_cin7.automation.schedules import data_freshness_schedule
from moselle_cin7.quality.checks import MODEL_GATE_CHECK_KEYS


def test_planning_run_after_a_batch_runs_the_model_gate_first():
    request = planning_run_request("daily", "daily-2026-12-03", None, ["stock_outlook"])
    assert request.asset_selection == [dg.AssetKey("stock_outlook")]
    assert set(request.asset_check_keys) == set(MODEL_GATE_CHECK_KEYS)
    assert dg.AssetCheckKey(
        dg.AssetKey("sales_order_lines"), "sales_lines_are_dispatched_orders_only"
    ) in set(request.asset_check_keys)


def test_freshness_is_checked_every_hour_in_the_account_time_zone():
    assert data_freshness_schedule.cron_schedule == "0 * * * *"
    assert data_freshness_schedule.execution_timezone == "Pacific/Auckland"
    assert data_freshness_schedule.job_name == "data_freshness"


def test_call_estimate_counts_the_confirming_call_after_a_full_last_page():
    from moselle_cin7.automation.budget import query_calls

    assert [query_calls(rows) for rows in (0, 1, 249, 250, 251, 500, 600)] == [1, 1, 1, 3, 2, 4, 3]
