"""pandera models of every raw and mapped table: what each column must hold.

Frames are built with ``dtype=object`` so the values keep the Python type that JSON (raw payloads)
or the database driver (mapped tables) gave them: a quantity that arrives as the text ``"7"`` must
fail, not be quietly coerced to a number. Value checks therefore run element by element, and nulls
are judged by each column's ``nullable`` flag, never by the value checks.

Raw payload columns carry Cin7's own camelCase field names; nested lines (order lines, product
options) have a model of their own, one row per line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import pandera.errors
import pandera.pandas as pa

from moselle_cin7.mapping import rules as mapping_rules
from moselle_cin7.timeutil import Cin7DateError, parse_cin7_datetime

# --- value checks -----------------------------------------------------------------------------
# Each check is named as the thing a value should be, so a failure reads "qty '7' is not a number".


def is_whole_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _list(value: Any) -> bool:
    return isinstance(value, list)


def _calendar_day(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _cin7_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_cin7_datetime(value)
    except Cin7DateError:
        return False
    return True


def _value_check(predicate: Callable[[Any], bool], name: str) -> pa.Check:
    return pa.Check(predicate, element_wise=True, name=name)


WHOLE_NUMBER = _value_check(is_whole_number, "a whole number")
NUMBER = _value_check(_finite_number, "a finite number")
TEXT = _value_check(_text, "text")
FLAG = _value_check(_flag, "true or false")
LIST = _value_check(_list, "a list")
CALENDAR_DAY = _value_check(_calendar_day, "a calendar date")
CIN7_DATE = _value_check(_cin7_date, "a readable Cin7 date")


def one_of(*allowed: str) -> pa.Check:
    return _value_check(lambda value: value in allowed, f"one of {', '.join(allowed)}")


def _column(check: pa.Check, *, nullable: bool = True, unique: bool = False) -> pa.Column:
    return pa.Column(object, checks=check, nullable=nullable, unique=unique)


def _matches_stored_key(stored_to_payload: Mapping[str, str]) -> pa.Check:
    """The payload's own id fields equal the key columns the row is stored under."""

    def matches(frame: pd.DataFrame) -> pd.Series:
        ok = pd.Series(True, index=frame.index)
        for stored, field in stored_to_payload.items():
            ok &= frame[field].isna() | (frame[field] == frame[stored])
        return ok

    check = pa.Check(matches, name="payload id equals the stored key")
    # Row checks are reported by pandera for every column of the frame; only these matter.
    check.row_columns = [*stored_to_payload, *stored_to_payload.values()]
    return check


def _raw_schema(
    name: str,
    stored_keys: Mapping[str, str],
    columns: Mapping[str, pa.Column],
) -> pa.DataFrameSchema:
    key_columns = {stored: _column(WHOLE_NUMBER, nullable=False) for stored in stored_keys}
    return pa.DataFrameSchema(
        {**key_columns, **columns},
        checks=[_matches_stored_key(stored_keys)],
        name=name,
    )


# --- raw Cin7 records -------------------------------------------------------------------------

_ORDER_HEADER = {
    "id": _column(WHOLE_NUMBER, nullable=False),
    "reference": _column(TEXT),
    "createdDate": _column(CIN7_DATE),
    "modifiedDate": _column(CIN7_DATE),
    "status": _column(TEXT),
    "stage": _column(TEXT),
    "isVoid": _column(FLAG),
    "branchId": _column(WHOLE_NUMBER),
    "memberId": _column(WHOLE_NUMBER),
    "lineItems": _column(LIST),
}

RAW_SALES_ORDERS = _raw_schema(
    "raw_sales_orders",
    {"cin7_id": "id"},
    {
        **_ORDER_HEADER,
        # A sales order without an invoice date is not invoiced yet; only its form is checked.
        "invoiceDate": _column(CIN7_DATE),
        "dispatchedDate": _column(CIN7_DATE),
        "source": _column(TEXT),
        "customerOrderNo": _column(TEXT),
    },
)

RAW_PURCHASE_ORDERS = _raw_schema(
    "raw_purchase_orders",
    {"cin7_id": "id"},
    {
        **_ORDER_HEADER,
        # Purchase orders are partitioned by createdDate, which every record has.
        "createdDate": _column(CIN7_DATE, nullable=False),
        "estimatedDeliveryDate": _column(CIN7_DATE),
        "fullyReceivedDate": _column(CIN7_DATE),
    },
)

RAW_BRANCH_TRANSFERS = _raw_schema(
    "raw_branch_transfers",
    {"cin7_id": "id"},
    {
        "id": _column(WHOLE_NUMBER, nullable=False),
        "reference": _column(TEXT),
        "createdDate": _column(CIN7_DATE, nullable=False),
        "modifiedDate": _column(CIN7_DATE),
        "dispatchedDate": _column(CIN7_DATE),
        "receivedDate": _column(CIN7_DATE),
        "sourceBranchId": _column(WHOLE_NUMBER),
        "destinationBranchId": _column(WHOLE_NUMBER),
        "lineItems": _column(LIST),
    },
)

