"""The ``resync`` and ``sync-now`` commands of ``moselle-cin7``.

Both first print what they will read from Cin7 and the calls they expect, and refuse to start
(exit 1) when that exceeds what is left of today's budget, unless ``--force``. They then hand the
work to a running Dagster instance when there is one (``DAGSTER_HOME`` set and a webserver
answering, or ``--webserver URL``), or run it in this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from typing import TYPE_CHECKING

from moselle_cin7.automation.launch import (
    FINISHED_BACKFILL_STATES,
    WEBSERVER_URL_ENV_VAR,
    DagsterWebserver,
    LaunchError,
)
from moselle_cin7.ingestion.entities import TRANSACTION_ENTITIES
from moselle_cin7.settings import Settings, load_settings
from moselle_cin7.timeutil import utc_now

# The modules that load Dagster and the asset graph are imported by the commands themselves, so
# `moselle-cin7 --help` and the sandbox command start quickly.
if TYPE_CHECKING:
    from moselle_cin7.automation.plans import SyncPlan

RESYNC_TRIGGER = "resync"
# How often --wait asks the webserver about a backfill, in seconds.
WAIT_POLL_SECONDS = 5.0


def _write(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="start even when the expected API calls exceed what is left of today's budget",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--in-process",
        action="store_true",
        help="run here even when a Dagster webserver is reachable",
    )
    where.add_argument(
        "--webserver",
        metavar="URL",
        help=f"the Dagster webserver to launch on (default: ${WEBSERVER_URL_ENV_VAR}, or "
        "http://127.0.0.1:3000 when DAGSTER_HOME is set)",
    )


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``resync`` and ``sync-now`` on the ``moselle-cin7`` parser."""
    resync = commands.add_parser(
        "resync",
        help="re-sync one entity (or all) over a range of days, however old",
        description=(
            "Re-read ENTITY from Cin7 for the account-local days FROM to TO (inclusive), re-map "
            "them and rebuild the planning outputs. Ranges longer than chunk_days run in chunks."
        ),
    )
    resync.add_argument(
        "entity",
        choices=[*(entity.name for entity in TRANSACTION_ENTITIES), "all"],
        help="what to re-sync",
    )
    resync.add_argument("--from", dest="from_day", type=_day, required=True, help="first day")
    resync.add_argument("--to", dest="to_day", type=_day, required=True, help="last day")
    resync.add_argument(
        "--wait", action="store_true", help="on a webserver: wait until the backfill finishes"
    )
    resync.add_argument(
        "--skip-planning",
        action="store_true",
        help="leave the planning outputs as they are (when more re-syncs follow; the next "
        "daily sync rebuilds them)",
    )
    _add_launch_arguments(resync)
    resync.set_defaults(handler=command_resync)

    sync_now = commands.add_parser(
        "sync-now",
        help="run the daily sync now: the lookback window and today's snapshot",
        description=(
            "Re-sync the last lookback_days complete days and today's snapshot, as the daily "
            "schedule does, through the sync_now job of a running instance or in this process."
        ),
    )
    _add_launch_arguments(sync_now)
    sync_now.set_defaults(handler=command_sync_now)


def _print_plan(title: str, plan: SyncPlan, settings: Settings) -> None:
    _write(title)
    for line in plan.describe(settings):
        _write(f"  {line}")


def _within_budget(plan: SyncPlan, force: bool) -> bool:
    from moselle_cin7.automation.budget import manual_budget
    from moselle_cin7.db.engine import default_database_url, engine_for

    budget = manual_budget(engine_for(default_database_url()), utc_now())
    if budget.allows(plan.estimated_calls):
        return True
    message = f"This needs {budget.describe(plan.estimated_calls)}."
    if not force:
        _write(
            f"{message} Not started: narrow the range, wait for the next UTC day, or add --force."
        )
        return False
    _write(f"{message} Starting anyway (--force).")
    return True


def _webserver(args: argparse.Namespace) -> DagsterWebserver | None:
    """The running instance to launch on, or ``None`` to run in this process."""
    if args.in_process:
        return None
    webserver = DagsterWebserver.from_environment(args.webserver)
    if args.webserver or os.environ.get(WEBSERVER_URL_ENV_VAR):
        if not webserver.is_up():
            raise LaunchError(f"no Dagster webserver answers at {webserver.url}")
        return webserver
    # Without an explicit address, only an instance of our own (DAGSTER_HOME) is looked for.
    if os.environ.get("DAGSTER_HOME") and webserver.is_up():
        return webserver
    return None


def _warn_about_daemons(webserver: DagsterWebserver, needed: str) -> None:
    unhealthy = webserver.unhealthy_daemons()
    if needed in unhealthy:
        _write(
            f"Warning: the {needed} daemon of {webserver.url} is not running; nothing starts "
            "until it is (`dagster dev` or `dagster-daemon run`)."
        )


