"""What a run found, as plain data: each figure next to the ceiling it is divided by."""

import statistics
from dataclasses import dataclass, field

from benchmarks.burst import BurstResult
from benchmarks.drain import DrainRun
from benchmarks.first_logins import FirstLoginRun
from benchmarks.floors import Argon2Floor
from benchmarks.load import LoadResult, generator_bound
from benchmarks.meter import Cost, ratio
from benchmarks.mongo_target import ServerDescription
from benchmarks.plan import Plan
from benchmarks.standin_ceiling import Ceiling, OperationRate


@dataclass(frozen=True, slots=True)
class Argon2Ceiling:
    per_second: float
    processes: int
    memory_cost_kib: int
    time_cost: int
    parallelism: int


@dataclass(frozen=True, slots=True)
class FailureTiming:
    """Median wall milliseconds of a failed password check, by the hash it met."""

    median_ms: dict[str, float]
    old_parameters: str
    current_parameters: str
    rounds: int
    per_round: int


@dataclass(frozen=True, slots=True)
class TracingCost:
    """CPU milliseconds per login of one login API process, tracing off and on."""

    off_ms: float
    on_ms: float
    paired_ratios: list[float]
    logins: int
    exports: int

    @property
    def ratio(self) -> float:
        """The median of the paired rounds' ratios: each round's pair ran back to back, so the
        machine's drift between rounds (which the medians of each side keep) cancels."""
        if not self.paired_ratios:
            return ratio(self.on_ms, self.off_ms)
        return statistics.median(self.paired_ratios)


@dataclass(frozen=True, slots=True)
class SizeResult:
    """Everything measured with ``accounts`` accounts in the login database."""

    accounts: int
    seed_seconds: float
    first_logins: FirstLoginRun
    argon2: Argon2Ceiling
    account_updates: OperationRate  # the database alone, one session: context for logins
    account_reads: OperationRate  # the database alone, by id: context for /v1/accounts/me
    login: LoadResult
    bare: LoadResult
    me: LoadResult
    vouchers: LoadResult
    hot_accounts: int  # accounts the login and read loads cycle through
    argon2_floor: Argon2Floor
    costs: dict[str, Cost]  # per operation row key: the service's cost
    floors: dict[str, Cost]  # per operation row key: the lean app's cost (and "bare")

    @property
    def login_ratio(self) -> float:
        return ratio(self.login.ok_per_second, self.argon2.per_second)

    @property
    def bare_refused(self) -> str | None:
        """Why the bare rate cannot serve as a reference (None: it can)."""
        return generator_bound(self.bare)

    @property
    def me_ratio(self) -> float:
        return ratio(self.me.ok_per_second, self.bare.ok_per_second)

    @property
    def vouchers_ratio(self) -> float:
        return ratio(self.vouchers.ok_per_second, self.bare.ok_per_second)


@dataclass
class RunResult:
    plan: Plan
    started_at: str
    machine: dict[str, str]
    sequential: Ceiling | None = None  # one claim-shaped transaction at a time
    concurrent: Ceiling | None = None  # the same with several sessions
    sizes: list[SizeResult] = field(default_factory=list)
    drains: list[DrainRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    consumer_costs: dict[str, Cost] = field(default_factory=dict)  # "beyond", "eligible"
    bare_loop: Cost | None = None
    fast_path_ratios: list[float] = field(default_factory=list)  # each paired round's ratio
    burst: BurstResult | None = None
    failure_timing: FailureTiming | None = None
    tracing: TracingCost | None = None
    server: ServerDescription | None = None
    dead_lettered: int = 0
    finished_at: str = ""
    duration_seconds: float = 0.0

    def latency_in_transactions(self, milliseconds: float) -> float:
        assert self.sequential is not None
        return milliseconds / (self.sequential.mean_seconds * 1000)

    def drain_ratio(self, drain: DrainRun) -> float:
        assert self.concurrent is not None
        return drain.per_second / self.concurrent.per_second

    def drain_scaling(self, drain: DrainRun) -> float:
        base = next((d for d in self.drains if d.consumers == 1), self.drains[0])
        return drain.per_second / base.per_second if base.per_second else 0.0
