"""What each data-quality check looks for: plain functions of the planning database.

Every function takes a ``CheckInputs`` (a connection, the scope of days and the settings) and
returns an ``Outcome``: how many rows it looked at, the failing records with their reasons, and a
one-line summary. Dagster wiring lives in ``checks.py``; these functions run the same on a
scratch database.

Scopes: a check of a partitioned table looks at the half-open range of account-local days
``[first_day, end_day)`` that its run synced, or at the whole table when no range is known. Large
tables are filtered in SQL; payloads are loaded into pandas only for the days in scope, and for the
snapshot tables (products, stock) only for the newest snapshot day in scope, which is the one a
sync writes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from moselle_cin7.db import schema
from moselle_cin7.mapping import rules as mapping_rules
from moselle_cin7.quality import models
from moselle_cin7.quality.quarantine import Finding, record_key
from moselle_cin7.settings import Settings
from moselle_cin7.timeutil import Cin7DateError, business_day, parse_cin7_datetime, utc_now

# IN lists are chunked below SQLite's bound-parameter limit.
_IN_CHUNK = 10_000


# --- scope, inputs and outcome ----------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The account-local days a check looks at, and the moment it runs.

    ``[first_day, end_day)`` is half-open, in the account's time zone; with both ``None`` the check
    looks at the whole table. ``now`` is an aware UTC instant, used to measure ages.
    """

    first_day: date | None = None
    end_day: date | None = None
    now: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if (self.first_day is None) != (self.end_day is None):
            raise ValueError("a scope needs both first_day and end_day, or neither")
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")

    @property
    def whole_table(self) -> bool:
        return self.first_day is None

    def covers(self, day_column: sa.ColumnElement[date]) -> sa.ColumnElement[bool]:
        """SQL condition: the day column lies in the scope."""
        if self.whole_table:
            return sa.true()
        return sa.and_(day_column >= self.first_day, day_column < self.end_day)

    @property
    def label(self) -> str:
        if self.whole_table:
            return "whole table"
        return f"days [{self.first_day}, {self.end_day}) in the account's time zone"


@dataclass
class Outcome:
    """What one check found: rows looked at, failing records, and a one-line summary."""

    checked: int
    findings: list[Finding]
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    # Set when the check could not run: it has not shown the data to be fine, so it fails.
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.findings and self.error is None

    @property
    def failing_records(self) -> int:
        return len({(f.table_name, f.record_key) for f in self.findings})


def _outcome(
    checked: int, findings: list[Finding], failing: str, passing: str, **details: Any
) -> Outcome:
    """An outcome summarised as ``"<failing>: <n> of <checked>"`` or ``"<passing> (<checked>
    checked)"``, where n counts distinct failing records."""
    count = len({(f.table_name, f.record_key) for f in findings})
    summary = f"{failing}: {count} of {checked}" if findings else f"{passing} ({checked} checked)"
    return Outcome(checked=checked, findings=findings, summary=summary, details=details)


@dataclass(frozen=True)
class RawSource:
    """A raw table and how its payloads are checked.

    ``nested_field`` names the list inside each record (order lines, product options) that has a
    model of its own. ``date_field`` is the payload field whose account-local day is the record's
    partition. Snapshot tables (products, stock) are checked on their newest snapshot day in scope.
    """

    table: sa.Table
    model: pa.DataFrameSchema
    noun: str
    nested_field: str | None = None
    nested_model: pa.DataFrameSchema | None = None
    nested_noun: str = "line"
    date_field: str | None = None
    snapshot: bool = False

    @property
    def key_columns(self) -> list[sa.Column]:
        return list(self.table.primary_key.columns)

    @property
    def stored_keys(self) -> list[str]:
        return [c.name for c in self.key_columns if c.name != "partition_day"]


RAW_SALES_ORDERS = RawSource(
    schema.raw_sales_orders,
    models.RAW_SALES_ORDERS,
    noun="sales order",
    nested_field="lineItems",
    nested_model=models.RAW_TRANSACTION_LINES,
    date_field="invoiceDate",
)
RAW_PURCHASE_ORDERS = RawSource(
    schema.raw_purchase_orders,
    models.RAW_PURCHASE_ORDERS,
    noun="purchase order",
    nested_field="lineItems",
    nested_model=models.RAW_TRANSACTION_LINES,
    date_field="createdDate",
)
RAW_BRANCH_TRANSFERS = RawSource(
    schema.raw_branch_transfers,
    models.RAW_BRANCH_TRANSFERS,
    noun="branch transfer",
    nested_field="lineItems",
    nested_model=models.RAW_TRANSACTION_LINES,
    date_field="createdDate",
)
RAW_PRODUCTS = RawSource(
    schema.raw_products,
    models.RAW_PRODUCTS,
    noun="product",
    nested_field="productOptions",
    nested_model=models.RAW_PRODUCT_OPTIONS,
    nested_noun="option",
    snapshot=True,
)
RAW_STOCK = RawSource(schema.raw_stock, models.RAW_STOCK, noun="stock row", snapshot=True)
RAW_BRANCHES = RawSource(schema.raw_branches, models.RAW_BRANCHES, noun="branch")


