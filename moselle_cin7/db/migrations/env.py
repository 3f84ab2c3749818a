"""Alembic environment of the planning database; Alembic loads this file for every command.

Online runs use the connection that ``moselle_cin7.db.migrate`` passes in (it already holds the
migration lock); the plain ``alembic`` command gets a locked connection from the same module.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from moselle_cin7.db.engine import default_database_url, engine_for
from moselle_cin7.db.migrate import configure_context_options, migration_connection

config = context.config


def _database_url() -> str:
    arguments = context.get_x_argument(as_dictionary=True)
    return (
        arguments.get("url") or config.get_main_option("sqlalchemy.url") or default_database_url()
    )


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **configure_context_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with migration_connection(engine_for(_database_url())) as locked_connection:
        _run(locked_connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
