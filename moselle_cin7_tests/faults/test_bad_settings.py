"""A bad settings file stops everything before Cin7 is called, with every bad key named.

Through the ``moselle-cin7 sync`` command (exit status 2, the message on stderr, no database
created) and through the Dagster definitions, which is how ``dagster dev`` and the daemon load
them: the code location fails to load with the same message rather than running on defaults.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from moselle_cin7.db.engine import DATABASE_URL_ENV_VAR
from moselle_cin7.definitions import build_definitions
from moselle_cin7.settings import SETTINGS_ENV_VAR, SettingsError, _load_cached

MOSELLE_CIN7 = Path(sys.executable).with_name("moselle-cin7")

BAD_VALUES = """\
account_timezone: Mars/Olympus
lookback_dayz: 30
planning:
  horizon_days: soon
channel_rules:
  - channel: Web
    match:
      reference_pattern: "[#"
"""


def run_sync_command(tmp_path: Path, settings_file: Path) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        SETTINGS_ENV_VAR: str(settings_file),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        DATABASE_URL_ENV_VAR: f"sqlite:///{tmp_path / 'planning.sqlite'}",
        "CIN7_BASE_URL": "http://127.0.0.1:9/api",
        "CIN7_ACCOUNT_ID": "nobody",
        "CIN7_API_KEY": "unused",
    }
    return subprocess.run(
        [str(MOSELLE_CIN7), "sync"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_sync_command_names_every_bad_key_and_exits_2(tmp_path):
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(BAD_VALUES, encoding="utf-8")

    finished = run_sync_command(tmp_path, settings_file)

    assert finished.returncode == 2
    assert finished.stdout == ""
    assert f"moselle-cin7: settings file {settings_file} has invalid values:" in finished.stderr
    for text in (
        "account_timezone: Value error, unknown IANA time zone 'Mars/Olympus'",
        "lookback_dayz: Extra inputs are not permitted",
        "planning.horizon_days: Input should be a valid integer",
        "channel_rules.0.match.reference_pattern: Value error, not a regular expression",
    ):
        assert text in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "planning.sqlite").exists()
    assert not (tmp_path / "dagster_home").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("planning: [horizon_days\n", "is not valid YAML"),
        ("- lookback_days: 30\n", "expected a mapping of keys at the top level"),
        (None, "cannot read settings file"),
    ],
    ids=["not YAML", "not a mapping", "missing"],
)
def test_the_sync_command_explains_an_unreadable_file(tmp_path, text, says):
    settings_file = tmp_path / "settings.yaml"
    if text is not None:
        settings_file.write_text(text, encoding="utf-8")

    finished = run_sync_command(tmp_path, settings_file)

    assert finished.returncode == 2
    assert says in finished.stderr
    assert str(settings_file) in finished.stderr
    assert "Traceback" not in finished.stderr


def test_the_definitions_refuse_to_load(tmp_path, monkeypatch):
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("lookback_days: 0\nschedule:\n  chunk_days: many\n", encoding="utf-8")
    monkeypatch.setenv(SETTINGS_ENV_VAR, str(settings_file))
    _load_cached.cache_clear()
    try:
        with pytest.raises(SettingsError) as refused:
            build_definitions({})
    finally:
        monkeypatch.delenv(SETTINGS_ENV_VAR)
        _load_cached.cache_clear()

    assert "lookback_days: Input should be greater than or equal to 1" in str(refused.value)
    assert "schedule.chunk_days: Input should be a valid integer" in str(refused.value)
