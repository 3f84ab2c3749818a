"""Sensors: Cin7 changes between daily syncs, "sync now" launches, and planning after batches.

``cin7_change_sensor`` polls Cin7 (one cheap query per transaction entity, plus open records by
id) and requests ranged runs over exactly the days that changed, however old. The other two only
read the Dagster instance: ``sync_now_launcher`` turns a successful ``sync_now`` run into its
ranged runs, and ``planning_after_sync`` rebuilds the planning outputs once every run of a
multi-run batch has finished.
"""

# No `from __future__ import annotations` here: Dagster reads the resource annotations at runtime.
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import dagster as dg

from moselle_cin7.automation.budget import automation_budget, next_daily_tick
from moselle_cin7.automation.changes import (
    ChangeCursor,
    ChangeScan,
    estimate_poll_calls,
    scan_modified,
    scan_open_records,
)
from moselle_cin7.automation.jobs import SYNC_NOW_JOB, daily_sync_job, sync_now_batch
from moselle_cin7.automation.plans import (
    BATCH_SIZE_TAG,
    BATCH_TAG,
    PLAN_AFTER_TAG,
    REQUEST_KEY_TAG,
    TRIGGER_TAG,
    plan_changed_days,
    plan_lookback_sync,
    planning_run_request,
)
from moselle_cin7.automation.ranges import DayRange, EmptyRange, lookback_range
from moselle_cin7.automation.selections import planning_keys_of
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.db.ledger import last_synced, record_calls
from moselle_cin7.ingestion.entities import TRANSACTION_ENTITIES
from moselle_cin7.ingestion.partitions import last_complete_day
from moselle_cin7.settings import Settings, load_settings
from moselle_cin7.timeutil import utc_now

CHANGE_SENSOR = "cin7_change_sensor"
SYNC_NOW_SENSOR = "sync_now_launcher"
PLANNING_SENSOR = "planning_after_sync"
CHANGE_TRIGGER = "change_sensor"
# Changed records named one by one in a tick's log; the rest are counted.
MAX_LOGGED_CHANGES = 50
# How long the planning sensor keeps looking at a batch (runs of older batches are not read).
BATCH_HORIZON = timedelta(days=3)

_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def _latest_by_request_key(runs: list[dg.DagsterRun]) -> dict[str, dg.DagsterRun]:
    """The newest run of each request key (a re-execution from the UI copies the tags)."""
    latest: dict[str, dg.DagsterRun] = {}
    for run in runs:  # the instance lists the newest first
        latest.setdefault(run.tags.get(REQUEST_KEY_TAG, run.run_id), run)
    return latest


def pending_outcome(instance: dg.DagsterInstance, run_keys: tuple[str, ...]) -> str:
    """``running``, ``succeeded`` or ``failed`` for the runs a poll requested.

    A key with no run at all counts as failed: the request was lost, and polling again is safe.
    """
    outcome = "succeeded"
    for key in run_keys:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={REQUEST_KEY_TAG: key}), limit=1)
        if not runs or runs[0].status in (
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        ):
            outcome = "failed"
        elif runs[0].status not in _FINISHED:
            return "running"
    return outcome


def schedule_reserve(planning_db: PlanningDatabase, settings: Settings, now: datetime) -> int:
    """Calls the daily sync is expected to need, when its next tick falls on today's UTC day.

    The sensor and the schedule share one allowance: the sensor leaves this much for the schedule.
    """
    tick = next_daily_tick(now, settings)
    if tick.astimezone(UTC).date() != now.astimezone(UTC).date():
        return 0
    try:
        plan = plan_lookback_sync(
            tick,
            settings,
            planning_db.get_engine(),
            trigger="estimate",
            batch="estimate",
            planning_keys=(),
        )
    except EmptyRange:
        return 0
    return plan.estimated_calls


def first_cursor(planning_db: PlanningDatabase, now: datetime) -> datetime:
    """Where a new change sensor starts: the oldest last successful sync of a transaction
    entity, so nothing changed since then is missed; ``now`` before the first sync."""
    synced = last_synced(planning_db.get_engine())
    stamps = [synced.get(entity.name) for entity in TRANSACTION_ENTITIES]
    if any(stamp is None for stamp in stamps):
        return now
    return min(stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC) for stamp in stamps)


