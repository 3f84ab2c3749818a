""" "Sync now" from the UI (the sync_now job and its launcher sensor) and the planning rebuild
after a batch of several runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa

from moselle_cin7.automation.plans import (
    BATCH_SIZE_TAG,
    BATCH_TAG,
    PLAN_AFTER_TAG,
    REQUEST_KEY_TAG,
    TRIGGER_TAG,
)
from moselle_cin7.automation.ranges import RANGE_END_TAG, RANGE_START_TAG, lookback_range
from moselle_cin7.automation.selections import planning_asset_keys
from moselle_cin7.automation.sensors import planning_after_sync, sync_now_launcher
from moselle_cin7.db import schema
from moselle_cin7.db.engine import engine_for
from moselle_cin7.definitions import build_definitions
from moselle_cin7.settings import load_settings


def launcher_tick(harness, cursor=None):
    resources = harness.resources()
    # Closed at once: a context left open ends its resources whenever it is collected.
    with dg.build_sensor_context(
        instance=harness.instance,
        cursor=cursor,
        definitions=build_definitions(resources),
        resources=resources,
    ) as context:
        return sync_now_launcher.evaluate_tick(context)


def test_sync_now_starts_the_lookback_window(harness):
    defs = build_definitions(harness.resources())
    launched = defs.resolve_job_def("sync_now").execute_in_process(instance=harness.instance)
    assert launched.success
    expected = lookback_range(datetime.now(UTC), load_settings()).chunks(30)

    result = launcher_tick(harness)

    batch = f"sync-now-{launched.run_id[:8]}"
    assert [r.run_key for r in result.run_requests] == [f"{batch}-1", f"{batch}-2", f"{batch}-3"]
    assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests] == [
        (str(chunk.first), str(chunk.last)) for chunk in expected
    ]
    assert {r.tags[TRIGGER_TAG] for r in result.run_requests} == {"sync_now"}
    assert harness.instance.get_run_by_id(launched.run_id).tags["moselle/sync_range"] == (
        f"{expected[0].first}...{expected[-1].last}"
    )
    # The launcher never calls Cin7, and a second look finds nothing new.
    assert harness.server.request_log == []
    assert not launcher_tick(harness, result.cursor).run_requests


def test_sync_now_refuses_to_start_over_budget(harness):
    with engine_for(harness.database_url).begin() as conn:
        conn.execute(
            sa.insert(schema.api_calls).values(
                call_day=datetime.now(UTC).date(), run_id="other", endpoint="Stock", calls=4995
            )
        )
    defs = build_definitions(harness.resources())
    job = defs.resolve_job_def("sync_now")

    refused = job.execute_in_process(instance=harness.instance, raise_on_error=False)

    assert not refused.success
    (failure,) = [event for event in refused.all_events if event.is_step_failure]
    message = failure.event_specific_data.error.message
    assert "an estimated 12 Cin7 calls; 4995 of 4999 allowed" in message
    assert "force: true" in message
    assert not launcher_tick(harness).run_requests

    forced = job.execute_in_process(
        instance=harness.instance,
        run_config={"ops": {"plan_sync_now": {"config": {"force": True}}}},
    )
    assert forced.success
    assert len(launcher_tick(harness).run_requests) == 3


@dg.op
def stand_in(context) -> None:  # untyped: Dagster reads annotations at runtime
    if context.run.tags.get("outcome") == "failure":
        raise RuntimeError("this chunk failed")


@dg.job
def stand_in_chunk() -> None:
    stand_in()


def chunk_run(instance, batch: str, index: int, first: str, last: str, outcome: str) -> None:
    """A finished run of a two-run batch, as the schedule tags them."""
    stand_in_chunk.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={
            BATCH_TAG: batch,
            BATCH_SIZE_TAG: "2",
            PLAN_AFTER_TAG: "true",
            REQUEST_KEY_TAG: f"{batch}-{index}",
            TRIGGER_TAG: "schedule",
            RANGE_START_TAG: first,
            RANGE_END_TAG: last,
            "outcome": outcome,
        },
    )


def planning_tick(harness, cursor=None):
    resources = harness.resources()
    # Closed at once: a context left open ends its resources whenever it is collected.
    with dg.build_sensor_context(
        instance=harness.instance, cursor=cursor, definitions=build_definitions(resources)
    ) as context:
        return planning_after_sync.evaluate_tick(context)


def test_planning_waits_for_every_run_of_a_batch(harness):
    instance = harness.instance
    planning = planning_asset_keys(build_definitions(harness.resources()).get_repository_def())
    chunk_run(instance, "daily-2026-03-09", 1, "2026-01-09", "2026-02-07", "success")

    waiting = planning_tick(harness)
    assert not waiting.run_requests

    # The other chunk failed: what the first one stored is still worth planning from.
    chunk_run(instance, "daily-2026-03-09", 2, "2026-02-08", "2026-03-09", "failure")
    result = planning_tick(harness, waiting.cursor)

    (request,) = result.run_requests
    assert request.run_key == "daily-2026-03-09-planning"
    assert sorted(key.to_user_string() for key in request.asset_selection) == list(planning)
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
        "2026-01-09",
        "2026-03-09",
    )
    assert "daily-2026-03-09" in json.loads(result.cursor)
    # Handled once only.
    assert not planning_tick(harness, result.cursor).run_requests
