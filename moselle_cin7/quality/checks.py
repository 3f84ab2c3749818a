"""The data-quality gate: Dagster asset checks on every raw and mapped asset.

Blocking checks (severity ERROR) stop bad data where it enters: when one fails, the assets
downstream of the checked asset are skipped in that run and the run fails, so the planning tables
keep what the last good run built. Warning checks (severity WARN) never block; they say what a
planner should look at. Every failing record is written to the ``quarantine`` table and a sample of
up to ten shows in the check's metadata.

All checks of one asset run in one step (a multi-asset check), so a 90-day window of payloads is
read once for all of them. The step runs once per run, over the run's whole partition range (half-
open, account-local days, read from the check context); run on its own, outside a partitioned run,
it checks the whole table. See ``quality.rules`` for how each check scopes its queries.

Freshness is a plain asset check reading ``sync_state`` rather than Dagster's partition freshness
builders: ``sync_state`` is written in the same transaction as the data, so it tells the truth about
the planning database however the sync was started (schedule, sensor, support backfill, the CLI),
and it measures the age in hours that the settings speak of. The builders judge Dagster's own
materialization records of the newest partition against a cron deadline, which a ranged run
records for every day of its range and which a restored database does not share.
"""

# No `from __future__ import annotations` here: Dagster reads the context annotation at runtime.
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import dagster as dg

from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.ingestion import assets as raw
from moselle_cin7.ingestion.partitions import daily_partitions, window_days
from moselle_cin7.mapping import assets as mapped
from moselle_cin7.quality import rules
from moselle_cin7.quality.quarantine import findings_markdown, record_findings
from moselle_cin7.settings import load_settings
from moselle_cin7.timeutil import utc_now

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class QualityCheck:
    """One check: its name, the asset it guards, what it means and how it is computed.

    ``description`` is written for a planner: what a failure means and what to do about it. It is
    shown in the Dagster UI next to the check.
    """

    name: str
    asset: dg.AssetKey
    description: str
    inspect: Callable[[rules.CheckInputs], rules.Outcome]
    blocking: bool = False
    severity: dg.AssetCheckSeverity = WARN
    # Freshness has no failing rows to keep: its state is the sync_state table itself.
    quarantine: bool = True


def _key(asset: dg.AssetsDefinition) -> dg.AssetKey:
    return asset.key


def _blocking(name: str, asset: dg.AssetsDefinition, description: str, inspect) -> QualityCheck:
    return QualityCheck(name, _key(asset), description, inspect, blocking=True, severity=ERROR)


def _warning(name: str, asset: dg.AssetsDefinition, description: str, inspect) -> QualityCheck:
    return QualityCheck(name, _key(asset), description, inspect)


# --- raw Cin7 records -------------------------------------------------------------------------

_TYPES_TEXT = (
    "Cin7 sent a field in a form the sync does not read (an id that is not a whole number, a "
    "quantity as text, a date that is not a date). Blocks the mapping: planning tables keep the "
    "last good data. Look at the quarantined records in Cin7; if Cin7 changed a field's type for "
    "everyone, the sync needs a change."
)
_PARTITION_TEXT = (
    "A stored record's own {field} falls on another account-local day than the partition it is "
    "stored in, so per-day history would be wrong. Blocks the mapping. Usually the account's time "
    "zone setting changed or a record moved day: re-sync the days named in the quarantine."
)
_ORDER_NUMBER_TEXT = (
    "One {noun} number is used by two live (not voided) Cin7 ids, so the same document would be "
    "counted twice or confused with another. Blocks the mapping. Find both ids in Cin7 (the "
    "quarantine lists them); void or renumber the wrong one, then re-sync its day."
)
_LINE_ID_TEXT = (
    "A line id appears on two {noun}s (or twice on one), or is already stored under another "
    "{noun}: the mapping would fail or attach quantities to the wrong document. Blocks the "
    "mapping. Check the {noun}s named in the quarantine in Cin7 and re-sync their days."
)


