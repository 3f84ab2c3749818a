"""The quarantine: every row a check finds wrong, with the reason, so nothing is dropped silently.

One entry per table, record and check. A check that finds the same record again keeps the
entry's ``first_seen`` and moves ``last_seen`` (and the reason and run id) forward, so the table
tells how long a problem has been there. Entries are never deleted here: a ``last_seen`` older than
the check's latest run means the record has since been fixed (or left the checked range).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from moselle_cin7.db.schema import quarantine

logger = logging.getLogger(__name__)

# Rows per upsert statement: keeps SQLite under its bound-parameter limit.
_UPSERT_BATCH = 2_000
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Finding:
    """One record that fails one check: where it is, and why, in words a planner can act on."""

    table_name: str
    record_key: str
    reason: str


def record_key(**key_values: Any) -> str:
    """A readable, stable record key: ``cin7_id=101`` or ``partition_day=..., branch_id=2``."""
    return ", ".join(f"{name}={value}" for name, value in key_values.items())


def record_findings(
    conn: Connection,
    check_name: str,
    findings: Sequence[Finding],
    run_id: str,
    seen_at: datetime,
) -> int:
    """Upsert ``findings`` of ``check_name`` into the quarantine table; returns how many.

    Within the caller's transaction. A record found twice by one check run is written once, with
    the reasons joined.
    """
    if seen_at.tzinfo is None:
        raise ValueError("seen_at must be timezone-aware")
    merged: dict[tuple[str, str], list[str]] = {}
    for finding in findings:
        reasons = merged.setdefault((finding.table_name, finding.record_key), [])
        if finding.reason not in reasons:
            reasons.append(finding.reason)
    rows = [
        {
            "table_name": table_name,
            "record_key": key,
            "check_name": check_name,
            "reason": "; ".join(reasons),
            "first_seen": seen_at,
            "last_seen": seen_at,
            "run_id": run_id,
        }
        for (table_name, key), reasons in merged.items()
    ]
    for start in range(0, len(rows), _UPSERT_BATCH):
        _upsert(conn, rows[start : start + _UPSERT_BATCH])
    return len(rows)


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(quarantine)
        statement = statement.on_conflict_do_update(
            index_elements=["table_name", "record_key", "check_name"],
            # first_seen is left alone: it says since when the problem has been there.
            set_={
                "reason": statement.excluded.reason,
                "last_seen": statement.excluded.last_seen,
                "run_id": statement.excluded.run_id,
            },
        )
        conn.execute(statement, rows)
        return
    # Other databases: update what is there, insert the rest (the caller's transaction).
    for row in rows:
        key = (
            (quarantine.c.table_name == row["table_name"])
            & (quarantine.c.record_key == row["record_key"])
            & (quarantine.c.check_name == row["check_name"])
        )
        updated = conn.execute(
            sa.update(quarantine)
            .where(key)
            .values(reason=row["reason"], last_seen=row["last_seen"], run_id=row["run_id"])
        ).rowcount
        if not updated:
            conn.execute(sa.insert(quarantine).values(**row))


def _cell(text: str) -> str:
    # Markdown table cells: a pipe or a newline would break the row.
    return text.replace("|", "\\|").replace("\n", " ")


def findings_markdown(findings: Sequence[Finding], limit: int = SAMPLE_SIZE) -> str:
    """The first ``limit`` findings as a markdown table, then how many more there are."""
    lines = ["| table | record | reason |", "| --- | --- | --- |"]
    lines += [
        f"| {_cell(f.table_name)} | {_cell(f.record_key)} | {_cell(f.reason)} |"
        for f in findings[:limit]
    ]
    if len(findings) > limit:
        lines.append(f"\n{len(findings) - limit} more in the quarantine table.")
    return "\n".join(lines)
