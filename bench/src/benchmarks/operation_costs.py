"""Per-operation costs at one account size: each HTTP operation of the services and its floor.

Each load is wrapped in ``measure`` so it yields CPU, MongoDB commands and publishes per
operation; logins, registrations and the token-protected reads run side by side with the lean
app's in paired rounds. Registrations and redemptions, which cannot repeat, are sent once each
(``drive.send_each``).
"""

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from benchmarks import targets
from benchmarks.drive import Answer, Call, as_load_result, send_each
from benchmarks.first_logins import FirstLoginRun, measure_first_logins
from benchmarks.load import LoadResult, LoadSpec, run_load
from benchmarks.meter import Cost, IdleRates, Target, measure, measure_side_by_side, ratio
from benchmarks.plan import PASSWORD, Plan
from benchmarks.progress import say
from benchmarks.results import median_round
from benchmarks.seeding import delete_seeded_vouchers, seed_vouchers
from benchmarks.stack import Stack

SETTLE_SECONDS = 1.0


class SizeCosts:
    """Targets and idle rates of one size's processes, and the costs measured against them."""

    def __init__(self, stack: Stack, plan: Plan) -> None:
        self.stack = stack
        self.plan = plan
        self.service: dict[str, Cost] = {}
        self.floors: dict[str, Cost] = {}
        self.round_ratios: dict[str, list[float]] = {}
        self.registered = 0  # accounts the registrations added to the login database
        self.idle: dict[str, tuple[Target, IdleRates]] = {}
        self.database: tuple[Target, IdleRates] | None = None

    async def measure_idle(self) -> None:
        """Idle CPU and counter rates of every process, in one window, before any load."""
        stack, seconds = self.stack, self.plan.idle_seconds
        found = await asyncio.gather(
            targets.with_idle(targets.login(stack), seconds),
            targets.with_idle(targets.promotion_api(stack), seconds),
            targets.with_idle(targets.lean(stack), seconds),
            targets.with_idle(targets.database(stack), seconds),
        )
        for key, pair in zip(("login", "promotion", "lean"), found, strict=False):
            assert pair is not None
            self.idle[key] = pair
        self.database = found[3]
        rates = ", ".join(f"{key} {pair[1].cpu * 1000:.1f} ms/s" for key, pair in self.idle.items())
        say(f"  idle CPU: {rates}")

    async def cost(
        self, row: str, target: str, action: Callable[[], Awaitable[int]], *, floor: bool = False
    ) -> Cost:
        service, idle = self.idle[target]
        cost = await measure(service, idle, action, self.database)
        (self.floors if floor else self.service)[row] = cost
        return cost

    async def first_logins(self, usernames: list[str]) -> FirstLoginRun:
        """Fresh accounts log in one at a time, each voucher awaited (section 4a's latency)."""
        stack, plan = self.stack, self.plan
        holder: list[FirstLoginRun] = []

        async def action() -> int:
            run = await measure_first_logins(
                stack.mongodb_uri,
                (stack.login_database, stack.promotion_database),
                stack.login_url,
                usernames,
                plan.voucher_wait_seconds,
                plan.first_login_phase_seconds,
            )
            holder.append(run)
            return len(run.tokens)

        say(f"  {len(usernames)} first logins, one at a time, each voucher awaited")
        await self.cost("first_login", "login", action)
        run = holder[0]
        say(
            f"  first login to voucher: p50 {run.p50_ms:.0f} ms, p99 {run.p99_ms:.0f} ms, "
            f"{run.server_errors} answers 5xx (retried), {run.missing} vouchers missing"
        )
        return run

    async def reads(self, tokens: list[str]) -> dict[str, LoadResult]:
        """The bare route once, then each token-protected read and the lean app's side by side
        in paired rounds, then the service's read alone once: its rate is section 3's (with
        both sides loading the cores, each would get about half of them)."""
        stack, plan = self.stack, self.plan

        def spec(base: str, path: str) -> LoadSpec:
            return LoadSpec(base, path, tokens, plan.read_connections, plan.read_seconds)

        bare: list[LoadResult] = []
        bare_load = partial(self._loaded, "bare", spec(stack.lean_url, "/bare"), bare, 0)
        await self.cost("bare", "lean", bare_load, floor=True)
        reads = {"bare": bare[0]}
        for row, target, base, path in (
            ("me", "login", stack.login_url, "/v1/accounts/me"),
            ("vouchers", "promotion", stack.promotion_url, "/v1/vouchers"),
        ):
            await self.paired(
                row,
                target,
                partial(self._loaded, row, spec(base, path), []),
                partial(self._loaded, f"lean {row}", spec(stack.lean_url, f"/{row}"), []),
                plan.read_rounds,
            )
            alone: list[LoadResult] = []
            await self._loaded(f"{row} alone", spec(base, path), alone, 0)
            reads[row] = alone[0]
        return reads

    async def _loaded(
        self, tag: str, spec: LoadSpec, results: list[LoadResult], _round: int
    ) -> int:
        """Run a fixed-duration load, keep its result in ``results``, and count its successful
        requests. When wrk stops, it may leave a request in flight on each connection (it says
        how many), which the service still completes (and pays for): the window stays open
        until those are done, and they count as operations."""
        result = await run_load(spec, self.stack.work, tag)
        results.append(result)
        failed = f", {result.failed} failed" if result.failed else ""
        say(
            f"  {tag}: {result.ok_per_second:.1f}/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms{failed}"
        )
        await asyncio.sleep(max(SETTLE_SECONDS, 2 * result.p99_ms / 1000))
        return result.requests - result.failed + result.left_in_flight

    async def paired(
        self,
        row: str,
        target: str,
        service: Callable[[int], Awaitable[int]],
        lean: Callable[[int], Awaitable[int]],
        rounds: int,
    ) -> None:
        """``rounds`` rounds of the service's operations and the lean app's side by side (at
        the same time, over one window; each ``action(round)`` returns its successful
        operations). The median round's costs are kept, and every round's ratio."""
        pairs = []
        for number in range(rounds):
            pairs.append(
                await measure_side_by_side(
                    [
                        (self.idle[target], partial(service, number)),
                        (self.idle["lean"], partial(lean, number)),
                    ],
                    self.database,
                )
            )
            await asyncio.sleep(SETTLE_SECONDS)
        ratios = [ratio(mine.cpu_per_op, theirs.cpu_per_op) for mine, theirs in pairs]
        median = median_round(ratios)
        self.service[row], self.floors[f"{row}_lean"] = pairs[median or 0]
        self.round_ratios[row] = ratios
        say(f"  {row}: service ÷ lean app by round: {', '.join(f'{v:.2f}' for v in ratios)}")

    async def logins(self, bodies: list[dict[str, Any]]) -> LoadResult:
        """Non-first logins, cycling over the accounts, for ``login_seconds`` per round, the
        service's and the lean app's side by side; every request started is answered before
        the window closes (an Argon2 verification in flight is too large a share of a short
        window to leave out). Then the service's alone, once: section 2's throughput."""
        plan, stack = self.plan, self.stack
        count = max(len(bodies), int(plan.login_seconds * 200))
        calls = [bodies[i % len(bodies)] for i in range(count)]

        async def load(base: str, path: str) -> list[Answer]:
            sent = [Call("POST", path, body) for body in calls]
            return await send_each(base, sent, plan.login_connections, plan.login_seconds)

        async def send(base: str, path: str, _round: int) -> int:
            return _count_ok(await load(base, path), 200, "login")

        await self.paired(
            "login",
            "login",
            partial(send, stack.login_url, "/v1/auth/login"),
            partial(send, stack.lean_url, "/login"),
            plan.password_rounds,
        )
        answers = await load(stack.login_url, "/v1/auth/login")
        _count_ok(answers, 200, "login")
        return as_load_result(answers, 200)

    async def registrations(self, first_index: int) -> int:
        """Registrations of fresh names, each sent once, in paired rounds (the lean app's with
        other names and phone numbers); the names used."""
        plan = self.plan
        per_round = plan.registrations // plan.password_rounds

        async def send(lean: bool, number: int) -> int:
            prefix, phone, base, path = (
                ("lean", "+4479", self.stack.lean_url, "/register")
                if lean
                else ("reg", "+4478", self.stack.login_url, "/v1/accounts")
            )
            first = first_index + number * per_round
            calls = [
                Call("POST", path, {
                    "username": f"{prefix}{index:07d}", "email": f"{prefix}{index:07d}@example.com",
                    "phone": f"{phone}{index:08d}", "password": PASSWORD,
                })
                for index in range(first, first + per_round)
            ]  # fmt: skip
            answers = await send_each(base, calls, plan.drive_concurrency, plan.drive_seconds)
            made = _count_ok(answers, 201, "registration")
            self.registered += made
            return made

        await self.paired(
            "register",
            "login",
            partial(send, False),
            partial(send, True),
            plan.password_rounds,
        )
        return per_round * plan.password_rounds

    async def redemptions(self, tokens: list[str]) -> None:
        """Redeem fresh vouchers once each, through the service and through the lean app."""
        for floor, target, base, prefix in (
            (False, "promotion", self.stack.promotion_url, "/v1/vouchers"),
            (True, "lean", self.stack.lean_url, "/vouchers"),
        ):
            pairs = await seed_vouchers(self.stack, tokens, self.plan.redemptions)
            calls = [
                Call(
                    "POST",
                    f"{prefix}/{voucher_id}/redeem",
                    {"amount": "100.00", "currency": "EUR", "purchase_id": f"p-{voucher_id}"},
                    {"Authorization": f"Bearer {token}"},
                )
                for token, voucher_id in pairs
            ]

            async def action(calls: list[Call] = calls, base: str = base) -> int:
                answers = await send_each(
                    base, calls, self.plan.drive_concurrency, self.plan.drive_seconds
                )
                return _count_ok(answers, 200, "redemption")

            await self.cost("redeem", target, action, floor=floor)
        await delete_seeded_vouchers(self.stack)


def _count_ok(answers: list[Any], expected: int, what: str) -> int:
    ok = sum(1 for answer in answers if answer.status == expected)
    if ok < len(answers):
        statuses = sorted({answer.status for answer in answers if answer.status != expected})
        say(f"    {len(answers) - ok} of {len(answers)} {what}s answered {statuses}")
    return ok
