"""Run the wire server: ``python -m mongo_standin --port 0 --path data/standin.sqlite3``.

When it accepts connections it prints one line, ``MONGODB_URI=mongodb://...``,
and it serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire.auth import WireAuthUser

from mongo_standin.server import WaitingProxyServer


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mongo-standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=27017, help="port (0 picks a free one)")
    parser.add_argument(
        "--path",
        default=":memory:",
        help="SQLite file that keeps the data (created with its folder if missing)",
    )
    parser.add_argument(
        "--wait-limit",
        type=float,
        default=30.0,
        help="seconds a request waits for another session's open transaction",
    )
    parser.add_argument(
        "--transaction-lifetime",
        type=float,
        default=60.0,
        help="seconds after which an open transaction is aborted (MongoDB's default is 60)",
    )
    parser.add_argument(
        "--replica-set",
        metavar="NAME",
        help="answer handshakes as the primary of this single-node replica set, so that "
        "clients may connect with ?replicaSet=NAME",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="require clients to authenticate (SCRAM) as this user of the admin database",
    )
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help="the --user's password (the file's content, a trailing newline ignored)",
    )
    parser.add_argument(
        "--advertise",
        metavar="HOST:PORT",
        help="the member's address in the replica set's handshake (default: --host:--port)",
    )
    return parser.parse_args(argv)


def _users(args: argparse.Namespace) -> tuple[WireAuthUser, ...]:
    if args.user is None:
        return ()
    if args.password_file is None:
        raise SystemExit("mongo-standin: --user needs --password-file")
    password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    return (WireAuthUser(username=args.user, password=password),)


def _replica_set(args: argparse.Namespace) -> tuple[str, str] | None:
    if args.replica_set is None:
        return None
    return args.replica_set, args.advertise or f"{args.host}:{args.port}"


async def serve(args: argparse.Namespace) -> None:
    if args.path != ":memory:":
        Path(args.path).parent.mkdir(parents=True, exist_ok=True)
    server = WaitingProxyServer(
        engine=SQLiteEngine(args.path),
        host=args.host,
        port=args.port,
        wait_limit=args.wait_limit,
        transaction_lifetime=args.transaction_lifetime,
        replica_set=_replica_set(args),
        auth_users=_users(args),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    address = await server.start()
    if server.replica_set is not None and args.advertise is None:
        server.replica_set = (server.replica_set[0], f"{address.host}:{address.port}")
    options = "directConnection=true"
    if server.replica_set is not None:
        options = f"replicaSet={server.replica_set[0]}"
    print(f"MONGODB_URI=mongodb://{address.host}:{address.port}/?{options}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:  # pragma: no cover - second Ctrl-C
        sys.exit(130)


if __name__ == "__main__":
    main()
