"""The checks' SQL on PostgreSQL: JSONB payload filters and the quarantine upsert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from moselle_cin7.db import schema
from moselle_cin7.quality import rules
from moselle_cin7.quality.quarantine import Finding, record_findings

# The PostgreSQL fixtures of the postgres test package: fresh databases, dropped after the test.
from moselle_cin7_tests.postgres.conftest import create_database, postgres_server  # noqa: F401
from moselle_cin7_tests.quality.scratch import DAY, ScratchDatabase, days, line, sales_order

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(create_database) -> ScratchDatabase:  # noqa: F811
    return ScratchDatabase(url=create_database("quality"))


def test_payload_checks_run_on_jsonb(db):
    db.add_sales_orders(
        sales_order(101, "SO-1", DAY, [line(9001, "JKT-S", 1.0), line(9001, "JKT-M", 1.0)]),
        sales_order(102, "so-1 ", days(-40), []),
        sales_order(105, "#1050", DAY, [], source="Shopify"),
        sales_order(201, "SO-77", days(-30), [], customerOrderNo="1050"),
    )
    with db.inputs(DAY, days(1)) as inputs:
        numbers = rules.duplicate_order_numbers(inputs, rules.RAW_SALES_ORDERS)
        lines = rules.duplicate_line_ids(
            inputs, rules.RAW_SALES_ORDERS, schema.sales_order_lines, "cin7_order_id"
        )
        shopify = rules.shopify_orders_entered_twice(inputs)
        types = rules.raw_field_types(inputs, rules.RAW_SALES_ORDERS)

    assert sorted(f.record_key for f in numbers.findings) == ["cin7_id=101", "cin7_id=102"]
    assert [f.reason for f in lines.findings] == [
        "line id 9001 appears more than once on this sales order"
    ]
    assert [f.record_key for f in shopify.findings] == ["cin7_id=201"]
    # JSONB hands back the same Python types as SQLite's JSON text: true stays True.
    assert types.passed, types.findings


def test_the_quarantine_upsert_keeps_first_seen(db):
    first = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    finding = Finding("inventory", "snapshot_date=2025-03-10, cin7_option_id=11", "-1 on hand")
    with db.engine.begin() as conn:
        record_findings(conn, "no_negative_stock", [finding], "run-1", first)
    with db.engine.begin() as conn:
        record_findings(conn, "no_negative_stock", [finding], "run-2", first + timedelta(days=1))
    (entry,) = db.rows(schema.quarantine)
    assert (entry["first_seen"], entry["last_seen"], entry["run_id"]) == (
        first,
        first + timedelta(days=1),
        "run-2",
    )
