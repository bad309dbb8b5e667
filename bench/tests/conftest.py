"""A small, fully known RunResult for the table and report tests."""

import pytest

from benchmarks.burst import BurstResult
from benchmarks.drain import DrainRun
from benchmarks.first_logins import FirstLoginRun
from benchmarks.floors import Argon2Floor
from benchmarks.load import LoadResult
from benchmarks.meter import Cost
from benchmarks.plan import QUICK
from benchmarks.results import Argon2Ceiling, FailureTiming, RunResult, SizeResult, TracingCost
from benchmarks.standin_ceiling import Ceiling, OperationRate


def cost(cpu_ms: float, commands: float | None = 2.0, publishes: float | None = None) -> Cost:
    return Cost(
        operations=100,
        seconds=10.0,
        cpu_per_op=cpu_ms / 1000,
        commands_per_op=commands,
        publishes_per_op=publishes,
        database_cpu_per_op=0.001,
        main_threads_cpu_per_op=cpu_ms / 4000,
    )


def load(rate: float, generator_cpu: float = 1.0) -> LoadResult:
    return LoadResult(int(rate * 5), 5.0, 0, 1.0, 3.0, generator_cpu)


def size(accounts: int, login_ms: float) -> SizeResult:
    return SizeResult(
        accounts=accounts,
        seed_seconds=1.0,
        first_logins=FirstLoginRun(3, [100.0, 120.0, 150.0], ["t"], 0, 0),
        argon2=Argon2Ceiling(60.0, 2, 19456, 2, 1),
        account_updates=OperationRate(30, 3.0),
        account_reads=OperationRate(300, 3.0),
        login=load(20.0),
        bare=load(5000.0),
        me=load(900.0),
        vouchers=load(400.0),
        hot_accounts=3,
        argon2_floor=Argon2Floor(verify_cpu=0.030, hash_cpu=0.031),
        costs={
            "login": cost(login_ms, 3.0, 0.0),
            "first_login": cost(45.0, 9.0, 1.0),
            "register": cost(33.0, None, 0.0),
            "me": cost(1.2),
            "vouchers": cost(1.5),
            "redeem": cost(2.0),
        },
        floors={
            "me_lean": cost(1.0),
            "vouchers_lean": cost(1.0),
            "redeem": cost(1.9),
            "bare": cost(0.2),
            "login_lean": cost(32.0),
            "register_lean": cost(30.0),
        },
        round_ratios={
            "login": [1.2, login_ms / 32.0, 0.9],
            "register": [1.1, 1.0],
            "me": [1.2, 1.1],
            "vouchers": [1.5, 1.4],
        },
    )


@pytest.fixture
def run_result() -> RunResult:
    result = RunResult(
        plan=QUICK,
        started_at="2026-12-01 22:00 UTC",
        machine={
            "cpu": "test cpu",
            "cores": "2",
            "memory": "1 GiB RAM",
            "os": "Linux",
            "python": "3.13",
            "command": "uv run --project bench python -m benchmarks --quick",
        },
        sequential=Ceiling(1, 50, 2.0),
        concurrent=Ceiling(16, 40, 2.0),
    )
    result.sizes = [size(1_000, 33.0), size(10_000, 36.0)]
    result.drains = [DrainRun(1, 400, 70.0, 71.6), DrainRun(2, 400, 100.0, 102.1)]
    result.consumer_costs = {"beyond": cost(0.6, 0.0), "eligible": cost(5.0, 8.0)}
    result.bare_loop = cost(0.5, None)
    burst = BurstResult(logins=1000, concurrency=16, throttle_raised=False)
    burst.statuses = {200: 1000}
    burst.answered_at = [i * 0.05 for i in range(1000)]
    burst.granted_at = [1.0 + i * 0.1 for i in range(100)]
    burst.login_ms = [100.0] * 1000
    burst.voucher_ms = [300.0] * 100
    burst.vouchers = 100
    burst.first_100_hold_them = True
    burst.events_handled = 1000
    burst.to_last_voucher_seconds = 10.9
    burst.login_cost = cost(40.0, 9.0, 1.0)
    burst.consumer_cost = cost(1.0, None)
    result.burst = burst
    result.failure_timing = FailureTiming(
        median_ms={
            "unknown_identifier": 29.8,
            "current_hash": 29.9,
            "old_hash_padded": 30.1,
            "old_hash_bare": 21.3,
        },
        old_parameters="m=19456,t=2",
        current_parameters="m=19456,t=3",
        rounds=5,
        per_round=6,
    )
    result.tracing = TracingCost(
        off_ms=36.3, on_ms=38.76, paired_ratios=[1.086, 1.013, 1.019], logins=300, exports=12
    )
    return result
