"""``python -m benchmarks.tracing_cost [--quick]``: CPU seconds per login, tracing off and on.

One login API worker on the stand-in, started afresh for each round, rounds alternating off
and on; tracing on is ``OTEL_EXPORTER_OTLP_ENDPOINT`` naming a local receiver.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devstack.config import find_repo_root

from benchmarks.cpu import group_cpu
from benchmarks.drive import Call, send_each
from benchmarks.plan import PASSWORD
from benchmarks.processes import ProcessGroups
from benchmarks.progress import say
from benchmarks.results import TracingCost
from benchmarks.stack import Stack

CONCURRENCY = 2  # clients logging in at once (the machine's two cores)


class _Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP endpoint answering every export with 200, counting ``/v1/traces`` ones."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Export)
        self.exports = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Export(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.exports += self.path == "/v1/traces"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def _send(url: str, calls: list[Call], expected: int, concurrency: int = CONCURRENCY) -> None:
    answers = await send_each(url, calls, concurrency, seconds=3600.0, timeout=60.0)
    wrong = [f"{answer.status} {answer.body}" for answer in answers if answer.status != expected]
    if wrong or len(answers) < len(calls):
        raise RuntimeError(f"{calls[0].path}: {len(answers)}/{len(calls)} answered, {wrong[:3]}")


def _logins(names: list[str]) -> list[Call]:
    return [Call("POST", "/v1/auth/login", {"identifier": n, "password": PASSWORD}) for n in names]


def _registrations(names: list[str]) -> list[Call]:
    return [
        Call("POST", "/v1/accounts", {"username": name, "email": f"{name}@example.com",
             "phone": f"+1202555{number:04d}", "password": PASSWORD})
        for number, name in enumerate(names)
    ]  # fmt: skip


async def _round(stack: Stack, names: list[str], tracing: dict[str, str]) -> float:
    """CPU seconds per login of one fresh login API process."""
    stack.login_tracing = tracing
    child = await stack.start_login()
    try:
        await _send(stack.login_url, _logins(names[: CONCURRENCY * 2]), 200)
        before = group_cpu(child.pid).seconds
        await _send(stack.login_url, _logins(names), 200)
        return (group_cpu(child.pid).seconds - before) / len(names)
    finally:
        await stack.groups.stop(child)


async def measure(repo: Path, work: Path, logins: int, rounds: int) -> TracingCost:
    work.mkdir(parents=True, exist_ok=True)
    stack = Stack(repo=repo, work=work, groups=ProcessGroups(log_dir=work), http_workers=1)
    names = [f"trace{number:05d}" for number in range(logins)]
    off: list[float] = []
    on: list[float] = []
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        await stack.start_standin()
        child = await stack.start_login()
        say(f"registering {logins} accounts and logging each in for the first time")
        await _send(stack.login_url, _registrations(names), 201, concurrency=1)
        await _send(stack.login_url, _logins(names), 200)
        await stack.groups.stop(child)
        for number in range(rounds):
            off.append(await _round(stack, names, {}))
            on.append(await _round(stack, names, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}))
            say(f"round {number + 1}/{rounds}: {off[-1] * 1000:.2f} ms off, "
                f"{on[-1] * 1000:.2f} ms on (CPU per login)")  # fmt: skip
    finally:
        await stack.groups.stop_all()
        receiver.shutdown()
        receiver.server_close()
    if receiver.exports == 0:
        raise SystemExit("tracing on exported nothing: the figures would not be comparable")
    return TracingCost(
        off_ms=statistics.median(off) * 1000,
        on_ms=statistics.median(on) * 1000,
        paired_ratios=[round(b / a, 3) for a, b in zip(off, on, strict=True)],
        logins=logins,
        exports=receiver.exports,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 logins, 3 rounds a side")
    parser.add_argument("--logins", type=int, default=None, help="logins per round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per side")
    args = parser.parse_args()
    logins = args.logins or (100 if args.quick else 400)
    rounds = args.rounds or (3 if args.quick else 7)
    work = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    started = time.monotonic()
    try:
        cost = asyncio.run(
            measure(find_repo_root(Path(__file__).resolve().parent), work, logins, rounds)
        )
    finally:
        if not os.environ.get("BENCH_KEEP_WORK"):
            shutil.rmtree(work, ignore_errors=True)
    print(f"CPU per login, tracing off: {cost.off_ms:.2f} ms (median of {rounds} rounds)")
    print(f"CPU per login, tracing on:  {cost.on_ms:.2f} ms ({cost.exports} OTLP exports)")
    print(f"on / off: {cost.ratio:.3f}; paired ratios: {cost.paired_ratios}")
    say(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
