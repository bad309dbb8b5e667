"""The report's closing part: how the run works, and its parameters."""

from benchmarks.results import RunResult
from benchmarks.stack import RELAY_POLL_SECONDS


def method_notes(r: RunResult) -> list[str]:
    seeded = ", ".join(f"{s.accounts:,} in {s.seed_seconds:.0f} s" for s in r.sizes)
    notes = [
        "## How the run works",
        "",
        "- Everything is started by the run on free ports and stopped after it: its own "
        "stand-in (own SQLite file) unless `MONGODB_URI` names a server, the login API, the "
        "promotion API, consumer processes, the lean reference app "
        "(`bench/src/benchmarks/lean_app.py`) and a bare aio-pika consume-and-ack loop "
        "(`bench/src/benchmarks/bare_consumer.py`). Exchange and queues carry a per-run prefix "
        "and are deleted at the end.",
        "- CPU per operation: time on CPU of every process in the service's process group "
        "(uv, the Uvicorn supervisor, every worker) before and after the operations: each "
        "process's CPU-time clock (`clock_gettime` of `clock_getcpuclockid`, nanoseconds, "
        "threads that exited included) plus its reaped children's `cutime + cstime`. "
        "The group's idle CPU per second, "
        f"measured in the same run just before ({r.plan.idle_seconds:.0f} s after it settled; "
        "the median of half-second slices, so a start-up's tail does not pass for a steady "
        "rate), times the window is subtracted; the window's own `/metrics` readings are left "
        "out of it. Loads with a "
        "fixed duration (wrk) leave one request in flight per connection when they stop; the "
        "window stays open until those are answered and they count as operations (the httpx "
        "fallback awaits and counts them itself). Logins, "
        "registrations and redemptions are sent by the run itself with a fixed number in "
        "flight until the phase's time is up, each answered before the window closes: an "
        "operation counts only with its whole work inside the window, so a slower database "
        "means fewer operations (the summary gives how many), not partial ones.",
        "- The login service's outbox relay publishes each event as soon as its first login "
        "wakes it; its fallback poll (every second by default, for events a wake-up missed) "
        f"runs every {RELAY_POLL_SECONDS // 60} minutes here "
        "(`LOGIN_OUTBOX_POLL_INTERVAL_SECONDS`). That poll is background work, not part of "
        "any operation, and its pace follows the database's speed (on a slow database each "
        "poll waits its turn): at the default, its idle rate subtracted over a long window "
        "took more than the poll really did in it, and the commands and CPU of the slowest "
        "sizes came out too low, down to zero.",
        "- Floors, same run: one Argon2id verification and one hash with pwdlib at the login "
        "service's default parameters (m=19456 KiB, t=2, p=1), CPU time of one process, median "
        "of 5 batches, once every process of the run has settled (Argon2 is memory-bound: a "
        "busy neighbour inflates it); the lean reference app serving `/me`, `/vouchers` and "
        "redeem (one PyJWT "
        "verification against the login service's JWKS, the same reads and conditional update, "
        "a pydantic response, no middleware) on the same Uvicorn setup; its `/login` does a "
        "successful non-first login's work and nothing else (the account read, the read of "
        "its four failure windows, one Argon2id verification on a hashing thread of the "
        "worker's own, an RS256 token signed with the login service's key, a device token, "
        "the `last_login_at` write, the cookie), driven like the service's logins right after "
        "them, and its `/register` a registration's (the network's registration window "
        "counted, one Argon2id hash, the account inserted, a device token, the profile; "
        "without the service's email and phone normalisation), sent right after the "
        "service's: context for the password rows, and the lowest ratio to one Argon2id "
        "operation that their work allows on this machine; the bare aio-pika loop at the "
        "consumer's prefetch for consumed events.",
        "- MongoDB commands per operation: the increase of each service's "
        "`mongodb_commands_total` (summed over its labels and, for the consumers, over their "
        "metrics endpoints), idle rate subtracted. A service that does not export it shows "
        "`n/a (counter missing)`, never a guess. AMQP publishes: the login service's "
        "`login_outbox_published_total`.",
        "- Accounts are seeded in the login service's registration shape with one "
        "precomputed hash (made by the service's hasher), with the server stopped, through "
        "the stand-in engine's own `insert_many` (about 1,000 accounts/s); through the wire "
        "server, one `insert_many` of 2,000 accounts took 67 s when measured, which would not "
        "fit 10^5 accounts in the run. "
        f"Seeding: {seeded or 'none'}.",
        "- Non-first logins and reads cycle over the accounts that logged in during the run "
        f"({r.sizes[-1].hot_accounts if r.sizes else 0} at the end); the rest of the "
        "accounts only make the collection larger.",
        "- Every HTTP process and the stand-in are restarted between sizes (the seeding needs "
        "the file to itself). Registrations come from one address, so the run raises the "
        "login service's registration budget (`LOGIN_THROTTLE_REGISTRATION_MAX_ATTEMPTS`); "
        "every other throttle setting keeps its default unless `--raise-login-throttle` is "
        "given (the burst section says so).",
        "- First logins of section 4a are measured one at a time. The stand-in runs one "
        "transaction at a time and nothing else beside it (its engine cannot; its launcher "
        "makes every other request wait), so concurrent first logins (recording "
        "transactions, claim transactions, the outbox relay's writes) queue behind each "
        "other, and their latency would measure that queue only; the burst (section 1) shows "
        "it. Real MongoDB runs them side by side.",
        f"- Messages dead-lettered during the run: {r.dead_lettered}.",
    ]
    notes += [f"- {note}" for note in r.skipped]
    notes += parameters(r)
    notes += [
        "### Against MongoDB",
        "",
        "`MONGODB_URI='mongodb://HOST:PORT/?replicaSet=NAME' make bench` runs the same "
        "benchmark against that server (a replica set: the services' transactions need one), "
        "for instance the compose stack's. The run starts no stand-in, seeds accounts with "
        "`insert_many` through the driver, puts everything in databases named "
        "`bench_<run id>_*` and drops them at the end. The report then names the server and "
        "its version (`buildInfo`) and gives no database CPU (the server is not a process "
        "the run can read). Add `BENCH_ARGS='--output docs/benchmarks-mongodb.md'` to keep "
        "this stand-in report.",
        "",
        "### Not covered",
        "",
        "- The queue in quorum mode (`PROMOTION_QUEUE_TYPE=quorum`); the run uses the default "
        "lazy classic queue.",
        "",
    ]
    return [*notes, ""]


