"""docs/benchmarks.md: the ratios first, then how they were measured."""

from pathlib import Path

from benchmarks.cost_report import burst_section, summary
from benchmarks.cost_report import table as _table
from benchmarks.report_method import method_notes
from benchmarks.results import RunResult

STANDIN_NOTICE = (
    "**The database was a MongoDB wire-protocol stand-in** (mongoeco's SQLite engine behind "
    "a wire server; every transaction is serialized). The per-operation CPU figures and "
    "command counts hold on any database; every throughput figure (sections 2 to 4) is the "
    "stand-in's and says nothing about MongoDB."
)


def _login_section(r: RunResult) -> list[str]:
    rows = [
        [
            f"{s.accounts:,}",
            f"{s.login.ok_per_second:.1f}",
            f"{s.argon2.per_second:.1f}",
            f"**{s.login_ratio:.2f}**",
            f"{s.account_updates.per_second:.1f}",
            (
                f"{s.login.p50_ms:.0f} / {s.login.p99_ms:.0f}"
                if s.login.requests
                else f"none completed in {r.plan.login_seconds:.0f} s"
            ),
            f"{s.login.failed} of {s.login.requests}",
        ]
        for s in r.sizes
    ]
    return [
        "## 2. Login throughput against the password-hashing ceiling (bounded by the database)",
        "",
        "`POST /v1/auth/login` of accounts that have logged in before (no first-login "
        f"transaction), {r.plan.login_connections} connections for {r.plan.login_seconds:.0f} s, "
        f"login API with {r.plan.http_workers} Uvicorn workers. The ceiling: the service's own "
        f"configured hasher verifying in {r.plan.argon2_processes} processes for "
        f"{r.plan.argon2_seconds:.0f} s, just before the load, on the same cores. For context, "
        "the database's own rate of single-account updates (each non-first login writes one) "
        "is measured too (one session, 3 s, on the same accounts the load logs in): on the "
        "stand-in the cost of one write grows with the collection, most for accounts that "
        "carry `first_login_order` (a partial unique index), which every account that has "
        "logged in does.",
        "",
        *_table(
            [
                "accounts",
                "logins/s",
                "Argon2 verifications/s",
                "ratio",
                "account updates/s, database alone",
                "latency p50 / p99 (ms)",
                "failed or timed out (15 s)",
            ],
            rows,
        ),
    ]


def _reads_section(r: RunResult) -> list[str]:
    rows = [
        [
            f"{s.accounts:,}",
            f"{s.bare.ok_per_second:.0f} ({s.bare.generator_busy:.0%})",
            f"{s.me.ok_per_second:.0f}",
            f"**{s.me_ratio:.2f}**" if s.bare_refused is None else f"n/a: {s.bare_refused}",
            f"{s.account_reads.per_second:.0f}",
            f"{s.vouchers.ok_per_second:.0f}",
            f"**{s.vouchers_ratio:.2f}**" if s.bare_refused is None else "n/a",
        ]
        for s in r.sizes
    ]
    return [
        "## 3. Token-protected reads against a bare endpoint (bounded by the database)",
        "",
        "`GET /v1/accounts/me` (login API) and `GET /v1/vouchers` (promotion API), each with "
        "a valid bearer token (cycling over the accounts' sessions), against `GET /bare` of a "
        "FastAPI app with no middleware, no authentication and no database "
        "(`bench/src/benchmarks/bare_app.py`), served by the same Uvicorn setup: "
        f"{r.plan.http_workers} workers, same host, same load: {r.plan.read_connections} "
        f"connections for {r.plan.read_seconds:.0f} s each, one after the other. For context, "
        "the database's own rate of the read `/v1/accounts/me` makes (an account by id, 16 "
        f"sessions, {r.plan.update_seconds:.0f} s), measured just before. A ratio is not "
        "given when the bare rate is load-generator-bound (the generator above 90% of a "
        "core, shown in brackets, or a bare rate below 1,000 req/s).",
        "",
        *_table(
            [
                "accounts",
                "bare req/s (generator CPU)",
                "/me req/s",
                "/me ratio",
                "account reads by id/s, database alone",
                "/vouchers req/s",
                "/vouchers ratio",
            ],
            rows,
        ),
    ]


def _latency_section(r: RunResult) -> list[str]:
    assert r.sequential is not None
    unit = r.sequential.mean_seconds * 1000
    rows = [
        [
            f"{s.accounts:,}",
            f"{len(s.first_logins.latencies_ms)} of {s.first_logins.accounts}",
            f"{s.first_logins.p50_ms:.0f}",
            f"{s.first_logins.p99_ms:.0f}",
            f"**{r.latency_in_transactions(s.first_logins.p50_ms):.1f}**",
            f"**{r.latency_in_transactions(s.first_logins.p99_ms):.1f}**",
            str(s.first_logins.server_errors),
        ]
        for s in r.sizes
    ]
    return [
        "## 4a. First login to voucher: latency (bounded by the database)",
        "",
        f"Fresh accounts log in for the first time, one at a time (up to "
        f"{r.plan.first_logins_per_size} per size, at most "
        f"{r.plan.first_login_phase_seconds:.0f} s), each voucher awaited before the next "
        "login. Latency = the voucher's `granted_at` minus the account's `first_login_at`, "
        "both written by the services; between them lie the recording transaction, the "
        "outbox relay, RabbitMQ with publisher confirms, one consumer process and its claim "
        "transaction. The unit of the ratio: one claim-shaped transaction run alone on the "
        f"same kind of database, {unit:.1f} ms in this run. A voucher later than "
        f"{r.plan.voucher_wait_seconds:.0f} s counts as missing.",
        "",
        *_table(
            [
                "accounts",
                "vouchers in time",
                "p50 (ms)",
                "p99 (ms)",
                "p50 in transactions",
                "p99 in transactions",
                "5xx answers (retried)",
            ],
            rows,
        ),
    ]


