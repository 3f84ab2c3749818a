"""The API key never leaves the HTTP session: not into logs, events, metadata, run config, errors,
the planning database, the Dagster instance's files or what the UI is shown.

The credentials are wired as in production (``EnvVar``s read when a run starts). Three runs: a
full sync with a distinctive key that succeeds, one with a wrong (also distinctive) key that Cin7
answers with 401, and one that rides out 5xx answers. Then everything they wrote is searched, as
bytes, for either key and for the Basic authorization token that carries it.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap

from moselle_cin7.automation.ranges import DayRange
from moselle_cin7.cin7.client import Cin7Resource
from moselle_cin7.db.engine import DATABASE_URL_ENV_VAR, PlanningDatabase, engine_for
from moselle_cin7.definitions import build_definitions, build_resources
from moselle_cin7.sandbox import Fault, SandboxServer
from moselle_cin7_tests.faults.scenario import (
    FAST_CIN7,
    FIRST,
    LAST,
    TRANSACTIONS,
    fault_account,
    step_failures,
)

ACCOUNT_ID = "moselle-secrets-check"
API_KEY = "Kq7-zebra-4e1f-SECRET-9b2d"
WRONG_KEY = "Wr0ng-okapi-77c3-SECRET-a5e0"


def basic_token(key: str) -> str:
    return base64.b64encode(f"{ACCOUNT_ID}:{key}".encode()).decode()


NEEDLES = {
    "the API key": API_KEY.encode(),
    "the wrong key": WRONG_KEY.encode(),
    "the Authorization token": basic_token(API_KEY).encode(),
    "the wrong Authorization token": basic_token(WRONG_KEY).encode(),
}


def production_resources(server: SandboxServer, database_url: str) -> dict:
    """As ``build_resources`` wires them, with a client that does not wait for rate windows."""
    return {
        "cin7": Cin7Resource(
            base_url=server.base_url,
            account_id=dg.EnvVar("CIN7_ACCOUNT_ID"),
            api_key=dg.EnvVar("CIN7_API_KEY"),
            **FAST_CIN7,
        ),
        "planning_db": PlanningDatabase(url=database_url),
    }


def run_sync(defs, instance, selection=None) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("daily_sync").execute_in_process(
        instance=instance,
        tags=DayRange(FIRST, LAST).tags(),
        raise_on_error=False,
        asset_selection=(
            list(dg.AssetSelection.from_coercible(selection).resolve(defs.resolve_asset_graph()))
            if selection
            else None
        ),
    )


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def leaks(places: dict[str, bytes]) -> list[str]:
    return [
        f"{needle} in {place}"
        for place, blob in places.items()
        for needle, value in NEEDLES.items()
        if value in blob
    ]


# Building the snapshot the UI reads touches a deprecated schedule property inside Dagster.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_api_key_is_nowhere_a_run_writes(
    tmp_path, dagster_instance, monkeypatch, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    database_url = f"sqlite:///{tmp_path / 'planning.sqlite'}"
    monkeypatch.setenv("CIN7_ACCOUNT_ID", ACCOUNT_ID)
    monkeypatch.setenv("CIN7_API_KEY", API_KEY)
    monkeypatch.setenv(DATABASE_URL_ENV_VAR, database_url)

    with SandboxServer(fault_account(), username=ACCOUNT_ID, api_key=API_KEY) as server:
        monkeypatch.setenv("CIN7_BASE_URL", server.base_url)
        defs = build_definitions(production_resources(server, database_url))
        synced = run_sync(defs, dagster_instance)

        monkeypatch.setenv("CIN7_API_KEY", WRONG_KEY)
        wrong_key = run_sync(defs, dagster_instance, TRANSACTIONS)
        monkeypatch.setenv("CIN7_API_KEY", API_KEY)

        server.faults.add(Fault("SalesOrders", "status", status=500, times=2, after=1))
        server.faults.add(Fault("PurchaseOrders", "status", status=503, times=2, retry_after=0))
        retried = run_sync(defs, dagster_instance, TRANSACTIONS)

        # What the UI is shown of the code location: resources, jobs, assets, their config.
        shown_in_ui = {
            "the definitions' snapshot": dg.serialize_value(
                RepositorySnap.from_def(defs.get_repository_def())
            ).encode(),
            "the production definitions' snapshot": dg.serialize_value(
                RepositorySnap.from_def(build_definitions(build_resources()).get_repository_def())
            ).encode(),
        }

    assert synced.success
    assert not wrong_key.success
    assert "HTTP 401" in step_failures(wrong_key)["cin7_sales_orders"]
    assert retried.success

    places: dict[str, bytes] = dict(shown_in_ui)
    engine_for(database_url).dispose()
    places.update(files_under(tmp_path))
    places.update(files_under(Path(dagster_instance.root_directory)))
    for result in (synced, wrong_key, retried):
        run = dagster_instance.get_run_by_id(result.run_id)
        places[f"run {result.run_id}"] = dg.serialize_value(run).encode()
        for number, entry in enumerate(dagster_instance.all_logs(result.run_id)):
            places[f"event {number} of {result.run_id}"] = dg.serialize_value(entry).encode()
        for step, message in step_failures(result).items():
            places[f"failure of {step} in {result.run_id}"] = message.encode()
    captured = capfd.readouterr()
    places["stdout"], places["stderr"] = captured.out.encode(), captured.err.encode()
    for number, record in enumerate(caplog.records):
        text = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        places[f"log record {number} ({record.name})"] = text.encode()

    # The search can see what it looks for: stored records and the runs' own ids are found.
    everything = b"".join(places.values())
    assert b"SO-101" in b"".join(files_under(tmp_path).values())
    assert synced.run_id.encode() in b"".join(
        files_under(Path(dagster_instance.root_directory)).values()
    )
    assert b"HTTP 401" in everything and b"retry 1 of 5" in everything
    assert leaks(places) == []