@dataclass
class RawRecords:
    """The raw records in scope: one header row per record, one nested row per line.

    ``headers`` and ``keys`` share positions; ``lines`` carries ``_record`` (the header position
    of its record) and ``_position`` (1-based place in the record's list).
    """

    source: RawSource
    keys: list[str]
    days: list[date | None]
    headers: pd.DataFrame
    lines: pd.DataFrame
    snapshot_day: date | None = None


class CheckInputs:
    """What a check reads: one connection, the scope, the settings, and frames shared by the
    checks of one asset so that a window's payloads are read once per run, not once per check."""

    def __init__(self, conn: Connection, scope: Scope, settings: Settings) -> None:
        self.conn = conn
        self.scope = scope
        self.settings = settings
        self._raw: dict[str, RawRecords] = {}

    @property
    def today(self) -> date:
        """The account-local calendar day at ``scope.now``."""
        return business_day(self.scope.now, self.settings.timezone)

    def newest_day(self, day_column: sa.Column) -> date | None:
        """The newest stored day of a snapshot table within the scope."""
        query = sa.select(sa.func.max(day_column)).where(self.scope.covers(day_column))
        return self.conn.execute(query).scalar()

    def raw_records(self, source: RawSource) -> RawRecords:
        if source.table.name not in self._raw:
            self._raw[source.table.name] = self._load_raw(source)
        return self._raw[source.table.name]

    def _load_raw(self, source: RawSource) -> RawRecords:
        table = source.table
        partitioned = "partition_day" in table.c
        key_names = [c.name for c in source.key_columns]
        query = sa.select(*source.key_columns, table.c.payload)
        snapshot_day = None
        if source.snapshot:
            snapshot_day = self.newest_day(table.c.partition_day)
            query = query.where(table.c.partition_day == snapshot_day)
        elif partitioned:
            query = query.where(self.scope.covers(table.c.partition_day))
        if partitioned and "partition_day" not in key_names:
            query = query.add_columns(table.c.partition_day)
        query = query.order_by(*source.key_columns)

        stored_keys = set(source.stored_keys)
        header_names = list(source.model.columns)
        line_names = list(source.nested_model.columns) if source.nested_model is not None else []
        # Column by column, not a dict per record: a window holds hundreds of thousands of
        # records and more lines, and these frames are most of what the checks cost.
        headers: dict[str, list[Any]] = {name: [] for name in header_names}
        lines: dict[str, list[Any]] = {name: [] for name in [*line_names, "_record", "_position"]}
        keys: list[str] = []
        days: list[date | None] = []
        single_key = key_names[0] if len(key_names) == 1 else None
        for position, row in enumerate(self.conn.execute(query).mappings()):
            payload = row["payload"] if isinstance(row["payload"], dict) else {}
            if single_key is not None:
                keys.append(f"{single_key}={row[single_key]}")
            else:
                keys.append(record_key(**{name: row[name] for name in key_names}))
            days.append(row["partition_day"] if partitioned else None)
            for name in header_names:
                headers[name].append(row[name] if name in stored_keys else payload.get(name))
            nested = payload.get(source.nested_field) if source.nested_field else None
            if isinstance(nested, list):
                for place, item in enumerate(nested, start=1):
                    item = item if isinstance(item, dict) else {"id": item}
                    for name in line_names:
                        lines[name].append(item.get(name))
                    lines["_record"].append(position)
                    lines["_position"].append(place)

        return RawRecords(
            source=source,
            keys=keys,
            days=days,
            headers=pd.DataFrame(headers, columns=header_names, dtype=object),
            lines=pd.DataFrame(lines, columns=list(lines), dtype=object),
            snapshot_day=snapshot_day,
        )


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _ids(values: Iterable[Any]) -> str:
    return ", ".join(str(value) for value in sorted(values, key=str))


# --- raw records ------------------------------------------------------------------------------


def raw_field_types(inputs: CheckInputs, source: RawSource) -> Outcome:
    """Payload fields of the wrong type: an id that is not a whole number, a quantity sent as text,
    a date Cin7 did not write as a date, lines that are not a list."""
    records = inputs.raw_records(source)
    problems: dict[int, list[str]] = defaultdict(list)
    for index, reasons in models.schema_problems(source.model, records.headers).items():
        problems[int(index) if index is not None else -1] += reasons
    if source.nested_model is not None and not records.lines.empty:
        lines = records.lines
        for index, reasons in models.schema_problems(source.nested_model, lines).items():
            if index is None:
                problems[-1] += reasons
                continue
            line = lines.loc[index]
            label = f"{source.nested_noun} {line['_position']}"
            if models.is_whole_number(line["id"]):
                label += f" (id {line['id']})"
            problems[int(line["_record"])] += [f"{label}: {reason}" for reason in reasons]

    findings = [
        Finding(
            source.table.name,
            records.keys[position] if position >= 0 else f"table={source.table.name}",
            "; ".join(reasons),
        )
        for position, reasons in sorted(problems.items())
    ]
    return _outcome(
        len(records.keys),
        findings,
        f"{source.noun.capitalize()} records with fields of the wrong type",
        f"No {source.noun} record has a field of the wrong type",
        snapshot_day=str(records.snapshot_day) if records.snapshot_day else None,
    )


