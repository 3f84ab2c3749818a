"""The planning multi-asset on a scratch SQLite database seeded with the scenario account."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.planning.assets import planning_tables
from moselle_cin7_tests.planning import scenario
from moselle_cin7_tests.planning.scenario import A, B

# Demand per day used to write the sales history: the same rates as the scenario's hand forecast.
DAILY_SALES = {("MUG", A): 4.0, ("MUG", B): 3.0, ("TEA", A): 1.0, ("JAR", A): 2.0, ("BOWL", B): 1.0}
SALES_DAYS = 56
# CUP sells 2 at B on Mondays only: weekday seasonality forecasts 2 on Mondays, 0 on other days.
MONDAY_SALES = {("CUP", B): 2.0}


def _records(frame: pd.DataFrame, **constant: Any) -> list[dict[str, Any]]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{**row, **constant} for row in rows]


def _seed(engine: sa.Engine) -> None:
    mapped_at = datetime(2026, 3, 2, tzinfo=UTC)
    sales_rows = [
        {
            "cin7_line_id": line_id,
            "cin7_order_id": line_id,
            "order_date": scenario.TODAY - timedelta(days=back),
            "channel": "Wholesale",
            "warehouse_id": warehouse_id,
            "sku": sku,
            "quantity": quantity,
        }
        for line_id, ((sku, warehouse_id), quantity, back) in enumerate(
            [
                *(
                    (pair, quantity, back)
                    for pair, quantity in DAILY_SALES.items()
                    for back in range(1, SALES_DAYS + 1)
                ),
                # 2 March 2026 is a Monday: 7, 14, ... days back are Mondays too.
                *(
                    (pair, quantity, back)
                    for pair, quantity in MONDAY_SALES.items()
                    for back in range(7, SALES_DAYS + 1, 7)
                ),
            ]
        )
    ]
    inventory = scenario.inventory_latest()
    inventory_rows = _records(
        inventory.drop(columns=["incoming", "holding"]).assign(
            cin7_option_id=range(len(inventory)), incoming=0.0, holding=0.0
        ),
        on_hand=0.0,
        open_sales=0.0,
        mapped_at=mapped_at,
    )
    transfers = scenario.transfers()
    transfer_lines = scenario.transfer_lines().merge(
        transfers[["cin7_transfer_id", "order_date"]], on="cin7_transfer_id"
    )
    order_lines = scenario.purchase_order_lines()
    purchase_orders = scenario.purchase_orders()
    # The orphan line of the scenario cannot exist under the database's constraints of order day.
    order_lines = order_lines.merge(
        purchase_orders[["cin7_order_id", "order_date"]], on="cin7_order_id"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.warehouses),
            [
                {"warehouse_id": A, "name": "Auckland", "enabled": True},
                {"warehouse_id": B, "name": "Wellington", "enabled": True},
                {"warehouse_id": scenario.UNPLANNED_WAREHOUSE, "name": None, "enabled": False},
            ],
        )
        conn.execute(sa.insert(schema.sales_order_lines), sales_rows)
        conn.execute(sa.insert(schema.inventory), inventory_rows)
        conn.execute(sa.insert(schema.purchase_orders), _records(purchase_orders))
        conn.execute(sa.insert(schema.purchase_order_lines), _records(order_lines))
        conn.execute(sa.insert(schema.transfers), _records(transfers))
        conn.execute(sa.insert(schema.transfer_lines), _records(transfer_lines))


@pytest.fixture
def planned_database(tmp_path) -> sa.Engine:
    database = PlanningDatabase(url=f"sqlite:///{tmp_path / 'planning.sqlite'}")
    engine = database.get_engine()
    _seed(engine)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()

    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        result = dg.materialize(
            [planning_tables],
            resources={"planning_db": database},
            instance=instance,
            run_config={"ops": {"planning_tables": {"config": {"plan_start_day": "2026-03-02"}}}},
        )

    assert result.success
    return engine


def _table(engine: sa.Engine, table: sa.Table) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(sa.select(table))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def test_the_four_planning_tables_are_written(planned_database: sa.Engine) -> None:
    replenishment = _table(planned_database, schema.replenishment_orders)
    forecast = _table(planned_database, schema.demand_forecast)
    outlook = _table(planned_database, schema.stock_outlook).set_index(["sku", "warehouse_id"])

    # The scenario's 13 listed lines (its orphan line cannot be stored).
    assert len(replenishment) == 13
    # 56 days of the same quantity each day: every weekday's mean is that quantity. CUP at B
    # has rows on the 13 Mondays of the 90 days from Monday 2 March only.
    assert len(forecast) == len(DAILY_SALES) * 90 + 13
    cup = forecast[forecast["sku"] == "CUP"]
    assert set(cup["quantity"]) == {2.0}
    assert {day.weekday() for day in cup["forecast_date"]} == {0}
    assert (cup["forecast_date"].min(), cup["forecast_date"].max()) == (
        date(2026, 3, 2),
        date(2026, 5, 25),
    )
    assert set(forecast["method"]) == {"weekly_seasonal"}
    mug_at_b = forecast[(forecast["sku"] == "MUG") & (forecast["warehouse_id"] == B)]
    assert set(mug_at_b["quantity"]) == {3.0}
    assert mug_at_b["forecast_date"].min() == date(2026, 3, 2)

    # The same first ten days as the hand-worked projection (see test_projection).
    assert outlook.loc[("MUG", B), "stockout_date"] == date(2026, 3, 9)
    assert outlook.loc[("MUG", B), "next_incoming_date"] == date(2026, 3, 3)
    assert outlook.loc[("JAR", A), "stockout_date"] == date(2026, 3, 4)
    assert bool(outlook.loc[("BOWL", B), "stockout_before_incoming"])
    # Warehouse 9 is not planned, so it has no projection of its own.
    assert scenario.UNPLANNED_WAREHOUSE not in set(outlook.index.get_level_values(1))


def test_a_flat_pair_has_an_outlook_row_and_no_daily_rows(planned_database: sa.Engine) -> None:
    """LID at A: 9 in stock, no sales, nothing coming or going."""
    projected = _table(planned_database, schema.projected_stock)
    outlook = _table(planned_database, schema.stock_outlook).set_index(["sku", "warehouse_id"])

    assert "LID" not in set(projected["sku"])
    assert outlook.loc[("LID", A), "available_now"] == 9.0
    assert outlook.loc[("LID", A), "daily_demand"] == 0.0
    assert pd.isna(outlook.loc[("LID", A), "stockout_date"])
    assert pd.isna(outlook.loc[("LID", A), "next_incoming_date"])
    # Every pair that moves keeps all 90 days.
    sizes = projected.groupby(["sku", "warehouse_id"]).size()
    moving = [
        *[("BOWL", B), ("CUP", B), ("JAR", A), ("MUG", A), ("MUG", B), ("SPOON", A), ("TEA", A)],
        ("TEA", B),
    ]
    assert sizes.to_dict() == dict.fromkeys(moving, 90)
    spoon = projected[projected["sku"] == "SPOON"]
    assert spoon["purchase_receipts"].sum() > 0


def test_projected_rows_reconcile_in_the_database(planned_database: sa.Engine) -> None:
    projected = _table(planned_database, schema.projected_stock)
    mug_at_a = projected[(projected["sku"] == "MUG") & (projected["warehouse_id"] == A)]
    mug_at_a = mug_at_a.sort_values("projection_date")

    assert mug_at_a["projected_quantity"].head(5).tolist() == [56.0, 52.0, 43.0, 39.0, 105.0]
    assert mug_at_a["includes_estimated_dates"].head(3).tolist() == [False, False, True]
