"""One run, start to end: ceilings, each account size, the consumer, then the launch burst."""

import json
import math
from dataclasses import fields

from benchmarks.broker import wait_for_consumers
from benchmarks.burst import burst_phase
from benchmarks.consumer_costs import consumer_phase
from benchmarks.drain import measure_drain
from benchmarks.floors import measure_argon2
from benchmarks.mongo_target import describe_server
from benchmarks.operation_costs import SizeCosts
from benchmarks.plan import PASSWORD, Plan
from benchmarks.progress import elapsed, say
from benchmarks.results import Argon2Ceiling, FailureTiming, RunResult, SizeResult
from benchmarks.seeding import seed
from benchmarks.stack import FIRST_LOGIN_CAMPAIGN, Stack
from benchmarks.standin_ceiling import (
    measure_account_reads,
    measure_account_updates,
    measure_ceiling,
)
from benchmarks.targets import settle
from benchmarks.tracing_cost import measure as measure_tracing

BUDGET_SECONDS = 40 * 60  # the whole full run ends within about 40 minutes
SIZE_OVERHEAD_SECONDS = 400  # restarts, loads, paired rounds, first logins of one size
# One paired round of the consumer's fast path (60,000 events published, two drains) and the
# eligible step, as measured in a full run.
FAST_PATH_ROUND_SECONDS = 60
ELIGIBLE_STEP_SECONDS = 45
BURST_SECONDS = 150
MIN_LOGINS_PER_ROUND = 20  # fewer, and a round's CPU per login is mostly its idle share
SIDES = 2  # a login round runs the service's and the lean app's at once: each gets half


def expected_update_rate(measured: list[tuple[int, float]], size: int) -> float:
    """The database alone's account updates/s expected at ``size`` accounts, from (accounts,
    rate) measured at smaller sizes: the last rate carried along the trend of the last two
    (a power law; the stand-in's fell 7-fold per 10-fold, 15.8, 2.2, 0.3/s at 10^3 to 10^5),
    never above the last rate (a server whose rate does not fall keeps it)."""
    accounts, rate = measured[-1]
    before, earlier_rate = measured[-2] if len(measured) > 1 else (accounts, rate)
    if rate <= 0 or earlier_rate <= 0 or before == accounts:
        return rate
    slope = math.log(rate / earlier_rate) / math.log(accounts / before)
    return min(rate, rate * math.pow(size / accounts, slope))


