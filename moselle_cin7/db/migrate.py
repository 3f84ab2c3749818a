"""Schema migrations of the planning database (Alembic), run from code or the command line.

``upgrade_to_head(engine)`` is what the pipeline calls before it writes; several processes may call
it at once (runs starting together), so it first takes a migration lock: a PostgreSQL advisory lock,
or an exclusive lock on a file beside a SQLite database. The migrations live in
``moselle_cin7/db/migrations`` and are generated from ``moselle_cin7.db.schema``::

    python -m moselle_cin7.db.migrate upgrade     # the database of MOSELLE_DATABASE_URL
    python -m moselle_cin7.db.migrate check       # exit 1 if schema.py and the database differ
    python -m moselle_cin7.db.migrate revision -m "add supplier lead times"
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine, make_url

from moselle_cin7.db.engine import default_database_url, engine_for
from moselle_cin7.db.postgres import advisory_lock_key
from moselle_cin7.db.schema import metadata

try:  # POSIX only; elsewhere SQLite migrations run unlocked (the demo runs one process anyway).
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"
VERSION_TABLE = "alembic_version"
MIGRATION_LOCK_KEY = advisory_lock_key("migrate")


class UnversionedSchemaError(RuntimeError):
    """The database has planning tables but no migration history, and they differ from schema.py."""


def configure_context_options() -> dict[str, Any]:
    """The ``context.configure`` options shared by migrations, autogenerate and the drift check."""
    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLE,
        # Batch mode turns ALTERs that SQLite lacks into copy-and-swap; on PostgreSQL it emits
        # plain ALTERs, so revisions generated against either database run on both.
        "render_as_batch": True,
        "compare_type": True,
        "compare_server_default": True,
        "render_item": _render_item,
    }


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Alembic's rendering, except for JSONB.

    Autogenerate against SQLite renders PostgreSQL-only types by ``repr``, which leaves an
    unqualified ``Text()`` in the migration; spell JSONB out instead.
    """
    if kind == "type" and isinstance(item, postgresql.JSONB):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return f"postgresql.JSONB(astext_type=sa.{type(item.astext_type).__name__}())"
    return False


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the initial revision always ships
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection that holds the migration lock until the block ends.

    PostgreSQL: a session advisory lock (not a transaction one, because Alembic commits as it goes).
    SQLite file: ``flock`` on ``<database>.migrate-lock``; SQLite's own locks do not cover
    "check the version, then create the tables", so two processes could both try to create them.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            _wait_for_advisory_lock(connection)
            try:
                yield connection
            finally:
                _release_advisory_lock(connection)
        return

    lock_path = _sqlite_lock_path(engine)
    if lock_path is None or fcntl is None:
        with engine.connect() as connection:
            yield connection
        return
    with open(lock_path, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Waiting for another process to finish migrating %s", lock_path.stem)
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _wait_for_advisory_lock(connection: Connection) -> None:
    locked = connection.execute(
        sa.select(sa.func.pg_try_advisory_lock(MIGRATION_LOCK_KEY))
    ).scalar_one()
    if not locked:
        logger.info("Waiting for another process to finish migrating the planning database")
        connection.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
    # The lock belongs to the session; ending the implicit transaction keeps it.
    connection.commit()


def _release_advisory_lock(connection: Connection) -> None:
    try:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
        connection.commit()
    except sa.exc.DBAPIError:
        # A broken connection has lost its session, and the lock with it.
        logger.warning("Could not release the migration lock explicitly", exc_info=True)


def _sqlite_lock_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(path.name + ".migrate-lock")


def upgrade_to_head(engine: Engine) -> str:
    """Migrate the database to the newest revision; safe to call from several processes at once.

    A database created before migrations existed (``create_all``) is adopted: stamped at head if
    it matches schema.py exactly, refused with ``UnversionedSchemaError`` otherwise.
    Returns the revision the database is at afterwards.
    """
    with migration_connection(engine) as connection:
        config = alembic_config(connection)
        _adopt_unversioned_schema(connection, config)
        command.upgrade(config, "head")
        if connection.in_transaction():
            connection.commit()
        revision = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
        connection.commit()
    logger.info("Planning database %s is at revision %s", _display(engine), revision)
    return revision or ""


def _adopt_unversioned_schema(connection: Connection, config: Config) -> None:
    tables = set(sa.inspect(connection).get_table_names())
    ours = tables & set(metadata.tables)
    if VERSION_TABLE in tables or not ours:
        connection.rollback()
        return
    differences = _compare(connection)
    connection.rollback()
    if differences:
        raise UnversionedSchemaError(
            f"{_display(connection.engine)} holds planning tables ({len(ours)}) without a migration"
            f" history, and they differ from the current schema: {differences[:5]}. Recreate it"
            " (the demo database under .moselle can simply be deleted) or migrate it by hand."
        )
    logger.warning(
        "Planning database %s predates migrations and matches the schema: stamping it at head",
        _display(connection.engine),
    )
    command.stamp(config, "head")
    if connection.in_transaction():
        connection.commit()


def schema_differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match schema.py.

    An empty list means no drift. Items are Alembic's diff tuples, e.g. ``("add_column", ...)``.
    """
    with engine.connect() as connection:
        return _compare(connection)


def _compare(connection: Connection) -> list[Any]:
    options = configure_context_options()
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, options["target_metadata"]))


def new_revision(message: str, url: str | None = None, rev_id: str | None = None) -> list[Path]:
    """Autogenerate a revision from the difference between schema.py and the migrations' head.

    Compares against ``url`` after migrating it to head, or, by default, a scratch SQLite database
    (no server needed; PostgreSQL-only details such as JSONB come from schema.py's variants).
    The new file is formatted with ruff when ruff is installed. Returns the files written.
    """
    with tempfile.TemporaryDirectory() as scratch:
        engine = engine_for(url or f"sqlite:///{Path(scratch) / 'head.sqlite'}")
        try:
            upgrade_to_head(engine)
            with migration_connection(engine) as connection:
                scripts = command.revision(
                    alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id
                )
        finally:
            engine.dispose()
    written = [Path(script.path) for script in _as_list(scripts)]
    _format_with_ruff(written)
    return written


def _as_list(scripts: Any) -> list[Any]:
    if scripts is None:
        return []
    return list(scripts) if isinstance(scripts, list) else [scripts]


def _format_with_ruff(paths: Sequence[Path]) -> None:
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if not ruff or not paths:
        return
    files = [str(path) for path in paths]
    subprocess.run([ruff, "format", "--quiet", *files], check=False)
    subprocess.run([ruff, "check", "--fix", "--quiet", *files], check=False)


def _display(engine: Engine) -> str:
    return make_url(engine.url).render_as_string(hide_password=True)


# --- command line ------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands ``upgrade``, ``current``, ``check`` and ``revision`` on ``parser``."""
    parser.add_argument(
        "--url",
        help="SQLAlchemy URL of the planning database (default: MOSELLE_DATABASE_URL, else the"
        " demo SQLite file)",
    )
    actions = parser.add_subparsers(dest="db_command", required=True)
    actions.add_parser("upgrade", help="migrate the planning database to the newest revision")
    actions.add_parser("current", help="print the database's revision and the newest one")
    actions.add_parser("check", help="exit 1 if the database and schema.py differ")
    revision = actions.add_parser(
        "revision", help="autogenerate a migration from changes to schema.py (for developers)"
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration changes")
    revision.add_argument("--rev-id", help="revision id (default: a random one)")


def run(args: argparse.Namespace) -> int:
    """Carry out the sub-command parsed by ``add_arguments``; returns the exit status."""
    url = args.url or default_database_url()
    if args.db_command == "revision":
        for path in new_revision(args.message, args.url, args.rev_id):
            _write(f"Wrote {path}")
        return 0

    engine = engine_for(url)
    if args.db_command == "upgrade":
        revision = upgrade_to_head(engine)
        _write(f"{_display(engine)} is at revision {revision} (head)")
        return 0
    if args.db_command == "current":
        _write(f"{_display(engine)}: revision {current_revision(engine)}, head {head_revision()}")
        return 0
    differences = schema_differences(engine)
    for difference in differences:
        _write(f"differs: {difference}")
    if not differences:
        _write(f"{_display(engine)} matches schema.py")
    return 1 if differences else 0


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(
        prog="python -m moselle_cin7.db.migrate",
        description="Migrate the moselle-cin7 planning database (Alembic).",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
