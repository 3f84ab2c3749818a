"""Migrations on PostgreSQL: an empty database to head with no drift, and concurrent upgrades."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from moselle_cin7.db import migrate
from moselle_cin7.db.engine import engine_for
from moselle_cin7.db.schema import metadata

pytestmark = pytest.mark.postgres


def test_an_empty_database_migrates_to_head_with_no_drift(planning_url):
    engine = engine_for(planning_url)

    assert migrate.upgrade_to_head(engine) == migrate.head_revision()

    tables = set(sa.inspect(engine).get_table_names())
    assert tables == set(metadata.tables) | {"alembic_version"}
    # JSONB on PostgreSQL, from the type variant in schema.py.
    payload = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("raw_sales_orders")}
    assert type(payload["payload"]).__name__ == "JSONB"
    # Autogenerate finds nothing to do. If this fails after a change to schema.py, add a revision:
    #   python -m moselle_cin7.db.migrate revision -m "what changed"
    assert migrate.schema_differences(engine) == []


def test_two_processes_upgrading_at_once_both_succeed(planning_url):
    upgrade = [sys.executable, "-m", "moselle_cin7.db.migrate", "--url", planning_url, "upgrade"]
    processes = [
        subprocess.Popen(upgrade, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    engine = engine_for(planning_url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_the_migration_lock_is_held_until_the_block_ends(planning_url):
    engine = engine_for(planning_url)
    # Another session cannot take the lock while this one holds it...
    with migrate.migration_connection(engine), engine.connect() as other:
        taken = other.execute(
            sa.select(sa.func.pg_try_advisory_lock(migrate.MIGRATION_LOCK_KEY))
        ).scalar_one()
        assert taken is False
    # ...and can once it is released.
    with engine.connect() as other:
        assert other.execute(
            sa.select(sa.func.pg_try_advisory_lock(migrate.MIGRATION_LOCK_KEY))
        ).scalar_one()
        other.execute(sa.select(sa.func.pg_advisory_unlock(migrate.MIGRATION_LOCK_KEY)))
