"""The launch burst: fresh accounts on a database of their own log in for the first time
from one address (two login workers, two consumers); every event is awaited, then checked."""

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from benchmarks import targets
from benchmarks.consumer_costs import CAMPAIGN_SLOTS, consumed
from benchmarks.drain import start_consumers, wait_handled
from benchmarks.drive import Answer, Call, percentile, send_each
from benchmarks.meter import Cost, idle_rates, measure_many
from benchmarks.mongo_target import connect
from benchmarks.plan import PASSWORD, Plan
from benchmarks.progress import say
from benchmarks.seeding import seed
from benchmarks.stack import FIRST_LOGIN_CAMPAIGN, Stack

CONSUMERS = 2
# Only with --raise-login-throttle: for a login service whose throttle still refuses a crowd
# of correct logins from one address. The published run uses the service's defaults.
RAISED_THROTTLE = {
    f"LOGIN_THROTTLE_{budget}_MAX_FAILURES": "100000"
    for budget in ("IDENTIFIER", "CLIENT", "ACCOUNT_TOTAL", "ACCOUNT_DAILY")
}


@dataclass(frozen=True, slots=True)
class Gap:
    seconds: float
    at: float  # seconds after the first request, where the pause began


@dataclass
class BurstResult:
    logins: int
    concurrency: int
    throttle_raised: bool
    statuses: dict[int, int] = field(default_factory=dict)
    answered_at: list[float] = field(default_factory=list)  # s after the first request
    granted_at: list[float] = field(default_factory=list)
    login_ms: list[float] = field(default_factory=list)
    voucher_ms: list[float] = field(default_factory=list)  # first_login_at -> granted_at
    vouchers: int = 0
    first_100_hold_them: bool = False
    events_handled: int = 0
    to_last_voucher_seconds: float = float("nan")
    login_cost: Cost | None = None
    consumer_cost: Cost | None = None
    # Seconds each login not answered 200 took, and what the login service logged as a
    # warning or an error meanwhile: the evidence a failed answer leaves in the report.
    failed_after: list[float] = field(default_factory=list)
    logged_problems: dict[str, int] = field(default_factory=dict)

    @property
    def all_ok(self) -> bool:
        return self.statuses == {200: self.logins}

    @property
    def logins_ok(self) -> int:
        """Logins answered 200: each recorded a first login, so each owes one event."""
        return self.statuses.get(200, 0)

    @property
    def not_ok(self) -> dict[int, int]:
        """Answers other than 200 by status (0: no answer); no event is expected for them."""
        return {status: count for status, count in self.statuses.items() if status != 200}

    def login_p(self, fraction: float) -> float:
        return percentile(self.login_ms, fraction)

    def voucher_p(self, fraction: float) -> float:
        return percentile(self.voucher_ms, fraction)


def longest_gap(times: list[float]) -> Gap | None:
    """The longest pause between consecutive moments (where the stand-in stalled, if it did)."""
    ordered = sorted(times)
    if len(ordered) < 2:
        return None
    index = max(range(1, len(ordered)), key=lambda i: ordered[i] - ordered[i - 1])
    return Gap(ordered[index] - ordered[index - 1], ordered[index - 1])


def status_counts(statuses: dict[int, int]) -> str:
    """``{503: 2, 0: 1}`` as "1 answered nothing, 2 answered 503"."""
    return ", ".join(
        f"{count} answered {status or 'nothing'}" for status, count in sorted(statuses.items())
    )


def logged_problems(log: Path, offset: int) -> dict[str, int]:
    """Warnings and errors of a service's JSON log from ``offset`` on, counted by event,
    error type and server code (the fields the services log for a failed request)."""
    found: Counter[str] = Counter()
    if not log.exists():
        return {}
    with log.open("rb") as lines:
        lines.seek(offset)
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or entry.get("level") not in ("warning", "error"):
                continue
            parts = [str(entry.get("event")), str(entry.get("error", "")).strip()]
            if entry.get("code") is not None:
                parts.append(f"(code {entry['code']})")
            found[" ".join(part for part in parts if part)] += 1
    return dict(found)


async def burst_phase(
    stack: Stack, plan: Plan, password_hash: str, raise_throttle: bool
) -> BurstResult:
    count = plan.burst_logins
    say(f"launch burst: {count} fresh accounts on a database of their own")
    stack.use_databases("burst")
    path = stack.work / "burst.sqlite3"
    if not stack.external_mongodb_uri:
        # The login service creates its indexes first, as on the main file; the stand-in's
        # engine seeds only a file no server has open.
        await stack.start_standin(path)
        await stack.groups.stop(await stack.start_login())
        await stack.stop_standin()
    await seed(stack, path, 0, count, password_hash, plan.seed_batch)
    await stack.start_standin(path)
    if raise_throttle:
        stack.login_throttle = RAISED_THROTTLE
    usernames = [f"seed{index:07d}" for index in range(count)]
    try:
        burst = await run_burst(stack, plan, usernames, raise_throttle)
    finally:
        stack.login_throttle = {}
        await stack.stop_standin()
    say(
        f"  burst: answers {burst.statuses}, {burst.vouchers} vouchers, first 100 hold them: "
        f"{burst.first_100_hold_them}, last voucher after {burst.to_last_voucher_seconds:.1f} s"
    )
    return burst


