"""One run, start to end: ceilings, then each account size, then consumer scaling."""

import json
import time

from benchmarks.broker import wait_for_consumers
from benchmarks.drain import measure_drain
from benchmarks.first_logins import measure_first_logins
from benchmarks.load import LoadResult, LoadSpec, run_load
from benchmarks.plan import PASSWORD, Plan
from benchmarks.progress import elapsed, say
from benchmarks.results import Argon2Ceiling, RunResult, SizeResult
from benchmarks.stack import LOGIN_DATABASE, Stack
from benchmarks.standin_ceiling import (
    measure_account_reads,
    measure_account_updates,
    measure_ceiling,
)

BUDGET_SECONDS = 14 * 60  # the whole full run must end within about 15 minutes
SIZE_OVERHEAD_SECONDS = 75  # restarts, loads and first logins of one size, measured


class Run:
    def __init__(self, plan: Plan, stack: Stack, result: RunResult) -> None:
        self.plan = plan
        self.stack = stack
        self.result = result
        self.password_hash = ""
        self.seeded = 0
        self.seed_rate = 0.0  # accounts/s of the last seeding
        self.hot: list[str] = []  # accounts that have logged in (non-first logins cycle here)
        self.tokens: list[str] = []

    async def argon2(self) -> Argon2Ceiling:
        line = await self.stack.run_probe(
            "login_service",
            "argon2_ceiling.py",
            "--processes",
            str(self.plan.argon2_processes),
            "--seconds",
            str(self.plan.argon2_seconds),
            "--password",
            PASSWORD,
        )
        data = json.loads(line)
        self.password_hash = data["hash"]
        return Argon2Ceiling(
            per_second=data["per_second"],
            processes=data["processes"],
            memory_cost_kib=data["memory_cost_kib"],
            time_cost=data["time_cost"],
            parallelism=data["parallelism"],
        )

    async def start_services(self) -> None:
        await self.stack.start_standin()
        await self.stack.start_login()
        await self.stack.start_promotion_api()

    async def stop_services(self) -> None:
        for name in ("consumer", "promotion-api", "login"):
            for child in [c for c in self.stack.groups.children if c.name == name]:
                await self.stack.groups.stop(child)
        await self.stack.stop_standin()

    async def ceilings(self) -> None:
        say("Argon2 ceiling (service hasher, 2 processes) and database transaction ceilings")
        argon2 = await self.argon2()
        say(f"  Argon2: {argon2.per_second:.1f} verifications/s")
        # The ceilings run on a server of their own, with nothing else on it.
        await self.stack.start_standin(self.stack.work / "ceiling.sqlite3")
        uri = self.stack.mongodb_uri
        self.result.sequential = await measure_ceiling(uri, 1, self.plan.ceiling_seconds)
        self.result.concurrent = await measure_ceiling(
            uri, self.plan.ceiling_concurrency, self.plan.ceiling_seconds
        )
        await self.stack.stop_standin()
        say(
            f"  transactions: {self.result.sequential.mean_seconds * 1000:.1f} ms each alone, "
            f"{self.result.concurrent.per_second:.1f}/s with "
            f"{self.plan.ceiling_concurrency} sessions"
        )
        self.stack.describe()
        await self.start_services()
        await self.stop_services()  # the services created their indexes; seeding needs the file

    def fits_budget(self, size: int) -> bool:
        if self.plan.name != "full" or self.seed_rate == 0:
            return True
        drains = len(self.plan.consumer_counts) * (20 + self.plan.backlog_events / 6)
        needed = (size - self.seeded) / self.seed_rate * 1.3 + SIZE_OVERHEAD_SECONDS + drains
        return elapsed() + needed < BUDGET_SECONDS

    async def seed(self, size: int) -> float:
        count = size - self.seeded
        say(f"seeding {count} accounts (to {size}) into the login database")
        started = time.perf_counter()
        line = await self.stack.run_probe(
            "tools/mongo-standin",
            "standin_seed.py",
            "--path",
            str(self.stack.db_path),
            "--database",
            LOGIN_DATABASE,
            "--start",
            str(self.seeded),
            "--count",
            str(count),
            "--hash",
            self.password_hash,
            "--batch",
            str(self.plan.seed_batch),
        )
        took = time.perf_counter() - started
        total = json.loads(line)["accounts_total"]
        if total != size:
            raise RuntimeError(f"login database holds {total} accounts, expected {size}")
        fresh = [f"seed{index:07d}" for index in range(self.seeded, self.seeded + count)]
        self.seeded = size
        self.seed_rate = count / took
        say(f"  {count} accounts in {took:.1f} s ({self.seed_rate:.0f}/s)")
        self.fresh = fresh[: self.plan.first_logins_per_size]
        return took

    async def load(self, tag: str, spec: LoadSpec) -> LoadResult:
        result = await run_load(spec, self.stack.work, tag)
        failed = f", {result.failed} failed" if result.failed else ""
        say(
            f"  {tag}: {result.ok_per_second:.1f}/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms{failed}"
        )
        return result

    async def size(self, size: int) -> SizeResult:
        plan, stack = self.plan, self.stack
        seed_seconds = await self.seed(size)
        say(f"accounts = {size}: starting the stand-in, both APIs and one consumer")
        await self.start_services()
        await stack.start_consumer("consumer", "first-login", 1_000_000)
        # The consumer declares and binds the queue: events published before would be
        # unroutable (and retried later by the outbox), and its start-up index builds
        # would overlap the first transactions.
        await wait_for_consumers(stack.rabbitmq_url, stack.names.queue, 1)
        say(f"  {len(self.fresh)} first logins, one at a time, each voucher awaited")
        first = await measure_first_logins(
            stack.mongodb_uri,
            stack.login_url,
            self.fresh,
            plan.voucher_wait_seconds,
            plan.first_login_phase_seconds,
        )
        errors = f", {first.server_errors} answers 5xx (retried)" if first.server_errors else ""
        errors += f", {first.missing} vouchers missing" if first.missing else ""
        say(
            f"  first login to voucher: p50 {first.p50_ms:.0f} ms, "
            f"p99 {first.p99_ms:.0f} ms{errors}"
        )
        self.hot += self.fresh[: first.accounts]
        self.tokens += first.tokens
        argon2 = await self.argon2()
        say(f"  Argon2 ceiling: {argon2.per_second:.1f} verifications/s")
        updates = await measure_account_updates(
            stack.mongodb_uri, LOGIN_DATABASE, self.hot, plan.update_seconds
        )
        say(f"  database alone: {updates.per_second:.1f} account updates/s")
        bodies = [json.dumps({"identifier": name, "password": PASSWORD}) for name in self.hot]
        login = await self.load(
            "login",
            LoadSpec(
                "POST", stack.login_url, "/v1/auth/login", "body", bodies,
                plan.login_connections, plan.login_seconds,
            ),
        )  # fmt: skip
        account_reads = await measure_account_reads(
            stack.mongodb_uri, LOGIN_DATABASE, self.hot, plan.update_seconds, 16
        )
        say(f"  database alone: {account_reads.per_second:.1f} account reads/s")
        reads: dict[str, LoadResult] = {}
        for tag, base, path in (
            ("bare", stack.bare_url, "/bare"),
            ("me", stack.login_url, "/v1/accounts/me"),
            ("vouchers", stack.promotion_url, "/v1/vouchers"),
        ):
            spec = LoadSpec(
                "GET", base, path, "token", self.tokens, plan.read_connections, plan.read_seconds
            )
            reads[tag] = await self.load(tag, spec)
        await self.stop_services()
        return SizeResult(
            accounts=size,
            seed_seconds=seed_seconds,
            first_logins=first,
            argon2=argon2,
            account_updates=updates,
            account_reads=account_reads,
            login=login,
            bare=reads["bare"],
            me=reads["me"],
            vouchers=reads["vouchers"],
            hot_accounts=len(self.hot),
        )

    async def drains(self) -> None:
        say(f"consumer throughput: backlog of {self.plan.backlog_events} events per step")
        await self.stack.start_standin()
        for consumers in self.plan.consumer_counts:
            say(f"  {consumers} consumer process(es)")
            drain = await measure_drain(self.stack, consumers, self.plan.backlog_events)
            self.result.drains.append(drain)
            say(
                f"  {consumers} consumer(s): {drain.per_second:.1f} events/s "
                f"({self.result.drain_ratio(drain):.2f} of the transaction ceiling)"
            )
        await self.stack.stop_standin()

    async def everything(self) -> None:
        await self.stack.start_bare()
        await self.ceilings()
        for size in self.plan.account_sizes:
            if not self.fits_budget(size):
                note = (
                    f"{size} accounts: skipped, seeding at {self.seed_rate:.0f}/s would not "
                    "fit the run's time budget"
                )
                say(note)
                self.result.skipped.append(note)
                continue
            self.result.sizes.append(await self.size(size))
        await self.drains()
