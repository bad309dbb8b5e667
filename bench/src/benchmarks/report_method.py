"""The report's closing part: how the run works, and its parameters."""

from benchmarks.results import RunResult


def method_notes(r: RunResult) -> list[str]:
    seeded = ", ".join(f"{s.accounts:,} in {s.seed_seconds:.0f} s" for s in r.sizes)
    notes = [
        "## How the run works",
        "",
        "- Everything is started by the run on free ports and stopped after it: its own "
        "stand-in (own SQLite file), the login API, the promotion API, consumer processes, "
        "the bare app. Exchange and queues carry a per-run prefix and are deleted at the end.",
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
        "the file to itself).",
        "- First logins are measured one at a time. On the stand-in, a transaction open "
        "while another session writes outside a transaction makes SQLite answer `database "
        "is locked` (after its 5 s busy timeout) or keeps the plain write waiting until the "
        "stand-in's 30 s wait limit; the whole server stalls meanwhile. Concurrent first "
        "logins (recording transactions, claim transactions, the outbox relay's plain "
        "writes) meet exactly that, and their latency then measures those stalls only. "
        "Real MongoDB has neither the global lock nor the stall.",
        f"- Messages dead-lettered during the run: {r.dead_lettered}.",
    ]
    notes += [f"- {note}" for note in r.skipped]
    notes += parameters(r)
    notes += [
        "### Not covered",
        "",
        "- Real MongoDB (a replica set): the run always starts its own stand-in, and seeds it "
        "through the stand-in's engine; against MongoDB the same seeding would go through "
        "`insert_many` on the wire.",
        "- Bursts of concurrent first logins (the stand-in stalls, see above), and the queue "
        "in quorum mode (`PROMOTION_QUEUE_TYPE=quorum`); the run uses the default lazy "
        "classic queue.",
        "- Voucher redemption (`POST /v1/vouchers/{id}/redeem`) and registration (one Argon2 "
        "hash each, the same ceiling as the login).",
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
        f"- Login load: {p.login_connections} connections, {p.login_seconds:.0f} s. Read loads: "
        f"{p.read_connections} connections, {p.read_seconds:.0f} s each.",
        f"- Database ceilings: claim-shaped transactions, {p.ceiling_seconds:.0f} s alone and "
        f"{p.ceiling_seconds:.0f} s with {p.ceiling_concurrency} sessions, on a stand-in of "
        "their own.",
        f"- Consumers: {', '.join(str(c) for c in p.consumer_counts)} processes, default "
        f"prefetch, backlog of {p.backlog_events} events per step. The consumer never reads "
        "the login database, so its throughput is measured against processes only.",
        "- Campaign slots are set far above the number of first logins "
        "(`PROMOTION_CAMPAIGN_SLOTS`), so that every event of the run takes the granting path.",
        "",
    ]
