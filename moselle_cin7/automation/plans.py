"""Sync plans: which ranged runs a schedule tick, a sensor tick or a support request launches.

Every plan is a *batch* of ranged runs of the ``daily_sync`` job, each with range tags, an asset
selection and a deterministic run key. A run over N days makes one paged query per entity, so a
plan costs about one call per entity per run plus one per 250 stored records. Ranges longer than
``chunk_days`` are cut into several runs so that one bad day does not waste the whole range.

Where the planning outputs are rebuilt: in the run itself when the batch has one run; otherwise
once, after every run of the batch has finished (see ``sensors.planning_after_sync``), because the
planning tables read the whole history and several runs of one batch may run side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg
from sqlalchemy.engine import Engine

from moselle_cin7.automation.budget import (
    estimate_snapshot_calls,
    estimate_window_calls,
    stored_rows_per_day,
)
from moselle_cin7.automation.ranges import DayRange, group_days, lookback_range
from moselle_cin7.automation.selections import (
    ENTITIES_BY_NAME,
    ENTITY_ASSETS,
    SNAPSHOT_ASSETS,
    transaction_asset_keys,
)
from moselle_cin7.quality.checks import MODEL_GATE_CHECK_KEYS
from moselle_cin7.settings import Settings
from moselle_cin7.timeutil import days_window_utc

TRIGGER_TAG = "moselle/trigger"
BATCH_TAG = "moselle/batch"
BATCH_SIZE_TAG = "moselle/batch_size"
# Set on the runs of a batch of several runs: the planning outputs are rebuilt after them.
PLAN_AFTER_TAG = "moselle/plan_after_batch"
# The run key again, as a tag: Dagster's own run-key tag is only set on runs a sensor launched,
# and the change sensor looks its runs up by this one whoever launched them.
REQUEST_KEY_TAG = "moselle/request_key"
ESTIMATE_TAG = "moselle/estimated_api_calls"


@dataclass(frozen=True)
class PlannedRun:
    """One ranged run: the transaction entities it re-reads over ``day_range``, and whether it
    also takes today's snapshot and rebuilds the planning outputs."""

    run_key: str
    day_range: DayRange
    entities: tuple[str, ...]
    snapshot: bool
    planning_keys: tuple[str, ...]
    stored_rows: Mapping[str, int]
    entity_calls: Mapping[str, int]
    snapshot_calls: int
    tags: Mapping[str, str]

    @property
    def asset_keys(self) -> tuple[str, ...]:
        snapshot = SNAPSHOT_ASSETS if self.snapshot else ()
        return (*transaction_asset_keys(self.entities), *snapshot, *self.planning_keys)

    @property
    def estimated_calls(self) -> int:
        return sum(self.entity_calls.values()) + self.snapshot_calls

    def run_request(self) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=self.run_key,
            tags=dict(self.tags),
            asset_selection=[dg.AssetKey.from_user_string(key) for key in self.asset_keys],
        )


@dataclass(frozen=True)
class SyncPlan:
    """A batch of ranged runs, and the planning rebuild that follows them."""

    trigger: str
    batch: str
    runs: tuple[PlannedRun, ...]
    planning_keys: tuple[str, ...] = field(default=())

    @property
    def planning_after(self) -> bool:
        """Whether the planning outputs need a run of their own after the batch."""
        return len(self.runs) > 1 and bool(self.planning_keys)

    @property
    def estimated_calls(self) -> int:
        return sum(run.estimated_calls for run in self.runs)

    @property
    def span(self) -> DayRange | None:
        if not self.runs:
            return None
        return DayRange(
            min(run.day_range.first for run in self.runs),
            max(run.day_range.last for run in self.runs),
        )

    def run_requests(self) -> list[dg.RunRequest]:
        return [run.run_request() for run in self.runs]

    def planning_request(self) -> dg.RunRequest | None:
        """The planning rebuild after a batch of several runs (no Cin7 calls)."""
        if not self.planning_after:
            return None
        return planning_run_request(self.trigger, self.batch, self.span, self.planning_keys)

    def describe(self, settings: Settings) -> list[str]:
        """What each run reads from Cin7 and what it is expected to cost, one line per query."""
        zone = settings.account_timezone
        lines: list[str] = []
        for run in self.runs:
            extra = " + today's snapshot" if run.snapshot else ""
            lines.append(f"run {run.run_key}: days {run.day_range} ({run.day_range.days}){extra}")
            start, end = days_window_utc(
                run.day_range.first, run.day_range.last + timedelta(days=1), settings.timezone
            )
            for name in run.entities:
                entity = ENTITIES_BY_NAME[name]
                lines.append(
                    f"  {entity.endpoint}: {entity.date_field} in [{run.day_range.first}, "
                    f"{run.day_range.last + timedelta(days=1)}) {zone} = "
                    f"[{start:%Y-%m-%dT%H:%M:%SZ}, {end:%Y-%m-%dT%H:%M:%SZ}); "
                    f"{run.stored_rows[name]} records stored now, ~{run.entity_calls[name]} calls"
                )
            if run.snapshot:
                lines.append(
                    f"  Branches, Products and Stock of each enabled branch: "
                    f"~{run.snapshot_calls} calls"
                )
            if run.planning_keys:
                lines.append(f"  then rebuilds {', '.join(run.planning_keys)}")
        if self.planning_after:
            lines.append(
                f"after the {len(self.runs)} runs: rebuilds {', '.join(self.planning_keys)}"
                " (no Cin7 calls)"
            )
        lines.append(f"expected Cin7 API calls: {self.estimated_calls}")
        return lines


