"""Purchase orders and branch transfers as one list of replenishment lines.

Moselle shows a Cin7 branch transfer beside purchase orders, as stock coming in to the receiving
warehouse. Each line of an open order (Draft or Active) is listed, and each line of an order closed
(Delivered or Archived) within the last ``recent_closed_days`` days, so a planner can see what has
just arrived or been cancelled.

Expected arrival days (account-local calendar days):

- purchase order: its expected date (Cin7's ``estimatedDeliveryDate``); without one, the order day
  plus ``purchase_lead_time_days``, flagged as estimated.
- transfer in transit (Active): the dispatch day plus ``transfer_transit_days``, always flagged as
  estimated because Cin7 records no expected date on a transfer.
- draft transfer: it is planned to leave on its order day, or today if that day has passed, and to
  arrive ``transfer_transit_days`` later; flagged as estimated.
- delivered transfer: the day it was received.

The frame also carries what the projected stock needs and the ``replenishment_orders`` table keeps:
``source_warehouse_id`` (transfers only) and ``dispatch_date``, the day a transfer left its source,
or for a draft the day it is planned to.
"""

from __future__ import annotations

import logging
from datetime import date

import pandas as pd

from moselle_cin7.planning.frames import (
    ARCHIVED,
    CLOSED_STATUSES,
    DAY_DTYPE,
    DELIVERED,
    DRAFT,
    OPEN_STATUSES,
    as_day,
    as_days,
    canonical_status,
    require_columns,
)
from moselle_cin7.settings import PlanningSettings

logger = logging.getLogger(__name__)

PURCHASE_ORDER = "purchase_order"
TRANSFER = "transfer"

REPLENISHMENT_COLUMNS = [
    "kind",
    "cin7_line_id",
    "order_number",
    "status",
    "warehouse_id",
    "source",
    "source_warehouse_id",
    "order_date",
    "dispatch_date",
    "expected_date",
    "expected_date_estimated",
    "sku",
    "quantity",
    "quantity_open",
]

PURCHASE_ORDER_COLUMNS = (
    "cin7_order_id",
    "order_number",
    "status",
    "warehouse_id",
    "supplier",
    "order_date",
    "expected_date",
    "fully_received_date",
)
PURCHASE_ORDER_LINE_COLUMNS = (
    "cin7_line_id",
    "cin7_order_id",
    "sku",
    "quantity_ordered",
    "quantity_received",
)
TRANSFER_COLUMNS = (
    "cin7_transfer_id",
    "order_number",
    "status",
    "source_warehouse_id",
    "destination_warehouse_id",
    "order_date",
    "dispatched_date",
    "received_date",
)
TRANSFER_LINE_COLUMNS = ("cin7_line_id", "cin7_transfer_id", "sku", "quantity")


