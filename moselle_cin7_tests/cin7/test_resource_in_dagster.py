"""The resource inside a real Dagster run: credentials from the environment, logs through
``context.log``, and the key nowhere in what Dagster stores about the run."""

import dagster as dg
import pytest

from moselle_cin7.cin7 import Cin7Resource
from moselle_cin7.sandbox import DEFAULT_API_KEY, DEFAULT_USERNAME, SandboxAccount, SandboxServer


@dg.asset
def branch_names(context: dg.AssetExecutionContext, cin7: Cin7Resource) -> list[str]:
    with cin7.open_session(log=context.log) as session:
        branches = session.fetch_all("Branches", fields=["company"], label="all branches")
    return [branch["company"] for branch in branches]


def test_a_run_reads_through_the_resource_and_stores_no_key(
    dagster_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIN7_ACCOUNT_ID", DEFAULT_USERNAME)
    monkeypatch.setenv("CIN7_API_KEY", DEFAULT_API_KEY)
    account = SandboxAccount(
        records={"Branches": [{"id": 2, "company": "Online"}, {"id": 1, "company": "Main"}]}
    )
    with SandboxServer(account, limits=None) as server:
        resource = Cin7Resource(
            base_url=server.base_url,
            account_id=dg.EnvVar("CIN7_ACCOUNT_ID"),
            api_key=dg.EnvVar("CIN7_API_KEY"),
        )
        result = dg.materialize(
            [branch_names], resources={"cin7": resource}, instance=dagster_instance
        )

    assert result.success
    assert result.output_for_node("branch_names") == ["Main", "Online"]
    run = dagster_instance.get_run_by_id(result.run_id)
    assert run is not None
    stored = [str(run.run_config), str(run.tags)]
    stored += [
        str(entry.user_message) + str(entry.dagster_event)
        for entry in dagster_instance.all_logs(result.run_id)
    ]
    assert any("Branches [all branches] page 1: 2 rows" in text for text in stored)
    assert all(DEFAULT_API_KEY not in text for text in stored)
