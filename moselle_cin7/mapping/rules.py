"""The integration guide's mapping rules, from raw Cin7 records to rows of Moselle's model.

Pure functions: Cin7 records (camelCase dicts, as the API returns them) in, table rows out. A value
that does not fit (an unknown branch, a SKU missing from products, an unparseable date) never drops
its row: the row is kept and ``mapping_issue`` says what is wrong, so the data team can see it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from moselle_cin7.settings import Settings
from moselle_cin7.timeutil import Cin7DateError, business_day, parse_cin7_datetime

# Moselle's order statuses.
DRAFT = "Draft"
ACTIVE = "Active"
DELIVERED = "Delivered"
ARCHIVED = "Archived"

# Ids are stored in BIGINT columns (SQLite INTEGER, PostgreSQL bigint).
_SMALLEST_ID, _LARGEST_ID = -(2**63), 2**63 - 1


class UnmappableRecordError(ValueError):
    """A Cin7 record the model cannot hold at all: a line without a usable id has no row key.

    Raised rather than dropping the line, so the window is not mapped and the planning tables keep
    what the last good run built.
    """


def _text(value: Any) -> str:
    """Cin7 enums arrive in varying case and with stray spaces: compare on a folded form."""
    return str(value or "").strip().casefold()


def _quantity(value: Any, name: str, *, required: bool = True) -> tuple[float, str | None]:
    """A quantity as a float, with the issue when Cin7's value is missing or not a finite number.

    A missing quantity counts as 0; with ``required`` it is reported, as demand or stock would
    otherwise vanish without a trace. Text and non-finite numbers count as 0 and are reported.
    """
    if value is None or value == "":
        return 0.0, f"{name} is missing, counted as 0" if required else None
    if isinstance(value, bool):
        return 0.0, f"{name} {value!r} is not a number"
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0, f"{name} {value!r} is not a number"
    if not math.isfinite(number):
        return 0.0, f"{name} {value!r} is not a finite number"
    return number, None


def id_problem(value: Any) -> str | None:
    """What keeps ``value`` from keying a row of the planning database (a BIGINT), if anything:
    ``"has no id"``, ``"has id …, not a whole number"`` or ``"has id …, beyond the 64-bit ids
    the planning database stores"``."""
    whole = (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    ) and not isinstance(value, bool)
    if not whole:
        return "has no id" if value is None else f"has id {value!r}, not a whole number"
    if not _SMALLEST_ID <= value <= _LARGEST_ID:
        return f"has id {value!r}, beyond the 64-bit ids the planning database stores"
    return None


def _row_id(value: Any, where: str) -> int:
    """A Cin7 id that keys a model row; raises ``UnmappableRecordError`` naming ``where``."""
    problem = id_problem(value)
    if problem is not None:
        raise UnmappableRecordError(f"{where} {problem}; its window cannot be mapped")
    return int(value)


def _describe_record(noun: str, record: Mapping[str, Any]) -> str:
    reference = record.get("reference")
    return f"{noun} {record.get('id')!r}" + (f" ({reference})" if reference else "")


def partition_date_issue(
    record: Mapping[str, Any], field_name: str, stored_day: date, timezone: ZoneInfo
) -> str | None:
    """Why a record's day is not its own date's day: the date could not be read.

    The raw assets store such a record on the first day of the window that returned it (Cin7
    chose it by that date, so it belongs to the window); the model keeps that day and says so.
    """
    _, issue = local_day(record, field_name, timezone)
    if issue is None:
        return None
    return f"{issue}; kept on {stored_day.isoformat()}, the day it is stored under"


def _join_issues(issues: Iterable[str]) -> str | None:
    kept = [issue for issue in issues if issue]
    return "; ".join(kept) if kept else None


def is_voided(record: Mapping[str, Any]) -> bool:
    """Cin7 deletes no transactions: it voids them (``isVoid``, or status ``Void`` in any case)."""
    return record.get("isVoid") is True or _text(record.get("status")) == "void"


def is_dispatched(order: Mapping[str, Any]) -> bool:
    """Only orders at the Dispatched stage count as sales; stages are free text in Cin7."""
    return _text(order.get("stage")) == "dispatched"


def local_day(
    record: Mapping[str, Any], field_name: str, timezone: ZoneInfo
) -> tuple[date | None, str | None]:
    """The account-local day of a Cin7 date field, or ``None`` with the reason it is unusable."""
    try:
        moment = parse_cin7_datetime(record.get(field_name))
    except Cin7DateError as error:
        return None, f"{field_name}: {error}"
    if moment is None:
        return None, None
    return business_day(moment, timezone), None


