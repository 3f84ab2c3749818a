"""A local Cin7 Omni: generated or replayed accounts served over HTTP like the v1 REST API.

Tests and the demo run the pipeline against it over real HTTP on loopback::

    account = generate_account(seed=7, profile="tiny")
    with SandboxServer(account, limits=RateLimits()) as server:
        requests.get(
            f"{server.base_url}/v1/SalesOrders",
            params={"where": "modifiedDate >= '2026-01-01T00:00:00Z'", "order": "id ASC"},
            auth=(DEFAULT_USERNAME, DEFAULT_API_KEY),
        )

Modules: ``account`` (the records), ``generator`` (realistic accounts), ``query`` (where, order,
fields, paging), ``server`` (HTTP), ``ratelimit``, ``faults``, ``cli`` (the ``sandbox`` command).
"""

from moselle_cin7.sandbox.account import SandboxAccount
from moselle_cin7.sandbox.constants import DEFAULT_API_KEY, DEFAULT_USERNAME, ENDPOINTS
from moselle_cin7.sandbox.faults import Fault, FaultSet
from moselle_cin7.sandbox.generator import PROFILES, ProfileSpec, generate_account
from moselle_cin7.sandbox.query import QueryRules
from moselle_cin7.sandbox.ratelimit import RateLimits
from moselle_cin7.sandbox.server import LoggedRequest, SandboxServer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_USERNAME",
    "ENDPOINTS",
    "PROFILES",
    "Fault",
    "FaultSet",
    "LoggedRequest",
    "ProfileSpec",
    "QueryRules",
    "RateLimits",
    "SandboxAccount",
    "SandboxServer",
    "generate_account",
]
