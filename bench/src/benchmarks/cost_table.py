"""The per-operation table: each operation's CPU against its floor, and its goal."""

import math
from dataclasses import dataclass
from typing import Literal

from benchmarks.meter import Cost, ratio
from benchmarks.results import RunResult, SizeResult

FloorKind = Literal["verify", "hash", "lean", "bare_loop"]


@dataclass(frozen=True, slots=True)
class OperationRow:
    key: str
    label: str
    floor_label: str
    goal: float | None  # None: reported, no goal
    floor: FloorKind
    cost_key: str | None = None  # the service's cost, when it is another row's (default: key)


ROWS = (
    OperationRow(
        "login", "successful non-first login", "one Argon2id verification", 1.15, "verify"
    ),
    OperationRow(
        "login_lean",
        "successful non-first login (context)",
        "lean login (the same work, same Uvicorn setup)",
        None,
        "lean",
        cost_key="login",
    ),
    OperationRow("first_login", "first login", "one Argon2id verification", None, "verify"),
    OperationRow("register", "registration", "one Argon2id hash", 1.15, "hash"),
    OperationRow(
        "register_lean",
        "registration (context)",
        "lean registration (the same work, same Uvicorn setup)",
        None,
        "lean",
        cost_key="register",
    ),
    OperationRow("me", "`GET /v1/accounts/me`", "lean `/me` (same Uvicorn setup)", 1.25, "lean"),
    OperationRow("vouchers", "`GET /v1/vouchers`", "lean `/vouchers`", 1.25, "lean"),
    OperationRow("redeem", "`POST /v1/vouchers/{id}/redeem`", "lean redeem", None, "lean"),
    OperationRow(
        "beyond",
        "consumed event beyond the campaign",
        "bare aio-pika loop, same prefetch",
        1.5,
        "bare_loop",
    ),
    OperationRow("eligible", "consumed eligible event", "bare aio-pika loop", None, "bare_loop"),
)


@dataclass(frozen=True, slots=True)
class Measured:
    """One operation's figures at one account size (``accounts`` None: size-independent)."""

    accounts: int | None
    cost: Cost | None
    floor_cpu: float | None

    @property
    def ratio(self) -> float:
        if self.cost is None or self.floor_cpu is None:
            return float("nan")
        return ratio(self.cost.cpu_per_op, self.floor_cpu)


def _size_floor(row: OperationRow, size: SizeResult) -> float | None:
    if row.floor == "verify":
        return size.argon2_floor.verify_cpu
    if row.floor == "hash":
        return size.argon2_floor.hash_cpu
    floor = size.floors.get(row.key)
    return floor.cpu_per_op if floor else None


def measurements(row: OperationRow, result: RunResult) -> list[Measured]:
    if row.floor == "bare_loop":
        floor = result.bare_loop.cpu_per_op if result.bare_loop else None
        return [Measured(None, result.consumer_costs.get(row.key), floor)]
    key = row.cost_key or row.key
    return [Measured(s.accounts, s.costs.get(key), _size_floor(row, s)) for s in result.sizes]


def verdict(ratios: list[float], goal: float | None) -> str:
    """``met`` only when every size meets the goal; ``n/a`` when any ratio is missing."""
    if goal is None:
        return "report"
    if not ratios or any(math.isnan(value) for value in ratios):
        return "n/a"
    return "met" if max(ratios) <= goal else "**not met**"
