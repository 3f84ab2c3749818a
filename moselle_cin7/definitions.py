"""The Dagster definitions of moselle-cin7, loaded by ``dagster dev`` through workspace.yaml."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from moselle_cin7.automation.backfills import with_chunked_backfills
from moselle_cin7.automation.jobs import daily_sync_job, sync_now_job
from moselle_cin7.automation.schedules import daily_sync_schedule, data_freshness_schedule
from moselle_cin7.automation.sensors import (
    cin7_change_sensor,
    planning_after_sync,
    sync_now_launcher,
)
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db.engine import DATABASE_URL_ENV_VAR, PlanningDatabase, default_database_url
from moselle_cin7.ingestion.assets import raw_assets
from moselle_cin7.mapping.assets import model_assets
from moselle_cin7.planning.assets import planning_assets
from moselle_cin7.quality.checks import data_freshness_job, quality_checks
from moselle_cin7.settings import load_settings

CIN7_BASE_URL_ENV_VAR = "CIN7_BASE_URL"
DEFAULT_CIN7_BASE_URL = "https://api.cin7.com/api"


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources whose secrets are EnvVars: resolved at launch, never shown in the UI or logs."""
    database_url: str | dg.EnvVar = (
        dg.EnvVar(DATABASE_URL_ENV_VAR)
        if os.environ.get(DATABASE_URL_ENV_VAR)
        else default_database_url()
    )
    return {
        "cin7": Cin7Resource(
            base_url=os.environ.get(CIN7_BASE_URL_ENV_VAR) or DEFAULT_CIN7_BASE_URL,
            account_id=dg.EnvVar("CIN7_ACCOUNT_ID"),
            api_key=dg.EnvVar("CIN7_API_KEY"),
        ),
        "planning_db": PlanningDatabase(url=database_url),
    }


def build_definitions(resources: dict[str, Any] | None = None) -> dg.Definitions:
    """The project's definitions; tests pass their own resources (a sandbox, a scratch database)."""
    return dg.Definitions(
        # UI backfills run in chunks of chunk_days days (see automation/backfills.py).
        assets=with_chunked_backfills(
            [*raw_assets, *model_assets, *planning_assets], load_settings()
        ),
        # Blocking checks (ERROR) skip what is downstream of a bad asset; see quality/checks.py.
        asset_checks=quality_checks,
        jobs=[daily_sync_job, sync_now_job, data_freshness_job],
        schedules=[daily_sync_schedule, data_freshness_schedule],
        sensors=[cin7_change_sensor, sync_now_launcher, planning_after_sync],
        resources=resources if resources is not None else build_resources(),
        # Cin7 allows one call stream per API connection: the assets of a run take turns rather
        # than race each other for the same 60 calls a minute.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