def records_outside_partition(inputs: CheckInputs, source: RawSource) -> Outcome:
    """Records stored in a partition that is not the account-local day of their own date field.

    A record without the date, or with one that cannot be read, is left to the type check.
    """
    if source.date_field is None:
        raise ValueError(f"{source.table.name} has no partition date field")
    records = inputs.raw_records(source)
    timezone = inputs.settings.timezone
    findings = []
    for position, value in enumerate(records.headers[source.date_field]):
        try:
            moment = parse_cin7_datetime(value) if isinstance(value, str) else None
        except Cin7DateError:
            moment = None
        if moment is None:
            continue
        own_day = business_day(moment, timezone)
        stored_day = records.days[position]
        if own_day != stored_day:
            findings.append(
                Finding(
                    source.table.name,
                    records.keys[position],
                    f"{source.date_field} {value} falls on {own_day} in "
                    f"{inputs.settings.account_timezone}, but the record is stored in "
                    f"partition {stored_day}",
                )
            )
    return _outcome(
        len(records.keys),
        findings,
        f"{source.noun.capitalize()} records stored outside the day of their {source.date_field}",
        f"Every {source.noun} record is stored in the day of its {source.date_field}",
    )


def duplicate_order_numbers(inputs: CheckInputs, source: RawSource) -> Outcome:
    """One order number (``reference``, compared without case and surrounding spaces) on more than
    one live Cin7 id. References in scope are compared with the whole table, so a number reused
    months apart is found too. Voided records are left out: they count for nothing in the plan,
    and a voided copy next to its live order must not stop the sync."""
    table = source.table
    number = sa.func.lower(sa.func.trim(table.c.payload["reference"].as_string()))
    in_scope = table.c.partition_day if "partition_day" in table.c else None
    scope_filter = inputs.scope.covers(in_scope) if in_scope is not None else sa.true()

    checked = inputs.conn.execute(
        sa.select(sa.func.count()).select_from(table).where(scope_filter)
    ).scalar_one()
    # SQL narrows the table to the numbers used more than once; voids are read from the few
    # payloads left, as JSON booleans do not compare alike on SQLite and PostgreSQL.
    numbers_in_scope = sa.select(number).where(scope_filter, number != "")
    shared = (
        sa.select(number)
        .where(number.in_(numbers_in_scope))
        .group_by(number)
        .having(sa.func.count(sa.distinct(table.c.cin7_id)) > 1)
    )
    candidates = inputs.conn.execute(
        sa.select(table.c.cin7_id, table.c.payload, number)
        .where(number.in_(shared))
        .order_by(number, table.c.cin7_id)
    ).all()
    live = [
        (cin7_id, payload.get("reference"), folded)
        for cin7_id, payload, folded in candidates
        if not mapping_rules.is_voided(payload)
    ]
    ids_by_number: dict[str, list[int]] = defaultdict(list)
    for cin7_id, _reference, folded in live:
        ids_by_number[folded].append(cin7_id)
    members = [member for member in live if len(ids_by_number[member[2]]) > 1]

    findings = [
        Finding(
            table.name,
            record_key(cin7_id=cin7_id),
            f"order number {reference!r} is also used by Cin7 {source.noun} "
            f"{_ids(i for i in ids_by_number[folded] if i != cin7_id)}",
        )
        for cin7_id, reference, folded in members
    ]
    return _outcome(
        checked,
        findings,
        f"{source.noun.capitalize()} records sharing an order number with another Cin7 id "
        f"({_numbers(members)})",
        f"Every {source.noun} record has an order number of its own",
    )


def duplicate_line_ids(
    inputs: CheckInputs, source: RawSource, mapped_lines: sa.Table, parent_column: str
) -> Outcome:
    """A line id on two records (or twice on one) in scope, or already stored in the mapped lines
    table under a record outside the scope: either would stop the mapping on its primary key."""
    records = inputs.raw_records(source)
    lines = records.lines
    parent_ids = [int(i) for i in records.headers[source.stored_keys[0]]]
    findings: list[Finding] = []

    owners: dict[int, list[int]] = defaultdict(list)
    for line_id, record in zip(lines["id"], lines["_record"], strict=True):
        if models.is_whole_number(line_id):
            owners[int(line_id)].append(int(record))
    for line_id, positions in owners.items():
        if len(positions) < 2:
            continue
        parents = {parent_ids[p] for p in positions}
        for position in sorted(set(positions)):
            others = parents - {parent_ids[position]}
            reason = (
                f"line id {line_id} also appears on Cin7 {source.noun} {_ids(others)}"
                if others
                else f"line id {line_id} appears more than once on this {source.noun}"
            )
            findings.append(Finding(source.table.name, records.keys[position], reason))

    # Lines stored for records outside the scope would collide with this scope's lines.
    in_scope = set(parent_ids)
    first_position = {line_id: positions[0] for line_id, positions in owners.items()}
    line_column, parent = mapped_lines.c.cin7_line_id, mapped_lines.c[parent_column]
    for chunk in _chunks(sorted(first_position)):
        stored = inputs.conn.execute(sa.select(line_column, parent).where(line_column.in_(chunk)))
        for line_id, stored_parent in stored:
            if stored_parent in in_scope:
                continue
            position = first_position[line_id]
            findings.append(
                Finding(
                    source.table.name,
                    records.keys[position],
                    f"line id {line_id} is already stored in {mapped_lines.name} as a line of "
                    f"Cin7 {source.noun} {stored_parent}",
                )
            )
    return _outcome(
        len(records.keys),
        findings,
        f"{source.noun.capitalize()} records holding a line id that another line also uses",
        f"Every {source.noun} line has an id of its own",
    )


