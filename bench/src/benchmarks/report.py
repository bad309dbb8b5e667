"""docs/benchmarks.md: the template ``report.md`` filled with one run's figures and tables."""

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from string import Template

from benchmarks.burst import BurstResult, longest_gap, status_counts
from benchmarks.meter import Cost, ratio
from benchmarks.plan import Plan
from benchmarks.results import ROWS, Measured, RunResult, measurements, verdict
from benchmarks.stack import RELAY_POLL_SECONDS

TEMPLATE = Path(__file__).with_name("report.md")
COUNTER_MISSING = "n/a (counter missing)"
NO_COUNTER = "n/a (no counter)"
STANDIN_NOTICE = (
    "**The database was a MongoDB wire-protocol stand-in** (mongoeco's SQLite engine behind "
    "a wire server; every transaction is serialized). The per-operation CPU figures and "
    "command counts hold on any database; every throughput figure (sections 2 to 4) is the "
    "stand-in's and says nothing about MongoDB."
)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.2f}"


def number(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def count(cost: Cost | None, pick: Callable[[Cost], float | None], missing: str) -> str:
    if cost is None:
        return "n/a"
    found = pick(cost)
    return missing if found is None else f"{found:.2f}"


def per_size(values: list[str]) -> str:
    return " / ".join(values) or "n/a"


def _metered(cost: Cost | None) -> str:
    if cost is None:
        return "n/a"
    share = "" if math.isnan(cost.idle_share) else f" ({cost.idle_share:.0%})"
    return f"{cost.operations:,}{share}"


def summary_table(r: RunResult) -> str:
    rows = []
    for row in ROWS:
        items = measurements(row, r)

        def each(value: Callable[[Measured], str], items: list[Measured] = items) -> str:
            return per_size([value(item) for item in items])

        rows.append([
            row.label,
            row.floor_label,
            each(lambda i: ms(i.cost.cpu_per_op) if i.cost else "n/a"),
            each(lambda i: ms(i.floor_cpu)),
            "**" + each(lambda i: number(i.ratio)) + "**",
            f"≤ {row.goal:.2f}" if row.goal is not None else "report",
            verdict(items, row.goal),
            each(lambda i: count(i.cost, lambda c: c.commands_per_op, COUNTER_MISSING)),
            each(lambda i: count(i.cost, lambda c: c.publishes_per_op, NO_COUNTER)),
            each(lambda i: ms(i.cost.database_cpu_per_op) if i.cost else "n/a"),
            each(lambda i: _metered(i.cost)),
        ])  # fmt: skip
    header = ["operation", "floor", "service CPU/op (ms)", "floor CPU/op (ms)", "ratio", "goal",
              "goal met", "MongoDB commands/op", "AMQP publishes/op", "database CPU/op (ms)",
              "operations metered (idle share of their CPU)"]  # fmt: skip
    return table(header, rows)


def splits(r: RunResult) -> str:
    """Per password operation and size, the CPU per operation of the event loops and of the
    other threads (where Argon2 runs), and the whole against those other threads."""
    parts = []
    for key, label, argon2 in (
        ("login", "successful non-first login", "verification"),
        ("first_login", "first login", ""),
        ("register", "registration", ""),
        ("login_lean", "the lean login (the same work, no middleware)", "verification"),
        ("register_lean", "the lean registration (the same work, no middleware)", "hash"),
    ):
        lean = key.endswith("_lean")
        sizes = [s for s in r.sizes if key in (s.floors if lean else s.costs)]
        costs = [(s.floors if lean else s.costs)[key] for s in sizes]
        loops = per_size([ms(c.main_threads_cpu_per_op) for c in costs])
        others = [c.cpu_per_op - c.main_threads_cpu_per_op for c in costs]
        own = per_size([number(ratio(c.cpu_per_op, o)) for c, o in zip(costs, others, strict=True)])
        text = f"{label}: event loops {loops} ms, other threads {per_size([ms(o) for o in others])}"
        text += f" ms (whole ÷ other threads {own})"
        if lean:
            floors = [s.argon2_floor.verify_cpu if argon2 == "verification" else
                      s.argon2_floor.hash_cpu for s in sizes]  # fmt: skip
            against = [number(ratio(c.cpu_per_op, f)) for c, f in zip(costs, floors, strict=True)]
            text += f", {per_size(against)} of one Argon2id {argon2}"
        parts.append(text)
    return "; ".join(parts)


def median_intervals(r: RunResult) -> str:
    """Per row with a goal, its median's interval per size (or why there is none)."""
    parts = []
    for row in ROWS:
        if row.goal is None:
            continue
        shown = [
            f"{found.low:.3f} to {found.high:.3f} ({found.coverage:.0%})"
            if (found := item.interval)
            else f"none ({len(item.rounds)} rounds)"
            for item in measurements(row, r)
        ]
        parts.append(f"{row.label} {per_size(shown)}")
    return "; ".join(parts)


def round_ratios(r: RunResult) -> str:
    def rounds(key: str) -> str:
        return per_size([", ".join(map(number, s.round_ratios.get(key, []))) for s in r.sizes])

    return (
        f"logins {rounds('login')}; registrations {rounds('register')}; "
        f"`/v1/accounts/me` {rounds('me')}; `/v1/vouchers` {rounds('vouchers')}"
    )


def _gap(times: list[float]) -> str:
    gap = longest_gap(times)
    return "n/a" if gap is None else f"{gap.seconds:.2f} s (from {gap.at:.1f} s)"


def burst_table(b: BurstResult) -> str:
    login, consumer = b.login_cost, b.consumer_cost
    answers = " (all 200)" if b.all_ok else " (**not all 200**)"
    vouchers = " (exactly 100)" if b.vouchers == 100 else " (**not 100**)"
    rows = [
        ["first logins sent", f"{b.logins:,} from one address, {b.concurrency} in flight"],
        ["answers", status_counts(b.statuses) + answers],
        ["vouchers", f"{b.vouchers}{vouchers}"],
        ["held by the first 100 by first-login order",
         "yes" if b.first_100_hold_them else "**no**"],
        ["events handled by the consumers",
         f"{b.events_handled:,} of {b.logins_ok:,} (one per login answered 200)"],
        ["first request → last voucher", f"{b.to_last_voucher_seconds:.1f} s"],
        ["login latency p50 / p99", f"{b.login_p(0.5):.0f} / {b.login_p(0.99):.0f} ms"],
        ["first login → voucher p50 / p99", f"{b.voucher_p(0.5):.0f} / {b.voucher_p(0.99):.0f} ms"],
        ["longest pause between answers", _gap(b.answered_at)],
        ["longest pause between vouchers", _gap(b.granted_at)],
        ["login service CPU per first login", f"{ms(login.cpu_per_op if login else None)} ms"],
        ["consumers' CPU per event", f"{ms(consumer.cpu_per_op if consumer else None)} ms"],
        ["login MongoDB commands per first login",
         count(login, lambda c: c.commands_per_op, COUNTER_MISSING)],
        ["consumers' MongoDB commands per event",
         count(consumer, lambda c: c.commands_per_op, COUNTER_MISSING)],
        ["AMQP publishes per first login", count(login, lambda c: c.publishes_per_op, NO_COUNTER)],
        ["database CPU per first login", f"{ms(login.database_cpu_per_op if login else None)} ms"],
    ]  # fmt: skip
    if b.not_ok:
        took = ", ".join(f"{seconds:.1f}" for seconds in sorted(b.failed_after)[:10])
        more = f" (first 10 of {len(b.failed_after)})" if len(b.failed_after) > 10 else ""
        logged = ", ".join(f"{n} `{line}`" for line, n in sorted(b.logged_problems.items()))
        rows.insert(2, [
            "logins not answered 200",
            f"**{sum(b.not_ok.values()):,}** ({status_counts(b.not_ok)}): no event was awaited "
            f"for them; answered after {took} s{more}; the login service logged "
            f"{logged or 'no warning'}",
        ])  # fmt: skip
    return table(["figure", "value"], rows)


def section_tables(r: RunResult) -> dict[str, str]:
    unit = r.sequential.mean_seconds * 1000 if r.sequential else float("nan")
    login = table(
        ["accounts", "logins/s", "Argon2 verifications/s", "ratio",
         "account updates/s, database alone", "latency p50 / p99 (ms)",
         "failed or timed out (15 s)"],
        [[f"{s.accounts:,}", f"{s.login.ok_per_second:.1f}", f"{s.argon2.per_second:.1f}",
          f"**{s.login_ratio:.2f}**", f"{s.account_updates.per_second:.1f}",
          f"{s.login.p50_ms:.0f} / {s.login.p99_ms:.0f}" if s.login.requests else "none",
          f"{s.login.failed} of {s.login.requests}"] for s in r.sizes],
    )  # fmt: skip
    reads = table(
        ["accounts", "bare req/s (generator CPU)", "/me req/s", "/me ratio",
         "account reads by id/s, database alone", "/vouchers req/s", "/vouchers ratio"],
        [[f"{s.accounts:,}", f"{s.bare.ok_per_second:.0f} ({s.bare.generator_busy:.0%})",
          f"{s.me.ok_per_second:.0f}",
          f"**{s.me_ratio:.2f}**" if s.bare_refused is None else f"n/a: {s.bare_refused}",
          f"{s.account_reads.per_second:.0f}", f"{s.vouchers.ok_per_second:.0f}",
          f"**{s.vouchers_ratio:.2f}**" if s.bare_refused is None else "n/a"] for s in r.sizes],
    )  # fmt: skip
    latency = table(
        ["accounts", "vouchers in time", "p50 (ms)", "p99 (ms)", "p50 in transactions",
         "p99 in transactions", "5xx answers (retried)"],
        [[f"{s.accounts:,}", f"{len(f.latencies_ms)} of {f.accounts}", f"{f.p50_ms:.0f}",
          f"{f.p99_ms:.0f}", f"**{f.p50_ms / unit:.1f}**", f"**{f.p99_ms / unit:.1f}**",
          str(f.server_errors)] for s in r.sizes if (f := s.first_logins)],
    )  # fmt: skip
    drains = table(
        ["consumers", "events", "events/s", "÷ database ceiling", "÷ 1 consumer", "wall (s)"],
        [[str(d.consumers), f"{d.events}", f"{d.per_second:.1f}", f"**{r.drain_ratio(d):.2f}**",
          f"**{r.drain_scaling(d):.2f}**", f"{d.wall_seconds:.1f}"] for d in r.drains],
    )  # fmt: skip
    return {"login_table": login, "reads_table": reads, "latency_table": latency,
            "drain_table": drains}  # fmt: skip


def failure_and_tracing(r: RunResult) -> dict[str, object]:
    timing, cost = r.failure_timing, r.tracing
    assert timing is not None and cost is not None, "the run measures both"
    checks = timing.median_ms
    failure = table(["the check met", "ms"], [
        ["an unknown identifier (the dummy hash, current parameters)",
         f"{checks['unknown_identifier']:.1f}"],
        ["a wrong password, hash of the current parameters", f"{checks['current_hash']:.1f}"],
        [f"a wrong password, hash of the old parameters ({timing.old_parameters}), padded",
         f"**{checks['old_hash_padded']:.1f}**"],
        ["the same without the padding (what it cost before decision 5's padding)",
         f"{checks['old_hash_bare']:.1f}"],
    ])  # fmt: skip
    tracing = table(
        ["tracing", "CPU per login (ms)", "on ÷ off (median pair)", "paired rounds' ratios"],
        [["off", f"{cost.off_ms:.2f}", "", ""],
         ["on", f"{cost.on_ms:.2f}", f"**{cost.ratio:.3f}**",
          ", ".join(f"{x:.3f}" for x in cost.paired_ratios)]],
    )  # fmt: skip
    return {
        "failure_table": failure, "current_parameters": timing.current_parameters,
        "failure_rounds": timing.rounds, "failure_per_round": timing.per_round,
        "tracing_table": tracing, "tracing_logins": cost.logins,
        "tracing_exports": cost.exports, "tracing_rounds": len(cost.paired_ratios),
    }  # fmt: skip


def plan_figures(plan: Plan) -> dict[str, object]:
    """The plan's parameters as the template shows them (whole seconds, thousands marked)."""

    def shown(value: object) -> object:
        if isinstance(value, float) and value.is_integer():
            return f"{int(value):,}"
        if isinstance(value, tuple):
            return ", ".join(f"{item:,}" for item in value)
        return f"{value:,}" if isinstance(value, int) else value

    figures = {name: shown(value) for name, value in asdict(plan).items()}
    return figures | {
        "bare_events": f"{2 * plan.fast_consumer_events:,}",
        "registrations_per_round": plan.registrations // plan.password_rounds,
        "relay_poll_minutes": RELAY_POLL_SECONDS // 60,
    }


def run_figures(r: RunResult, plot_folder: str) -> dict[str, object]:
    m, b = r.machine, r.burst
    assert b is not None, "the run always ends with the burst"
    external = r.server is not None and r.server.kind != "stand-in"
    database = r.server.label() if r.server else "the run's own stand-in"
    argon2 = r.sizes[0].argon2 if r.sizes else None
    return {
        "command": m["command"], "started_at": r.started_at, "plan_name": r.plan.name,
        "duration_minutes": f"{r.duration_seconds / 60:.1f}",
        "notice": f"The database was {database}; every figure of this report comes from it."
        if external else STANDIN_NOTICE,
        "machine": f"{m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; "
        f"Python {m['python']}",
        "database": database, "plots": plot_folder,
        "sizes": " / ".join(f"{s.accounts:,}" for s in r.sizes),
        "password_round_ratios": round_ratios(r), "fast_path_rounds": len(r.fast_path_ratios),
        "median_intervals": median_intervals(r),
        "fast_path_ratios": ", ".join(f"{v:.2f}" for v in r.fast_path_ratios) or "n/a",
        "database_cpu": f"{database}, not a process of this machine, so not measured"
        if external else "the stand-in's process",
        "bare_ms": per_size([ms(s.floors["bare"].cpu_per_op) for s in r.sizes
                             if "bare" in s.floors]),
        "summary_table": summary_table(r), "split": splits(r),
        "burst_logins": f"{b.logins:,}", "burst_concurrency": b.concurrency,
        "burst_standin": ""
        if external else " (what the stand-in carries without stalling for seconds)",
        "burst_throttle": "The login throttle's budgets were raised for this run "
        "(`--raise-login-throttle`)." if b.throttle_raised
        else "The login service ran with its default throttle settings.",
        "burst_table": burst_table(b),
        "transaction_ms": f"{r.sequential.mean_seconds * 1000:.1f}" if r.sequential else "n/a",
        "ceiling_rate": f"{r.concurrent.per_second:.1f}" if r.concurrent else "n/a",
        "seeding": ", ".join(f"{s.accounts:,} in {s.seed_seconds:.0f} s" for s in r.sizes)
        or "none",
        "hot_accounts": r.sizes[-1].hot_accounts if r.sizes else 0,
        "dead_lettered": r.dead_lettered,
        "skipped": "".join(f"- {note}\n" for note in r.skipped),
        "hasher": f"Argon2id m={argon2.memory_cost_kib} KiB, t={argon2.time_cost}, "
        f"p={argon2.parallelism} (the login service's configured hasher)" if argon2
        else "the login service's configured hasher",
    }  # fmt: skip


def render(r: RunResult, plot_folder: str) -> str:
    figures = plan_figures(r.plan) | run_figures(r, plot_folder)
    figures |= section_tables(r) | failure_and_tracing(r)
    return Template(TEMPLATE.read_text()).substitute(figures)


def write_report(r: RunResult, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(r, output.stem))