def parameters(r: RunResult) -> list[str]:
    p = r.plan
    argon2 = r.sizes[0].argon2 if r.sizes else None
    hashing = (
        f"Argon2id m={argon2.memory_cost_kib} KiB, t={argon2.time_cost}, p={argon2.parallelism} "
        "(the login service's configured hasher)"
        if argon2
        else "the login service's configured hasher"
    )
    return [
        "",
        "### Parameters",
        "",
        f"- Account sizes: {', '.join(f'{s:,}' for s in p.account_sizes)}; "
        f"fresh first logins per size: up to {p.first_logins_per_size}.",
        f"- Both APIs: {p.http_workers} Uvicorn workers each (`LOGIN_WORKERS`, "
        "`PROMOTION_WORKERS`), loopback, JSON logs; the bare app the same.",
        f"- Passwords: {hashing}; ceiling measured with {p.argon2_processes} processes for "
        f"{p.argon2_seconds:.0f} s, before each login load.",
        f"- Login load: {p.login_connections} in flight, {p.login_seconds:.0f} s. Read loads: "
        f"{p.read_connections} connections, {p.read_seconds:.0f} s each.",
        f"- Database ceilings: claim-shaped transactions, {p.ceiling_seconds:.0f} s alone and "
        f"{p.ceiling_seconds:.0f} s with {p.ceiling_concurrency} sessions, on a stand-in of "
        "their own.",
        f"- Consumer costs: one process draining a backlog published before it started, "
        f"{p.fast_consumer_events} events beyond a 100-slot campaign, {p.consumer_events} all "
        f"eligible; the bare loop {2 * p.fast_consumer_events} events, prefetch "
        f"{p.consumer_prefetch}; beyond the campaign and bare loop in {p.fast_path_rounds} "
        "paired round(s).",
        f"- Registrations: up to {p.registrations}, redemptions: up to {p.redemptions} per side, "
        f"{p.drive_concurrency} in flight, at most {p.drive_seconds:.0f} s each; idle "
        f"windows {p.idle_seconds:.0f} s.",
        f"- Consumers: {', '.join(str(c) for c in p.consumer_counts)} processes, default "
        f"prefetch, backlog of {p.backlog_events} events per step. The consumer never reads "
        "the login database, so its throughput is measured against processes only.",
        "- Campaign slots are set far above the number of first logins "
        "(`PROMOTION_CAMPAIGN_SLOTS`), so that every event of the run takes the granting path.",
        "",
    ]