def duplicate_option_ids(inputs: CheckInputs) -> Outcome:
    """A product option id under two products (or twice under one) in the newest snapshot."""
    source = RAW_PRODUCTS
    records = inputs.raw_records(source)
    options = records.lines
    product_ids = [int(i) for i in records.headers["cin7_id"]]
    owners: dict[int, list[int]] = defaultdict(list)
    for option_id, record in zip(options["id"], options["_record"], strict=True):
        if models.is_whole_number(option_id):
            owners[int(option_id)].append(int(record))
    findings = []
    for option_id, positions in sorted(owners.items()):
        if len(positions) < 2:
            continue
        products = {product_ids[p] for p in positions}
        for position in sorted(set(positions)):
            others = products - {product_ids[position]}
            reason = (
                f"option id {option_id} also belongs to product {_ids(others)}"
                if others
                else f"option id {option_id} appears more than once on this product"
            )
            findings.append(Finding(source.table.name, records.keys[position], reason))
    return _outcome(
        len(records.keys),
        findings,
        "Products sharing a product option id with another option",
        "Every product option has an id of its own",
        snapshot_day=str(records.snapshot_day) if records.snapshot_day else None,
    )


def _numbers(members: Sequence[Any], limit: int = 5) -> str:
    """The first few shared order numbers, as typed on the first record that uses each."""
    shown: dict[str, str] = {}
    for _cin7_id, reference, folded in members:
        shown.setdefault(folded, reference)
    listed = ", ".join(repr(reference) for reference in list(shown.values())[:limit])
    return listed + (f" and {len(shown) - limit} more" if len(shown) > limit else "")


def _order_number_forms(value: Any) -> set[str]:
    """``#1050``, ``1050`` and `` #1050 `` are one order number to a person reading them."""
    text = str(value or "").strip().casefold().lstrip("#").strip()
    return {text, f"#{text}"} if text else set()


# How far around a run's range the Shopify-copy check looks for the other order of a pair.
SHOPIFY_COPY_DAYS = 31


def shopify_orders_entered_twice(inputs: CheckInputs) -> Outcome:
    """A Cin7 order whose customerOrderNo is the number of a Shopify-sourced order (``#1050`` and
    ``1050`` match): the same sale entered twice, which double-counts demand.

    Orders in scope are matched in both directions against the orders up to ``SHOPIFY_COPY_DAYS``
    days around the scope; voided orders are left out, as they count for nothing. Shopify orders
    are recognised by the settings' rule, whether or not the exclusion is enabled.
    """
    table = schema.raw_sales_orders
    shopify = inputs.settings.shopify_exclusion
    records = inputs.raw_records(RAW_SALES_ORDERS)
    headers = records.headers

    def live(order: Mapping[str, Any]) -> bool:
        return not mapping_rules.is_voided(order)

    shopify_orders: dict[int, dict[str, Any]] = {}
    cin7_orders: dict[int, dict[str, Any]] = {}
    # Only the fields the rules and the findings read: a window holds hundreds of thousands.
    wanted = ["cin7_id", "reference", "customerOrderNo", "source", "branchId", "isVoid", "status"]
    for order in headers[[name for name in wanted if name in headers]].to_dict(orient="records"):
        if not live(order):
            continue
        target = shopify_orders if shopify.is_shopify(order) else cin7_orders
        target[int(order["cin7_id"])] = order

    # Counterparts outside the scope: a copy is keyed in within days of the original, so a ranged
    # run also reads the SHOPIFY_COPY_DAYS around its range (a run over the whole table has every
    # order in scope already). One pass reads those days' two numbers with SQL; only the payloads
    # of orders whose number matches one in scope are read. Matching in Python, not with an IN
    # list per thousands of numbers, keeps it to one scan of the nearby days.
    if not inputs.scope.whole_table:
        margin = timedelta(days=SHOPIFY_COPY_DAYS)
        nearby_outside = sa.and_(
            table.c.partition_day >= inputs.scope.first_day - margin,
            table.c.partition_day < inputs.scope.end_day + margin,
            sa.not_(inputs.scope.covers(table.c.partition_day)),
        )
        customer_no = sa.func.lower(sa.func.trim(table.c.payload["customerOrderNo"].as_string()))
        reference = sa.func.lower(sa.func.trim(table.c.payload["reference"].as_string()))
        wanted_customer_nos = {
            form for order in shopify_orders.values() for form in _shopify_numbers(order)
        }
        wanted_references = {
            form
            for order in cin7_orders.values()
            for form in _order_number_forms(order.get("customerOrderNo"))
        }
        numbers = sa.select(table.c.cin7_id, customer_no, reference).where(nearby_outside)
        matched = [
            cin7_id
            for cin7_id, customer, own in inputs.conn.execute(numbers)
            if customer in wanted_customer_nos or own in wanted_references
        ]
        for chunk in _chunks(matched):
            query = sa.select(table.c.cin7_id, table.c.payload).where(table.c.cin7_id.in_(chunk))
            for cin7_id, payload in inputs.conn.execute(query):
                if not isinstance(payload, dict) or not live(payload):
                    continue
                target = shopify_orders if shopify.is_shopify(payload) else cin7_orders
                target[cin7_id] = {"cin7_id": cin7_id, **payload}

    shopify_by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in shopify_orders.values():
        for form in _shopify_numbers(order):
            shopify_by_number[form].append(order)
    findings = []
    for cin7_id, order in sorted(cin7_orders.items()):
        matches = {
            int(match["cin7_id"]): match
            for form in _order_number_forms(order.get("customerOrderNo"))
            for match in shopify_by_number.get(form, [])
        }
        for match_id, match in sorted(matches.items()):
            findings.append(
                Finding(
                    table.name,
                    record_key(cin7_id=cin7_id),
                    f"Cin7 order {order.get('reference')!r} has customerOrderNo "
                    f"{order.get('customerOrderNo')!r}, the number of Shopify order "
                    f"{match.get('reference')!r} (cin7_id {match_id})",
                )
            )
    return _outcome(
        len(headers),
        findings,
        "Cin7 orders that look like a second copy of a Shopify order",
        "No Cin7 order repeats a Shopify order's number",
    )


