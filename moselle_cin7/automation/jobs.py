"""Jobs: the daily sync of everything, and "sync now" for anyone in the Dagster UI.

Support's ranged re-syncs are runs of ``daily_sync`` with range tags and an asset selection (see
``plans``); they need no job of their own.
"""

# No `from __future__ import annotations` here: Dagster reads the op's annotations at runtime.
import dagster as dg
from pydantic import Field

from moselle_cin7.automation.budget import manual_budget
from moselle_cin7.automation.plans import plan_lookback_sync
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.settings import load_settings
from moselle_cin7.timeutil import utc_now

DAILY_SYNC_JOB = "daily_sync"
SYNC_NOW_JOB = "sync_now"
# Set on a sync_now run once its plan passed the budget check: the days its runs will cover.
SYNC_RANGE_TAG = "moselle/sync_range"

daily_sync_job = dg.define_asset_job(
    name=DAILY_SYNC_JOB,
    selection=dg.AssetSelection.all(),
    description=(
        "Re-syncs every Cin7 entity over a range of days (the schedule uses the last lookback_days "
        "complete days), takes today's stock and product snapshot, re-maps the planning model "
        "for that range and rebuilds the planning outputs."
    ),
    tags={"moselle/kind": "daily_sync"},
)


def sync_now_batch(run_id: str) -> str:
    """The batch name of the runs one sync_now run leads to."""
    return f"sync-now-{run_id[:8]}"


class SyncNowConfig(dg.Config):
    force: bool = Field(
        default=False,
        description="Start even when the estimate exceeds what is left of today's Cin7 budget.",
    )


@dg.op(
    description=(
        "Works out the lookback window at launch, checks it against today's Cin7 call budget and "
        "hands it to the sync_now_launcher sensor, which starts the ranged daily_sync runs."
    )
)
def plan_sync_now(
    context: dg.OpExecutionContext, config: SyncNowConfig, planning_db: PlanningDatabase
) -> None:
    settings = load_settings()
    now = utc_now()
    engine = planning_db.get_engine()
    plan = plan_lookback_sync(
        now,
        settings,
        engine,
        trigger=SYNC_NOW_JOB,
        batch=sync_now_batch(context.run_id),
        planning_keys=(),
    )
    for line in plan.describe(settings):
        context.log.info(line)

    budget = manual_budget(engine, now)
    if not budget.allows(plan.estimated_calls):
        message = f"Sync of {plan.span} needs {budget.describe(plan.estimated_calls)}."
        if not config.force:
            raise dg.Failure(
                description=f"{message} Not started; launch again with force: true to override."
            )
        context.log.warning(f"{message} Started anyway (force).")
    context.instance.add_run_tags(context.run_id, {SYNC_RANGE_TAG: str(plan.span)})


@dg.job(
    name=SYNC_NOW_JOB,
    description=(
        "Sync now: re-syncs the last lookback_days complete days and today's snapshot, exactly "
        "as the daily schedule does. Launch it with no config; the ranged runs follow within a "
        "minute (the sync_now_launcher sensor must be running)."
    ),
    tags={"moselle/kind": "sync_now"},
)
def sync_now_job() -> None:
    plan_sync_now()
