"""The planning chain on an account the size of a large one: 20,000 SKUs at 5 warehouses.

No timing is asserted (machines differ); the test shows the whole chain stays vectorised and
finishes in seconds over 9 million projected rows, and that its frames agree in size.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from moselle_cin7.planning import (
    build_demand_forecast,
    build_projected_stock,
    build_replenishment_orders,
    build_stock_outlook,
    top_stockout_risks,
)
from moselle_cin7.settings import PlanningSettings

TODAY = date(2026, 3, 2)
SKU_COUNT = 20_000
WAREHOUSE_IDS = np.arange(1, 6)
SALES_LINES = 600_000
SNAPSHOT_DAYS = 7
PURCHASE_ORDERS = 2_000
TRANSFERS = 500


def _synthetic_account(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    skus = pd.Series([f"SKU-{number:05d}" for number in range(SKU_COUNT)], dtype="str")
    start = pd.Timestamp(TODAY)
    pair_skus = skus.repeat(len(WAREHOUSE_IDS)).reset_index(drop=True)
    pair_warehouses = np.tile(WAREHOUSE_IDS, SKU_COUNT)

    sold_pairs = rng.integers(0, len(pair_skus), SALES_LINES)
    sales_order_lines = pd.DataFrame(
        {
            "order_date": start - pd.to_timedelta(rng.integers(1, 80, SALES_LINES), unit="D"),
            "sku": pair_skus.iloc[sold_pairs].reset_index(drop=True),
            "warehouse_id": pair_warehouses[sold_pairs],
            "quantity": rng.integers(1, 6, SALES_LINES).astype(float),
        }
    )
    snapshot_days = pd.date_range(start - pd.Timedelta(days=SNAPSHOT_DAYS), periods=SNAPSHOT_DAYS)
    inventory = pd.DataFrame(
        {
            "snapshot_date": np.repeat(snapshot_days.to_numpy(), len(pair_skus)),
            "sku": pd.concat([pair_skus] * SNAPSHOT_DAYS, ignore_index=True),
            "warehouse_id": np.tile(pair_warehouses, SNAPSHOT_DAYS),
            "available": rng.integers(-3, 40, len(pair_skus) * SNAPSHOT_DAYS).astype(float),
        }
    )

    order_ids = np.arange(PURCHASE_ORDERS)
    purchase_orders = pd.DataFrame(
        {
            "cin7_order_id": order_ids,
            "order_number": [f"PO-{number}" for number in order_ids],
            "status": rng.choice(["Draft", "Active", "Delivered", "Archived"], PURCHASE_ORDERS),
            "warehouse_id": rng.choice(WAREHOUSE_IDS, PURCHASE_ORDERS),
            "supplier": "Acme",
            "order_date": start - pd.Timedelta(days=20),
            "expected_date": start + pd.to_timedelta(rng.integers(-5, 120, PURCHASE_ORDERS), "D"),
            "fully_received_date": pd.NaT,
        }
    )
    purchase_order_lines = pd.DataFrame(
        {
            "cin7_line_id": np.arange(PURCHASE_ORDERS * 5),
            "cin7_order_id": order_ids.repeat(5),
            "sku": skus.iloc[rng.integers(0, SKU_COUNT, PURCHASE_ORDERS * 5)].to_numpy(),
            "quantity_ordered": 60.0,
            "quantity_received": 10.0,
        }
    )
    transfer_ids = np.arange(TRANSFERS)
    transfers = pd.DataFrame(
        {
            "cin7_transfer_id": transfer_ids,
            "order_number": [f"TR-{number}" for number in transfer_ids],
            "status": rng.choice(["Draft", "Active", "Delivered"], TRANSFERS),
            "source_warehouse_id": 1,
            "destination_warehouse_id": rng.choice(WAREHOUSE_IDS[1:], TRANSFERS),
            "order_date": start - pd.Timedelta(days=4),
            "dispatched_date": start - pd.Timedelta(days=2),
            "received_date": pd.NaT,
        }
    )
    transfer_lines = pd.DataFrame(
        {
            "cin7_line_id": np.arange(TRANSFERS * 4),
            "cin7_transfer_id": transfer_ids.repeat(4),
            "sku": skus.iloc[rng.integers(0, SKU_COUNT, TRANSFERS * 4)].to_numpy(),
            "quantity": 8.0,
        }
    )
    return {
        "sales_order_lines": sales_order_lines,
        "inventory": inventory,
        "purchase_orders": purchase_orders,
        "purchase_order_lines": purchase_order_lines,
        "transfers": transfers,
        "transfer_lines": transfer_lines,
    }


def test_planning_chain_handles_a_large_account() -> None:
    account = _synthetic_account(np.random.default_rng(20260302))
    settings = PlanningSettings()
    inventory = account["inventory"]
    inventory_latest = inventory[inventory["snapshot_date"] == inventory["snapshot_date"].max()]

    replenishment = build_replenishment_orders(
        account["purchase_orders"],
        account["purchase_order_lines"],
        account["transfers"],
        account["transfer_lines"],
        today=TODAY,
        settings=settings,
    )
    demand_forecast = build_demand_forecast(
        account["sales_order_lines"], inventory, today=TODAY, settings=settings
    )
    projected_stock = build_projected_stock(
        inventory_latest, replenishment, demand_forecast, today=TODAY, settings=settings
    )
    outlook = build_stock_outlook(projected_stock)
    risks = top_stockout_risks(outlook, n=25)

    forecast_pairs = len(demand_forecast) // settings.horizon_days
    assert len(demand_forecast) == forecast_pairs * settings.horizon_days
    # With 600,000 lines over 100,000 pairs nearly every pair sold in the 56-day window.
    assert forecast_pairs > 90_000
    assert len(projected_stock) == len(outlook) * settings.horizon_days
    assert len(outlook) >= forecast_pairs
    assert len(risks) == 25
    assert risks["stockout_date"].notna().all()