def _shopify_numbers(order: Mapping[str, Any]) -> set[str]:
    return _order_number_forms(order.get("reference")) | _order_number_forms(
        order.get("customerOrderNo")
    )


# --- mapped tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MappedTable:
    """A table of Moselle's model, its pandera model and how its rows are keyed and scoped."""

    table: sa.Table
    model: pa.DataFrameSchema
    key_columns: tuple[str, ...]
    day_column: str | None = None
    snapshot: bool = False


MAPPED_PRODUCTS = MappedTable(schema.products, models.PRODUCTS, ("cin7_option_id",))
MAPPED_WAREHOUSES = MappedTable(schema.warehouses, models.WAREHOUSES, ("warehouse_id",))
MAPPED_SALES_ORDER_LINES = MappedTable(
    schema.sales_order_lines, models.SALES_ORDER_LINES, ("cin7_line_id",), "order_date"
)
MAPPED_PURCHASE_ORDERS = MappedTable(
    schema.purchase_orders, models.PURCHASE_ORDERS, ("cin7_order_id",), "order_date"
)
MAPPED_PURCHASE_ORDER_LINES = MappedTable(
    schema.purchase_order_lines, models.PURCHASE_ORDER_LINES, ("cin7_line_id",), "order_date"
)
MAPPED_TRANSFERS = MappedTable(
    schema.transfers, models.TRANSFERS, ("cin7_transfer_id",), "order_date"
)
MAPPED_TRANSFER_LINES = MappedTable(
    schema.transfer_lines, models.TRANSFER_LINES, ("cin7_line_id",), "order_date"
)
MAPPED_INVENTORY = MappedTable(
    schema.inventory,
    models.INVENTORY,
    ("snapshot_date", "cin7_option_id", "warehouse_id"),
    "snapshot_date",
    snapshot=True,
)


def _mapped_filter(inputs: CheckInputs, mapped: MappedTable) -> sa.ColumnElement[bool]:
    if mapped.day_column is None:
        return sa.true()
    day_column = mapped.table.c[mapped.day_column]
    if mapped.snapshot:
        return day_column == inputs.newest_day(day_column)
    return inputs.scope.covers(day_column)


def mapped_column_types(inputs: CheckInputs, tables: Sequence[MappedTable]) -> Outcome:
    """Rows of Moselle's model whose values do not fit their column: a key that is not unique or
    not a whole number, a missing date, a status outside the allowed ones, a quantity that is not
    a finite number. SQLite stores whatever it is given, so this is checked, not assumed."""
    findings: list[Finding] = []
    checked = 0
    for mapped in tables:
        columns = list(mapped.model.columns)
        query = sa.select(*(mapped.table.c[name] for name in columns)).where(
            _mapped_filter(inputs, mapped)
        )
        # Built from plain tuples with dtype=object: every value keeps the driver's own type.
        frame = pd.DataFrame(
            [tuple(row) for row in inputs.conn.execute(query)], columns=columns, dtype=object
        )
        checked += len(frame)
        problems = models.schema_problems(mapped.model, frame)
        for index in sorted(problems, key=lambda index: (index is None, index or 0)):
            key = (
                record_key(**{name: frame.at[index, name] for name in mapped.key_columns})
                if index is not None
                else f"table={mapped.table.name}"
            )
            findings.append(Finding(mapped.table.name, key, "; ".join(problems[index])))
    names = " and ".join(mapped.table.name for mapped in tables)
    return _outcome(
        checked,
        findings,
        f"Rows of {names} that do not fit the table's model",
        f"Every row of {names} fits the table's model",
    )


