"""Fixtures of the automation tests."""

from __future__ import annotations

import pytest
import yaml

from moselle_cin7.db.engine import engine_for, ensure_schema
from moselle_cin7.sandbox import SandboxServer
from moselle_cin7.settings import SETTINGS_ENV_VAR, _load_cached
from moselle_cin7_tests.automation.accounts import automation_account
from moselle_cin7_tests.support import Harness


@pytest.fixture
def use_settings(tmp_path, monkeypatch):
    """Call with setting values to use them (written to a file) for the rest of the test."""

    def write(**values) -> None:
        settings_file = tmp_path / "settings.yaml"
        settings_file.write_text(yaml.safe_dump(values), encoding="utf-8")
        monkeypatch.setenv(SETTINGS_ENV_VAR, str(settings_file))
        _load_cached.cache_clear()

    yield write
    _load_cached.cache_clear()


@pytest.fixture
def harness(tmp_path, dagster_instance):
    harness = Harness(tmp_path=tmp_path, account=automation_account(), instance=dagster_instance)
    ensure_schema(engine_for(harness.database_url))
    with SandboxServer(harness.account) as server:
        harness.server = server
        yield harness