def _freshness(asset: dg.AssetsDefinition, entity: str) -> QualityCheck:
    return QualityCheck(
        "synced_recently",
        _key(asset),
        f"The last successful sync of {entity} is older than quality.freshness_hours (26 by "
        "default) or never happened: plans are built on old data. Fails without blocking. Look "
        "at the latest daily_sync run for the error (API key, Cin7 limits) and re-run it.",
        partial(rules.stale_sync, entity=entity),
        severity=ERROR,
        quarantine=False,
    )


def _transaction_checks(
    asset: dg.AssetsDefinition,
    source: rules.RawSource,
    number_check: str,
    mapped_lines,
    parent_column: str,
    entity: str,
) -> list[QualityCheck]:
    noun = source.noun
    return [
        _blocking(
            number_check,
            asset,
            _ORDER_NUMBER_TEXT.format(noun=noun),
            partial(rules.duplicate_order_numbers, source=source),
        ),
        _blocking(
            "no_duplicate_line_ids",
            asset,
            _LINE_ID_TEXT.format(noun=noun),
            partial(
                rules.duplicate_line_ids,
                source=source,
                mapped_lines=mapped_lines,
                parent_column=parent_column,
            ),
        ),
        _blocking(
            "fields_have_expected_types",
            asset,
            _TYPES_TEXT,
            partial(rules.raw_field_types, source=source),
        ),
        _blocking(
            "records_in_their_partition_day",
            asset,
            _PARTITION_TEXT.format(field=source.date_field),
            partial(rules.records_outside_partition, source=source),
        ),
        _freshness(asset, entity),
    ]


RAW_CHECKS: list[QualityCheck] = [
    *_transaction_checks(
        mapped.cin7_sales_orders,
        rules.RAW_SALES_ORDERS,
        "no_duplicate_order_numbers",
        schema.sales_order_lines,
        "cin7_order_id",
        "sales_orders",
    ),
    _warning(
        "shopify_orders_not_entered_twice",
        mapped.cin7_sales_orders,
        "A Cin7 order carries a Shopify order's number in its customerOrderNo (#1050 or 1050): "
        "the same sale entered twice, so demand may be double-counted. Does not block. Void the "
        "copy in Cin7, or adjust shopify_exclusion in the settings if the Shopify order is the "
        "one Moselle should ignore.",
        rules.shopify_orders_entered_twice,
    ),
    *_transaction_checks(
        mapped.cin7_purchase_orders,
        rules.RAW_PURCHASE_ORDERS,
        "no_duplicate_order_numbers",
        schema.purchase_order_lines,
        "cin7_order_id",
        "purchase_orders",
    ),
    *_transaction_checks(
        mapped.cin7_branch_transfers,
        rules.RAW_BRANCH_TRANSFERS,
        "no_duplicate_transfer_numbers",
        schema.transfer_lines,
        "cin7_transfer_id",
        "branch_transfers",
    ),
    _blocking(
        "no_duplicate_option_ids",
        raw.cin7_products,
        "One product option id sits under two products in the newest snapshot: the product "
        "catalogue cannot say which product a SKU belongs to. Blocks the mapping. Check the "
        "products named in the quarantine in Cin7.",
        rules.duplicate_option_ids,
    ),
    _blocking(
        "fields_have_expected_types",
        raw.cin7_products,
        _TYPES_TEXT,
        partial(rules.raw_field_types, source=rules.RAW_PRODUCTS),
    ),
    _freshness(raw.cin7_products, "products"),
    _blocking(
        "fields_have_expected_types",
        raw.cin7_stock,
        _TYPES_TEXT,
        partial(rules.raw_field_types, source=rules.RAW_STOCK),
    ),
    _freshness(raw.cin7_stock, "stock"),
    _blocking(
        "fields_have_expected_types",
        raw.cin7_branches,
        _TYPES_TEXT,
        partial(rules.raw_field_types, source=rules.RAW_BRANCHES),
    ),
    _freshness(raw.cin7_branches, "branches"),
]