def sales_lines_from_excluded_orders(inputs: CheckInputs) -> Outcome:
    """Sales lines whose order is not sales history by the mapping rules: not dispatched, voided,
    or a Shopify order that the settings exclude; or whose order is not in the raw table at all.
    The rules are re-applied to the raw payloads, so a mapping regression cannot slip through."""
    lines, raw = schema.sales_order_lines, schema.raw_sales_orders
    query = (
        sa.select(lines.c.cin7_line_id, lines.c.cin7_order_id, lines.c.order_number)
        .where(inputs.scope.covers(lines.c.order_date))
        .order_by(lines.c.cin7_line_id)
    )
    line_rows = inputs.conn.execute(query).all()
    order_ids = sorted({order_id for _line, order_id, _number in line_rows})
    orders: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(order_ids):
        for cin7_id, payload in inputs.conn.execute(
            sa.select(raw.c.cin7_id, raw.c.payload).where(raw.c.cin7_id.in_(chunk))
        ):
            orders[cin7_id] = payload

    phrases = {
        "voided": "is voided",
        "not dispatched": "is not dispatched",
        "shopify": "is a Shopify order, which the settings exclude",
    }
    findings = []
    excluded_orders: set[int] = set()
    for line_id, order_id, number in line_rows:
        order = orders.get(order_id)
        if order is None:
            reason = f"order {number!r} (cin7_id {order_id}) is not in raw_sales_orders"
        else:
            exclusion = mapping_rules.sales_exclusion(order, inputs.settings)
            if exclusion is None:
                continue
            detail = phrases.get(exclusion, exclusion)
            if exclusion == "not dispatched":
                detail += f" (stage {order.get('stage')!r})"
            reason = f"order {order.get('reference')!r} (cin7_id {order_id}) {detail}"
        excluded_orders.add(order_id)
        findings.append(Finding(lines.name, record_key(cin7_line_id=line_id), reason))
    return _outcome(
        len(line_rows),
        findings,
        f"Sales lines from {len(excluded_orders)} orders that are not dispatched sales history",
        "Every sales line comes from a dispatched, non-voided, non-excluded order",
    )


def unknown_skus(
    inputs: CheckInputs, lines: sa.Table, key_column: str, day_column: str = "order_date"
) -> Outcome:
    """Lines whose SKU is missing or not in products: their demand or supply cannot be planned
    against a product until the catalogue knows the SKU."""
    products = schema.products
    known = sa.exists().where(products.c.sku == lines.c.sku)
    scope_filter = inputs.scope.covers(lines.c[day_column])
    checked = inputs.conn.execute(
        sa.select(sa.func.count()).select_from(lines).where(scope_filter)
    ).scalar_one()
    query = (
        sa.select(lines.c[key_column], lines.c.sku)
        .where(scope_filter, sa.or_(lines.c.sku.is_(None), ~known))
        .order_by(lines.c[key_column])
    )
    findings = [
        Finding(
            lines.name,
            record_key(**{key_column: key}),
            f"SKU {sku} is not in products" if sku else "the line has no SKU",
        )
        for key, sku in inputs.conn.execute(query)
    ]
    return _outcome(
        checked,
        findings,
        f"Rows of {lines.name} whose SKU is not in products",
        f"Every row of {lines.name} has a SKU known in products",
    )


def unknown_branches(
    inputs: CheckInputs,
    table: sa.Table,
    key_columns: Sequence[str],
    branch_columns: Mapping[str, str],
    scope_filter: sa.ColumnElement[bool],
) -> Outcome:
    """Rows whose branch is missing or is not one of the warehouses (Cin7's branch list).

    ``branch_columns`` maps each branch column to the word used in the reason (branch, source...).
    """
    warehouses = schema.warehouses
    checked = inputs.conn.execute(
        sa.select(sa.func.count()).select_from(table).where(scope_filter)
    ).scalar_one()
    findings = []
    for column_name, role in branch_columns.items():
        column = table.c[column_name]
        known = sa.exists().where(warehouses.c.warehouse_id == column)
        query = (
            sa.select(*(table.c[name] for name in key_columns), column)
            .where(scope_filter, sa.or_(column.is_(None), ~known))
            .order_by(*(table.c[name] for name in key_columns))
        )
        for row in inputs.conn.execute(query).mappings():
            branch = row[column_name]
            findings.append(
                Finding(
                    table.name,
                    record_key(**{name: row[name] for name in key_columns}),
                    f"{role} is missing"
                    if branch is None
                    else f"{role} {branch} is not a warehouse (unknown Cin7 branch)",
                )
            )
    return _outcome(
        checked,
        findings,
        f"Rows of {table.name} naming a branch that is not a known warehouse",
        f"Every row of {table.name} names known warehouses",
    )


def unknown_sales_branches(inputs: CheckInputs) -> Outcome:
    lines = schema.sales_order_lines
    return unknown_branches(
        inputs,
        lines,
        ["cin7_line_id"],
        {"warehouse_id": "branch"},
        inputs.scope.covers(lines.c.order_date),
    )