def build_replenishment_orders(
    purchase_orders: pd.DataFrame,
    purchase_order_lines: pd.DataFrame,
    transfers: pd.DataFrame,
    transfer_lines: pd.DataFrame,
    *,
    today: date,
    settings: PlanningSettings,
    warehouses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per line of the open and recently closed purchase orders and branch transfers.

    Args:
        purchase_orders, purchase_order_lines, transfers, transfer_lines: rows of the tables of the
            same names (the columns listed in ``*_COLUMNS`` above are required).
        today: the account-local day the plan starts on.
        settings: lead and transit times and the ``recent_closed_days`` window. An order counts as
            recently closed when it closed on or after ``today - recent_closed_days``.
        warehouses: optional ``warehouse_id``/``name`` rows, to name a transfer's sending warehouse.

    Returns:
        The ``REPLENISHMENT_COLUMNS``, sorted by kind, order number and line id. ``quantity_open``
        is what is still to arrive: ordered minus received for an open purchase order, the whole
        quantity for an open transfer, and zero once an order is Delivered or Archived.
    """
    today_day = as_day(today)
    recent_from = today_day - pd.Timedelta(days=settings.recent_closed_days)
    warehouse_names = _warehouse_names(warehouses)

    purchase_lines = _purchase_order_lines(
        purchase_orders, purchase_order_lines, recent_from=recent_from, settings=settings
    )
    transfer_rows = _transfer_lines(
        transfers,
        transfer_lines,
        today=today_day,
        recent_from=recent_from,
        settings=settings,
        warehouse_names=warehouse_names,
    )

    replenishment = pd.concat([purchase_lines, transfer_rows], ignore_index=True)
    replenishment = replenishment.sort_values(
        ["kind", "order_number", "cin7_line_id"], kind="stable", na_position="last"
    ).reset_index(drop=True)
    logger.info(
        "replenishment lines: %d purchase-order, %d transfer (today %s)",
        len(purchase_lines),
        len(transfer_rows),
        today,
    )
    return _typed(replenishment)


def _purchase_order_lines(
    purchase_orders: pd.DataFrame,
    purchase_order_lines: pd.DataFrame,
    *,
    recent_from: pd.Timestamp,
    settings: PlanningSettings,
) -> pd.DataFrame:
    require_columns(purchase_orders, PURCHASE_ORDER_COLUMNS, "purchase_orders")
    require_columns(purchase_order_lines, PURCHASE_ORDER_LINE_COLUMNS, "purchase_order_lines")

    headers = purchase_orders[list(PURCHASE_ORDER_COLUMNS)].copy()
    if "supplier_id" in purchase_orders.columns:
        headers["supplier_id"] = purchase_orders["supplier_id"]
    headers["status"] = _known_statuses(headers["status"], "purchase_orders")
    for column in ("order_date", "expected_date", "fully_received_date"):
        headers[column] = as_days(headers[column], f"purchase_orders.{column}")
    headers = headers[headers["status"].notna()]

    # Cin7 keeps no void date, so an Archived order is dated by the latest day it is known by; a
    # Delivered one by the day it was fully received, or the same fallback when that is missing.
    latest_known_day = headers[["order_date", "expected_date"]].max(axis=1)
    closed_on = headers["fully_received_date"].fillna(latest_known_day)
    is_open = headers["status"].isin(OPEN_STATUSES)
    headers = headers[
        is_open | (headers["status"].isin(CLOSED_STATUSES) & (closed_on >= recent_from))
    ]

    lines = _lines_with_headers(
        purchase_order_lines[list(PURCHASE_ORDER_LINE_COLUMNS)],
        headers,
        known_orders=purchase_orders["cin7_order_id"],
        key="cin7_order_id",
        what="purchase order",
    )
    estimated = lines["expected_date"].isna()
    lead_time = pd.Timedelta(days=settings.purchase_lead_time_days)
    still_to_receive = (lines["quantity_ordered"] - lines["quantity_received"]).clip(lower=0)
    source = lines["supplier"].astype("object")
    if "supplier_id" in lines.columns:
        unnamed = source.isna() & lines["supplier_id"].notna()
        source = source.mask(
            unnamed, "supplier " + lines["supplier_id"].astype("Int64").astype("string")
        )

    return pd.DataFrame(
        {
            "kind": PURCHASE_ORDER,
            "cin7_line_id": lines["cin7_line_id"],
            "order_number": lines["order_number"],
            "status": lines["status"],
            "warehouse_id": lines["warehouse_id"],
            "source": source,
            "source_warehouse_id": pd.NA,
            "order_date": lines["order_date"],
            "dispatch_date": pd.NaT,
            "expected_date": lines["expected_date"].fillna(lines["order_date"] + lead_time),
            "expected_date_estimated": estimated,
            "sku": lines["sku"],
            "quantity": lines["quantity_ordered"],
            "quantity_open": still_to_receive.where(lines["status"].isin(OPEN_STATUSES), 0.0),
        },
        columns=REPLENISHMENT_COLUMNS,
    )


def _transfer_lines(
    transfers: pd.DataFrame,
    transfer_lines: pd.DataFrame,
    *,
    today: pd.Timestamp,
    recent_from: pd.Timestamp,
    settings: PlanningSettings,
    warehouse_names: dict[int, str],
) -> pd.DataFrame:
    require_columns(transfers, TRANSFER_COLUMNS, "transfers")
    require_columns(transfer_lines, TRANSFER_LINE_COLUMNS, "transfer_lines")

    headers = transfers[list(TRANSFER_COLUMNS)].copy()
    headers["status"] = _known_statuses(headers["status"], "transfers")
    for column in ("order_date", "dispatched_date", "received_date"):
        headers[column] = as_days(headers[column], f"transfers.{column}")
    headers = headers[headers["status"].notna()]

    # A draft is planned to leave on the day it is dated, or today once that day has passed. A
    # dispatched transfer left on its dispatch day; lacking one (a data gap) its order day is used.
    is_draft = headers["status"] == DRAFT
    planned_dispatch = headers["order_date"].clip(lower=today)
    dispatch_day = headers["dispatched_date"].fillna(headers["order_date"])
    headers["dispatch_date"] = planned_dispatch.where(is_draft, dispatch_day)

    closed_on = headers["received_date"].fillna(headers["dispatch_date"])
    is_open = headers["status"].isin(OPEN_STATUSES)
    headers = headers[
        is_open | (headers["status"].isin(CLOSED_STATUSES) & (closed_on >= recent_from))
    ]

    lines = _lines_with_headers(
        transfer_lines[list(TRANSFER_LINE_COLUMNS)],
        headers,
        known_orders=transfers["cin7_transfer_id"],
        key="cin7_transfer_id",
        what="transfer",
    )
    # Only a received transfer has a known arrival day; Cin7 keeps no expected day for the rest.
    received = (lines["status"] == DELIVERED) & lines["received_date"].notna()
    transit = pd.Timedelta(days=settings.transfer_transit_days)
    expected = lines["received_date"].where(received, lines["dispatch_date"] + transit)
    quantity_open = lines["quantity"].where(lines["status"].isin(OPEN_STATUSES), 0.0)

    return pd.DataFrame(
        {
            "kind": TRANSFER,
            "cin7_line_id": lines["cin7_line_id"],
            "order_number": lines["order_number"],
            "status": lines["status"],
            "warehouse_id": lines["destination_warehouse_id"],
            "source": lines["source_warehouse_id"].map(
                lambda warehouse_id: _warehouse_label(warehouse_id, warehouse_names)
            ),
            "source_warehouse_id": lines["source_warehouse_id"],
            "order_date": lines["order_date"],
            "dispatch_date": lines["dispatch_date"],
            "expected_date": expected,
            "expected_date_estimated": ~received,
            "sku": lines["sku"],
            "quantity": lines["quantity"],
            "quantity_open": quantity_open,
        },
        columns=REPLENISHMENT_COLUMNS,
    )


def _known_statuses(statuses: pd.Series, frame_name: str) -> pd.Series:
    canonical = canonical_status(statuses)
    unknown = canonical.isna()
    if unknown.any():
        logger.warning(
            "%s: %d order(s) with a status other than %s left out: %s",
            frame_name,
            int(unknown.sum()),
            "/".join((*OPEN_STATUSES, DELIVERED, ARCHIVED)),
            sorted(statuses[unknown].astype("string").fillna("<null>").unique())[:5],
        )
    return canonical


def _lines_with_headers(
    lines: pd.DataFrame, headers: pd.DataFrame, *, known_orders: pd.Series, key: str, what: str
) -> pd.DataFrame:
    """Lines joined to the kept headers; lines of an order that is not known at all are logged."""
    orphans = int((~lines[key].isin(known_orders)).sum())
    if orphans:
        logger.warning("%d %s line(s) belong to no known %s; left out", orphans, what, what)
    return lines.merge(headers, on=key, how="inner", validate="many_to_one")


def _warehouse_names(warehouses: pd.DataFrame | None) -> dict[int, str]:
    if warehouses is None or warehouses.empty:
        return {}
    require_columns(warehouses, ("warehouse_id", "name"), "warehouses")
    named = warehouses.dropna(subset=["warehouse_id", "name"])
    return {
        int(warehouse_id): str(name)
        for warehouse_id, name in named[["warehouse_id", "name"]].values
    }


def _warehouse_label(warehouse_id: object, warehouse_names: dict[int, str]) -> str | None:
    if pd.isna(warehouse_id):
        return None
    return warehouse_names.get(int(warehouse_id), f"warehouse {int(warehouse_id)}")


def _typed(replenishment: pd.DataFrame) -> pd.DataFrame:
    return replenishment.astype(
        {
            "kind": "str",
            "cin7_line_id": "int64",
            "order_number": "str",
            "status": "str",
            "warehouse_id": "Int64",
            "source": "str",
            "source_warehouse_id": "Int64",
            "order_date": DAY_DTYPE,
            "dispatch_date": DAY_DTYPE,
            "expected_date": DAY_DTYPE,
            "expected_date_estimated": "bool",
            "sku": "str",
            "quantity": "float64",
            "quantity_open": "float64",
        }
    )
