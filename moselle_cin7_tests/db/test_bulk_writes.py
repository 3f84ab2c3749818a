"""The planning tables' bulk writes store exactly what SQLAlchemy's own insert stores."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.planning.assets import table_rows, write_frame


def _projected_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["MUG", "MUG", "TEA \u00e9", "TEA \u00e9"],
            "warehouse_id": np.array([3, 3, 4, 4], dtype=np.int64),
            "projection_date": pd.to_datetime(["2026-12-04", "2026-12-05"] * 2),
            "starting_quantity": [5.0, 4.5, -1.0, 0.0],
            "purchase_receipts": [0.0, 10.0, 0.0, 0.0],
            "transfers_in": [0.0, 0.0, 1.0, 0.0],
            "transfers_out": [0.0, 0.0, 0.0, 0.0],
            "forecast_demand": [0.5, 0.25, 0.0, 0.0],
            "projected_quantity": [4.5, 14.25, 0.0, 0.0],
            "includes_estimated_dates": [False, True, True, False],
        }
    )


def _outlook_frame() -> pd.DataFrame:
    """Null days (NaT) and a NaN cover, as a pair with no demand has."""
    return pd.DataFrame(
        {
            "sku": ["LID", "MUG"],
            "warehouse_id": np.array([3, 3], dtype=np.int64),
            "available_now": [9.0, 5.0],
            "daily_demand": [0.0, 0.5],
            "days_of_cover": [np.nan, 10.0],
            "stockout_date": pd.to_datetime([None, "2026-12-14"]),
            "next_incoming_date": pd.to_datetime([None, "2026-12-05"]),
            "stockout_before_incoming": [False, False],
        }
    )


def _stored(engine: sa.Engine, table: sa.Table) -> list[tuple]:
    """Rows as SQLite holds them (no SQLAlchemy result processing), in key order."""
    columns = ", ".join(column.name for column in table.columns)
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(f"SELECT {columns} FROM {table.name} ORDER BY 1, 2, 3"))


def test_write_frame_stores_what_table_insert_stores(tmp_path: Path) -> None:
    fast = PlanningDatabase(url=f"sqlite:///{tmp_path / 'fast.sqlite'}").get_engine()
    plain = PlanningDatabase(url=f"sqlite:///{tmp_path / 'plain.sqlite'}").get_engine()

    for table, frame in (
        (schema.projected_stock, _projected_frame()),
        (schema.stock_outlook, _outlook_frame()),
    ):
        with fast.begin() as conn:
            assert write_frame(conn, table, frame) == len(frame)
        with plain.begin() as conn:
            conn.execute(sa.insert(table), table_rows(frame))
        assert _stored(fast, table) == _stored(plain, table)

    stored = _stored(fast, schema.projected_stock)
    assert stored[1][2:4] == ("2026-12-05", 4.5)
    assert stored[1][-1] == 1
    outlook = _stored(fast, schema.stock_outlook)
    assert outlook[0][5:8] == (None, None, 0)
    with fast.connect() as conn:
        days = conn.execute(sa.select(schema.stock_outlook.c.stockout_date)).scalars().all()
    # Read back through SQLAlchemy, the text is a day again.
    assert set(days) == {None, date(2026, 12, 14)}
