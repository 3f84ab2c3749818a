"""The ``moselle-cin7`` command: serve the sandbox, run the daily sync, run the demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from moselle_cin7.settings import SettingsError, load_settings

logger = logging.getLogger(__name__)

DEFAULT_DAGSTER_HOME = Path(".moselle") / "dagster_home"
_INSTANCE_YAML = """\
# Local Dagster instance of the moselle-cin7 demo: SQLite storage under this folder.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""

# The tables the summary counts, in the order a planner reads them.
SUMMARY_TABLES = (
    "products",
    "warehouses",
    "sales_order_lines",
    "purchase_orders",
    "purchase_order_lines",
    "transfers",
    "transfer_lines",
    "inventory",
    "replenishment_orders",
    "demand_forecast",
    "projected_stock",
    "stock_outlook",
)


def _write(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def ensure_dagster_home() -> Path:
    """Use ``DAGSTER_HOME`` when set, else a persistent local instance the UI can show later."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # The project's own embedded-default instance settings, when running from a checkout.
        project_config = Path(__file__).resolve().parents[1] / "dagster.yaml"
        text = project_config.read_text("utf-8") if project_config.exists() else _INSTANCE_YAML
        config.write_text(text, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class SyncSummary:
    run_id: str
    success: bool
    day_range: str
    seconds: float
    api_calls: int
    rows: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    top_risks: list[dict[str, Any]] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"Run {self.run_id}: {'succeeded' if self.success else 'FAILED'}",
            f"  days synced: {self.day_range}",
            f"  Cin7 API calls: {self.api_calls}",
            f"  time: {self.seconds:.1f} s",
            "  rows per table:",
        ]
        width = max(len(name) for name in self.rows) if self.rows else 0
        lines += [f"    {name.ljust(width)}  {count:>9,}" for name, count in self.rows.items()]
        if self.top_risks:
            lines.append("  top stockout risks:")
            for risk in self.top_risks:
                lines.append(
                    "    "
                    + ", ".join(
                        f"{key}={value}" for key, value in risk.items() if value is not None
                    )
                )
        lines += [f"  failure: {failure}" for failure in self.failures]
        return "\n".join(lines)


def run_daily_sync(day_range, *, selection: Sequence[str] | None = None) -> SyncSummary:
    """Run the daily sync job in this process over ``day_range`` and summarise it."""
    import dagster as dg
    import sqlalchemy as sa

    from moselle_cin7.db import schema
    from moselle_cin7.db.engine import default_database_url, engine_for, ensure_schema
    from moselle_cin7.definitions import defs

    ensure_dagster_home()
    job = defs.resolve_job_def("daily_sync")
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=day_range.tags(),
            # Step-by-step DEBUG events stay in the event log (and the UI); the console shows the
            # pages, windows and warnings that tell a person what is happening.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
            asset_selection=[dg.AssetKey(key) for key in selection] if selection else None,
        )
        failures = [
            f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
            for event in result.all_events
            if event.is_step_failure and event.event_specific_data.error
        ]
    seconds = time.monotonic() - started

    engine = engine_for(default_database_url())
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = {
            name: conn.execute(
                sa.select(sa.func.count()).select_from(schema.metadata.tables[name])
            ).scalar_one()
            for name in SUMMARY_TABLES
        }
        api_calls = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(schema.api_calls.c.calls), 0)).where(
                schema.api_calls.c.run_id == result.run_id
            )
        ).scalar_one()
    return SyncSummary(
        run_id=result.run_id,
        success=result.success,
        day_range=str(day_range),
        seconds=seconds,
        api_calls=int(api_calls),
        rows=rows,
        failures=failures,
        top_risks=_top_risks(engine),
    )


def _top_risks(engine, limit: int = 5) -> list[dict[str, Any]]:
    """The worst stockout risks from ``stock_outlook``, in the planners' order."""
    import pandas as pd

    from moselle_cin7.planning.outlook import top_stockout_risks

    with engine.connect() as conn:
        outlook = pd.read_sql_table("stock_outlook", conn)
    if outlook.empty:
        return []
    risks = top_stockout_risks(outlook, n=limit)
    return [
        {
            "sku": row.sku,
            "warehouse": row.warehouse_id,
            "available": round(row.available_now, 1),
            "per_day": round(row.daily_demand, 2),
            "stockout": None if pd.isna(row.stockout_date) else str(row.stockout_date)[:10],
            "next_arrival": (
                "none" if pd.isna(row.next_incoming_date) else str(row.next_incoming_date)[:10]
            ),
        }
        for row in risks.itertuples()
    ]


def _command_sync(args: argparse.Namespace) -> int:
    from moselle_cin7.automation.ranges import clamp_range, lookback_range
    from moselle_cin7.timeutil import utc_now

    settings = load_settings()
    now = utc_now()
    if args.from_day or args.to_day:
        base = lookback_range(now, settings)
        day_range = clamp_range(
            args.from_day or base.first, args.to_day or base.last, now, settings
        )
    else:
        day_range = lookback_range(now, settings)
    _write(f"Syncing Cin7 days {day_range} ({day_range.days} days) into the planning database...")
    summary = run_daily_sync(day_range)
    _write(summary.render())
    return 0 if summary.success else 1


@contextmanager
def _sandbox_environment(args: argparse.Namespace):
    """Serve the sandbox on loopback and point this process's Cin7 settings at it."""
    from moselle_cin7.sandbox import (
        DEFAULT_API_KEY,
        DEFAULT_USERNAME,
        RateLimits,
        SandboxServer,
        generate_account,
    )

    settings = load_settings()
    account = generate_account(
        seed=args.seed, profile=args.profile, timezone=settings.account_timezone
    )
    limits = None if args.no_rate_limit else RateLimits(per_second=3, per_minute=60, per_day=5000)
    with SandboxServer(account, limits=limits) as server:
        os.environ["CIN7_BASE_URL"] = server.base_url
        os.environ["CIN7_ACCOUNT_ID"] = DEFAULT_USERNAME
        os.environ["CIN7_API_KEY"] = DEFAULT_API_KEY
        yield server


def _command_demo(args: argparse.Namespace) -> int:
    from moselle_cin7.automation.ranges import clamp_range, full_history_range
    from moselle_cin7.sandbox import PROFILES
    from moselle_cin7.timeutil import utc_now

    settings = load_settings()
    with _sandbox_environment(args) as server:
        whole = full_history_range(utc_now(), settings)
        # The sandbox's history is shorter than the partitions' span: sync just the days it has.
        first = whole.last - timedelta(days=PROFILES[args.profile].history_days)
        day_range = clamp_range(first, whole.last, utc_now(), settings)
        _write(f"Cin7 Omni sandbox ({args.profile} account, seed {args.seed}) at {server.base_url}")
        _write(f"Syncing its whole history, {day_range} ({day_range.days} days)...")
        summary = run_daily_sync(day_range)
    _write(summary.render())
    _write("")
    _write("Browse the runs and assets with `make dev` (the Dagster UI on http://127.0.0.1:3000).")
    return 0 if summary.success else 1


def _command_sandbox(args: argparse.Namespace) -> int:
    from moselle_cin7.sandbox.cli import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moselle-cin7",
        description="Keep Moselle's planning database in step with a Cin7 Omni account.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser("sandbox", help="serve the local Cin7 Omni sandbox")
    from moselle_cin7.sandbox.cli import add_arguments

    add_arguments(sandbox)
    sandbox.set_defaults(handler=_command_sandbox)

    from moselle_cin7.db import migrate as db_migrate

    database = commands.add_parser(
        "db", help="migrate the planning database (upgrade, current, check, revision)"
    )
    db_migrate.add_arguments(database)
    database.set_defaults(handler=db_migrate.run)

    sync = commands.add_parser(
        "sync", help="run the daily sync now, in this process, and print a summary"
    )
    sync.add_argument("--from", dest="from_day", type=_day, help="first day (default: lookback)")
    sync.add_argument("--to", dest="to_day", type=_day, help="last day (default: yesterday)")
    sync.set_defaults(handler=_command_sync)

    demo = commands.add_parser(
        "demo", help="start the sandbox and sync its whole history into the local database"
    )
    demo.add_argument(
        "--profile",
        default="small",
        choices=["tiny", "small", "medium", "large"],
        help="sandbox account size (default: small)",
    )
    demo.add_argument("--seed", type=int, default=7, help="sandbox account seed (default: 7)")
    demo.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="let the sandbox answer without Cin7's 3/s and 60/min limits",
    )
    demo.set_defaults(handler=_command_demo)

    from moselle_cin7.automation.commands import add_commands

    add_commands(commands)
    return parser


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _ignore_dagster_beta_warnings() -> None:
    # The single-run backfill policy is a "beta" parameter in Dagster 1.13; the warning says
    # nothing a user of this command can act on.
    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def main(argv: Sequence[str] | None = None) -> int:
    # Other libraries (alembic logs its plugins at import) speak up only for warnings; this
    # project's own loggers tell what is happening.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("moselle_cin7").setLevel(logging.INFO)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="dagster")
    _ignore_dagster_beta_warnings()
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingsError as error:
        sys.stderr.write(f"moselle-cin7: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
