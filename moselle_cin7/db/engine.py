"""Connecting to the planning database: SQLite for the demo, PostgreSQL in production."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from dagster import ConfigurableResource
from sqlalchemy.engine import Engine, make_url

from moselle_cin7.db.schema import metadata

DATABASE_URL_ENV_VAR = "MOSELLE_DATABASE_URL"
DEFAULT_DATABASE_PATH = Path(".moselle") / "planning.sqlite"


def default_database_url() -> str:
    """The URL in ``MOSELLE_DATABASE_URL``, else a SQLite file under ``.moselle``."""
    return os.environ.get(DATABASE_URL_ENV_VAR) or f"sqlite:///{DEFAULT_DATABASE_PATH}"


def normalise_url(url: str) -> str:
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; this project uses psycopg2 throughout.
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the Dagster UI read while a run writes; a busy timeout rides out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def read_json(text: str | bytes) -> Any:
    """A stored JSON document, decoded by orjson (a few times faster than ``json`` on the
    hundreds of thousands of raw payloads a check or a mapping reads), else by ``json``.

    ``json`` takes what orjson refuses and the raw tables may hold: whole numbers beyond 64 bits
    (an id Cin7 should never send, still stored as sent), ``NaN`` and lone surrogates.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


@cache
def engine_for(url: str) -> Engine:
    """One pooled engine per database URL and process."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, json_deserializer=read_json)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, json_deserializer=read_json
    )


def ensure_schema(engine: Engine) -> None:
    """Bring the schema up to date (Alembic migrations, or create_all where those are absent)."""
    try:
        from moselle_cin7.db.migrate import upgrade_to_head
    except ImportError:
        metadata.create_all(engine)
        return
    upgrade_to_head(engine)


# Databases this process has already brought up to date; Dagster hands each step its own copy
# of a resource, and checking the migrations again in every step costs more than the step.
_schema_ready: set[str] = set()


class PlanningDatabase(ConfigurableResource):
    """The planning database, by SQLAlchemy URL. The URL may hold a password: wire it as EnvVar."""

    url: str

    def get_engine(self) -> Engine:
        engine = engine_for(self.url)
        if self.url not in _schema_ready:
            ensure_schema(engine)
            _schema_ready.add(self.url)
        return engine

    @property
    def display_name(self) -> str:
        """The URL without its password, safe for logs and metadata."""
        return make_url(normalise_url(self.url)).render_as_string(hide_password=True)