def evaluate_changes(
    context: dg.SensorEvaluationContext,
    cin7: Cin7Resource,
    planning_db: PlanningDatabase,
    now: datetime | None = None,
) -> dg.SensorResult | dg.SkipReason:
    """One tick of the change sensor (see the module and ``ChangeCursor`` for the cursor rules)."""
    settings = load_settings()
    now = now or utc_now()
    engine = planning_db.get_engine()
    cursor = ChangeCursor.from_json(context.cursor)

    if cursor.since is None:
        start = first_cursor(planning_db, now)
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"Started: the next tick looks for changes since {start:%Y-%m-%d %H:%M} UTC"
            ),
            cursor=ChangeCursor(since=start).to_json(),
        )
    if cursor.pending:
        outcome = pending_outcome(context.instance, cursor.pending_keys)
        if outcome == "running":
            return dg.SkipReason(
                f"Waiting for the {len(cursor.pending_keys)} runs requested for changes since "
                f"{cursor.since:%Y-%m-%d %H:%M} UTC before looking again"
            )
        if outcome == "succeeded":
            cursor = cursor.committed()
        else:
            context.log.warning(
                f"A run for the changes since {cursor.since:%Y-%m-%d %H:%M} UTC failed or was "
                "lost: looking for them again"
            )
            cursor = cursor.retried()
    assert cursor.since is not None

    try:
        window_first = lookback_range(now, settings).first
    except EmptyRange:
        window_first = settings.history_start
    reserve = schedule_reserve(planning_db, settings, now)
    budget = automation_budget(engine, settings, now, reserved=reserve)
    poll_calls = estimate_poll_calls(engine, window_first)
    if not budget.allows(poll_calls):
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"Not polling Cin7: a poll needs {budget.describe(poll_calls)} within the "
                "automation share of the daily limit"
            ),
            cursor=cursor.to_json(),
        )

    session = cin7.open_session(log=context.log, calls_used_today=budget.used)
    try:
        modified = scan_modified(session, engine, settings, cursor.since)
        still_open = scan_open_records(session, engine, settings, window_first)
    finally:
        record_calls(engine, f"sensor:{CHANGE_SENSOR}", session.calls_by_endpoint)
        session.close()

    scan = ChangeScan(
        changes=modified.changes + still_open.changes,
        unchanged=modified.unchanged + still_open.unchanged,
    )
    for change in scan.changes[:MAX_LOGGED_CHANGES]:
        context.log.info(
            f"{change.entity} {change.cin7_id} ({change.reason}): stored on {change.stored_day},"
            f" belongs to {change.current_day}"
        )
    if len(scan.changes) > MAX_LOGGED_CHANGES:
        context.log.info(f"... and {len(scan.changes) - MAX_LOGGED_CHANGES} more changed records")
    days = scan.days_by_entity(settings.history_start, last_complete_day(now, settings))
    plan = plan_changed_days(
        days,
        settings,
        engine,
        trigger=CHANGE_TRIGGER,
        batch=cursor.batch,
        planning_keys=planning_keys_of(context.repository_def),
    )
    if not plan.runs:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"No day to re-sync: {len(scan.changes)} changed records, {scan.unchanged} "
                f"already stored as they are (since {cursor.since:%Y-%m-%d %H:%M} UTC)"
            ),
            cursor=cursor.advanced(now).to_json(),
        )

    budget = automation_budget(engine, settings, now, reserved=reserve)
    if not budget.allows(plan.estimated_calls):
        # The cursor stays: the same changes are found, and requested, once calls are left.
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"Changes on {sum(len(d) for d in days.values())} days found, but re-syncing them "
                f"needs {budget.describe(plan.estimated_calls)}; trying again next tick"
            ),
            cursor=cursor.to_json(),
        )
    for line in plan.describe(settings):
        context.log.info(line)
    return dg.SensorResult(
        run_requests=plan.run_requests(),
        cursor=cursor.waiting_for(now, [run.run_key for run in plan.runs]).to_json(),
    )