def unknown_purchase_order_branches(inputs: CheckInputs) -> Outcome:
    orders = schema.purchase_orders
    return unknown_branches(
        inputs,
        orders,
        ["cin7_order_id"],
        {"warehouse_id": "receiving branch"},
        inputs.scope.covers(orders.c.order_date),
    )


def unknown_transfer_branches(inputs: CheckInputs) -> Outcome:
    transfers = schema.transfers
    return unknown_branches(
        inputs,
        transfers,
        ["cin7_transfer_id"],
        {"source_warehouse_id": "source", "destination_warehouse_id": "destination"},
        inputs.scope.covers(transfers.c.order_date),
    )


def unknown_stock_branches(inputs: CheckInputs) -> Outcome:
    """Raw stock rows of the newest snapshot in scope whose branch is not a warehouse: the
    inventory mapping leaves them out, so they are reported here."""
    stock = schema.raw_stock
    return unknown_branches(
        inputs,
        stock,
        ["partition_day", "product_option_id", "branch_id"],
        {"branch_id": "branch"},
        stock.c.partition_day == inputs.newest_day(stock.c.partition_day),
    )


def negative_stock(inputs: CheckInputs) -> Outcome:
    """Stock on hand below zero in the newest inventory snapshot in scope. Available below zero is
    normal (more open sales than stock); on hand below zero means a receipt or count is missing."""
    inventory = schema.inventory
    snapshot_filter = inventory.c.snapshot_date == inputs.newest_day(inventory.c.snapshot_date)
    checked = inputs.conn.execute(
        sa.select(sa.func.count()).select_from(inventory).where(snapshot_filter)
    ).scalar_one()
    query = (
        sa.select(
            inventory.c.snapshot_date,
            inventory.c.cin7_option_id,
            inventory.c.warehouse_id,
            inventory.c.sku,
            inventory.c.on_hand,
        )
        .where(snapshot_filter, inventory.c.on_hand < 0)
        .order_by(inventory.c.warehouse_id, inventory.c.cin7_option_id)
    )
    findings = [
        Finding(
            inventory.name,
            record_key(
                snapshot_date=row.snapshot_date,
                cin7_option_id=row.cin7_option_id,
                warehouse_id=row.warehouse_id,
            ),
            f"SKU {row.sku or '(none)'} has {row.on_hand:g} on hand at warehouse "
            f"{row.warehouse_id}",
        )
        for row in inputs.conn.execute(query)
    ]
    return _outcome(
        checked,
        findings,
        "SKU-warehouse rows with negative stock on hand",
        "No SKU-warehouse row has negative stock on hand",
    )


def open_purchase_orders_without_expected_date(inputs: CheckInputs) -> Outcome:
    """Open (Active) purchase orders with no expected date, in the whole table: an order placed
    months ago and still open matters as much as yesterday's. The projection has to guess when
    their stock arrives (order date plus the configured lead time)."""
    orders = schema.purchase_orders
    is_open = orders.c.status == mapping_rules.ACTIVE
    checked = inputs.conn.execute(
        sa.select(sa.func.count()).select_from(orders).where(is_open)
    ).scalar_one()
    query = (
        sa.select(orders.c.cin7_order_id, orders.c.order_number, orders.c.order_date)
        .where(is_open, orders.c.expected_date.is_(None))
        .order_by(orders.c.order_date, orders.c.cin7_order_id)
    )
    findings = [
        Finding(
            orders.name,
            record_key(cin7_order_id=row.cin7_order_id),
            f"open purchase order {row.order_number!r} (ordered {row.order_date}) has no "
            "expected date",
        )
        for row in inputs.conn.execute(query)
    ]
    return _outcome(
        checked,
        findings,
        "Open purchase orders without an expected date",
        "Every open purchase order has an expected date",
    )


def transfers_in_transit_too_long(inputs: CheckInputs) -> Outcome:
    """Dispatched, not received transfers whose dispatch day is more than ``max_transit_days``
    before today (account-local), over the whole table: a transfer stuck for weeks is stock that
    the projection still expects to arrive."""
    transfers = schema.transfers
    limit = inputs.settings.quality.max_transit_days
    cutoff = inputs.today - timedelta(days=limit)
    in_transit = transfers.c.status == mapping_rules.ACTIVE
    checked = inputs.conn.execute(
        sa.select(sa.func.count()).select_from(transfers).where(in_transit)
    ).scalar_one()
    query = (
        sa.select(
            transfers.c.cin7_transfer_id, transfers.c.order_number, transfers.c.dispatched_date
        )
        .where(in_transit, transfers.c.dispatched_date < cutoff)
        .order_by(transfers.c.dispatched_date, transfers.c.cin7_transfer_id)
    )
    findings = [
        Finding(
            transfers.name,
            record_key(cin7_transfer_id=row.cin7_transfer_id),
            f"transfer {row.order_number!r} dispatched {row.dispatched_date} has been in transit "
            f"{(inputs.today - row.dispatched_date).days} days (limit {limit})",
        )
        for row in inputs.conn.execute(query)
    ]
    return _outcome(
        checked,
        findings,
        f"Transfers in transit for more than {limit} days",
        f"No transfer has been in transit for more than {limit} days",
        today=str(inputs.today),
    )