# One row per line of an order or transfer. ``qtyShipped`` is the received quantity on PO lines.
RAW_TRANSACTION_LINES = pa.DataFrameSchema(
    {
        "id": _column(WHOLE_NUMBER, nullable=False),
        "code": _column(TEXT),
        "productOptionId": _column(WHOLE_NUMBER),
        "parentId": _column(WHOLE_NUMBER),
        "qty": _column(NUMBER),
        "qtyShipped": _column(NUMBER),
    },
    name="transaction lines",
)

RAW_PRODUCTS = _raw_schema(
    "raw_products",
    {"cin7_id": "id"},
    {
        "id": _column(WHOLE_NUMBER, nullable=False),
        "name": _column(TEXT),
        "category": _column(TEXT),
        "status": _column(TEXT),
        "modifiedDate": _column(CIN7_DATE),
        "productOptions": _column(LIST),
    },
)

RAW_PRODUCT_OPTIONS = pa.DataFrameSchema(
    {
        "id": _column(WHOLE_NUMBER, nullable=False),
        "code": _column(TEXT),
        "productOptionCode": _column(TEXT),
        "status": _column(TEXT),
    },
    name="product options",
)

RAW_STOCK = _raw_schema(
    "raw_stock",
    {"product_option_id": "productOptionId", "branch_id": "branchId"},
    {
        "productOptionId": _column(WHOLE_NUMBER, nullable=False),
        "branchId": _column(WHOLE_NUMBER, nullable=False),
        "code": _column(TEXT),
        "available": _column(NUMBER),
        "stockOnHand": _column(NUMBER),
        "openSales": _column(NUMBER),
        "incoming": _column(NUMBER),
        "holding": _column(NUMBER),
        "modifiedDate": _column(CIN7_DATE),
    },
)

RAW_BRANCHES = _raw_schema(
    "raw_branches",
    {"cin7_id": "id"},
    {
        "id": _column(WHOLE_NUMBER, nullable=False),
        "company": _column(TEXT),
        "isActive": _column(FLAG),
        "branchType": _column(TEXT),
    },
)

# --- Moselle's model --------------------------------------------------------------------------

_PO_STATUSES = (
    mapping_rules.DRAFT,
    mapping_rules.ACTIVE,
    mapping_rules.DELIVERED,
    mapping_rules.ARCHIVED,
)
_TRANSFER_STATUSES = (mapping_rules.DRAFT, mapping_rules.ACTIVE, mapping_rules.DELIVERED)
_ISSUE = _column(TEXT)

PRODUCTS = pa.DataFrameSchema(
    {
        "cin7_option_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "sku": _column(TEXT, unique=True),
        "name": _column(TEXT),
        "category": _column(TEXT),
        "cin7_product_id": _column(WHOLE_NUMBER, nullable=False),
        "option_name": _column(TEXT),
        "status": _column(TEXT),
        "snapshot_date": _column(CALENDAR_DAY, nullable=False),
        "mapping_issue": _ISSUE,
    },
    name="products",
)

WAREHOUSES = pa.DataFrameSchema(
    {
        "warehouse_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "name": _column(TEXT),
        "branch_type": _column(TEXT),
        "enabled": _column(FLAG, nullable=False),
    },
    name="warehouses",
)

SALES_ORDER_LINES = pa.DataFrameSchema(
    {
        "cin7_line_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "cin7_order_id": _column(WHOLE_NUMBER, nullable=False),
        "order_number": _column(TEXT),
        "order_date": _column(CALENDAR_DAY, nullable=False),
        "channel": _column(TEXT, nullable=False),
        "warehouse_id": _column(WHOLE_NUMBER),
        "sku": _column(TEXT),
        "quantity": _column(NUMBER, nullable=False),
        "unit_price": _column(NUMBER),
        "kit_parent_line_id": _column(WHOLE_NUMBER),
        "mapping_issue": _ISSUE,
    },
    name="sales_order_lines",
)

PURCHASE_ORDERS = pa.DataFrameSchema(
    {
        "cin7_order_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "order_number": _column(TEXT),
        "status": _column(one_of(*_PO_STATUSES), nullable=False),
        "warehouse_id": _column(WHOLE_NUMBER),
        "supplier": _column(TEXT),
        "supplier_id": _column(WHOLE_NUMBER),
        "order_date": _column(CALENDAR_DAY, nullable=False),
        "expected_date": _column(CALENDAR_DAY),
        "fully_received_date": _column(CALENDAR_DAY),
        "mapping_issue": _ISSUE,
    },
    name="purchase_orders",
)

