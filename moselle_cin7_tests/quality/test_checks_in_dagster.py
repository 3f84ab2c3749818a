"""The quality checks as Dagster runs them: wiring, scope from the run's range, metadata and the
quarantine, on a scratch database (no Cin7 calls: only checks are selected)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from moselle_cin7.automation.ranges import DayRange
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db import schema
from moselle_cin7.db.engine import PlanningDatabase
from moselle_cin7.db.ledger import mark_synced
from moselle_cin7.definitions import build_definitions
from moselle_cin7.ingestion.assets import raw_assets
from moselle_cin7.mapping.assets import model_assets
from moselle_cin7.quality import rules
from moselle_cin7.quality.checks import (
    FRESHNESS_CHECK_KEYS,
    MODEL_GATE_CHECK_KEYS,
    QUALITY_CHECKS,
    QualityCheck,
    build_quality_checks,
    data_freshness_job,
)
from moselle_cin7.timeutil import utc_now
from moselle_cin7_tests.quality.scratch import DAY, ScratchDatabase, days, line, sales_order

SALES_ORDERS = dg.AssetKey("cin7_sales_orders")


def _definitions(db: ScratchDatabase, *jobs) -> dg.Definitions:
    # The Cin7 resource is never called: these runs select checks only.
    resources = {
        "cin7": Cin7Resource(base_url="http://127.0.0.1:9/api", account_id="x", api_key="y"),
        "planning_db": PlanningDatabase(url=db.url),
    }
    defs = build_definitions(resources)
    return dg.Definitions.merge(defs, dg.Definitions(jobs=list(jobs)))


def _check_job(*asset_keys: dg.AssetKey) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "quality_only", selection=dg.AssetSelection.checks_for_assets(*asset_keys)
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_every_raw_and_model_asset_has_checks_and_definitions_load(tmp_path):
    db = ScratchDatabase(tmp_path)
    defs = _definitions(db)
    dg.Definitions.validate_loadable(defs)

    checked_assets = {check.asset for check in QUALITY_CHECKS}
    assert checked_assets == {asset.key for asset in [*raw_assets, *model_assets]}
    graph_checks = set(defs.resolve_asset_graph().asset_check_keys)
    assert {dg.AssetCheckKey(c.asset, c.name) for c in QUALITY_CHECKS} <= graph_checks
    # One freshness check per raw asset; blocking checks are ERROR, warnings never block.
    assert {key.asset_key for key in FRESHNESS_CHECK_KEYS} == {a.key for a in raw_assets}
    for check in QUALITY_CHECKS:
        assert check.blocking == (check.severity == dg.AssetCheckSeverity.ERROR) or (
            check.name == "synced_recently" and not check.blocking
        ), check.name
    assert {key.name for key in MODEL_GATE_CHECK_KEYS} == {
        "columns_have_expected_types",
        "sales_lines_are_dispatched_orders_only",
    }


def test_a_ranged_run_checks_its_range_and_a_plain_run_the_whole_table(tmp_path, dagster_instance):
    db = ScratchDatabase(tmp_path)
    db.add_sales_orders(sales_order(101, "SO-1", DAY, [line(9001, "JKT-S", 1.0)]))
    # Stored five days after its own invoice day: outside the range of the first run.
    db.add_sales_orders(sales_order(102, "SO-2", days(-5), []), partition_day=days(-1))
    job_defs = _definitions(db, _check_job(SALES_ORDERS))
    job = job_defs.resolve_job_def("quality_only")

    ranged = job.execute_in_process(
        instance=dagster_instance, tags=DayRange(DAY, DAY).tags(), raise_on_error=False
    )
    assert ranged.success
    evaluation = _evaluations(ranged)["records_in_their_partition_day"]
    assert evaluation.passed
    assert evaluation.metadata["scope"].value == "[2025-03-10, 2025-03-11)"
    assert evaluation.metadata["checked_rows"].value == 1

    whole = job.execute_in_process(instance=dagster_instance, raise_on_error=False)
    assert not whole.success  # a blocking check failed
    evaluation = _evaluations(whole)["records_in_their_partition_day"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.blocking
    assert evaluation.description == (
        "Sales order records stored outside the day of their invoiceDate: 1 of 2"
    )
    assert evaluation.metadata["scope"].value == "whole table"
    assert evaluation.metadata["failing_records"].value == 1
    assert evaluation.metadata["quarantined"].value == 1
    assert "| raw_sales_orders | cin7_id=102 | invoiceDate 2025-03-04T23:00:00Z falls on " in (
        evaluation.metadata["sample"].value
    )

    entries = db.rows(schema.quarantine)
    assert [(e["table_name"], e["record_key"], e["check_name"]) for e in entries] == [
        ("raw_sales_orders", "cin7_id=102", "records_in_their_partition_day")
    ]
    assert entries[0]["run_id"] == whole.run_id


def test_a_warning_fails_its_check_without_failing_the_run(tmp_path, dagster_instance):
    db = ScratchDatabase(tmp_path)
    db.add_sales_orders(
        sales_order(105, "#1050", DAY, [], source="Shopify"),
        sales_order(201, "SO-77", DAY, [], customerOrderNo="1050"),
    )
    job = _definitions(db, _check_job(SALES_ORDERS)).resolve_job_def("quality_only")
    result = job.execute_in_process(instance=dagster_instance, tags=DayRange(DAY, DAY).tags())

    assert result.success
    evaluation = _evaluations(result)["shopify_orders_not_entered_twice"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert not evaluation.blocking
    assert evaluation.description == (
        "Cin7 orders that look like a second copy of a Shopify order: 1 of 2"
    )


@pytest.mark.parametrize(("age_hours", "passed"), [(2, True), (30, False)])
def test_the_freshness_job_judges_every_entity_by_its_last_sync(
    tmp_path, dagster_instance, age_hours, passed
):
    db = ScratchDatabase(tmp_path)
    with db.engine.begin() as conn:
        for entity in ("sales_orders", "purchase_orders", "branch_transfers", "products", "stock"):
            mark_synced(conn, entity, "run-1", when=utc_now() - timedelta(hours=age_hours))
    job = _definitions(db, data_freshness_job).resolve_job_def("data_freshness")
    result = job.execute_in_process(instance=dagster_instance)

    # Freshness never blocks: the run succeeds whatever it finds.
    assert result.success
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {a.key.to_user_string() for a in raw_assets}
    assert evaluations["cin7_branches"].description == "branches has never synced"
    assert not evaluations["cin7_branches"].passed
    stock = evaluations["cin7_stock"]
    assert stock.passed is passed
    assert stock.severity == dg.AssetCheckSeverity.ERROR
    assert stock.metadata["limit_hours"].value == 26
    # Nothing to quarantine: the state is sync_state itself.
    assert db.rows(schema.quarantine) == []


def test_a_check_that_cannot_run_fails_without_hiding_the_others(tmp_path, dagster_instance):
    db = ScratchDatabase(tmp_path)

    def broken(inputs: rules.CheckInputs) -> rules.Outcome:
        raise RuntimeError("the payload column is gone")

    checks = [
        QualityCheck("broken_check", SALES_ORDERS, "Raises.", broken),
        QualityCheck("working_check", SALES_ORDERS, "Passes.", rules.shopify_orders_entered_twice),
    ]
    job = dg.define_asset_job("probe", selection=dg.AssetSelection.checks(
        *(dg.AssetCheckKey(SALES_ORDERS, c.name) for c in checks)))  # fmt: skip
    defs = dg.Definitions.merge(
        _definitions(db), dg.Definitions(asset_checks=build_quality_checks(checks), jobs=[job])
    )
    result = defs.resolve_job_def("probe").execute_in_process(instance=dagster_instance)

    # Warnings only: the run goes on; the broken check fails with its error.
    assert result.success
    evaluations = _evaluations(result)
    assert not evaluations["broken_check"].passed
    assert evaluations["broken_check"].description == (
        "The check could not run: RuntimeError: the payload column is gone"
    )
    assert evaluations["broken_check"].metadata["error"].value == (
        "RuntimeError: the payload column is gone"
    )
    assert evaluations["working_check"].passed
