"""Migrations on SQLite: an empty database to head, no drift from schema.py, adoption of databases
made before migrations, concurrent upgrades, and the command line."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command

from moselle_cin7.db import migrate
from moselle_cin7.db.engine import engine_for, ensure_schema
from moselle_cin7.db.schema import metadata


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'planning.sqlite'}"


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_an_empty_database_migrates_to_head_with_no_drift(sqlite_url):
    engine = engine_for(sqlite_url)
    assert migrate.current_revision(engine) is None

    assert migrate.upgrade_to_head(engine) == migrate.head_revision()

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _tables(engine) == set(metadata.tables) | {"alembic_version"}
    # Autogenerate finds nothing to do: the migrations build exactly what schema.py describes.
    # If this fails after a change to schema.py, add a revision:
    #   python -m moselle_cin7.db.migrate revision -m "what changed"
    assert migrate.schema_differences(engine) == []


def test_upgrading_twice_changes_nothing(sqlite_url):
    engine = engine_for(sqlite_url)
    migrate.upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO sync_state VALUES ('products', '2024-05-01', NULL, NULL, 'r')")
        )

    migrate.upgrade_to_head(engine)
    ensure_schema(engine)

    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM sync_state")).scalar_one() == 1


def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(sqlite_url):
    engine = engine_for(sqlite_url)
    migrate.upgrade_to_head(engine)

    with migrate.migration_connection(engine) as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    assert _tables(engine) == {"alembic_version"}

    migrate.upgrade_to_head(engine)
    assert migrate.schema_differences(engine) == []


def test_a_database_made_by_create_all_is_adopted_at_head(sqlite_url):
    engine = engine_for(sqlite_url)
    metadata.create_all(engine)

    migrate.upgrade_to_head(engine)

    assert migrate.current_revision(engine) == migrate.head_revision()


def test_an_unversioned_database_that_differs_is_refused(sqlite_url):
    engine = engine_for(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE warehouses (warehouse_id INTEGER PRIMARY KEY)"))

    with pytest.raises(migrate.UnversionedSchemaError, match="without a migration history"):
        migrate.upgrade_to_head(engine)
    assert migrate.current_revision(engine) is None


def test_drift_is_reported_by_the_check_command(sqlite_url, capsys):
    engine = engine_for(sqlite_url)
    migrate.upgrade_to_head(engine)
    assert migrate.main(["--url", sqlite_url, "check"]) == 0

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE warehouses ADD COLUMN region TEXT"))

    assert migrate.main(["--url", sqlite_url, "check"]) == 1
    assert "remove_column" in capsys.readouterr().out


def test_two_processes_upgrading_at_once_both_succeed(sqlite_url):
    upgrade = [sys.executable, "-m", "moselle_cin7.db.migrate", "--url", sqlite_url, "upgrade"]
    processes = [
        subprocess.Popen(upgrade, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert migrate.current_revision(engine_for(sqlite_url)) == migrate.head_revision()


def test_the_migrations_are_package_resources():
    migrations = resources.files("moselle_cin7.db.migrations")
    shipped = {entry.name for entry in migrations.iterdir()}
    assert {"alembic.ini", "env.py", "script.py.mako", "versions"} <= shipped
    versions = {entry.name for entry in migrations.joinpath("versions").iterdir()}
    assert any(name.startswith(migrate.head_revision()) for name in versions)
