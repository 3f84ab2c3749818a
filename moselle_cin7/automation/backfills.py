"""Backfills launched from the Dagster UI: chunked, so that one bad day does not waste them all.

Every partitioned asset body reads its run's whole partition window, so a run over N days makes one
paged query per entity whatever N is. ``BackfillPolicy.single_run()`` would put a two-year support
backfill into one all-or-nothing run; ``multi_run(max_partitions_per_run=chunk_days)`` gives one
run per ``chunk_days`` days instead: still one query per entity per run, and a failed chunk is
retried on its own from the backfill page.

Scheduled and sensor runs are not backfills: they carry their own range tags (see ``plans``) and
are not affected by this policy. ``dagster asset materialize --partition-range`` refuses assets
without a single-run policy; ``moselle-cin7 resync`` replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from moselle_cin7.settings import Settings


def chunked_backfill_policy(settings: Settings) -> dg.BackfillPolicy:
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.schedule.chunk_days)


def with_chunked_backfills(
    assets: Iterable[dg.AssetsDefinition], settings: Settings
) -> list[dg.AssetsDefinition]:
    """``assets`` with every single-run backfill policy replaced by the chunked one.

    Every partitioned asset gets the same policy: assets with different policies cannot share a
    backfill run, and a raw asset and its mapped asset should land in the same run.
    """
    policy = chunked_backfill_policy(settings)
    chunked = []
    for asset in assets:
        single_run = asset.backfill_policy is not None and (
            asset.backfill_policy.max_partitions_per_run is None
        )
        chunked.append(asset.with_attributes(backfill_policy=policy) if single_run else asset)
    return chunked
