"""``moselle-cin7 sandbox``: serve a local Cin7 Omni account until interrupted.

The main CLI adds a ``sandbox`` sub-command with ``add_arguments`` and calls ``run``; the same
command runs alone as ``python -m moselle_cin7.sandbox``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from moselle_cin7.sandbox.account import SandboxAccount
from moselle_cin7.sandbox.constants import (
    DEFAULT_API_KEY,
    DEFAULT_TIMEZONE,
    DEFAULT_USERNAME,
    ENDPOINTS,
)
from moselle_cin7.sandbox.generator import PROFILES, generate_account
from moselle_cin7.sandbox.ratelimit import RateLimits
from moselle_cin7.sandbox.server import SandboxServer

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="small",
        help="account size (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default: %(default)s)")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="local date the generated history ends on, YYYY-MM-DD (default: today in --timezone)",
    )
    parser.add_argument(
        "--timezone", default=DEFAULT_TIMEZONE, help="account time zone (default: %(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="serve the account saved in DIR (one <Resource>.json per resource); if DIR holds "
        "none, generate one and save it there first",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="do not enforce Cin7's rate limits"
    )
    parser.add_argument(
        "--no-retry-after", action="store_true", help="send 429s without Retry-After"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run the rate-limit clock this many times faster (default: %(default)s)",
    )
    parser.add_argument("--username", default=DEFAULT_USERNAME, help="API username to accept")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="API key to accept")


def load_or_generate(args: argparse.Namespace) -> SandboxAccount:
    """The account the arguments describe: from ``--data-dir`` if it holds one, else generated
    (and saved to ``--data-dir`` when given)."""
    folder: Path | None = args.data_dir
    if folder is not None and any((folder / f"{endpoint}.json").exists() for endpoint in ENDPOINTS):
        return SandboxAccount.from_folder(folder)
    account = generate_account(
        seed=args.seed, profile=args.profile, today=args.today, timezone=args.timezone
    )
    if folder is not None:
        account.to_folder(folder)
        logger.info("saved the generated account to %s", folder)
    return account


def limits_from(args: argparse.Namespace) -> RateLimits | None:
    if args.no_rate_limit:
        return None
    return RateLimits(retry_after=not args.no_retry_after)


def serve(
    account: SandboxAccount,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    username: str = DEFAULT_USERNAME,
    api_key: str = DEFAULT_API_KEY,
    limits: RateLimits | None = None,
    time_scale: float = 1.0,
    stop: threading.Event | None = None,
    ready: Callable[[SandboxServer], None] | None = None,
) -> None:
    """Serve ``account`` until ``stop`` is set (forever if no event is given)."""
    stop = stop or threading.Event()
    with SandboxServer(
        account,
        username=username,
        api_key=api_key,
        limits=limits,
        time_scale=time_scale,
        host=host,
        port=port,
    ) as server:
        if ready is not None:
            ready(server)
        stop.wait()


def _describe(server: SandboxServer, account: SandboxAccount, args: argparse.Namespace) -> str:
    limits = server.limits
    if limits is None:
        limit_text = "off"
    else:
        retry = "with" if limits.retry_after else "without"
        limit_text = (
            f"{limits.per_second}/s, {limits.per_minute}/min, {limits.per_day}/day "
            f"({retry} Retry-After)"
        )
    counts = ", ".join(f"{account.count(endpoint)} {endpoint}" for endpoint in ENDPOINTS)
    source = (
        f"folder {args.data_dir}" if args.data_dir else f"profile {args.profile}, seed {args.seed}"
    )
    return (
        f"Cin7 Omni sandbox ({source}, time zone {account.timezone})\n"
        f"  records:     {counts}\n"
        f"  base URL:    {server.base_url}   (resources at {server.base_url}/v1/<Resource>)\n"
        f"  username:    {server.username}\n"
        f"  API key:     {server.api_key}   (a local fake)\n"
        f"  rate limits: {limit_text}, time scale {server.time_scale:g}\n"
        f"Press Ctrl+C to stop.\n"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; returns the process exit code."""
    if args.time_scale <= 0:
        sys.stderr.write("--time-scale must be positive\n")
        return 2
    try:
        account = load_or_generate(args)
    except (OSError, ValueError) as error:
        sys.stderr.write(f"cannot load the sandbox account: {error}\n")
        return 2

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_: stop.set())

    def announce(server: SandboxServer) -> None:
        sys.stdout.write(_describe(server, account, args))
        sys.stdout.flush()

    try:
        serve(
            account,
            host=args.host,
            port=args.port,
            username=args.username,
            api_key=args.api_key,
            limits=limits_from(args),
            time_scale=args.time_scale,
            stop=stop,
            ready=announce,
        )
    except OSError as error:
        sys.stderr.write(f"cannot listen on {args.host}:{args.port}: {error}\n")
        return 1
    sys.stdout.write("Cin7 Omni sandbox stopped.\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moselle_cin7.sandbox", description=__doc__)
    add_arguments(parser)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run(parser.parse_args(argv))
