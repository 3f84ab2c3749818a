"""Fixtures shared by every test module."""

from __future__ import annotations

import tempfile
from pathlib import Path

import dagster as dg
import pytest

# Dagster writes a few events per partition to its SQLite storage, each in its own commit. On a
# tmpfs those commits skip the disk flush, which makes ranged test runs several times faster
# without changing what is stored.
_FAST_TMP = Path("/dev/shm")


@pytest.fixture
def dagster_instance(tmp_path):
    """A real Dagster instance with its own SQLite storage, thrown away after the test."""
    parent = _FAST_TMP if _FAST_TMP.is_dir() else tmp_path
    with (
        tempfile.TemporaryDirectory(dir=parent, prefix="moselle-dagster-") as home,
        dg.instance_for_test(temp_dir=home) as instance,
    ):
        yield instance
