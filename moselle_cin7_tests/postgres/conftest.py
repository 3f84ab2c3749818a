"""PostgreSQL fixtures: every test gets databases of its own, created fresh and dropped after.

The server is ``MOSELLE_TEST_POSTGRES_URL`` (default: user postgres on 127.0.0.1:5432, database
postgres, used only to create and drop the test databases). When it cannot be reached the tests
are skipped with the reason, unless ``MOSELLE_REQUIRE_POSTGRES=1`` (set it in CI), which makes them
fail instead so that a server that did not start cannot pass for a green build.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from moselle_cin7.db.engine import engine_for

SERVER_URL_ENV_VAR = "MOSELLE_TEST_POSTGRES_URL"
REQUIRE_ENV_VAR = "MOSELLE_REQUIRE_POSTGRES"
DEFAULT_SERVER_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "moselle_test_"


def _server_url() -> URL:
    url = make_url(os.environ.get(SERVER_URL_ENV_VAR) or DEFAULT_SERVER_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    return url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.Engine]:
    """An AUTOCOMMIT engine on the maintenance database (CREATE/DROP DATABASE cannot run in a
    transaction); skips, or fails under MOSELLE_REQUIRE_POSTGRES=1, if the server is down."""
    url = _server_url()
    engine = sa.create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        reason = (
            f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)}: "
            f"{str(error.orig).strip()}"
        )
        if os.environ.get(REQUIRE_ENV_VAR) == "1":
            pytest.fail(f"{reason} ({REQUIRE_ENV_VAR}=1)")
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def create_database(postgres_server: sa.Engine) -> Iterator[Callable[[str], str]]:
    """A factory of fresh, empty databases (``purpose`` goes into the name); all are dropped when
    the test ends, with any connections still open to them."""
    created: list[str] = []

    def create(purpose: str) -> str:
        name = f"{DATABASE_PREFIX}{purpose}_{uuid.uuid4().hex[:12]}"
        with postgres_server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _server_url().set(database=name).render_as_string(hide_password=False)

    yield create

    for name in created:
        url = _server_url().set(database=name).render_as_string(hide_password=False)
        # engine_for keeps one pooled engine per URL: close its connections before the drop.
        engine_for(url).dispose()
        with postgres_server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def planning_url(create_database: Callable[[str], str]) -> str:
    """A fresh, empty planning database (not migrated)."""
    return create_database("planning")


@pytest.fixture
def dagster_pg_env(create_database: Callable[[str], str], monkeypatch) -> dict[str, str]:
    """DAGSTER_PG_* variables, as deploy/dagster.yaml reads them, for a fresh database."""
    url = make_url(create_database("dagster"))
    env = {
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.database or "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def postgres_dagster_instance(
    create_database: Callable[[str], str], tmp_path
) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance whose run, event-log and schedule storage is a fresh PostgreSQL
    database (the other settings are those of a test instance)."""
    url = create_database("dagster")
    overrides = {"storage": {"postgres": {"postgres_url": url}}}
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path / "dagster_home")) as (
        instance
    ):
        yield instance