def build_change_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name=CHANGE_SENSOR,
        job=daily_sync_job,
        minimum_interval_seconds=settings.schedule.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Polls Cin7 for sales orders, purchase orders and transfers modified since its cursor "
            "(minus sensor_overlap_minutes), re-reads open purchase orders and transfers older "
            "than the lookback window, and re-syncs exactly the days they left and moved to, "
            "however old. The cursor moves once those runs have succeeded."
        ),
    )
    def cin7_change_sensor(
        context: dg.SensorEvaluationContext, cin7: Cin7Resource, planning_db: PlanningDatabase
    ):
        return evaluate_changes(context, cin7, planning_db)

    return cin7_change_sensor


@dg.sensor(
    name=SYNC_NOW_SENSOR,
    job=daily_sync_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts the ranged daily_sync runs of each successful sync_now run: the lookback window "
        "at the time sync_now was launched."
    ),
)
def sync_now_launcher(context: dg.SensorEvaluationContext, planning_db: PlanningDatabase):
    settings = load_settings()
    after = datetime.fromisoformat(context.cursor) if context.cursor else None
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=SYNC_NOW_JOB, statuses=[dg.DagsterRunStatus.SUCCESS], updated_after=after
        ),
        limit=50,
    )
    if not records:
        return dg.SkipReason("No new sync_now run")

    run_requests: list[dg.RunRequest] = []
    for record in sorted(records, key=lambda r: r.update_timestamp):
        run = record.dagster_run
        plan = plan_lookback_sync(
            record.create_timestamp,
            settings,
            planning_db.get_engine(),
            trigger=SYNC_NOW_JOB,
            batch=sync_now_batch(run.run_id),
            planning_keys=planning_keys_of(context.repository_def),
        )
        context.log.info(f"sync_now run {run.run_id}: {len(plan.runs)} runs over {plan.span}")
        run_requests += plan.run_requests()
    newest = max(record.update_timestamp for record in records)
    return dg.SensorResult(run_requests=run_requests, cursor=newest.isoformat())


@dg.sensor(
    name=PLANNING_SENSOR,
    job=daily_sync_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Rebuilds the planning outputs once every run of a multi-run sync batch (daily chunks, "
        "changed days, sync now) has finished, as they read the whole history."
    ),
)
def planning_after_sync(context: dg.SensorEvaluationContext):
    now = utc_now()
    handled: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(tags={PLAN_AFTER_TAG: "true"}, created_after=now - BATCH_HORIZON)
    )
    by_batch: dict[str, list[dg.DagsterRun]] = defaultdict(list)
    for run in runs:
        by_batch[run.tags[BATCH_TAG]].append(run)

    planning_keys = planning_keys_of(context.repository_def)
    run_requests = []
    for batch, batch_runs in sorted(by_batch.items()):
        if batch in handled:
            continue
        latest = _latest_by_request_key(batch_runs)
        if len(latest) < int(batch_runs[0].tags.get(BATCH_SIZE_TAG, "1")):
            continue  # not every run of the batch has been created yet
        if any(run.status not in _FINISHED for run in latest.values()):
            continue
        handled[batch] = now.isoformat()
        if not any(run.status == dg.DagsterRunStatus.SUCCESS for run in latest.values()):
            context.log.warning(f"Every run of {batch} failed: nothing new to plan from")
            continue
        ranges = [DayRange.from_tags(run.tags) for run in latest.values()]
        known = [day_range for day_range in ranges if day_range is not None]
        span = DayRange(min(r.first for r in known), max(r.last for r in known)) if known else None
        if planning_keys:
            trigger = batch_runs[0].tags.get(TRIGGER_TAG, "sync")
            run_requests.append(planning_run_request(trigger, batch, span, planning_keys))

    horizon = now - BATCH_HORIZON
    handled = {b: when for b, when in handled.items() if datetime.fromisoformat(when) > horizon}
    if not run_requests:
        return dg.SensorResult(
            skip_reason=dg.SkipReason("No finished batch waiting for planning"),
            cursor=json.dumps(handled, sort_keys=True),
        )
    return dg.SensorResult(run_requests=run_requests, cursor=json.dumps(handled, sort_keys=True))


cin7_change_sensor = build_change_sensor(load_settings())