def planning_run_request(
    trigger: str, batch: str, span: DayRange | None, planning_keys: Iterable[str]
) -> dg.RunRequest:
    run_key = f"{batch}-planning"
    tags = {TRIGGER_TAG: trigger, BATCH_TAG: batch, REQUEST_KEY_TAG: run_key}
    if span is not None:
        # The daily_sync job is partitioned: the range tells it which days the batch covered.
        tags |= span.tags()
    return dg.RunRequest(
        run_key=run_key,
        tags=tags,
        asset_selection=[dg.AssetKey.from_user_string(key) for key in planning_keys],
        # The model tables' blocking checks run again first: a table that failed one in a sync
        # run of the batch is then not planned from here either.
        asset_check_keys=MODEL_GATE_CHECK_KEYS,
    )


@dataclass(frozen=True)
class _RunShape:
    day_range: DayRange
    entities: tuple[str, ...]
    snapshot: bool


def _build(
    shapes: list[_RunShape],
    *,
    trigger: str,
    batch: str,
    planning_keys: tuple[str, ...],
    engine: Engine,
    settings: Settings,
) -> SyncPlan:
    if not shapes:
        return SyncPlan(trigger, batch, (), planning_keys)
    span = DayRange(min(s.day_range.first for s in shapes), max(s.day_range.last for s in shapes))
    rows_by_entity = {
        name: stored_rows_per_day(engine, ENTITIES_BY_NAME[name], span)
        for name in sorted({name for shape in shapes for name in shape.entities})
    }
    snapshot_calls = (
        estimate_snapshot_calls(engine, settings) if any(shape.snapshot for shape in shapes) else 0
    )
    several = len(shapes) > 1
    runs = []
    for index, shape in enumerate(shapes, start=1):
        run_key = f"{batch}-{index}"
        stored = {
            name: sum(n for day, n in rows_by_entity[name].items() if day in shape.day_range)
            for name in shape.entities
        }
        calls = {
            name: estimate_window_calls(rows_by_entity[name], shape.day_range)
            for name in shape.entities
        }
        own_snapshot_calls = snapshot_calls if shape.snapshot else 0
        tags = {
            **shape.day_range.tags(),
            TRIGGER_TAG: trigger,
            BATCH_TAG: batch,
            BATCH_SIZE_TAG: str(len(shapes)),
            REQUEST_KEY_TAG: run_key,
            ESTIMATE_TAG: str(sum(calls.values()) + own_snapshot_calls),
        }
        if several and planning_keys:
            tags[PLAN_AFTER_TAG] = "true"
        runs.append(
            PlannedRun(
                run_key=run_key,
                day_range=shape.day_range,
                entities=shape.entities,
                snapshot=shape.snapshot,
                planning_keys=() if several else planning_keys,
                stored_rows=stored,
                entity_calls=calls,
                snapshot_calls=own_snapshot_calls,
                tags=tags,
            )
        )
    return SyncPlan(trigger, batch, tuple(runs), planning_keys)


def plan_lookback_sync(
    now: datetime,
    settings: Settings,
    engine: Engine,
    *,
    trigger: str,
    batch: str,
    planning_keys: tuple[str, ...],
) -> SyncPlan:
    """The daily sync: the last ``lookback_days`` complete days of every transaction entity, in
    chunks of ``chunk_days`` (oldest first), today's snapshot in the newest chunk only."""
    day_range = lookback_range(now, settings)
    chunks = day_range.chunks(settings.schedule.chunk_days)
    entities = tuple(ENTITY_ASSETS)
    shapes = [_RunShape(chunk, entities, snapshot=chunk is chunks[-1]) for chunk in chunks]
    return _build(
        shapes,
        trigger=trigger,
        batch=batch,
        planning_keys=planning_keys,
        engine=engine,
        settings=settings,
    )


def plan_resync(
    entities: tuple[str, ...],
    day_range: DayRange,
    settings: Settings,
    engine: Engine,
    *,
    trigger: str,
    batch: str,
    planning_keys: tuple[str, ...],
) -> SyncPlan:
    """A support re-sync of ``entities`` over ``day_range`` (already clamped), in chunks."""
    shapes = [
        _RunShape(chunk, entities, snapshot=False)
        for chunk in day_range.chunks(settings.schedule.chunk_days)
    ]
    return _build(
        shapes,
        trigger=trigger,
        batch=batch,
        planning_keys=planning_keys,
        engine=engine,
        settings=settings,
    )


def plan_changed_days(
    days_by_entity: Mapping[str, Iterable[date]],
    settings: Settings,
    engine: Engine,
    *,
    trigger: str,
    batch: str,
    planning_keys: tuple[str, ...],
) -> SyncPlan:
    """Runs over exactly the given days of each entity.

    Contiguous days become one range (cut at ``chunk_days``); entities whose days form the same
    range share a run, so a day where a sales order and a transfer changed costs one run.
    """
    entities_by_range: dict[DayRange, list[str]] = {}
    for name in ENTITY_ASSETS:
        for grouped in group_days(days_by_entity.get(name, ())):
            for chunk in grouped.chunks(settings.schedule.chunk_days):
                entities_by_range.setdefault(chunk, []).append(name)
    shapes = [
        _RunShape(day_range, tuple(names), snapshot=False)
        for day_range, names in sorted(
            entities_by_range.items(), key=lambda item: (item[0].first, item[0].last)
        )
    ]
    return _build(
        shapes,
        trigger=trigger,
        batch=batch,
        planning_keys=planning_keys,
        engine=engine,
        settings=settings,
    )