async def run_burst(
    stack: Stack, plan: Plan, usernames: list[str], throttle_raised: bool
) -> BurstResult:
    result = BurstResult(len(usernames), plan.burst_concurrency, throttle_raised)
    login_log = stack.groups.log_path("login")
    log_offset = login_log.stat().st_size if login_log.exists() else 0
    await stack.start_login()
    names = [f"burst-consumer-{index}" for index in range(CONSUMERS)]
    await start_consumers(stack, names, FIRST_LOGIN_CAMPAIGN, CAMPAIGN_SLOTS)
    login, consumers = targets.login(stack), targets.consumers(stack, names)
    login_idle, consumer_idle, database = await asyncio.gather(
        idle_rates(login, plan.idle_seconds),
        idle_rates(consumers, plan.idle_seconds),
        targets.with_idle(targets.database(stack), plan.idle_seconds),
    )
    started_wall, started = time.time(), time.monotonic()
    answers: list[Answer] = []
    handled = partial(consumed, *(stack.consumer_metrics[name] for name in names))

    async def action() -> int:
        await _send(stack, plan, usernames, answers)
        result.statuses = dict(Counter(answer.status for answer in answers))
        others = status_counts(result.not_ok)
        say(
            f"  all answered after {time.monotonic() - started:.1f} s"
            + (f" ({others})" if others else "")
            + f"; waiting for the {result.logins_ok} events of the logins answered 200"
        )
        try:
            await wait_handled(handled, result.logins_ok, "the burst's consumers")
        except RuntimeError as exc:
            say(f"  {exc} in time")
        result.events_handled = int(await handled())
        return result.logins_ok

    result.login_cost, result.consumer_cost = await measure_many(
        [(login, login_idle), (consumers, consumer_idle)], action, database
    )
    result.answered_at = [answer.answered_at - started for answer in answers]
    result.login_ms = [(answer.answered_at - answer.sent_at) * 1000 for answer in answers]
    result.failed_after = [a.answered_at - a.sent_at for a in answers if a.status != 200]
    result.logged_problems = logged_problems(login_log, log_offset)
    await _check(stack, usernames, started_wall, result)
    await stack.groups.stop_named("login", *names)
    return result


async def _send(stack: Stack, plan: Plan, usernames: list[str], answers: list[Answer]) -> None:
    """Every first login, ``burst_concurrency`` in flight, saying how far it got every 10 s."""
    calls = [Call("POST", "/v1/auth/login", {"identifier": name, "password": PASSWORD})
             for name in usernames]  # fmt: skip
    say(f"  {len(calls)} first logins from one address, {plan.burst_concurrency} in flight")

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            say(f"    {len(answers)}/{len(calls)} logins answered")

    shown = asyncio.create_task(progress())
    try:
        await send_each(stack.login_url, calls, plan.burst_concurrency, 3600.0, answers=answers)
    finally:
        shown.cancel()


async def _check(
    stack: Stack, usernames: list[str], started_wall: float, result: BurstResult
) -> None:
    """Exactly 100 vouchers, held by the accounts whose first-login order is 1..100."""
    wanted = set(usernames)
    async with connect(stack.mongodb_uri) as client:
        # The burst's database holds only its own accounts: read them all rather than
        # send a thousand names in one filter.
        accounts = client[stack.login_database]["accounts"].find(
            {}, {"username_key": 1, "first_login_order": 1}
        )
        first_100 = {
            doc["_id"]
            async for doc in accounts
            if doc["username_key"] in wanted
            and (order := doc.get("first_login_order"))
            and order <= CAMPAIGN_SLOTS
        }
        campaign = {"campaign_id": FIRST_LOGIN_CAMPAIGN}
        vouchers = await client[stack.promotion_database]["vouchers"].find(campaign).to_list()
    holders = {voucher["account_id"] for voucher in vouchers}
    result.vouchers = len(vouchers)
    result.first_100_hold_them = holders == first_100 and len(first_100) == CAMPAIGN_SLOTS
    result.granted_at = [v["granted_at"].timestamp() - started_wall for v in vouchers]
    result.voucher_ms = [
        (v["granted_at"] - v["first_login_at"]).total_seconds() * 1000 for v in vouchers
    ]
    if result.granted_at:
        result.to_last_voucher_seconds = max(result.granted_at)