def custom_field_values(record: Mapping[str, Any], wanted: list[str]) -> dict[str, Any] | None:
    """The configured custom fields of a record.

    Cin7 sends ``customFields`` as an object keyed by name although its spec says array; both are
    read, so a change on Cin7's side does not silently empty the column.
    """
    if not wanted:
        return None
    raw = record.get("customFields") or {}
    if isinstance(raw, list):
        raw = {item.get("name"): item.get("value") for item in raw if isinstance(item, dict)}
    if not isinstance(raw, dict):
        return None
    folded = {_text(name): value for name, value in raw.items()}
    return {name: folded.get(_text(name)) for name in wanted}


@dataclass
class Catalogue:
    """What the mapping checks references against: known SKUs and warehouses."""

    skus: set[str] = field(default_factory=set)
    sku_by_option_id: dict[int, str] = field(default_factory=dict)
    warehouse_ids: set[int] = field(default_factory=set)

    def sku_for_line(self, line: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The SKU of an order line (its ``code``), with an issue when products do not know it."""
        sku = str(line.get("code") or "").strip() or None
        if sku is None:
            sku = self.sku_by_option_id.get(line.get("productOptionId"))
            if sku is None:
                return None, f"line has no SKU (productOptionId {line.get('productOptionId')})"
        if self.skus and sku not in self.skus:
            return sku, f"SKU {sku} is not in products"
        return sku, None

    def warehouse_issue(self, branch_id: Any, role: str = "branch") -> str | None:
        if branch_id is None:
            return f"{role} is missing"
        if self.warehouse_ids and branch_id not in self.warehouse_ids:
            return f"{role} {branch_id} is not a known Cin7 branch"
        return None


# --- products and warehouses ------------------------------------------------------------------


def map_products(
    raw_products: Iterable[Mapping[str, Any]], snapshot_date: date, settings: Settings
) -> list[dict[str, Any]]:
    """One row per product option: the SKU is the option's ``code``.

    A SKU used by two options keeps the first option (lowest id) and flags the others, whose sku is
    left empty so the unique SKU holds.
    """
    wanted = settings.custom_fields.get("products", [])
    rows: list[dict[str, Any]] = []
    for product in raw_products:
        for position, option in enumerate(product.get("productOptions") or [], start=1):
            where = f"{_describe_record('product', product)} option {position}"
            code = str(option.get("code") or option.get("productOptionCode") or "").strip()
            option_name = " / ".join(
                str(option[key]) for key in ("option1", "option2", "option3") if option.get(key)
            )
            rows.append(
                {
                    "cin7_option_id": _row_id(option.get("id"), where),
                    "sku": code or None,
                    "name": product.get("name"),
                    "category": product.get("category"),
                    "cin7_product_id": product["id"],
                    "option_name": option_name or None,
                    "status": option.get("status") or product.get("status"),
                    "custom_fields": custom_field_values(product, wanted),
                    "snapshot_date": snapshot_date,
                    "mapping_issue": None if code else "option has no code (SKU)",
                }
            )
    rows.sort(key=lambda row: row["cin7_option_id"])
    owner: dict[str, int] = {}
    for row in rows:
        sku = row["sku"]
        if sku is None:
            continue
        if sku in owner:
            row["mapping_issue"] = f"SKU {sku} is also option {owner[sku]}'s code"
            row["sku"] = None
        else:
            owner[sku] = row["cin7_option_id"]
    return rows


def map_warehouses(branches: Iterable[Mapping[str, Any]], settings: Settings) -> list[dict]:
    return [
        {
            "warehouse_id": branch["id"],
            "name": branch.get("company") or branch.get("name"),
            "branch_type": branch.get("branchType"),
            "enabled": settings.warehouse_enabled(branch),
        }
        for branch in branches
    ]


# --- sales ------------------------------------------------------------------------------------


@dataclass
class SalesMapping:
    lines: list[dict[str, Any]]
    excluded: dict[str, int]


def sales_exclusion(order: Mapping[str, Any], settings: Settings) -> str | None:
    """Why an order is not sales history, or ``None`` when it is."""
    if is_voided(order):
        return "voided"
    if not is_dispatched(order):
        return "not dispatched"
    if settings.shopify_exclusion.enabled and settings.shopify_exclusion.is_shopify(order):
        return "shopify"
    return None


def map_sales_orders(
    orders: Iterable[tuple[date, Mapping[str, Any]]], settings: Settings, catalogue: Catalogue
) -> SalesMapping:
    """Sales lines of dispatched, non-voided, non-excluded orders.

    ``orders`` pairs each raw order with its partition day (the account-local day of its
    invoiceDate). A kit's own line is left out when its component lines (``parentId``) are there:
    the components are the stocked SKUs, and counting both would double the demand.
    """
    wanted = settings.custom_fields.get("sales_orders", [])
    excluded: dict[str, int] = {}
    lines: list[dict[str, Any]] = []
    for order_day, order in orders:
        reason = sales_exclusion(order, settings)
        if reason is not None:
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        date_issue = partition_date_issue(order, "invoiceDate", order_day, settings.timezone)
        branch_issue = catalogue.warehouse_issue(order.get("branchId"))
        channel = settings.channel_for(order)
        custom = custom_field_values(order, wanted)
        order_lines = order.get("lineItems") or []
        kit_parents = {line.get("parentId") for line in order_lines if line.get("parentId")}
        for position, line in enumerate(order_lines, start=1):
            if line.get("id") in kit_parents:
                excluded["kit parent line"] = excluded.get("kit parent line", 0) + 1
                continue
            where = f"{_describe_record('sales order', order)} line {position}"
            sku, sku_issue = catalogue.sku_for_line(line)
            quantity, quantity_issue = _quantity(line.get("qty"), "quantity")
            lines.append(
                {
                    "cin7_line_id": _row_id(line.get("id"), where),
                    "cin7_order_id": order["id"],
                    "order_number": order.get("reference"),
                    "order_date": order_day,
                    "channel": channel,
                    "warehouse_id": order.get("branchId"),
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": _optional_number(line.get("unitPrice")),
                    "kit_parent_line_id": line.get("parentId") or None,
                    "custom_fields": custom,
                    "mapping_issue": _join_issues(
                        [date_issue, branch_issue, sku_issue, quantity_issue]
                    ),
                }
            )
    return SalesMapping(lines=lines, excluded=excluded)


def _optional_number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


# --- purchase orders --------------------------------------------------------------------------

_KNOWN_PO_STATUSES = {"draft", "approved", "void"}


def _received_in_full(line: Mapping[str, Any]) -> bool:
    """Whether a PO line's received quantity reaches the ordered one; never for an ordered
    quantity that cannot be read, as nothing says the goods came."""
    ordered, ordered_issue = _quantity(line.get("qty"), "quantity")
    received, _ = _quantity(line.get("qtyShipped"), "received quantity", required=False)
    return ordered_issue is None and received >= ordered


def purchase_order_status(order: Mapping[str, Any]) -> tuple[str, str | None]:
    """Moselle's status of a Cin7 purchase order, with an issue for an unknown Cin7 status.

    Voided becomes Archived (the guide's rule); fully received becomes Delivered; a draft stays
    Draft; an approved order still to be received is Active.
    """
    if is_voided(order):
        return ARCHIVED, None
    status = _text(order.get("status"))
    if status == "draft":
        return DRAFT, None
    lines = order.get("lineItems") or []
    received_all = bool(lines) and all(_received_in_full(line) for line in lines)
    if order.get("fullyReceivedDate") or received_all:
        return DELIVERED, None
    issue = None
    if status not in _KNOWN_PO_STATUSES:
        issue = f"unknown Cin7 status {order.get('status')!r}, treated as approved"
    return ACTIVE, issue


@dataclass
class PurchaseOrderMapping:
    orders: list[dict[str, Any]]
    lines: list[dict[str, Any]]


def map_purchase_orders(
    orders: Iterable[tuple[date, Mapping[str, Any]]], settings: Settings, catalogue: Catalogue
) -> PurchaseOrderMapping:
    """Headers and lines of every purchase order; ``qtyShipped`` is the received quantity."""
    timezone = settings.timezone
    wanted = settings.custom_fields.get("purchase_orders", [])
    headers: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for order_day, order in orders:
        status, status_issue = purchase_order_status(order)
        date_issue = partition_date_issue(order, "createdDate", order_day, timezone)
        expected, expected_issue = local_day(order, "estimatedDeliveryDate", timezone)
        received, received_issue = local_day(order, "fullyReceivedDate", timezone)
        branch_issue = catalogue.warehouse_issue(order.get("branchId"))
        headers.append(
            {
                "cin7_order_id": order["id"],
                "order_number": order.get("reference"),
                "status": status,
                "warehouse_id": order.get("branchId"),
                "supplier": order.get("company"),
                "supplier_id": order.get("memberId"),
                "order_date": order_day,
                "expected_date": expected,
                "fully_received_date": received,
                "custom_fields": custom_field_values(order, wanted),
                "mapping_issue": _join_issues(
                    [date_issue, status_issue, expected_issue, received_issue, branch_issue]
                ),
            }
        )
        for position, line in enumerate(order.get("lineItems") or [], start=1):
            where = f"{_describe_record('purchase order', order)} line {position}"
            sku, sku_issue = catalogue.sku_for_line(line)
            ordered, ordered_issue = _quantity(line.get("qty"), "quantity")
            # Nothing received yet may come as null: that is no issue.
            received, received_issue = _quantity(
                line.get("qtyShipped"), "received quantity", required=False
            )
            lines.append(
                {
                    "cin7_line_id": _row_id(line.get("id"), where),
                    "cin7_order_id": order["id"],
                    "order_date": order_day,
                    "sku": sku,
                    "quantity_ordered": ordered,
                    "quantity_received": received,
                    "mapping_issue": _join_issues([sku_issue, ordered_issue, received_issue]),
                }
            )
    return PurchaseOrderMapping(orders=headers, lines=lines)


# --- branch transfers -------------------------------------------------------------------------


def transfer_status(dispatched: date | None, received: date | None) -> str:
    """Cin7 transfers have no status field: Draft until dispatched, Active in transit, then
    Delivered once received."""
    if received is not None:
        return DELIVERED
    if dispatched is not None:
        return ACTIVE
    return DRAFT


@dataclass
class TransferMapping:
    transfers: list[dict[str, Any]]
    lines: list[dict[str, Any]]


def map_transfers(
    transfers: Iterable[tuple[date, Mapping[str, Any]]], settings: Settings, catalogue: Catalogue
) -> TransferMapping:
    timezone = settings.timezone
    wanted = settings.custom_fields.get("branch_transfers", [])
    headers: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for order_day, transfer in transfers:
        date_issue = partition_date_issue(transfer, "createdDate", order_day, timezone)
        dispatched, dispatched_issue = local_day(transfer, "dispatchedDate", timezone)
        received, received_issue = local_day(transfer, "receivedDate", timezone)
        headers.append(
            {
                "cin7_transfer_id": transfer["id"],
                "order_number": transfer.get("reference"),
                "source_warehouse_id": transfer.get("sourceBranchId"),
                "destination_warehouse_id": transfer.get("destinationBranchId"),
                "status": transfer_status(dispatched, received),
                "order_date": order_day,
                "dispatched_date": dispatched,
                "received_date": received,
                "custom_fields": custom_field_values(transfer, wanted),
                "mapping_issue": _join_issues(
                    [
                        date_issue,
                        dispatched_issue,
                        received_issue,
                        catalogue.warehouse_issue(transfer.get("sourceBranchId"), "source"),
                        catalogue.warehouse_issue(
                            transfer.get("destinationBranchId"), "destination"
                        ),
                    ]
                ),
            }
        )
        for position, line in enumerate(transfer.get("lineItems") or [], start=1):
            where = f"{_describe_record('branch transfer', transfer)} line {position}"
            sku, sku_issue = catalogue.sku_for_line(line)
            quantity, quantity_issue = _quantity(line.get("qty"), "quantity")
            lines.append(
                {
                    "cin7_line_id": _row_id(line.get("id"), where),
                    "cin7_transfer_id": transfer["id"],
                    "order_date": order_day,
                    "sku": sku,
                    "quantity": quantity,
                    "mapping_issue": _join_issues([sku_issue, quantity_issue]),
                }
            )
    return TransferMapping(transfers=headers, lines=lines)


# --- stock ------------------------------------------------------------------------------------


_STOCK_LEVELS = (
    ("available", "available"),
    ("incoming", "incoming"),
    ("on_hand", "stockOnHand"),
    ("open_sales", "openSales"),
    ("holding", "holding"),
)


def map_stock(
    stock_rows: Iterable[Mapping[str, Any]],
    snapshot_date: date,
    enabled_warehouse_ids: set[int],
    catalogue: Catalogue,
    mapped_at: Any,
) -> list[dict[str, Any]]:
    """Inventory rows of the enabled warehouses only; other branches are left out by design."""
    rows: list[dict[str, Any]] = []
    for stock in stock_rows:
        if stock.get("branchId") not in enabled_warehouse_ids:
            continue
        sku, sku_issue = catalogue.sku_for_line(stock)
        levels: dict[str, float] = {}
        issues = [sku_issue]
        for column, name in _STOCK_LEVELS:
            # Cin7 leaves a level it has nothing for empty; only the two the plan starts from
            # are reported when missing.
            levels[column], issue = _quantity(
                stock.get(name), name, required=name in ("available", "stockOnHand")
            )
            issues.append(issue)
        rows.append(
            {
                "snapshot_date": snapshot_date,
                "cin7_option_id": stock["productOptionId"],
                "warehouse_id": stock["branchId"],
                "sku": sku,
                **levels,
                "mapped_at": mapped_at,
                "mapping_issue": _join_issues(issues),
            }
        )
    return rows