def _drain_section(r: RunResult) -> list[str]:
    assert r.concurrent is not None
    rows = [
        [
            str(d.consumers),
            f"{d.events}",
            f"{d.per_second:.1f}",
            f"**{r.drain_ratio(d):.2f}**",
            f"**{r.drain_scaling(d):.2f}**",
            f"{d.wall_seconds:.1f}",
        ]
        for d in r.drains
    ]
    return [
        "## 4b. Consumer throughput, and how it grows with consumer processes (database-bound)",
        "",
        f"A backlog of {r.plan.backlog_events} first-login events (valid v1 messages, each "
        "eligible, so every one runs the full claim transaction) published to the run's own "
        "queue while k consumer processes (prefetch 16 each) are attached. Rate = events "
        "between the first and the last `granted_at`. The ceiling: claim-shaped transactions "
        f"(three reads, three writes) with {r.concurrent.concurrency} sessions, "
        f"{r.concurrent.per_second:.1f}/s in this run.",
        "",
        *_table(
            ["consumers", "events", "events/s", "÷ database ceiling", "÷ 1 consumer", "wall (s)"],
            rows,
        ),
    ]


def _failure_timing_section(r: RunResult) -> list[str]:
    timing = r.failure_timing
    if timing is None:
        return []
    ms = timing.median_ms
    rows = [
        [
            "an unknown identifier (the dummy hash, current parameters)",
            f"{ms['unknown_identifier']:.1f}",
        ],
        ["a wrong password, hash of the current parameters", f"{ms['current_hash']:.1f}"],
        [
            f"a wrong password, hash of the old parameters ({timing.old_parameters}), padded",
            f"**{ms['old_hash_padded']:.1f}**",
        ],
        [
            "the same without the padding (what it cost before decision 5's padding)",
            f"{ms['old_hash_bare']:.1f}",
        ],
    ]
    return [
        "## 6. A failed password check costs the same whatever hash it met",
        "",
        "Wall time of one failed check on a hashing thread of the service's own hasher, after "
        f"the Argon2 parameters were raised to {timing.current_parameters} (one pass more "
        "than the defaults): median of "
        f"{timing.rounds} rounds of {timing.per_round} checks, the kinds interleaved. An account "
        "keeps its old-parameter hash until its owner logs in again; its failures are padded "
        "with the Argon2 work they lack, so a wrong password there cannot be told from an "
        "unknown identifier by its time (the tests hold the work done, never a time).",
        "",
        *_table(["the check met", "ms"], rows),
    ]


def _tracing_section(r: RunResult) -> list[str]:
    cost = r.tracing
    if cost is None:
        return []
    return [
        "## 7. What tracing costs",
        "",
        f"CPU per login of one login API process (one worker), {cost.logins} ordinary logins "
        "per round, two at a time, rounds alternating tracing off and on "
        "(`OTEL_EXPORTER_OTLP_ENDPOINT` set to a local OTLP/HTTP receiver that answers every "
        f"export; {cost.exports} exports): medians of {len(cost.paired_ratios)} paired rounds.",
        "",
        *_table(
            ["tracing", "CPU per login (ms)", "on ÷ off (median pair)", "paired rounds' ratios"],
            [
                ["off", f"{cost.off_ms:.2f}", "", ""],
                [
                    "on",
                    f"{cost.on_ms:.2f}",
                    f"**{cost.ratio:.3f}**",
                    ", ".join(f"{x:.3f}" for x in cost.paired_ratios),
                ],
            ],
        ),
    ]


def render(r: RunResult, plots: list[str], plot_folder: str) -> str:
    m = r.machine
    server = r.server
    external = server is not None and server.kind != "stand-in"
    database = server.label() if server else "the run's own stand-in"
    database_label = (
        f"{database}, not a process of this machine, so not measured"
        if external
        else "the stand-in's process"
    )
    notice = (
        f"The database was {database}; every figure of this report comes from it."
        if external
        else STANDIN_NOTICE
    )
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{m['command']}` on {r.started_at} ({r.plan.name} run, "
        f"{r.duration_seconds / 60:.1f} min).",
        "",
        "> " + notice,
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; Python {m['python']}; "
        f"database: {database}; RabbitMQ at the run's own exchange and queues; load "
        f"generator: wrk (one thread, its own process).",
        "",
    ]
    lines += summary(r, database_label)
    named = {name.removesuffix(".png"): f"{plot_folder}/{name}" for name in plots}
    if "cpu-ratios" in named:
        lines += [f"![cpu-ratios]({named['cpu-ratios']})", ""]
    if r.burst is not None:
        lines += burst_section(r.burst, named.get("burst"), on_standin=not external)
    if r.sizes:
        lines += _login_section(r) + _reads_section(r) + _latency_section(r)
    if r.drains:
        lines += _drain_section(r)
    lines += ["## 5. Throughput growth", ""]
    for name in plots:
        if name.removesuffix(".png") not in {"cpu-ratios", "burst"}:
            lines += [f"![{name.removesuffix('.png')}]({plot_folder}/{name})", ""]
    lines += _failure_timing_section(r) + _tracing_section(r)
    lines += method_notes(r)
    return "\n".join(lines) + "\n"


def write_report(r: RunResult, output: Path, plots: list[str]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(r, plots, output.stem))
