"""Stock outlook and stockout risks from the scenario's projected stock."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from moselle_cin7.planning.outlook import (
    STOCK_OUTLOOK_COLUMNS,
    build_stock_outlook,
    top_stockout_risks,
)
from moselle_cin7.planning.projection import build_projected_stock, empty_projected_stock
from moselle_cin7.planning.replenishment import build_replenishment_orders
from moselle_cin7_tests.planning import scenario
from moselle_cin7_tests.planning.scenario import A, B, day


@pytest.fixture(scope="module")
def outlook() -> pd.DataFrame:
    replenishment = build_replenishment_orders(
        scenario.purchase_orders(),
        scenario.purchase_order_lines(),
        scenario.transfers(),
        scenario.transfer_lines(),
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
    )
    projected_stock = build_projected_stock(
        scenario.inventory_latest(),
        replenishment,
        scenario.demand_forecast(),
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
    )
    return build_stock_outlook(projected_stock)


def test_outlook_per_pair(outlook: pd.DataFrame) -> None:
    """From the projections in test_projection, plus:

    BOWL at B: 1 in stock, 1 a day, out on 2 Mar; PO-108 brings 6 only on 5 Mar.
    JAR at A: 6 in stock, 2 a day, out on 4 Mar, nothing on order.
    LID at A: stock and no demand. TEA at B goes negative from a draft transfer out, but with no
    demand there it has no stockout day.
    """
    NaT = pd.NaT
    nan = math.nan
    expected = pd.DataFrame(
        [
            ("BOWL", B, 1.0, 1.0, 1.0, day("2026-03-02"), day("2026-03-05"), True),
            ("JAR", A, 6.0, 2.0, 3.0, day("2026-03-04"), NaT, True),
            ("LID", A, 9.0, 0.0, nan, NaT, NaT, False),
            ("MUG", A, 50.0, 4.0, 12.5, NaT, day("2026-03-02"), False),
            ("MUG", B, 5.0, 3.0, 5 / 3, day("2026-03-09"), day("2026-03-03"), False),
            ("TEA", A, 8.0, 1.0, 8.0, NaT, day("2026-03-04"), False),
            ("TEA", B, 0.0, 0.0, nan, NaT, day("2026-03-11"), False),
        ],
        columns=STOCK_OUTLOOK_COLUMNS,
    ).astype(outlook.dtypes.to_dict())

    pd.testing.assert_frame_equal(outlook, expected)


def test_top_risks_put_stockouts_before_any_arrival_first(outlook: pd.DataFrame) -> None:
    risks = top_stockout_risks(outlook)

    assert [tuple(pair) for pair in risks[["sku", "warehouse_id"]].itertuples(index=False)] == [
        ("BOWL", B),  # out 2 Mar, before its arrival
        ("JAR", A),  # out 4 Mar, nothing coming
        ("MUG", B),  # out 9 Mar, after an arrival
    ]


def test_top_risks_keep_n_and_break_ties_by_cover() -> None:
    outlook = pd.DataFrame(
        [
            ("CUP", A, 4.0, 1.0, 4.0, day("2026-03-05"), pd.NaT, True),
            ("JUG", A, 2.0, 1.0, 2.0, day("2026-03-05"), pd.NaT, True),
            ("POT", B, 9.0, 1.0, 9.0, day("2026-03-03"), day("2026-03-02"), False),
            ("PAN", B, 9.0, 0.0, math.nan, pd.NaT, pd.NaT, False),
        ],
        columns=STOCK_OUTLOOK_COLUMNS,
    )

    risks = top_stockout_risks(outlook, n=2)

    assert risks["sku"].tolist() == ["JUG", "CUP"]


def test_empty_projection_gives_an_empty_outlook() -> None:
    outlook = build_stock_outlook(empty_projected_stock())

    assert outlook.empty
    assert list(outlook.columns) == STOCK_OUTLOOK_COLUMNS
