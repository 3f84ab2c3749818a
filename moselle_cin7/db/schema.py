"""The planning database: raw Cin7 records, Moselle's model, planning outputs and bookkeeping.

One SQLAlchemy ``MetaData`` describes every table, for SQLite (the demo) and PostgreSQL
(production) alike; Alembic migrations are generated from it. Day columns hold account-local
calendar days; timestamp columns hold UTC instants.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
Json = sa.JSON().with_variant(JSONB(), "postgresql")
UtcTimestamp = sa.DateTime(timezone=True)


def _raw_table(
    name: str, *key_columns: sa.Column | sa.Constraint, partitioned: bool = True
) -> sa.Table:
    """A table that keeps Cin7 records whole, so mapping can be re-run without calling Cin7."""
    columns: list[sa.Column | sa.Constraint] = [c for c in key_columns if isinstance(c, sa.Column)]
    if partitioned:
        columns.append(sa.Column("partition_day", sa.Date, nullable=False, index=True))
    columns += [
        sa.Column("modified_date", UtcTimestamp),
        sa.Column("payload", Json, nullable=False),
        sa.Column("synced_at", UtcTimestamp, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
    ]
    # Constraints go last: they name columns that must already be declared.
    columns += [c for c in key_columns if not isinstance(c, sa.Column)]
    return sa.Table(name, metadata, *columns)


# --- raw Cin7 records -------------------------------------------------------------------------
# Transactions: each Cin7 record is stored once (unique id), in the partition of its current
# business day. Snapshots (products, stock): one copy per snapshot day.
raw_sales_orders = _raw_table(
    "raw_sales_orders", sa.Column("cin7_id", sa.BigInteger, primary_key=True, autoincrement=False)
)
raw_purchase_orders = _raw_table(
    "raw_purchase_orders",
    sa.Column("cin7_id", sa.BigInteger, primary_key=True, autoincrement=False),
)
raw_branch_transfers = _raw_table(
    "raw_branch_transfers",
    sa.Column("cin7_id", sa.BigInteger, primary_key=True, autoincrement=False),
)
raw_products = _raw_table(
    "raw_products",
    sa.Column("cin7_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("partition_day", "cin7_id"),
)
# Stock rows have no id in Cin7: an option at a branch is the key.
raw_stock = _raw_table(
    "raw_stock",
    sa.Column("product_option_id", sa.BigInteger, nullable=False),
    sa.Column("branch_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("partition_day", "product_option_id", "branch_id"),
)
raw_branches = _raw_table(
    "raw_branches",
    sa.Column("cin7_id", sa.BigInteger, primary_key=True, autoincrement=False),
    partitioned=False,
)

# --- Moselle's model --------------------------------------------------------------------------
# ``mapping_issue`` keeps a row whose Cin7 value does not fit (unknown branch, SKU missing from
# products, unparseable date) with the reason, instead of dropping it.
products = sa.Table(
    "products",
    metadata,
    sa.Column("cin7_option_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("sku", sa.String(100), unique=True),
    sa.Column("name", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("cin7_product_id", sa.BigInteger, nullable=False),
    sa.Column("option_name", sa.Text),
    sa.Column("status", sa.String(40)),
    sa.Column("custom_fields", Json),
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("mapping_issue", sa.Text),
)

warehouses = sa.Table(
    "warehouses",
    metadata,
    sa.Column("warehouse_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text),
    sa.Column("branch_type", sa.String(60)),
    sa.Column("enabled", sa.Boolean, nullable=False),
)

sales_order_lines = sa.Table(
    "sales_order_lines",
    metadata,
    sa.Column("cin7_line_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("cin7_order_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("order_number", sa.String(60)),
    sa.Column("order_date", sa.Date, nullable=False, index=True),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("warehouse_id", sa.BigInteger),
    sa.Column("sku", sa.String(100)),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("unit_price", sa.Float),
    sa.Column("kit_parent_line_id", sa.BigInteger),
    sa.Column("custom_fields", Json),
    sa.Column("mapping_issue", sa.Text),
)

purchase_orders = sa.Table(
    "purchase_orders",
    metadata,
    sa.Column("cin7_order_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("order_number", sa.String(60)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("warehouse_id", sa.BigInteger),
    sa.Column("supplier", sa.Text),
    sa.Column("supplier_id", sa.BigInteger),
    sa.Column("order_date", sa.Date, nullable=False, index=True),
    sa.Column("expected_date", sa.Date),
    sa.Column("fully_received_date", sa.Date),
    sa.Column("custom_fields", Json),
    sa.Column("mapping_issue", sa.Text),
)

purchase_order_lines = sa.Table(
    "purchase_order_lines",
    metadata,
    sa.Column("cin7_line_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("cin7_order_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("order_date", sa.Date, nullable=False, index=True),
    sa.Column("sku", sa.String(100)),
    sa.Column("quantity_ordered", sa.Float, nullable=False),
    sa.Column("quantity_received", sa.Float, nullable=False),
    sa.Column("mapping_issue", sa.Text),
)

transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("cin7_transfer_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("order_number", sa.String(60)),
    sa.Column("source_warehouse_id", sa.BigInteger),
    sa.Column("destination_warehouse_id", sa.BigInteger),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("order_date", sa.Date, nullable=False, index=True),
    sa.Column("dispatched_date", sa.Date),
    sa.Column("received_date", sa.Date),
    sa.Column("custom_fields", Json),
    sa.Column("mapping_issue", sa.Text),
)

transfer_lines = sa.Table(
    "transfer_lines",
    metadata,
    sa.Column("cin7_line_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("cin7_transfer_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("order_date", sa.Date, nullable=False, index=True),
    sa.Column("sku", sa.String(100)),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("mapping_issue", sa.Text),
)

inventory = sa.Table(
    "inventory",
    metadata,
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("cin7_option_id", sa.BigInteger, nullable=False),
    sa.Column("warehouse_id", sa.BigInteger, nullable=False),
    sa.Column("sku", sa.String(100)),
    sa.Column("available", sa.Float, nullable=False),
    sa.Column("incoming", sa.Float, nullable=False),
    sa.Column("on_hand", sa.Float, nullable=False),
    sa.Column("open_sales", sa.Float, nullable=False),
    sa.Column("holding", sa.Float, nullable=False),
    sa.Column("mapped_at", UtcTimestamp, nullable=False),
    sa.Column("mapping_issue", sa.Text),
    sa.PrimaryKeyConstraint("snapshot_date", "cin7_option_id", "warehouse_id"),
)

# --- planning outputs (rebuilt after each sync) ------------------------------------------------
# Purchase-order and transfer lines side by side (``kind``): ``warehouse_id`` receives the stock,
# ``source`` names the supplier or the sending warehouse. ``dispatch_date`` is the day a transfer
# left, or for a draft the day it is planned to; ``expected_date_estimated`` marks arrival days
# that Cin7 did not give (lead or transit time added instead).
replenishment_orders = sa.Table(
    "replenishment_orders",
    metadata,
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("cin7_line_id", sa.BigInteger, nullable=False),
    sa.Column("order_number", sa.String(60)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("warehouse_id", sa.BigInteger),
    sa.Column("source", sa.Text),
    sa.Column("source_warehouse_id", sa.BigInteger),
    sa.Column("order_date", sa.Date, nullable=False),
    sa.Column("dispatch_date", sa.Date),
    sa.Column("expected_date", sa.Date),
    sa.Column("expected_date_estimated", sa.Boolean, nullable=False),
    sa.Column("sku", sa.String(100)),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("quantity_open", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint("kind", "cin7_line_id"),
)

demand_forecast = sa.Table(
    "demand_forecast",
    metadata,
    sa.Column("sku", sa.String(100), nullable=False),
    sa.Column("warehouse_id", sa.BigInteger, nullable=False),
    sa.Column("forecast_date", sa.Date, nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("method", sa.String(40), nullable=False),
    sa.PrimaryKeyConstraint("sku", "warehouse_id", "forecast_date"),
)

# Each row reconciles: projected_quantity = starting_quantity + purchase_receipts + transfers_in
# - transfers_out - forecast_demand; the next day starts from it.
projected_stock = sa.Table(
    "projected_stock",
    metadata,
    sa.Column("sku", sa.String(100), nullable=False),
    sa.Column("warehouse_id", sa.BigInteger, nullable=False),
    sa.Column("projection_date", sa.Date, nullable=False),
    sa.Column("starting_quantity", sa.Float, nullable=False),
    sa.Column("purchase_receipts", sa.Float, nullable=False),
    sa.Column("transfers_in", sa.Float, nullable=False),
    sa.Column("transfers_out", sa.Float, nullable=False),
    sa.Column("forecast_demand", sa.Float, nullable=False),
    sa.Column("projected_quantity", sa.Float, nullable=False),
    sa.Column("includes_estimated_dates", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("sku", "warehouse_id", "projection_date"),
)

stock_outlook = sa.Table(
    "stock_outlook",
    metadata,
    sa.Column("sku", sa.String(100), nullable=False),
    sa.Column("warehouse_id", sa.BigInteger, nullable=False),
    sa.Column("available_now", sa.Float, nullable=False),
    sa.Column("daily_demand", sa.Float, nullable=False),
    sa.Column("days_of_cover", sa.Float),
    sa.Column("stockout_date", sa.Date),
    sa.Column("next_incoming_date", sa.Date),
    sa.Column("stockout_before_incoming", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("sku", "warehouse_id"),
)

# --- bookkeeping ------------------------------------------------------------------------------
quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(60), nullable=False),
    sa.Column("record_key", sa.Text, nullable=False),
    sa.Column("check_name", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_seen", UtcTimestamp, nullable=False),
    sa.Column("last_seen", UtcTimestamp, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.UniqueConstraint("table_name", "record_key", "check_name", name="uq_quarantine_record"),
)

# One row per run, endpoint and UTC day: the daily budget is 5,000 calls per API connection.
api_calls = sa.Table(
    "api_calls",
    metadata,
    sa.Column("call_day", sa.Date, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("endpoint", sa.String(40), nullable=False),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("call_day", "run_id", "endpoint"),
)

# When each entity last synced successfully, for the freshness checks.
sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("last_success_at", UtcTimestamp, nullable=False),
    sa.Column("last_window_start", sa.Date),
    sa.Column("last_window_end", sa.Date),
    sa.Column("run_id", sa.String(64), nullable=False),
)
