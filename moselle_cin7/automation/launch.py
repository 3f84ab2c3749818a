"""Starting sync plans: on a running Dagster instance through its webserver, or in this process.

A running instance is reached through the webserver's GraphQL API, the same calls the UI makes:
``launchPartitionBackfill`` for a support re-sync (an asset backfill, chunked by the assets'
backfill policy and followed on the Backfills page) and ``launchRun`` for ``sync_now``. Without
one, the plan's runs execute here, one after the other, on the instance in ``DAGSTER_HOME``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

logger = logging.getLogger(__name__)

WEBSERVER_URL_ENV_VAR = "DAGSTER_WEBSERVER_URL"
DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"
# Backfill states after which nothing more happens.
FINISHED_BACKFILL_STATES = frozenset(
    {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
)

_VERSION = "query MoselleVersion { version }"
_DAEMONS = """
query MoselleDaemons {
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } }
}
"""
_REPOSITORIES = """
query MoselleRepositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
    ... on PythonError { message }
  }
}
"""
_LAUNCH_BACKFILL = """
mutation MoselleLaunchBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
_LAUNCH_RUN = """
mutation MoselleLaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""
_BACKFILL_STATUS = """
query MoselleBackfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill { id status numPartitions }
    ... on Error { message }
  }
}
"""


class LaunchError(RuntimeError):
    """The webserver refused a launch or answered something unexpected."""


@dataclass(frozen=True)
class DagsterWebserver:
    """A running Dagster webserver, reached over its GraphQL API."""

    url: str
    timeout_seconds: float = 10

    @classmethod
    def from_environment(cls, url: str | None = None) -> DagsterWebserver:
        return cls(
            (url or os.environ.get(WEBSERVER_URL_ENV_VAR) or DEFAULT_WEBSERVER_URL).rstrip("/")
        )

    def graphql(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql",
            json={"query": document, "variables": dict(variables or {})},
            timeout=self.timeout_seconds,
        )
        if response.status_code != 200:
            raise LaunchError(f"{self.url}/graphql answered HTTP {response.status_code}")
        body = response.json()
        if body.get("errors"):
            messages = "; ".join(error.get("message", "?") for error in body["errors"])
            raise LaunchError(f"GraphQL error from {self.url}: {messages}")
        return body["data"]

    def is_up(self) -> bool:
        """Whether a Dagster webserver answers at ``url`` (a short probe, no retries)."""
        try:
            response = requests.post(
                f"{self.url}/graphql",
                json={"query": _VERSION},
                timeout=min(self.timeout_seconds, 3),
            )
            return response.status_code == 200 and "version" in (response.json().get("data") or {})
        except (requests.RequestException, ValueError):
            return False

    def unhealthy_daemons(self) -> list[str]:
        """Required daemons that are not running (the backfill and sensor daemons launch runs)."""
        statuses = self.graphql(_DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
        return [s["daemonType"] for s in statuses if s["required"] and not s["healthy"]]

    def job_location(self, job_name: str) -> tuple[str, str]:
        """``(code location, repository)`` that holds ``job_name``."""
        result = self.graphql(_REPOSITORIES)["repositoriesOrError"]
        if result["__typename"] != "RepositoryConnection":
            raise LaunchError(f"cannot list code locations: {result.get('message')}")
        for repository in result["nodes"]:
            if any(job["name"] == job_name for job in repository["jobs"]):
                return repository["location"]["name"], repository["name"]
        raise LaunchError(f"no code location on {self.url} has a job named {job_name!r}")

    def launch_asset_backfill(
        self,
        asset_keys: Sequence[str],
        partition_keys: Sequence[str],
        *,
        tags: Mapping[str, str],
        title: str,
    ) -> str:
        """An asset backfill of ``asset_keys`` over ``partition_keys``, as the UI launches it."""
        params = {
            "assetSelection": [{"path": key.split("/")} for key in asset_keys],
            "partitionNames": list(partition_keys),
            "tags": [{"key": key, "value": value} for key, value in tags.items()],
            "title": title,
        }
        result = self.graphql(_LAUNCH_BACKFILL, {"backfillParams": params})[
            "launchPartitionBackfill"
        ]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise LaunchError(
                f"backfill refused ({result['__typename']}): {result.get('message', '')}"
            )
        return result["backfillId"]

    def launch_job(
        self,
        job_name: str,
        *,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        location, repository = self.job_location(job_name)
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "jobName": job_name,
            },
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {
                "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()]
            },
            "mode": "default",
        }
        result = self.graphql(_LAUNCH_RUN, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            details = result.get("message") or "; ".join(
                error["message"] for error in result.get("errors") or []
            )
            raise LaunchError(f"{job_name} refused ({result['__typename']}): {details}")
        return result["run"]["runId"]

    def backfill_status(self, backfill_id: str) -> str:
        result = self.graphql(_BACKFILL_STATUS, {"backfillId": backfill_id})[
            "partitionBackfillOrError"
        ]
        if result["__typename"] != "PartitionBackfill":
            raise LaunchError(f"backfill {backfill_id}: {result.get('message', result)}")
        return result["status"]

    def backfill_page(self, backfill_id: str) -> str:
        return f"{self.url}/runs/b/{backfill_id}"

    def run_page(self, run_id: str) -> str:
        return f"{self.url}/runs/{run_id}"
