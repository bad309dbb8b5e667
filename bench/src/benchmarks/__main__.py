"""``python -m benchmarks [--quick]``: run the benchmarks and write docs/benchmarks.md.

Starts everything it needs (stand-in, services, consumers, bare app) on free ports and
stops it all at the end, also on Ctrl-C, SIGTERM or failure. The run's figures are saved
next to the report (``benchmarks.json``); ``--render`` writes the report again from them.
"""

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable
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
from benchmarks.results import RunResult, load, save
from benchmarks.scenario import Run
from benchmarks.stack import Stack


def machine(command: str) -> dict[str, str]:
    cpu, memory = platform.processor() or platform.machine(), "RAM unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), cpu
        )
        memory = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    return {"cpu": cpu, "cores": str(os.cpu_count() or 0), "memory": memory,
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "command": command}  # fmt: skip


def _cancel_once(task: asyncio.Task[None]) -> None:
    """First Ctrl-C or SIGTERM cancels the run; later ones must not cut the clean-up short."""
    if not task.cancelling():
        say("interrupted: stopping every process of the run (please wait)")
        task.cancel()


async def run(plan: Plan, stack: Stack, output: Path, command: str, raise_throttle: bool) -> None:
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, _cancel_once, task)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result = RunResult(plan=plan, started_at=started_at, machine=machine(command))
    started = time.monotonic()
    target = address_of(stack.mongodb_uri) if stack.external_mongodb_uri else "its own stand-in"
    say(f"{plan.name} run; work folder {stack.work}; load generator {wrk_path()}; "
        f"database {target}")  # fmt: skip
    try:
        await Run(plan, stack, result, raise_throttle).everything()
        result.dead_lettered = await dead_lettered(stack.rabbitmq_url, stack.names)
    finally:
        await _clean_up(stack)
    result.duration_seconds = time.monotonic() - started
    save(result, output.with_suffix(".json"))
    render(result, output)


def render(result: RunResult, output: Path) -> None:
    draw_all(result, output.parent / output.stem)
    write_report(result, output)
    say(f"report written: {output} (plots in {output.parent / output.stem}/)")


async def _done(what: str, work: Awaitable[object]) -> bool:
    """A clean-up step; its failure is said, never hiding the run's own outcome."""
    try:
        await work
    except Exception as exc:  # noqa: BLE001
        say(f"could not {what}: {exc}")
        return False
    return True


async def _clean_up(stack: Stack) -> None:
    """Stop every process and leave the broker, and a server of the caller's, as found."""
    say("stopping every process of the run")
    await stack.groups.stop_all()
    broker = delete_run_objects(stack.rabbitmq_url, stack.names)
    await _done("delete the run's queues and exchanges", broker)
    if stack.external_mongodb_uri:
        names = {stack.login_database, stack.promotion_database}
        for tag in ("main", "burst"):
            stack.use_databases(tag)
            names |= {stack.login_database, stack.promotion_database}
        dropped = sorted(names)
        if await _done("drop the run's databases", drop_databases(stack.mongodb_uri, dropped)):
            say(f"dropped the run's databases: {', '.join(dropped)}")


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(sorted(int(item) for item in text.split(",") if item.strip()))
    if not counts or counts[0] < 1:
        raise SystemExit(f"expected positive comma-separated numbers, got {text!r}")
    return counts


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__)
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes, about 10 minutes")
    add("--output", type=Path, help="report path (default: docs/benchmarks.md)")
    add("--sizes", type=_counts, help="account sizes, comma-separated (default: 1000,10000,100000)")
    add("--consumers", type=_counts, help="consumer process counts (default: 1,2,4)")
    add("--burst-logins", type=int, help="first logins in the burst (1000)")
    add("--keep", action="store_true", help="keep the work folder (logs, data)")
    add(
        "--render",
        type=Path,
        metavar="RESULT",
        help="no run: write the report and plots again from a run's saved figures "
        "(the .json next to its report)",
    )
    raised = "raise the login throttle's failure budgets for the burst (the report says so)"
    add("--raise-login-throttle", action="store_true", help=raised)
    args = parser.parse_args()
    run_options = ("quick", "sizes", "consumers", "burst_logins", "keep", "raise_login_throttle")
    if args.render is not None and any(getattr(args, name) for name in run_options):
        parser.error("--render makes no run: it takes only --output")
    return args


def _plan(args: argparse.Namespace) -> Plan:
    given = {"account_sizes": args.sizes, "consumer_counts": args.consumers,
             "burst_logins": args.burst_logins and max(args.burst_logins, 101)}  # fmt: skip
    return replace(QUICK if args.quick else FULL, **{k: v for k, v in given.items() if v})


def main() -> None:
    args, repo = _arguments(), find_repo_root(Path(__file__).resolve().parent)
    if args.render is not None:
        render(load(args.render), (args.output or args.render.with_suffix(".md")).resolve())
        return
    if args.output is not None:
        output = args.output.resolve()
    elif args.quick:  # a smoke run never overwrites the published report
        output = Path(tempfile.mkdtemp(prefix="benchmarks-quick-")) / "benchmarks.md"
    else:
        output = repo / "docs" / "benchmarks.md"
    work = Path(tempfile.mkdtemp(prefix="benchmarks-run-"))
    shown = [arg for arg in sys.argv[1:] if arg != "--keep"]  # --keep changes no figure
    command = " ".join(["uv run --project bench python -m benchmarks", *shown])
    plan, groups = _plan(args), ProcessGroups(log_dir=work)
    ok = interrupted = False
    try:
        stack = Stack(repo=repo, work=work, groups=groups, http_workers=plan.http_workers,
                      external_mongodb_uri=os.environ.get("MONGODB_URI", ""))  # fmt: skip
        asyncio.run(run(plan, stack, output, command, args.raise_login_throttle))
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
