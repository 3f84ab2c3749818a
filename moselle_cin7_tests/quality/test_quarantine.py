"""The quarantine table: one entry per table, record and check, with first and last sighting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from moselle_cin7.db import schema
from moselle_cin7.quality.quarantine import Finding, findings_markdown, record_findings
from moselle_cin7_tests.quality.scratch import ScratchDatabase

FIRST = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
LATER = FIRST + timedelta(days=1)


def _entries(db: ScratchDatabase) -> list[tuple]:
    rows = sorted(
        db.rows(schema.quarantine), key=lambda row: (row["check_name"], row["record_key"])
    )
    return [
        (
            row["table_name"],
            row["record_key"],
            row["check_name"],
            row["reason"],
            row["first_seen"].replace(tzinfo=UTC),
            row["last_seen"].replace(tzinfo=UTC),
            row["run_id"],
        )
        for row in rows
    ]


def test_a_record_found_again_keeps_its_first_sighting(tmp_path):
    db = ScratchDatabase(tmp_path)
    duplicate = Finding(
        "raw_sales_orders", "cin7_id=101", "order number 'SO-1' is also used by 102"
    )
    with db.engine.begin() as conn:
        written = record_findings(conn, "no_duplicate_order_numbers", [duplicate], "run-1", FIRST)
    assert written == 1

    moved = Finding("raw_sales_orders", "cin7_id=101", "order number 'SO-1' is also used by 103")
    other = Finding("raw_sales_orders", "cin7_id=101", "invoiceDate 'x' is not a readable date")
    with db.engine.begin() as conn:
        record_findings(conn, "no_duplicate_order_numbers", [moved], "run-2", LATER)
        record_findings(conn, "fields_have_expected_types", [other], "run-2", LATER)

    assert _entries(db) == [
        (
            "raw_sales_orders",
            "cin7_id=101",
            "fields_have_expected_types",
            "invoiceDate 'x' is not a readable date",
            LATER,
            LATER,
            "run-2",
        ),
        (
            "raw_sales_orders",
            "cin7_id=101",
            "no_duplicate_order_numbers",
            "order number 'SO-1' is also used by 103",
            FIRST,
            LATER,
            "run-2",
        ),
    ]


def test_one_record_found_twice_in_a_run_is_one_entry_with_both_reasons(tmp_path):
    db = ScratchDatabase(tmp_path)
    findings = [
        Finding("raw_purchase_orders", "cin7_id=201", "line id 9001 also appears on 202"),
        Finding("raw_purchase_orders", "cin7_id=201", "line id 9002 also appears on 203"),
        Finding("raw_purchase_orders", "cin7_id=201", "line id 9002 also appears on 203"),
    ]
    with db.engine.begin() as conn:
        assert record_findings(conn, "no_duplicate_line_ids", findings, "run-1", FIRST) == 1
    assert [entry[3] for entry in _entries(db)] == [
        "line id 9001 also appears on 202; line id 9002 also appears on 203"
    ]


def test_naive_timestamps_are_refused(tmp_path):
    db = ScratchDatabase(tmp_path)
    with db.engine.begin() as conn, pytest.raises(ValueError, match="timezone-aware"):
        record_findings(conn, "x", [], "run-1", datetime(2025, 3, 10))


def test_the_sample_is_a_markdown_table_of_at_most_ten_rows():
    findings = [Finding("inventory", f"key={n}", f"reason | {n}") for n in range(12)]
    sample = findings_markdown(findings)
    lines = sample.splitlines()
    assert lines[:3] == [
        "| table | record | reason |",
        "| --- | --- | --- |",
        "| inventory | key=0 | reason \\| 0 |",
    ]
    assert len([line for line in lines if line.startswith("| inventory")]) == 10
    assert lines[-1] == "2 more in the quarantine table."
