"""The report's first part: per-operation costs against their floors, and the launch burst."""

import math
from collections.abc import Callable

from benchmarks.burst import BurstResult, longest_gap, status_counts
from benchmarks.cost_table import ROWS, Measured, measurements, verdict
from benchmarks.meter import Cost, ratio
from benchmarks.results import RunResult

COUNTER_MISSING = "n/a (counter missing)"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.2f}"


def _joined(items: list[Measured], value: Callable[[Measured], str]) -> str:
    return " / ".join(value(item) for item in items) or "n/a"


def _count(cost: Cost | None, pick: Callable[[Cost], float | None], missing: str) -> str:
    if cost is None:
        return "n/a"
    found = pick(cost)
    return missing if found is None else f"{found:.2f}"


def _metered(cost: Cost | None) -> str:
    if cost is None:
        return "n/a"
    share = "" if math.isnan(cost.idle_share) else f" ({cost.idle_share:.0%})"
    return f"{cost.operations:,}{share}"


def _times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _split(costs: list[Cost]) -> str:
    """Per size, the CPU per operation of the main threads (event loops) and of every other
    thread (where Argon2 runs), in ms, and the whole against those other threads: what the
    operation costs per unit of its own Argon2 work, both measured over one window, so the
    machine's drift in core speed between phases does not move it."""
    if not costs:
        return "event loops n/a, other threads n/a"
    loops = " / ".join(ms(cost.main_threads_cpu_per_op) for cost in costs)
    others = [cost.cpu_per_op - cost.main_threads_cpu_per_op for cost in costs]
    rest = " / ".join(ms(other) for other in others)
    own = " / ".join(
        _times(ratio(cost.cpu_per_op, other)) for cost, other in zip(costs, others, strict=True)
    )
    return f"event loops {loops} ms, other threads {rest} ms (whole ÷ other threads {own})"


def _lean_split(r: RunResult, key: str, label: str, hashing: bool) -> str:
    """A lean operation's own split, and what it costs against its Argon2id floor: the
    lowest ratio the operation's work allows on this machine."""
    leans = [
        (s.floors[key], s.argon2_floor.hash_cpu if hashing else s.argon2_floor.verify_cpu)
        for s in r.sizes
        if key in s.floors
    ]
    if not leans:
        return f"{label}: n/a"
    against = " / ".join(_times(ratio(lean.cpu_per_op, floor)) for lean, floor in leans)
    floor_name = "hash" if hashing else "verification"
    return (
        f"{label} (the same work, no middleware): {_split([lean for lean, _ in leans])}, "
        f"{against} of one Argon2id {floor_name}"
    )


def summary(r: RunResult, database_label: str) -> list[str]:
    rows = []
    for row in ROWS:
        items = measurements(row, r)
        rows.append(
            [
                row.label,
                row.floor_label,
                _joined(items, lambda i: ms(i.cost.cpu_per_op) if i.cost else "n/a"),
                _joined(items, lambda i: ms(i.floor_cpu)),
                "**" + _joined(items, lambda i: _times(i.ratio)) + "**",
                f"≤ {row.goal:.2f}" if row.goal is not None else "report",
                verdict([item.ratio for item in items], row.goal),
                _joined(
                    items, lambda i: _count(i.cost, lambda c: c.commands_per_op, COUNTER_MISSING)
                ),
                _joined(
                    items,
                    lambda i: _count(i.cost, lambda c: c.publishes_per_op, "n/a (no counter)"),
                ),
                _joined(items, lambda i: ms(i.cost.database_cpu_per_op) if i.cost else "n/a"),
                _joined(items, lambda i: _metered(i.cost)),
            ]
        )
    sizes = " / ".join(f"{s.accounts:,}" for s in r.sizes)
    split = []
    for row in ROWS:
        if row.floor not in ("verify", "hash"):
            continue
        split.append(f"{row.label}: {_split([i.cost for i in measurements(row, r) if i.cost])}")
    split.append(_lean_split(r, "login_lean", "the lean login", hashing=False))
    split.append(_lean_split(r, "register_lean", "the lean registration", hashing=True))
    bare = " / ".join(ms(s.floors["bare"].cpu_per_op) for s in r.sizes if "bare" in s.floors)
    return [
        "## Summary: what one operation costs the service, against its floor",
        "",
        f"HTTP rows give one value per account size ({sizes} accounts); the consumer rows do "
        "not depend on the number of accounts (the consumer never reads the login "
        f"database). {_consumer_method(r)} CPU = the service's processes (every worker, "
        "from `/proc`, idle CPU of the same run subtracted) per successful "
        "operation; the ratio divides it by the floor's CPU per operation, measured in the "
        f"same run. Database CPU per operation is context only: {database_label}. For "
        f"context, a bare FastAPI route on the same Uvicorn setup costs {bare or 'n/a'} ms. "
        "Operations metered: those whose whole work lies in the window (it closes once every "
        "request sent is answered), with the share of the window's CPU that was the idle "
        "rate subtracted; the slower the database, the fewer operations fit the phase's time "
        "and the larger that share.",
        "",
        *table(
            [
                "operation",
                "floor",
                "service CPU/op (ms)",
                "floor CPU/op (ms)",
                "ratio",
                "goal",
                "goal met",
                "MongoDB commands/op",
                "AMQP publishes/op",
                "database CPU/op (ms)",
                "operations metered (idle share of their CPU)",
            ],
            rows,
        ),
        "Where the password operations' CPU goes, per operation (the workers' main threads, "
        "which run the event loops, against every other thread of the service, where its "
        "Argon2 runs; the idle rate is subtracted from the loops, where it runs), and the "
        "whole against those other threads: the operation's cost per unit of its own Argon2 "
        "work, the two measured over one window, unmoved by the drift of the machine's core "
        "speed between phases: " + "; ".join(split) + ".",
        "",
    ]


