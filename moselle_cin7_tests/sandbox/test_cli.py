"""The sandbox command: serves until interrupted, prints where and how to connect."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

import requests

from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME
from moselle_cin7.sandbox.cli import add_arguments, limits_from


def _start(*arguments: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Run the command and read its banner up to the Ctrl+C line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moselle_cin7.sandbox", "--port", "0", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    banner: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("Press Ctrl+C"):
            break
        if ":" in line:
            key, _, value = line.strip().partition(":")
            banner[key] = value.strip()
    return process, banner


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=10)


def test_the_command_generates_saves_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    data_dir = tmp_path / "account"
    process, banner = _start(
        "--profile", "tiny", "--today", "2026-03-15", "--no-rate-limit", "--data-dir", str(data_dir)
    )
    try:
        base_url = banner["base URL"].split()[0]
        branches = requests.get(
            f"{base_url}/v1/Branches", auth=(DEFAULT_USERNAME, DEFAULT_API_KEY), timeout=5
        )
    finally:
        exit_code = _stop(process)

    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api")
    assert banner["username"] == DEFAULT_USERNAME
    assert banner["API key"].startswith(DEFAULT_API_KEY)
    assert banner["rate limits"].startswith("off")
    assert branches.status_code == 200
    assert exit_code == 0
    assert (data_dir / "SalesOrders.json").exists()

    # A second start serves the saved folder instead of generating.
    process, banner = _start("--data-dir", str(data_dir), "--time-scale", "20")
    try:
        base_url = banner["base URL"].split()[0]
        again = requests.get(
            f"{base_url}/v1/Branches", auth=(DEFAULT_USERNAME, DEFAULT_API_KEY), timeout=5
        )
    finally:
        assert _stop(process) == 0
    assert again.json() == branches.json()
    assert "3/s, 60/min, 5000/day (with Retry-After), time scale 20" in banner["rate limits"]


def test_arguments_and_their_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)

    defaults = parser.parse_args([])
    assert (defaults.port, defaults.profile, defaults.seed, defaults.time_scale) == (
        8765,
        "small",
        7,
        1.0,
    )
    assert defaults.data_dir is None and defaults.today is None
    assert limits_from(defaults) is not None and limits_from(defaults).retry_after
    assert limits_from(parser.parse_args(["--no-rate-limit"])) is None
    assert not limits_from(parser.parse_args(["--no-retry-after"])).retry_after