class Run:
    def __init__(self, plan: Plan, stack: Stack, result: RunResult, raise_throttle: bool) -> None:
        self.plan = plan
        self.stack = stack
        self.result = result
        self.raise_throttle = raise_throttle
        self.password_hash = ""
        self.seeded = 0
        self.seed_rate = 0.0  # accounts/s of the last seeding
        self.registered = 0  # accounts registered through the API (answered 201)
        self.registration_names = 0  # names used so far (sent, whatever the answer)
        self.hot: list[str] = []  # accounts that have logged in (non-first logins cycle here)
        self.tokens: list[str] = []
        self.fresh: list[str] = []

    async def argon2(self) -> Argon2Ceiling:
        """The login service's hasher verifying in several processes; keeps the hash it made."""
        plan = self.plan
        data = json.loads(await self.stack.run_probe(
            "login_service", "argon2_ceiling.py", "--processes", str(plan.argon2_processes),
            "--seconds", str(plan.argon2_seconds), "--password", PASSWORD,
        ))  # fmt: skip
        self.password_hash = data["hash"]
        return Argon2Ceiling(**{f.name: data[f.name] for f in fields(Argon2Ceiling)})

    async def failure_timing(self) -> FailureTiming:
        """A failed check's time by the hash it met (decision 5), on a hashing thread."""
        rounds = str(self.plan.failure_rounds)
        line = await self.stack.run_probe("login_service", "failure_timing.py", "--rounds", rounds)
        return FailureTiming(**json.loads(line))

    async def start_services(self) -> None:
        await self.stack.start_standin()
        await self.stack.start_login()
        await self.stack.start_promotion_api()

    async def stop_services(self) -> None:
        for name in ("consumer", "lean", "promotion-api", "login"):
            for child in [c for c in self.stack.groups.children if c.name == name]:
                await self.stack.groups.stop(child)
        await self.stack.stop_standin()

    async def ceilings(self) -> None:
        say("Argon2 ceiling (service hasher, 2 processes) and database transaction ceilings")
        argon2 = await self.argon2()
        say(f"  Argon2: {argon2.per_second:.1f} verifications/s")
        self.result.failure_timing = await self.failure_timing()
        say(f"  failed checks (median ms): {self.result.failure_timing.median_ms}")
        # The ceilings run on a server of their own, with nothing else on it.
        await self.stack.start_standin(self.stack.work / "ceiling.sqlite3")
        uri = self.stack.mongodb_uri
        kind = "MongoDB" if self.stack.external_mongodb_uri else "stand-in"
        self.result.server = await describe_server(uri, kind)
        say(f"  database: {self.result.server.label()}")
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

    def skip_reason(self, size: int) -> str | None:
        """Why ``size`` is not measured (None: it is): a database too slow for a login round
        to meter enough logins (its account update rate falls as the accounts grow), or the
        run's time budget."""
        if self.plan.name != "full" or not self.result.sizes:
            return None
        measured = [(s.accounts, s.account_updates.per_second) for s in self.result.sizes]
        expected = expected_update_rate(measured, size)
        if expected * self.plan.login_seconds / SIDES < MIN_LOGINS_PER_ROUND:
            rates = ", ".join(f"{rate:.1f}/s at {accounts:,}" for accounts, rate in measured)
            return (
                f"{size:,} accounts: skipped. The database alone made account updates at "
                f"{rates} accounts (each login writes one); on that trend about "
                f"{expected:.1f}/s at {size:,}: fewer than {MIN_LOGINS_PER_ROUND} logins per "
                f"side of a {self.plan.login_seconds:.0f} s round (the service's and the lean "
                "app's share the database)."
            )
        drains = len(self.plan.consumer_counts) * (20 + self.plan.backlog_events / 6)
        costs = self.plan.fast_path_rounds * FAST_PATH_ROUND_SECONDS + ELIGIBLE_STEP_SECONDS
        needed = (size - self.seeded) / self.seed_rate * 1.3 + SIZE_OVERHEAD_SECONDS
        if elapsed() + needed + costs + drains + BURST_SECONDS < BUDGET_SECONDS:
            return None
        seeding = f"seeding at {self.seed_rate:.0f}/s would not fit the run's time budget"
        return f"{size:,} accounts: skipped, {seeding}"

    async def seed(self, size: int) -> float:
        count = size - self.seeded
        say(f"seeding {count} accounts (to {size}) into the login database")
        took = await seed(
            self.stack, self.stack.db_path, self.seeded, count, self.password_hash,
            self.plan.seed_batch, self.registered,
        )  # fmt: skip
        fresh = [f"seed{index:07d}" for index in range(self.seeded, self.seeded + count)]
        self.seeded = size
        self.seed_rate = count / took
        say(f"  {count} accounts in {took:.1f} s ({self.seed_rate:.0f}/s)")
        self.fresh = fresh[: self.plan.first_logins_per_size]
        return took

    async def size(self, size: int) -> SizeResult:
        seed_seconds = await self.seed(size)
        costs = await self.start_size(size)
        first = await costs.first_logins(self.fresh)
        self.hot += self.fresh[: first.accounts]
        self.tokens += first.tokens
        argon2 = await self.argon2()
        # The floor is measured once every process of the run has settled (the consumer
        # granting the first logins' vouchers, the stand-in writing them): Argon2 is
        # memory-bound, and a busy neighbour on the other core inflates it by a third.
        await settle(self.stack)
        floor = measure_argon2(PASSWORD)
        say(
            f"  Argon2: {argon2.per_second:.1f} verifications/s in 2 processes; one costs "
            f"{floor.verify_cpu * 1000:.1f} ms CPU to verify, {floor.hash_cpu * 1000:.1f} to hash"
        )
        database = self.stack.mongodb_uri, self.stack.login_database, self.hot
        updates = await measure_account_updates(*database, self.plan.update_seconds)
        login = await costs.logins([{"identifier": n, "password": PASSWORD} for n in self.hot])
        account_reads = await measure_account_reads(*database, self.plan.update_seconds, 16)
        say(f"  database alone: {updates.per_second:.1f} account updates/s, "
            f"{account_reads.per_second:.1f} account reads/s")  # fmt: skip
        reads = await costs.reads(self.tokens)
        # Registrations stop being sent after the drive's time limit: count those made.
        self.registration_names += await costs.registrations(self.registration_names)
        self.registered += costs.registered
        await costs.redemptions(self.tokens)
        await self.stop_services()
        return SizeResult(
            accounts=size, seed_seconds=seed_seconds, first_logins=first, argon2=argon2,
            account_updates=updates, account_reads=account_reads, login=login,
            bare=reads["bare"], me=reads["me"], vouchers=reads["vouchers"],
            hot_accounts=len(self.hot), argon2_floor=floor, costs=dict(costs.service),
            floors=dict(costs.floors), round_ratios=dict(costs.round_ratios),
        )  # fmt: skip

    async def start_size(self, size: int) -> SizeCosts:
        """Every process of one size started, the queue bound, their idle rates measured."""
        stack = self.stack
        say(f"accounts = {size}: starting the stand-in, both APIs, the lean app and a consumer")
        await self.start_services()
        await stack.start_lean()
        await stack.start_consumer("consumer", FIRST_LOGIN_CAMPAIGN, 1_000_000)
        # The consumer declares and binds the queue: events published before would be
        # unroutable (and retried later by the outbox), and its start-up index builds
        # would overlap the first transactions.
        await wait_for_consumers(stack.rabbitmq_url, stack.names.queue, 1)
        costs = SizeCosts(stack, self.plan)
        await costs.measure_idle()
        return costs

    async def consumer(self) -> None:
        say(
            f"consumer costs: {self.plan.fast_consumer_events} events beyond the campaign, "
            f"{self.plan.consumer_events} eligible, one process"
        )
        await self.stack.start_standin()
        costs, bare, ratios = await consumer_phase(self.stack, self.plan)
        self.result.consumer_costs, self.result.bare_loop = costs, bare
        self.result.fast_path_ratios = ratios
        say(f"consumer throughput: backlog of {self.plan.backlog_events} events per step")
        for consumers in self.plan.consumer_counts:
            drain = await measure_drain(self.stack, consumers, self.plan.backlog_events)
            self.result.drains.append(drain)
            say(
                f"  {consumers} consumer(s): {drain.per_second:.1f} events/s "
                f"({self.result.drain_ratio(drain):.2f} of the transaction ceiling)"
            )
        await self.stack.stop_standin()

    async def everything(self) -> None:
        await self.ceilings()
        for size in self.plan.account_sizes:
            if note := self.skip_reason(size):
                say(note)
                self.result.skipped.append(note)
                continue
            self.result.sizes.append(await self.size(size))
        await self.consumer()
        self.result.burst = await burst_phase(
            self.stack, self.plan, self.password_hash, self.raise_throttle
        )
        say("tracing: CPU per login of one login API process, off and on (paired rounds)")
        self.result.tracing = await measure_tracing(
            self.stack.repo,
            self.stack.work / "tracing",
            self.plan.tracing_logins,
            self.plan.tracing_rounds,
        )
