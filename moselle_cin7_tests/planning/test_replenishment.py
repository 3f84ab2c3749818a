"""Purchase orders and branch transfers listed together as replenishment lines."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from moselle_cin7.planning.frames import PlanningInputError
from moselle_cin7.planning.replenishment import REPLENISHMENT_COLUMNS, build_replenishment_orders
from moselle_cin7_tests.planning import scenario
from moselle_cin7_tests.planning.scenario import UNPLANNED_WAREHOUSE, A, B, day


def _replenishment(**overrides: pd.DataFrame) -> pd.DataFrame:
    tables = {
        "purchase_orders": scenario.purchase_orders(),
        "purchase_order_lines": scenario.purchase_order_lines(),
        "transfers": scenario.transfers(),
        "transfer_lines": scenario.transfer_lines(),
        **overrides,
    }
    return build_replenishment_orders(
        tables["purchase_orders"],
        tables["purchase_order_lines"],
        tables["transfers"],
        tables["transfer_lines"],
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
        warehouses=scenario.warehouses(),
    )


def _by_line(replenishment: pd.DataFrame) -> dict[int, dict[str, object]]:
    return {row["cin7_line_id"]: row for row in replenishment.to_dict("records")}


def test_lists_open_and_recent_lines_with_their_arrival_days() -> None:
    """Every kept line, worked out from the scenario by hand (today is 2 March 2026)."""
    NA = pd.NA
    NaT = pd.NaT
    expected_rows = [
        # kind, line, order, status, warehouse, source, source warehouse,
        # order day, dispatch day, expected day, estimated, sku, quantity, open quantity
        ("purchase_order", 1001, "PO-101", "Active", A, "Acme", NA,
         day("2026-02-20"), NaT, day("2026-03-06"), False, "MUG", 100.0, 70.0),
        ("purchase_order", 1006, "PO-101", "Active", A, "Acme", NA,
         day("2026-02-20"), NaT, day("2026-03-06"), False, "TEA", 10.0, 0.0),
        ("purchase_order", 1002, "PO-102", "Draft", B, "supplier 77", NA,
         day("2026-02-25"), NaT, day("2026-03-11"), True, "TEA", 20.0, 20.0),
        ("purchase_order", 1003, "PO-103", "Archived", A, "Acme", NA,
         day("2026-02-26"), NaT, day("2026-03-05"), False, "MUG", 50.0, 0.0),
        ("purchase_order", 1004, "PO-104", "Delivered", A, "Acme", NA,
         day("2026-02-01"), NaT, day("2026-02-27"), False, "MUG", 40.0, 0.0),
        ("purchase_order", 1007, "PO-107", "Active", A, "Acme", NA,
         day("2026-02-01"), NaT, day("2026-02-25"), False, "MUG", 10.0, 10.0),
        ("purchase_order", 1008, "PO-108", "Active", B, "Potter", NA,
         day("2026-02-20"), NaT, day("2026-03-05"), False, "BOWL", 6.0, 6.0),
        ("purchase_order", 1009, "PO-109", "Active", A, "Acme", NA,
         day("2026-03-01"), NaT, day("2026-04-30"), False, "SPOON", 24.0, 24.0),
        ("transfer", 2001, "TR-201", "Active", B, "Auckland", A,
         day("2026-02-26"), day("2026-02-28"), day("2026-03-03"), True, "MUG", 12.0, 12.0),
        ("transfer", 2002, "TR-202", "Draft", B, "Auckland", A,
         day("2026-03-04"), day("2026-03-04"), day("2026-03-07"), True, "MUG", 5.0, 5.0),
        ("transfer", 2003, "TR-203", "Draft", A, "Wellington", B,
         day("2026-02-20"), day("2026-03-02"), day("2026-03-05"), True, "TEA", 4.0, 4.0),
        ("transfer", 2004, "TR-204", "Delivered", B, "Auckland", A,
         day("2026-02-09"), day("2026-02-10"), day("2026-02-14"), False, "MUG", 7.0, 0.0),
        ("transfer", 2006, "TR-206", "Active", A, "warehouse 9", UNPLANNED_WAREHOUSE,
         day("2026-02-28"), day("2026-03-01"), day("2026-03-04"), True, "TEA", 1.0, 1.0),
    ]  # fmt: skip
    expected = pd.DataFrame(expected_rows, columns=REPLENISHMENT_COLUMNS).astype(
        _replenishment().dtypes.to_dict()
    )

    pd.testing.assert_frame_equal(_replenishment(), expected)


def test_purchase_order_without_expected_date_gets_the_lead_time_and_a_flag() -> None:
    line = _by_line(_replenishment())[1002]

    assert line["expected_date"] == day("2026-02-25") + pd.Timedelta(days=14)
    assert line["expected_date_estimated"]


def test_voided_and_delivered_orders_have_nothing_left_to_arrive() -> None:
    lines = _by_line(_replenishment())

    assert (lines[1003]["status"], lines[1003]["quantity_open"]) == ("Archived", 0.0)
    assert (lines[1004]["status"], lines[1004]["quantity_open"]) == ("Delivered", 0.0)
    assert (lines[2004]["status"], lines[2004]["quantity_open"]) == ("Delivered", 0.0)


def test_orders_closed_before_the_recent_window_and_orphan_lines_are_left_out() -> None:
    line_ids = set(_replenishment()["cin7_line_id"])

    assert {1005, 2005, 1099}.isdisjoint(line_ids)


@pytest.mark.parametrize(
    ("received_on", "listed"),
    [
        (date(2026, 1, 31), True),  # exactly 30 days before today: inside the window
        (date(2026, 1, 30), False),
    ],
)
def test_recent_window_counts_back_recent_closed_days_from_today(
    received_on: date, listed: bool
) -> None:
    purchase_orders = pd.DataFrame(
        [(1, "PO-1", "Delivered", A, "Acme", date(2026, 1, 2), None, received_on)],
        columns=[
            "cin7_order_id", "order_number", "status", "warehouse_id", "supplier",
            "order_date", "expected_date", "fully_received_date",
        ],
    )  # fmt: skip
    lines = pd.DataFrame(
        [(11, 1, "MUG", 5.0, 5.0)],
        columns=["cin7_line_id", "cin7_order_id", "sku", "quantity_ordered", "quantity_received"],
    )

    replenishment = _replenishment(
        purchase_orders=purchase_orders,
        purchase_order_lines=lines,
        transfers=scenario.transfers().iloc[0:0],
    )

    assert (11 in set(replenishment["cin7_line_id"])) is listed


def test_statuses_are_read_without_regard_to_case_and_unknown_ones_are_left_out() -> None:
    purchase_orders = scenario.purchase_orders()
    purchase_orders.loc[purchase_orders["cin7_order_id"] == 101, "status"] = " ACTIVE "
    purchase_orders.loc[purchase_orders["cin7_order_id"] == 108, "status"] = "Parked"

    lines = _by_line(_replenishment(purchase_orders=purchase_orders))

    assert (lines[1001]["status"], lines[1001]["quantity_open"]) == ("Active", 70.0)
    assert 1008 not in lines


def test_sending_warehouse_is_named_by_id_when_no_names_are_given() -> None:
    replenishment = build_replenishment_orders(
        scenario.purchase_orders(),
        scenario.purchase_order_lines(),
        scenario.transfers(),
        scenario.transfer_lines(),
        today=scenario.TODAY,
        settings=scenario.SETTINGS,
    )

    assert _by_line(replenishment)[2001]["source"] == "warehouse 1"


def test_today_must_be_a_calendar_day_not_an_instant() -> None:
    with pytest.raises(TypeError, match="account-local day"):
        build_replenishment_orders(
            scenario.purchase_orders(),
            scenario.purchase_order_lines(),
            scenario.transfers(),
            scenario.transfer_lines(),
            today=datetime(2026, 3, 2, 9, 30),
            settings=scenario.SETTINGS,
        )


def test_a_missing_column_is_named() -> None:
    with pytest.raises(PlanningInputError, match=r"transfers lacks the column.*received_date"):
        _replenishment(transfers=scenario.transfers().drop(columns="received_date"))
