"""Bookkeeping: Cin7 API calls per day (the 5,000-call budget) and each entity's last sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from moselle_cin7.db.schema import api_calls, sync_state
from moselle_cin7.timeutil import utc_now


def calls_used_on(engine: Engine, call_day: date) -> int:
    """API calls recorded on one UTC day, by every run.

    Cin7 does not say when its daily counter resets; the UTC day is the assumption used throughout.
    """
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(api_calls.c.calls), 0)).where(
                api_calls.c.call_day == call_day
            )
        ).scalar_one()
    return int(total)


def calls_used_today(engine: Engine) -> int:
    return calls_used_on(engine, utc_now().date())


def record_calls(
    engine: Engine, run_id: str, calls_by_endpoint: Mapping[str, int], call_day: date | None = None
) -> None:
    """Add a run's calls to the ledger (a run may record the same endpoint more than once)."""
    call_day = call_day or utc_now().date()
    with engine.begin() as conn:
        for endpoint, calls in calls_by_endpoint.items():
            if not calls:
                continue
            key = (
                (api_calls.c.call_day == call_day)
                & (api_calls.c.run_id == run_id)
                & (api_calls.c.endpoint == endpoint)
            )
            updated = conn.execute(
                sa.update(api_calls).where(key).values(calls=api_calls.c.calls + calls)
            ).rowcount
            if not updated:
                conn.execute(
                    sa.insert(api_calls).values(
                        call_day=call_day, run_id=run_id, endpoint=endpoint, calls=calls
                    )
                )


def mark_synced(
    conn: Connection,
    entity: str,
    run_id: str,
    first_day: date | None = None,
    end_day: date | None = None,
    when: datetime | None = None,
) -> None:
    """Record a successful sync, in the same transaction as the data it wrote.

    A window that ends before the one already recorded (a backfill of older days) leaves the
    record alone: ``last_success_at`` says when the newest days were last synced, which is what
    the freshness checks and the change sensor read. Otherwise re-syncing last year would make
    a week of failed daily syncs look fresh.
    """
    values = {
        "last_success_at": when or utc_now(),
        "last_window_start": first_day,
        "last_window_end": end_day,
        "run_id": run_id,
    }
    newer = sa.true()
    if end_day is not None:
        newer = sa.or_(
            sync_state.c.last_window_end.is_(None), sync_state.c.last_window_end <= end_day
        )
    updated = conn.execute(
        sa.update(sync_state).where(sync_state.c.entity == entity, newer).values(**values)
    ).rowcount
    if updated:
        return
    exists = conn.execute(
        sa.select(sync_state.c.entity).where(sync_state.c.entity == entity)
    ).first()
    if exists is None:
        conn.execute(sa.insert(sync_state).values(entity=entity, **values))


def last_synced(engine: Engine) -> dict[str, datetime]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sync_state.c.entity, sync_state.c.last_success_at)).all()
    return {entity: when for entity, when in rows}