# --- Moselle's model --------------------------------------------------------------------------

_MODEL_TEXT = (
    "Rows of {tables} that do not fit the table (a duplicate key, a missing date, an unknown "
    "status, a quantity that is not a number): a mapping fault. Blocks the planning assets, "
    "which keep the last good plan. Report it with the quarantined rows; it needs a fix in code."
)
_BRANCH_TEXT = (
    "Rows naming a Cin7 branch that is not among the warehouses (or no branch at all): their "
    "quantities are planned nowhere. Does not block. Re-sync branches if the branch is new; "
    "otherwise correct the {document} in Cin7."
)
_SKU_TEXT = (
    "Lines whose SKU is not in products (or that have none): their quantities are not planned "
    "against any product. Does not block. Usually a new product not yet synced or a code typed "
    "differently on the {document}; fix the code in Cin7."
)

MODEL_CHECKS: list[QualityCheck] = [
    _blocking(
        "columns_have_expected_types",
        mapped.warehouses,
        _MODEL_TEXT.format(tables="warehouses"),
        partial(rules.mapped_column_types, tables=[rules.MAPPED_WAREHOUSES]),
    ),
    _blocking(
        "columns_have_expected_types",
        mapped.products,
        _MODEL_TEXT.format(tables="products"),
        partial(rules.mapped_column_types, tables=[rules.MAPPED_PRODUCTS]),
    ),
    _warning(
        "every_option_has_a_unique_sku",
        mapped.products,
        "Product options without a SKU of their own (no code in Cin7, or a code another option "
        "already uses): they cannot be planned. Does not block. Give each option its own code "
        "in Cin7.",
        rules.options_without_sku,
    ),
    _blocking(
        "columns_have_expected_types",
        mapped.sales_order_lines,
        _MODEL_TEXT.format(tables="sales_order_lines"),
        partial(rules.mapped_column_types, tables=[rules.MAPPED_SALES_ORDER_LINES]),
    ),
    _blocking(
        "sales_lines_are_dispatched_orders_only",
        mapped.sales_order_lines,
        "Sales history holds lines of orders that are not dispatched, are voided, or are Shopify "
        "orders the settings exclude: the forecast would count demand that did not happen (or "
        "is counted elsewhere). Blocks the planning assets. A mapping fault or a settings change "
        "not yet re-synced: re-sync the range, and report it if it stays.",
        rules.sales_lines_from_excluded_orders,
    ),
    _warning(
        "skus_known_in_products",
        mapped.sales_order_lines,
        _SKU_TEXT.format(document="sales order"),
        partial(rules.unknown_skus, lines=schema.sales_order_lines, key_column="cin7_line_id"),
    ),
    _warning(
        "branches_known_as_warehouses",
        mapped.sales_order_lines,
        _BRANCH_TEXT.format(document="sales order"),
        rules.unknown_sales_branches,
    ),
    _warning(
        "daily_sales_within_normal_range",
        mapped.sales_order_lines,
        "A day's dispatched units are more than quality.sales_anomaly_factor times away from the "
        "median of the quality.sales_anomaly_window_days days before: a promotion, a bulk order, "
        "or missing or doubled data. Does not block. Confirm the day in Cin7; if it is real but "
        "one-off, expect the forecast to lean on it.",
        rules.sales_days_far_from_norm,
    ),
    _blocking(
        "columns_have_expected_types",
        mapped.purchase_orders,
        _MODEL_TEXT.format(tables="purchase_orders and purchase_order_lines"),
        partial(
            rules.mapped_column_types,
            tables=[rules.MAPPED_PURCHASE_ORDERS, rules.MAPPED_PURCHASE_ORDER_LINES],
        ),
    ),
    _warning(
        "open_purchase_orders_have_expected_date",
        mapped.purchase_orders,
        "Open purchase orders without an expected (delivery) date: the projection guesses their "
        "arrival from the order date and the lead time. Does not block. Enter the "
        "estimated delivery date on the PO in Cin7.",
        rules.open_purchase_orders_without_expected_date,
    ),
    _warning(
        "skus_known_in_products",
        mapped.purchase_orders,
        _SKU_TEXT.format(document="purchase order"),
        partial(rules.unknown_skus, lines=schema.purchase_order_lines, key_column="cin7_line_id"),
    ),
    _warning(
        "branches_known_as_warehouses",
        mapped.purchase_orders,
        _BRANCH_TEXT.format(document="purchase order"),
        rules.unknown_purchase_order_branches,
    ),
    _blocking(
        "columns_have_expected_types",
        mapped.transfers,
        _MODEL_TEXT.format(tables="transfers and transfer_lines"),
        partial(
            rules.mapped_column_types,
            tables=[rules.MAPPED_TRANSFERS, rules.MAPPED_TRANSFER_LINES],
        ),
    ),
    _warning(
        "transfers_not_in_transit_too_long",
        mapped.transfers,
        "Transfers dispatched more than quality.max_transit_days days ago and still not "
        "received: the projection keeps expecting that stock. Does not block. Receive the "
        "transfer in Cin7, or find out where the goods are.",
        rules.transfers_in_transit_too_long,
    ),
    _warning(
        "skus_known_in_products",
        mapped.transfers,
        _SKU_TEXT.format(document="transfer"),
        partial(rules.unknown_skus, lines=schema.transfer_lines, key_column="cin7_line_id"),
    ),
    _warning(
        "branches_known_as_warehouses",
        mapped.transfers,
        _BRANCH_TEXT.format(document="transfer"),
        rules.unknown_transfer_branches,
    ),
    _blocking(
        "columns_have_expected_types",
        mapped.inventory,
        _MODEL_TEXT.format(tables="inventory"),
        partial(rules.mapped_column_types, tables=[rules.MAPPED_INVENTORY]),
    ),
    _warning(
        "no_negative_stock",
        mapped.inventory,
        "Stock on hand below zero in the newest snapshot: a receipt, transfer or stock count is "
        "missing in Cin7, and the projection starts from a wrong level. Does not block. Correct "
        "the stock in Cin7 (stocktake or missing receipt).",
        rules.negative_stock,
    ),
    _warning(
        "branches_known_as_warehouses",
        mapped.inventory,
        "Stock rows of a Cin7 branch that is not among the warehouses: that stock is left out of "
        "inventory. Does not block. Re-sync branches if the branch is new.",
        rules.unknown_stock_branches,
    ),
]

