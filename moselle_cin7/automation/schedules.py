"""The daily schedule: re-sync the rolling lookback window and take today's snapshot.

A plain schedule returning ranged RunRequests, not ``build_schedule_from_partitioned_job``: that
one only targets the newest partition and cannot take an ``execution_timezone``. The tick time is
the account's local ``daily_sync_time``; the window is computed from the tick, so a tick that runs
late still syncs the days it was meant to.
"""

# No `from __future__ import annotations` here: Dagster reads the resource annotation at runtime.
from datetime import date

import dagster as dg

from moselle_cin7.automation.budget import automation_budget
from moselle_cin7.automation.jobs import daily_sync_job
from moselle_cin7.automation.plans import SyncPlan, plan_lookback_sync
from moselle_cin7.automation.ranges import EmptyRange
from moselle_cin7.automation.selections import planning_keys_of
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.ingestion.partitions import last_complete_day
from moselle_cin7.quality.checks import data_freshness_job
from moselle_cin7.settings import Settings, load_settings
from moselle_cin7.timeutil import utc_now

DAILY_SYNC_SCHEDULE = "daily_sync_schedule"
SCHEDULE_TRIGGER = "schedule"


def daily_cron(settings: Settings) -> str:
    """The cron line of ``daily_sync_time`` (read in the account's time zone)."""
    sync_time = settings.schedule.daily_sync_time
    return f"{sync_time.minute} {sync_time.hour} * * *"


def daily_batch(newest_day: date) -> str:
    """The batch name of a daily sync whose newest complete day is ``newest_day``."""
    return f"daily-{newest_day}"


def daily_sync_plan(
    context: dg.ScheduleEvaluationContext, planning_db: PlanningDatabase, settings: Settings
) -> SyncPlan:
    now = context.scheduled_execution_time or utc_now()
    return plan_lookback_sync(
        now,
        settings,
        planning_db.get_engine(),
        trigger=SCHEDULE_TRIGGER,
        batch=daily_batch(last_complete_day(now, settings)),
        planning_keys=planning_keys_of(context.repository_def),
    )


def build_daily_sync_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """The schedule for ``settings``' sync time and zone; the window is read at each tick."""

    @dg.schedule(
        name=DAILY_SYNC_SCHEDULE,
        cron_schedule=daily_cron(settings),
        execution_timezone=settings.account_timezone,
        job=daily_sync_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            "Every day at daily_sync_time (account time zone): re-syncs the last lookback_days "
            "complete days of sales orders, purchase orders and branch transfers in chunks of "
            "chunk_days, takes today's stock and product snapshot in the newest chunk, and "
            "rebuilds the planning outputs once every chunk has finished."
        ),
    )
    def daily_sync_schedule(context: dg.ScheduleEvaluationContext, planning_db: PlanningDatabase):
        current = load_settings()
        now = context.scheduled_execution_time or utc_now()
        try:
            plan = daily_sync_plan(context, planning_db, current)
        except EmptyRange as error:
            return dg.SkipReason(f"Nothing to sync yet: {error}")

        budget = automation_budget(planning_db.get_engine(), current, now)
        if not budget.allows(plan.estimated_calls):
            needs = budget.describe(plan.estimated_calls)
            return dg.SkipReason(
                f"Daily sync of {plan.span} skipped: it needs {needs}"
                f" within the automation share ({current.schedule.api_budget_share:.0%}) of Cin7's "
                "daily limit. Launch sync_now later, or raise schedule.api_budget_share."
            )
        for line in plan.describe(current):
            context.log.info(line)
        return plan.run_requests()

    return daily_sync_schedule


daily_sync_schedule = build_daily_sync_schedule(load_settings())


def build_data_freshness_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """Hourly freshness checks, apart from the syncs they judge (inside a sync they always pass)."""
    return dg.ScheduleDefinition(
        name="data_freshness_schedule",
        job=data_freshness_job,
        cron_schedule="0 * * * *",
        execution_timezone=settings.account_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every hour: fails the synced_recently check of any Cin7 entity whose last "
        "successful sync is older than quality.freshness_hours.",
    )


data_freshness_schedule = build_data_freshness_schedule(load_settings())