def _consumer_method(r: RunResult) -> str:
    rounds = ", ".join(f"{value:.2f}" for value in r.fast_path_ratios)
    return (
        "Each consumer row drains a backlog published before the process starts, at prefetch "
        f"{r.plan.consumer_prefetch}; its window is the middle 80% of the drain (start-up and "
        "tail left out, no publisher running). Events beyond the campaign and the bare loop "
        f"drain side by side, over one window, in {len(r.fast_path_ratios)} paired round(s) "
        f"({r.plan.fast_consumer_events:,} and {2 * r.plan.fast_consumer_events:,} events); "
        f"the median round is shown (ratios of every round: {rounds or 'n/a'})."
    )


def _gap_text(times: list[float]) -> str:
    gap = longest_gap(times)
    return "n/a" if gap is None else f"{gap.seconds:.2f} s (from {gap.at:.1f} s)"


def _failures(b: BurstResult) -> str:
    """How long the failed logins took, and what the login service logged meanwhile."""
    took = ", ".join(f"{seconds:.1f}" for seconds in sorted(b.failed_after)[:10])
    more = f" (first 10 of {len(b.failed_after)})" if len(b.failed_after) > 10 else ""
    logged = ", ".join(f"{count} `{line}`" for line, count in sorted(b.logged_problems.items()))
    return f"answered after {took} s{more}; the login service logged {logged or 'no warning'}"


def burst_section(b: BurstResult, figure: str | None, on_standin: bool) -> list[str]:
    statuses = status_counts(b.statuses)
    login, consumer = b.login_cost, b.consumer_cost
    rows = [
        ["first logins sent", f"{b.logins:,} from one address, {b.concurrency} in flight"],
        ["answers", f"{statuses}" + (" (all 200)" if b.all_ok else " (**not all 200**)")],
        [
            "vouchers",
            f"{b.vouchers}" + (" (exactly 100)" if b.vouchers == 100 else " (**not 100**)"),
        ],
        [
            "held by the first 100 by first-login order",
            "yes" if b.first_100_hold_them else "**no**",
        ],
        [
            "events handled by the consumers",
            f"{b.events_handled:,} of {b.logins_ok:,} (one per login answered 200)",
        ],
        ["first request → last voucher", f"{b.to_last_voucher_seconds:.1f} s"],
        ["login latency p50 / p99", f"{b.login_p(0.5):.0f} / {b.login_p(0.99):.0f} ms"],
        ["first login → voucher p50 / p99", f"{b.voucher_p(0.5):.0f} / {b.voucher_p(0.99):.0f} ms"],
        ["longest pause between answers", _gap_text(b.answered_at)],
        ["longest pause between vouchers", _gap_text(b.granted_at)],
        ["login service CPU per first login", f"{ms(login.cpu_per_op if login else None)} ms"],
        ["consumers' CPU per event", f"{ms(consumer.cpu_per_op if consumer else None)} ms"],
        [
            "login MongoDB commands per first login",
            _count(login, lambda c: c.commands_per_op, COUNTER_MISSING),
        ],
        [
            "consumers' MongoDB commands per event",
            _count(consumer, lambda c: c.commands_per_op, COUNTER_MISSING),
        ],
        [
            "AMQP publishes per first login",
            _count(login, lambda c: c.publishes_per_op, "n/a (no counter)"),
        ],
        ["database CPU per first login", f"{ms(login.database_cpu_per_op if login else None)} ms"],
    ]
    if b.not_ok:
        others = sum(b.not_ok.values())
        rows.insert(
            2,
            [
                "logins not answered 200",
                f"**{others:,}** ({status_counts(b.not_ok)}): no event was awaited for them; "
                f"{_failures(b)}",
            ],
        )
    throttle = (
        "The login throttle's budgets were raised for this run (`--raise-login-throttle`)."
        if b.throttle_raised
        else "The login service ran with its default throttle settings."
    )
    lines = [
        f"## 1. Launch burst: {b.logins:,} first logins from one address",
        "",
        f"{b.logins:,} accounts that never logged in, on a database of their own, log in for "
        f"the first time from one client address, {b.concurrency} requests in flight"
        + (" (what the stand-in carries without stalling for seconds)" if on_standin else "")
        + ", through the login API (2 "
        "Uvicorn workers) and two consumer processes, with the default campaign (100 slots). "
        f"{throttle} Latency of a voucher = its `granted_at` minus the account's "
        "`first_login_at`. A long pause between answers or vouchers shows where the "
        "database stalled.",
        "",
        *table(["figure", "value"], rows),
    ]
    if figure:
        lines += [f"![burst]({figure})", ""]
    return lines