PURCHASE_ORDER_LINES = pa.DataFrameSchema(
    {
        "cin7_line_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "cin7_order_id": _column(WHOLE_NUMBER, nullable=False),
        "order_date": _column(CALENDAR_DAY, nullable=False),
        "sku": _column(TEXT),
        "quantity_ordered": _column(NUMBER, nullable=False),
        "quantity_received": _column(NUMBER, nullable=False),
        "mapping_issue": _ISSUE,
    },
    name="purchase_order_lines",
)

TRANSFERS = pa.DataFrameSchema(
    {
        "cin7_transfer_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "order_number": _column(TEXT),
        "source_warehouse_id": _column(WHOLE_NUMBER),
        "destination_warehouse_id": _column(WHOLE_NUMBER),
        "status": _column(one_of(*_TRANSFER_STATUSES), nullable=False),
        "order_date": _column(CALENDAR_DAY, nullable=False),
        "dispatched_date": _column(CALENDAR_DAY),
        "received_date": _column(CALENDAR_DAY),
        "mapping_issue": _ISSUE,
    },
    name="transfers",
)

TRANSFER_LINES = pa.DataFrameSchema(
    {
        "cin7_line_id": _column(WHOLE_NUMBER, nullable=False, unique=True),
        "cin7_transfer_id": _column(WHOLE_NUMBER, nullable=False),
        "order_date": _column(CALENDAR_DAY, nullable=False),
        "sku": _column(TEXT),
        "quantity": _column(NUMBER, nullable=False),
        "mapping_issue": _ISSUE,
    },
    name="transfer_lines",
)

INVENTORY = pa.DataFrameSchema(
    {
        "snapshot_date": _column(CALENDAR_DAY, nullable=False),
        "cin7_option_id": _column(WHOLE_NUMBER, nullable=False),
        "warehouse_id": _column(WHOLE_NUMBER, nullable=False),
        "sku": _column(TEXT),
        "available": _column(NUMBER, nullable=False),
        "incoming": _column(NUMBER, nullable=False),
        "on_hand": _column(NUMBER, nullable=False),
        "open_sales": _column(NUMBER, nullable=False),
        "holding": _column(NUMBER, nullable=False),
        "mapping_issue": _ISSUE,
    },
    unique=["snapshot_date", "cin7_option_id", "warehouse_id"],
    name="inventory",
)


# --- running a model --------------------------------------------------------------------------


def object_frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A frame of ``rows`` that keeps every value's own Python type (no dtype inference)."""
    return pd.DataFrame(
        [[row.get(column) for column in columns] for row in rows],
        columns=list(columns),
        dtype=object,
    )


def _describe(column: str | None, check: str, value: Any) -> str:
    if check == "not_nullable":
        return f"{column} is missing"
    if check == "field_uniqueness":
        return f"{column} {value!r} is not unique"
    if check == "column_in_dataframe":
        return f"column {value!r} is missing"
    if check.startswith("dtype("):
        return f"{column} has type {value}, expected {check}"
    return f"{column} {value!r} is not {check}"


def schema_problems(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> dict[Hashable, list[str]]:
    """Validate ``frame`` against ``schema``; the problems of each failing row, by frame index.

    Every failure is collected (lazy validation), so one run reports all bad rows, not the first.
    Problems that concern the frame as a whole (a missing column) are filed under index ``None``.
    """
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    else:
        return {}

    problems: dict[Hashable, list[str]] = defaultdict(list)
    # Row-level checks of the whole frame (several columns at once) report one failure per
    # column; they are merged into one problem per row, naming the columns the check reads.
    row_columns = {check.name: getattr(check, "row_columns", None) for check in schema.checks or []}
    together: dict[tuple[Hashable, str], list[str]] = defaultdict(list)
    for failure in failures.itertuples(index=False):
        index = None if pd.isna(failure.index) else failure.index
        check = str(failure.check)
        if failure.schema_context == "DataFrameSchema" and check not in (
            "column_in_dataframe",
            "multiple_fields_uniqueness",
        ):
            relevant = row_columns.get(check)
            if relevant is None or failure.column in relevant:
                together[(index, check)].append(f"{failure.column}={failure.failure_case!r}")
        elif check == "multiple_fields_uniqueness":
            together[(index, "is not unique")].append(f"{failure.column}={failure.failure_case!r}")
        else:
            problems[index].append(_describe(failure.column, check, failure.failure_case))
    for (index, check), values in together.items():
        if check == "is not unique":
            problems[index].append(f"({', '.join(values)}) is not unique")
        else:
            problems[index].append(f"{check} fails for {', '.join(values)}")
    return dict(problems)