def sales_days_far_from_norm(inputs: CheckInputs) -> Outcome:
    """Days whose dispatched units are more than ``sales_anomaly_factor`` times the median of the
    ``sales_anomaly_window_days`` days before (or less than that median divided by the factor).

    Days without sales count as zero. A day is judged only when its whole trailing window lies
    within the stored sales history, and when that window's median is above zero.
    """
    quality = inputs.settings.quality
    lines = schema.sales_order_lines
    window = quality.sales_anomaly_window_days
    factor = quality.sales_anomaly_factor

    history_start = inputs.conn.execute(sa.select(sa.func.min(lines.c.order_date))).scalar()
    if history_start is None:
        return _outcome(0, [], "", "No sales history stored yet", factor=factor, window_days=window)
    first_day = inputs.scope.first_day or history_start + timedelta(days=window)
    end_day = inputs.scope.end_day or (
        inputs.conn.execute(sa.select(sa.func.max(lines.c.order_date))).scalar() + timedelta(days=1)
    )
    first_day = max(first_day, history_start + timedelta(days=window))

    query = (
        sa.select(lines.c.order_date, sa.func.sum(lines.c.quantity))
        .where(lines.c.order_date >= first_day - timedelta(days=window))
        .where(lines.c.order_date < end_day)
        .group_by(lines.c.order_date)
    )
    units = {day: float(total or 0) for day, total in inputs.conn.execute(query)}

    findings = []
    judged = 0
    day = first_day
    while day < end_day:
        trailing = [units.get(day - timedelta(days=n), 0.0) for n in range(1, window + 1)]
        norm = statistics.median(trailing)
        sold = units.get(day, 0.0)
        if norm > 0:
            judged += 1
            if sold > factor * norm or sold < norm / factor:
                direction = "above" if sold > norm else "below"
                findings.append(
                    Finding(
                        lines.name,
                        record_key(order_date=day),
                        f"{sold:g} units sold on {day}, {direction} the {window}-day median of "
                        f"{norm:g} by more than {factor:g}x",
                    )
                )
        day += timedelta(days=1)
    return _outcome(
        judged,
        findings,
        f"Days with sales more than {factor:g}x away from the {window}-day median",
        f"Every day's sales are within {factor:g}x of the {window}-day median",
        factor=factor,
        window_days=window,
    )


def options_without_sku(inputs: CheckInputs) -> Outcome:
    """Product options left without a SKU: no code in Cin7, or a code another option already
    uses (the mapping keeps the lowest option id and blanks the others)."""
    products = schema.products
    checked = inputs.conn.execute(sa.select(sa.func.count()).select_from(products)).scalar_one()
    query = (
        sa.select(products.c.cin7_option_id, products.c.name, products.c.mapping_issue)
        .where(products.c.sku.is_(None))
        .order_by(products.c.cin7_option_id)
    )
    findings = [
        Finding(
            products.name,
            record_key(cin7_option_id=row.cin7_option_id),
            f"option of {row.name!r} has no SKU: {row.mapping_issue or 'no code in Cin7'}",
        )
        for row in inputs.conn.execute(query)
    ]
    return _outcome(
        checked,
        findings,
        "Product options without a SKU of their own",
        "Every product option has a SKU of its own",
    )


# --- freshness --------------------------------------------------------------------------------


def stale_sync(inputs: CheckInputs, entity: str) -> Outcome:
    """The entity's last successful sync (``sync_state.last_success_at``) is older than
    ``freshness_hours`` before ``scope.now``, or it never synced."""
    limit_hours = inputs.settings.quality.freshness_hours
    row = inputs.conn.execute(
        sa.select(schema.sync_state).where(schema.sync_state.c.entity == entity)
    ).first()
    if row is None:
        finding = Finding("sync_state", record_key(entity=entity), f"{entity} has never synced")
        return Outcome(0, [finding], f"{entity} has never synced", {"limit_hours": limit_hours})

    last_success = row.last_success_at
    if last_success.tzinfo is None:
        # SQLite hands timestamps back without their zone; they were written in UTC.
        last_success = last_success.replace(tzinfo=UTC)
    age_hours = round((inputs.scope.now - last_success).total_seconds() / 3600, 1)
    details = {
        "last_success_at": last_success.isoformat(),
        "age_hours": age_hours,
        "limit_hours": limit_hours,
        "last_window": f"[{row.last_window_start}, {row.last_window_end})"
        if row.last_window_start
        else None,
    }
    if age_hours <= limit_hours:
        summary = f"{entity} last synced {age_hours:g} hours ago (limit {limit_hours:g})"
        return Outcome(1, [], summary, details)
    reason = (
        f"{entity} last synced {age_hours:g} hours ago, at {last_success:%Y-%m-%d %H:%M} UTC "
        f"(limit {limit_hours:g} hours)"
    )
    return Outcome(1, [Finding("sync_state", record_key(entity=entity), reason)], reason, details)