QUALITY_CHECKS: list[QualityCheck] = [*RAW_CHECKS, *MODEL_CHECKS]


# --- Dagster wiring ---------------------------------------------------------------------------


def check_scope(context: dg.AssetCheckExecutionContext) -> rules.Scope:
    """The run's partition range as half-open account-local days, or the whole table.

    The range is read as partition keys: a run of checks without their assets has the range but
    no partitions definition to turn it into a time window. A check that runs outside any
    partitioned run (on its own, from the UI) has no range and checks the whole table.
    """
    if not (context.has_partition_key or context.has_partition_key_range):
        return rules.Scope()
    try:
        key_range = context.partition_key_range
        first_day, _ = window_days(daily_partitions.time_window_for_partition_key(key_range.start))
        _, end_day = window_days(daily_partitions.time_window_for_partition_key(key_range.end))
    except (dg.DagsterInvariantViolationError, ValueError):
        return rules.Scope()
    return rules.Scope(first_day, end_day)


def _result(
    check: QualityCheck, outcome: rules.Outcome, scope: rules.Scope, quarantined: int
) -> dg.AssetCheckResult:
    metadata: dict[str, object] = {
        "failing_records": outcome.failing_records,
        "checked_rows": outcome.checked,
        "scope": scope.label if scope.whole_table else f"[{scope.first_day}, {scope.end_day})",
    }
    if outcome.findings:
        metadata["sample"] = dg.MetadataValue.md(findings_markdown(outcome.findings))
        if check.quarantine:
            metadata["quarantined"] = quarantined
    if outcome.error:
        metadata["error"] = outcome.error
    metadata.update({name: value for name, value in outcome.details.items() if value is not None})
    return dg.AssetCheckResult(
        asset_key=check.asset,
        check_name=check.name,
        passed=outcome.passed,
        severity=check.severity,
        description=outcome.summary,
        metadata=metadata,
    )


