"""A small account written out by hand, shared by the planning tests.

Two warehouses, A (id 1, "Auckland") and B (id 2, "Wellington"), plus warehouse 9, which is not
planned but sends one transfer. The plan starts on Monday 2 March 2026 and, in these tests, looks
ten days ahead: 2-11 March.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from moselle_cin7.settings import PlanningSettings

A = 1
B = 2
UNPLANNED_WAREHOUSE = 9
TODAY = date(2026, 3, 2)
SETTINGS = PlanningSettings(
    horizon_days=10,
    purchase_lead_time_days=14,
    transfer_transit_days=3,
    recent_closed_days=30,
)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def purchase_orders() -> pd.DataFrame:
    columns = [
        "cin7_order_id",
        "order_number",
        "status",
        "warehouse_id",
        "supplier",
        "supplier_id",
        "order_date",
        "expected_date",
        "fully_received_date",
    ]
    rows = [
        # Open, expected mid-horizon (6 March).
        (101, "PO-101", "Active", A, "Acme", 5, date(2026, 2, 20), date(2026, 3, 6), None),
        # No expected date: 25 Feb + 14 days lead time = 11 March, estimated.
        (102, "PO-102", "Draft", B, None, 77, date(2026, 2, 25), None, None),
        # Voided in Cin7, so Archived: listed as recent, nothing left to arrive.
        (103, "PO-103", "Archived", A, "Acme", 5, date(2026, 2, 26), date(2026, 3, 5), None),
        # Fully received on 27 Feb: listed as recent, nothing left to arrive.
        (104, "PO-104", "Delivered", A, "Acme", 5, date(2026, 2, 1), date(2026, 2, 27),
         date(2026, 2, 27)),
        # Received long before the 30-day window: not listed.
        (105, "PO-105", "Delivered", A, "Acme", 5, date(2025, 11, 1), None, date(2025, 12, 1)),
        # Overdue: expected 25 Feb, still open, so it lands today.
        (107, "PO-107", "Active", A, "Acme", 5, date(2026, 2, 1), date(2026, 2, 25), None),
        (108, "PO-108", "Active", B, "Potter", 6, date(2026, 2, 20), date(2026, 3, 5), None),
        # Beyond the ten-day horizon.
        (109, "PO-109", "Active", A, "Acme", 5, date(2026, 3, 1), date(2026, 4, 30), None),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def purchase_order_lines() -> pd.DataFrame:
    columns = ["cin7_line_id", "cin7_order_id", "sku", "quantity_ordered", "quantity_received"]
    rows = [
        (1001, 101, "MUG", 100.0, 30.0),
        (1006, 101, "TEA", 10.0, 12.0),  # over-received: nothing open
        (1002, 102, "TEA", 20.0, 0.0),
        (1003, 103, "MUG", 50.0, 0.0),
        (1004, 104, "MUG", 40.0, 40.0),
        (1005, 105, "MUG", 40.0, 40.0),
        (1007, 107, "MUG", 10.0, 0.0),
        (1008, 108, "BOWL", 6.0, 0.0),
        (1009, 109, "SPOON", 24.0, 0.0),
        (1099, 999, "MUG", 5.0, 0.0),  # its order is unknown
    ]
    return pd.DataFrame(rows, columns=columns)


def transfers() -> pd.DataFrame:
    columns = [
        "cin7_transfer_id",
        "order_number",
        "status",
        "source_warehouse_id",
        "destination_warehouse_id",
        "order_date",
        "dispatched_date",
        "received_date",
    ]
    rows = [
        # In transit A -> B since 28 Feb: arrives 3 March (estimated).
        (201, "TR-201", "Active", A, B, date(2026, 2, 26), date(2026, 2, 28), None),
        # Draft dated 4 March: leaves A on 4 March, arrives at B on 7 March.
        (202, "TR-202", "Draft", A, B, date(2026, 3, 4), None, None),
        # Draft dated in the past: leaves B today, arrives at A on 5 March.
        (203, "TR-203", "Draft", B, A, date(2026, 2, 20), None, None),
        # Received 14 Feb: listed as recent, nothing left to arrive.
        (204, "TR-204", "Delivered", A, B, date(2026, 2, 9), date(2026, 2, 10), date(2026, 2, 14)),
        # Received long ago: not listed.
        (205, "TR-205", "Delivered", A, B, date(2025, 10, 28), date(2025, 10, 29),
         date(2025, 11, 1)),
        # From a warehouse with no name on file, in transit since 1 March: arrives 4 March.
        (206, "TR-206", "Active", UNPLANNED_WAREHOUSE, A, date(2026, 2, 28), date(2026, 3, 1),
         None),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def transfer_lines() -> pd.DataFrame:
    columns = ["cin7_line_id", "cin7_transfer_id", "sku", "quantity"]
    rows = [
        (2001, 201, "MUG", 12.0),
        (2002, 202, "MUG", 5.0),
        (2003, 203, "TEA", 4.0),
        (2004, 204, "MUG", 7.0),
        (2005, 205, "MUG", 3.0),
        (2006, 206, "TEA", 1.0),
    ]
    return pd.DataFrame(rows, columns=columns)


def warehouses() -> pd.DataFrame:
    return pd.DataFrame({"warehouse_id": [A, B], "name": ["Auckland", "Wellington"]})


def inventory_latest() -> pd.DataFrame:
    """Cin7 stock rows. MUG at A has incoming and holding set, which must not reach the start."""
    columns = ["snapshot_date", "sku", "warehouse_id", "available", "incoming", "holding"]
    rows = [
        # An older snapshot, which only the latest one should count.
        (date(2026, 2, 28), "MUG", A, 999.0, 0.0, 0.0),
        (date(2026, 3, 1), "MUG", A, 50.0, 80.0, 12.0),
        (date(2026, 3, 1), "MUG", B, 5.0, 0.0, 0.0),
        (date(2026, 3, 1), "TEA", A, 8.0, 0.0, 0.0),
        (date(2026, 3, 1), "JAR", A, 6.0, 0.0, 0.0),
        (date(2026, 3, 1), "BOWL", B, 1.0, 6.0, 0.0),
        (date(2026, 3, 1), "LID", A, 9.0, 0.0, 0.0),
        # Nothing in stock, no demand, nothing coming: no rows.
        (date(2026, 3, 1), "CUP", B, 0.0, 0.0, 0.0),
    ]
    return pd.DataFrame(rows, columns=columns)


def demand_forecast() -> pd.DataFrame:
    """A flat forecast per day, written by hand so the projection is tested on its own."""
    daily = {("MUG", A): 4.0, ("MUG", B): 3.0, ("TEA", A): 1.0, ("JAR", A): 2.0, ("BOWL", B): 1.0}
    days = pd.date_range("2026-03-02", periods=SETTINGS.horizon_days, freq="D")
    return pd.DataFrame(
        [
            (sku, warehouse_id, forecast_day, quantity, "trailing_average")
            for (sku, warehouse_id), quantity in daily.items()
            for forecast_day in days
        ],
        columns=["sku", "warehouse_id", "forecast_date", "quantity", "method"],
    )
