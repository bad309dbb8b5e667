"""``python -m benchmarks [--quick]``: run the benchmarks and write docs/benchmarks.md.

Starts everything it needs (stand-in, services, consumers, bare app) on free ports and
stops it all at the end, also on Ctrl-C, SIGTERM or failure.
"""

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from devstack.config import find_repo_root

from benchmarks.broker import dead_lettered, delete_run_objects
from benchmarks.load import wrk_path
from benchmarks.mongo_target import address_of, drop_databases
from benchmarks.plan import FULL, QUICK, Plan
from benchmarks.plots import draw_all
from benchmarks.processes import ProcessGroups
from benchmarks.progress import say
from benchmarks.report import write_report
from benchmarks.results import RunResult
from benchmarks.scenario import Run
from benchmarks.stack import Stack


def machine(command: str) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = "RAM unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or 0),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "command": command,
    }


def _cancel_once(task: asyncio.Task[None]) -> None:
    """First Ctrl-C or SIGTERM cancels the run; later ones must not cut the clean-up short."""
    if not task.cancelling():
        say("interrupted: stopping every process of the run (please wait)")
        task.cancel()


async def run(
    plan: Plan,
    repo: Path,
    work: Path,
    output: Path,
    command: str,
    groups: ProcessGroups,
    raise_throttle: bool,
) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _cancel_once, task)
    stack = Stack(
        repo=repo,
        work=work,
        groups=groups,
        http_workers=plan.http_workers,
        external_mongodb_uri=os.environ.get("MONGODB_URI", ""),
    )
    result = RunResult(
        plan=plan,
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(command),
    )
    started = time.monotonic()
    target = address_of(stack.mongodb_uri) if stack.external_mongodb_uri else "its own stand-in"
    say(f"{plan.name} run; work folder {work}; load generator {wrk_path()}; "
        f"database {target}")  # fmt: skip
    try:
        await Run(plan, stack, result, raise_throttle).everything()
        result.dead_lettered = await dead_lettered(stack.rabbitmq_url, stack.names)
    finally:
        say("stopping every process of the run")
        await groups.stop_all()
        try:
            await delete_run_objects(stack.rabbitmq_url, stack.names)
        except Exception as exc:  # noqa: BLE001 - never hide the run's own outcome
            say(f"could not delete the run's queues and exchanges: {exc}")
        if stack.external_mongodb_uri:
            await _drop_run_databases(stack)
    result.duration_seconds = time.monotonic() - started
    draw_all(result, output.parent / output.stem)
    write_report(result, output)
    say(f"report written: {output} (plots in {output.parent / output.stem}/)")


async def _drop_run_databases(stack: Stack) -> None:
    """Leave the caller's server as the run found it."""
    names = [stack.login_database, stack.promotion_database]
    for tag in ("main", "burst"):
        stack.use_databases(tag)
        names += [stack.login_database, stack.promotion_database]
    try:
        await drop_databases(stack.mongodb_uri, sorted(set(names)))
        say(f"dropped the run's databases: {', '.join(sorted(set(names)))}")
    except Exception as exc:  # noqa: BLE001 - never hide the run's own outcome
        say(f"could not drop the run's databases: {exc}")


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(sorted(int(item) for item in text.split(",") if item.strip()))
    if not counts or counts[0] < 1:
        raise SystemExit(f"expected positive comma-separated numbers, got {text!r}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, about 2 minutes")
    parser.add_argument("--output", type=Path, help="report path (default: docs/benchmarks.md)")
    parser.add_argument(
        "--sizes", help="account sizes, comma-separated (default: 1000,10000,100000)"
    )
    parser.add_argument("--consumers", help="consumer process counts (default: 1,2,4)")
    parser.add_argument("--burst-logins", type=int, help="first logins in the burst (1000)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, data)")
    parser.add_argument(
        "--raise-login-throttle",
        action="store_true",
        help="raise the login throttle's failure budgets for the burst (the report says so)",
    )
    args = parser.parse_args()

    repo = find_repo_root(Path(__file__).resolve().parent)
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = replace(plan, account_sizes=_counts(args.sizes))
    if args.consumers:
        plan = replace(plan, consumer_counts=_counts(args.consumers))
    if args.burst_logins:
        plan = replace(plan, burst_logins=max(args.burst_logins, 101))
    if args.output is not None:
        output = args.output.resolve()
    elif args.quick:  # a smoke run never overwrites the published report
        output = Path(tempfile.mkdtemp(prefix="benchmarks-quick-")) / "benchmarks.md"
    else:
        output = repo / "docs" / "benchmarks.md"
    work = Path(tempfile.mkdtemp(prefix="benchmarks-run-"))
    shown = [arg for arg in sys.argv[1:] if arg != "--keep"]  # --keep changes no figure
    command = " ".join(["uv run --project bench python -m benchmarks", *shown])
    groups = ProcessGroups(log_dir=work)
    ok = interrupted = False
    try:
        asyncio.run(run(plan, repo, work, output, command, groups, args.raise_login_throttle))
        ok = True
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
        say("interrupted")
    except Exception as exc:  # noqa: BLE001 - report any failure, then clean up
        traceback.print_exc()
        say(f"FAILED: {type(exc).__name__}: {exc}")
    finally:
        groups.kill_all_now()  # whatever an interrupted clean-up left behind
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"logs and data kept in {work}")
    sys.exit(0 if ok else 130 if interrupted else 1)


if __name__ == "__main__":
    main()