def _inspect(
    context: dg.AssetCheckExecutionContext, check: QualityCheck, inputs: rules.CheckInputs
) -> rules.Outcome:
    """Run one check; a check that raises fails with the error (a blocking one still blocks)
    instead of taking the other checks of its asset down with it."""
    try:
        return check.inspect(inputs)
    except Exception as error:
        context.log.error(f"{check.name} could not run:\n{traceback.format_exc()}")
        message = f"{type(error).__name__}: {error}"
        return rules.Outcome(0, [], f"The check could not run: {message}", error=message)


def _bundle(asset_key: dg.AssetKey, checks: Sequence[QualityCheck]) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"{asset_key.to_python_identifier()}_quality",
        description=f"Data-quality checks of {asset_key.to_user_string()}.",
        specs=[
            dg.AssetCheckSpec(
                check.name,
                asset=asset_key,
                blocking=check.blocking,
                description=check.description,
            )
            for check in checks
        ],
        can_subset=True,
    )
    def _run(
        context: dg.AssetCheckExecutionContext, planning_db: PlanningDatabase
    ) -> Iterator[dg.AssetCheckResult]:
        settings = load_settings()
        scope = check_scope(context)
        engine = planning_db.get_engine()
        selected = {key.name for key in context.selected_asset_check_keys}

        # Read everything on one connection, so the checks of an asset see the same data.
        with engine.connect() as conn:
            inputs = rules.CheckInputs(conn, scope, settings)
            outcomes = [
                (check, _inspect(context, check, inputs))
                for check in checks
                if check.name in selected
            ]

        seen_at = utc_now()
        quarantined: dict[str, int] = defaultdict(int)
        with engine.begin() as conn:
            for check, outcome in outcomes:
                if check.quarantine and outcome.findings:
                    quarantined[check.name] = record_findings(
                        conn, check.name, outcome.findings, context.run.run_id, seen_at
                    )

        for check, outcome in outcomes:
            if not outcome.passed:
                context.log.warning(f"{asset_key.to_user_string()} {check.name}: {outcome.summary}")
            yield _result(check, outcome, scope, quarantined[check.name])

    return _run


def build_quality_checks(checks: Sequence[QualityCheck] = QUALITY_CHECKS) -> list:
    """One multi-asset check per asset, holding that asset's checks in the order given."""
    by_asset: dict[dg.AssetKey, list[QualityCheck]] = defaultdict(list)
    for check in checks:
        by_asset[check.asset].append(check)
    return [_bundle(asset_key, asset_checks) for asset_key, asset_checks in by_asset.items()]


quality_checks = build_quality_checks()

FRESHNESS_CHECK_KEYS = [
    dg.AssetCheckKey(check.asset, check.name)
    for check in QUALITY_CHECKS
    if check.name == "synced_recently"
]

# Freshness only means something when checked apart from the sync it judges: inside the sync run
# it follows a success. This job runs just those checks, over the whole table.
data_freshness_job = dg.define_asset_job(
    name="data_freshness",
    selection=dg.AssetSelection.checks(*FRESHNESS_CHECK_KEYS),
    description="Checks that every Cin7 entity synced within quality.freshness_hours.",
    tags={"moselle/kind": "data_freshness"},
)

# The blocking checks of Moselle's model tables. A run that rebuilds only the planning outputs
# (after a batch of sync runs) should select these too: planning assets then wait for them, and
# a model table that failed one in a sync run is not planned from in the next run either.
MODEL_GATE_CHECK_KEYS = [
    dg.AssetCheckKey(check.asset, check.name) for check in MODEL_CHECKS if check.blocking
]
