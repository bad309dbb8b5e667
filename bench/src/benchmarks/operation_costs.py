"""Per-operation costs at one account size: each HTTP operation of the services and its floor.

The services' loads (logins, reads) run as before; each is wrapped in ``measure`` so it
also yields CPU, MongoDB commands and publishes per operation. Registrations and
redemptions, which cannot repeat, are sent once each (``drive.send_each``).
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pymongo import AsyncMongoClient

from benchmarks import targets
from benchmarks.drive import Answer, Call, as_load_result, send_each
from benchmarks.load import LoadResult
from benchmarks.meter import Cost, IdleRates, Target, measure
from benchmarks.plan import PASSWORD, Plan
from benchmarks.progress import say
from benchmarks.stack import Stack

REDEEM_CAMPAIGN_PREFIX = "bench-redeem-"
SETTLE_SECONDS = 1.0


class SizeCosts:
    """Targets and idle rates of one size's processes, and the costs measured against them."""

    def __init__(self, stack: Stack, plan: Plan) -> None:
        self.stack = stack
        self.plan = plan
        self.service: dict[str, Cost] = {}
        self.reference: dict[str, Cost] = {}
        self.idle: dict[str, tuple[Target, IdleRates]] = {}
        self.database: tuple[Target, IdleRates] | None = None

    async def measure_idle(self) -> None:
        """Idle CPU and counter rates of every process, in one window, before any load."""
        stack, seconds = self.stack, self.plan.idle_seconds
        found = await asyncio.gather(
            targets.with_idle(targets.login(stack), seconds),
            targets.with_idle(targets.promotion_api(stack), seconds),
            targets.with_idle(targets.reference(stack), seconds),
            targets.with_idle(targets.database(stack), seconds),
        )
        for key, pair in zip(("login", "promotion", "reference"), found, strict=False):
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
        (self.reference if floor else self.service)[row] = cost
        return cost

    async def load(
        self,
        row: str,
        target: str,
        run: Callable[[], Awaitable[LoadResult]],
        connections: int,
        *,
        floor: bool = False,
    ) -> LoadResult:
        """Run a fixed-duration load and cost its successful requests.

        When wrk stops, each of its connections has one request in flight, which the
        service still completes (and pays for): the window stays open until those are
        done, and they count as operations.
        """
        holder: list[LoadResult] = []

        async def action() -> int:
            holder.append(await run())
            result = holder[0]
            await asyncio.sleep(max(SETTLE_SECONDS, 2 * result.p99_ms / 1000))
            return result.requests - result.failed + connections

        await self.cost(row, target, action, floor=floor)
        return holder[0]

    async def logins(self, bodies: list[dict[str, Any]]) -> LoadResult:
        """Non-first logins, cycling over the accounts, for ``login_seconds``; every request
        started is answered before the window closes (an Argon2 verification in flight is
        too large a share of a short window to leave out)."""
        plan = self.plan
        count = max(len(bodies), int(plan.login_seconds * 200))
        calls = [Call("POST", "/v1/auth/login", bodies[i % len(bodies)]) for i in range(count)]
        answers: list[Answer] = []

        async def action() -> int:
            answers.extend(
                await send_each(
                    self.stack.login_url, calls, plan.login_connections, plan.login_seconds
                )
            )
            return _count_ok(answers, 200, "login")

        await self.cost("login", "login", action)
        return as_load_result(answers, 200)

    async def registrations(self, first_index: int) -> Cost:
        calls = [
            Call(
                "POST",
                "/v1/accounts",
                {
                    "username": f"reg{index:07d}",
                    "email": f"reg{index:07d}@example.com",
                    "phone": f"+4478{index:08d}",
                    "password": PASSWORD,
                },
            )
            for index in range(first_index, first_index + self.plan.registrations)
        ]

        async def action() -> int:
            answers = await send_each(
                self.stack.login_url, calls, self.plan.drive_concurrency, self.plan.drive_seconds
            )
            return _count_ok(answers, 201, "registration")

        return await self.cost("register", "login", action)

    async def redemptions(self, tokens: list[str]) -> None:
        """Redeem fresh vouchers once each, through the service and through the reference."""
        for floor, target, base, prefix in (
            (False, "promotion", self.stack.promotion_url, "/v1/vouchers"),
            (True, "reference", self.stack.reference_url, "/vouchers"),
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


def account_of(token: str) -> str:
    """The account a token names (its ``sub``); the token was just issued by the service."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims["sub"])


async def seed_vouchers(stack: Stack, tokens: list[str], count: int) -> list[tuple[str, str]]:
    """``count`` active vouchers spread over the tokens' accounts; (token, voucher id) pairs.

    Each lives in a campaign of its own (one voucher per account and campaign is unique).
    """
    now = datetime.now(UTC)
    docs, pairs = [], []
    for index in range(count):
        token = tokens[index % len(tokens)]
        voucher_id = str(uuid.uuid4())
        docs.append(
            {
                "_id": voucher_id,
                "campaign_id": f"{REDEEM_CAMPAIGN_PREFIX}{voucher_id}",
                "account_id": account_of(token),
                "slot": 1,
                "discount_percent": 30,
                "status": "active",
                "granted_at": now,
                "expires_at": now + timedelta(days=30),
                "event_id": str(uuid.uuid4()),
                "first_login_at": now,
            }
        )
        pairs.append((token, voucher_id))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        await client[stack.promotion_database]["vouchers"].insert_many(docs)
    finally:
        await client.close()
    return pairs


async def delete_seeded_vouchers(stack: Stack) -> None:
    """The redeemed vouchers would otherwise lengthen the next size's voucher lists."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        await client[stack.promotion_database]["vouchers"].delete_many(
            {"campaign_id": {"$regex": f"^{REDEEM_CAMPAIGN_PREFIX}"}}
        )
    finally:
        await client.close()