def _run_in_process(plan: SyncPlan) -> int:
    from moselle_cin7.cli import run_daily_sync

    failed = 0
    for run in plan.runs:
        _write(f"Running {run.run_key} ({run.day_range})...")
        summary = run_daily_sync(run.day_range, selection=run.asset_keys)
        _write(summary.render())
        failed += not summary.success
    if plan.planning_after and plan.span is not None:
        _write(f"Rebuilding {', '.join(plan.planning_keys)}...")
        summary = run_daily_sync(plan.span, selection=plan.planning_keys)
        _write(summary.render())
        failed += not summary.success
    return 1 if failed else 0


def command_resync(args: argparse.Namespace) -> int:
    from moselle_cin7.automation.plans import BATCH_TAG, TRIGGER_TAG, plan_resync
    from moselle_cin7.automation.ranges import EmptyRange, clamp_range
    from moselle_cin7.automation.selections import (
        entity_names,
        planning_keys_of,
        transaction_asset_keys,
    )
    from moselle_cin7.db.engine import default_database_url, engine_for, ensure_schema
    from moselle_cin7.definitions import defs

    settings = load_settings()
    now = utc_now()
    if args.from_day > args.to_day:
        _write(f"--from {args.from_day} is after --to {args.to_day}")
        return 2
    try:
        day_range = clamp_range(args.from_day, args.to_day, now, settings)
    except EmptyRange as error:
        _write(f"Nothing to re-sync: {error}")
        return 2
    if (day_range.first, day_range.last) != (args.from_day, args.to_day):
        _write(
            f"Range clamped to {day_range}: history starts {settings.history_start} and the "
            "newest complete day is the last that can be synced"
        )

    entities = entity_names(args.entity)
    engine = engine_for(default_database_url())
    ensure_schema(engine)
    planning_keys = () if args.skip_planning else planning_keys_of(defs.get_repository_def())
    batch = f"resync-{args.entity}-{day_range.first}-{day_range.last}-{now:%Y%m%dT%H%M%SZ}"
    plan = plan_resync(
        entities,
        day_range,
        settings,
        engine,
        trigger=RESYNC_TRIGGER,
        batch=batch,
        planning_keys=planning_keys,
    )
    _print_plan(
        f"Re-sync of {', '.join(entities)} for {day_range} ({day_range.days} days, "
        f"{settings.account_timezone}):",
        plan,
        settings,
    )
    if not _within_budget(plan, args.force):
        return 1

    try:
        webserver = _webserver(args)
        if webserver is None:
            return _run_in_process(plan)
        _warn_about_daemons(webserver, "BACKFILL")
        backfill_id = webserver.launch_asset_backfill(
            [*transaction_asset_keys(entities), *planning_keys],
            day_range.partition_keys(),
            tags={TRIGGER_TAG: RESYNC_TRIGGER, BATCH_TAG: batch},
            title=f"Re-sync {args.entity} {day_range}",
        )
    except LaunchError as error:
        _write(f"Not started: {error}")
        return 1
    _write(f"Backfill {backfill_id} launched: {webserver.backfill_page(backfill_id)}")
    if not args.wait:
        return 0
    return _wait_for_backfill(webserver, backfill_id)


def _wait_for_backfill(webserver: DagsterWebserver, backfill_id: str) -> int:
    status = webserver.backfill_status(backfill_id)
    while status not in FINISHED_BACKFILL_STATES:
        time.sleep(WAIT_POLL_SECONDS)
        status = webserver.backfill_status(backfill_id)
    _write(f"Backfill {backfill_id}: {status}")
    return 0 if status in ("COMPLETED", "COMPLETED_SUCCESS") else 1


def command_sync_now(args: argparse.Namespace) -> int:
    from moselle_cin7.automation.jobs import SYNC_NOW_JOB
    from moselle_cin7.automation.plans import plan_lookback_sync
    from moselle_cin7.automation.ranges import EmptyRange
    from moselle_cin7.automation.selections import planning_keys_of
    from moselle_cin7.db.engine import default_database_url, engine_for, ensure_schema
    from moselle_cin7.definitions import defs

    settings = load_settings()
    now = utc_now()
    engine = engine_for(default_database_url())
    ensure_schema(engine)
    try:
        plan = plan_lookback_sync(
            now,
            settings,
            engine,
            trigger=SYNC_NOW_JOB,
            batch=f"sync-now-{now:%Y%m%dT%H%M%SZ}",
            planning_keys=planning_keys_of(defs.get_repository_def()),
        )
    except EmptyRange as error:
        _write(f"Nothing to sync: {error}")
        return 2
    _print_plan(f"Sync now: {plan.span} and today's snapshot:", plan, settings)
    if not _within_budget(plan, args.force):
        return 1

    try:
        webserver = _webserver(args)
        if webserver is None:
            return _run_in_process(plan)
        _warn_about_daemons(webserver, "SENSOR")
        run_id = webserver.launch_job(
            SYNC_NOW_JOB,
            run_config={"ops": {"plan_sync_now": {"config": {"force": bool(args.force)}}}},
        )
    except LaunchError as error:
        _write(f"Not started: {error}")
        return 1
    _write(
        f"{SYNC_NOW_JOB} run {run_id} launched: {webserver.run_page(run_id)}; the "
        "sync_now_launcher sensor starts its ranged runs within a minute."
    )
    return 0
