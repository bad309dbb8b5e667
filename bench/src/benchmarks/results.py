"""What a run found, as plain data, and the summary's rows: each cost against its floor."""

import json
import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import TypeAdapter

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
    """Verifications per second of the login service's own hasher in several processes."""

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
    login: LoadResult  # the service's logins alone, after the paired rounds
    bare: LoadResult
    me: LoadResult
    vouchers: LoadResult
    hot_accounts: int  # accounts the login and read loads cycle through
    argon2_floor: Argon2Floor
    costs: dict[str, Cost]  # per row key: the service's cost (the median round when paired)
    floors: dict[str, Cost]  # per floor key: the lean app's cost (and "bare")
    # Per paired row ("login", "register", "me", "vouchers"): each round's service ÷ lean.
    round_ratios: dict[str, list[float]] = field(default_factory=dict)

    @property
    def login_ratio(self) -> float:
        return ratio(self.login.ok_per_second, self.argon2.per_second)

    @property
    def bare_refused(self) -> str | None:
        """Why the bare rate cannot be a throughput ceiling (None: it can)."""
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
    duration_seconds: float = 0.0

    def drain_ratio(self, drain: DrainRun) -> float:
        assert self.concurrent is not None
        return drain.per_second / self.concurrent.per_second

    def drain_scaling(self, drain: DrainRun) -> float:
        base = next((d for d in self.drains if d.consumers == 1), self.drains[0])
        return drain.per_second / base.per_second if base.per_second else 0.0


def save(result: RunResult, path: Path) -> None:
    """The run's figures as JSON, for ``load`` to render the report again without a run; the
    sessions the first logins opened are left out."""
    sizes = [replace(s, first_logins=replace(s.first_logins, tokens=[])) for s in result.sizes]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(replace(result, sizes=sizes))) + "\n")


def load(path: Path) -> RunResult:
    return TypeAdapter(RunResult).validate_python(json.loads(path.read_text()))


@dataclass(frozen=True, slots=True)
class OperationRow:
    """One line of the summary: the service's cost ``key`` against a floor."""

    key: str
    label: str
    floor_label: str
    goal: float | None  # None: reported, no goal
    floor: Literal["lean", "verify", "hash", "bare_loop"]
    floor_key: str = ""  # the lean app's cost it is divided by (default: ``key``)


LEAN_LOGIN = "lean login (the same work, same Uvicorn setup; side by side, median)"
LEAN_REGISTRATION = "lean registration (the same work, same Uvicorn setup; side by side, median)"
LEAN_ME = "lean `/me` (same Uvicorn setup; side by side, median)"
LEAN_VOUCHERS = "lean `/vouchers` (side by side, median)"
VERIFICATION = "one Argon2id verification"
ROWS = (
    OperationRow("login", "successful non-first login", LEAN_LOGIN, 1.10, "lean", "login_lean"),
    OperationRow("login", "successful non-first login (context)", VERIFICATION, None, "verify"),
    OperationRow("first_login", "first login", VERIFICATION, None, "verify"),
    OperationRow("register", "registration", LEAN_REGISTRATION, 1.10, "lean", "register_lean"),
    OperationRow("register", "registration (context)", "one Argon2id hash", None, "hash"),
    OperationRow("me", "`GET /v1/accounts/me`", LEAN_ME, 1.25, "lean", "me_lean"),
    OperationRow("vouchers", "`GET /v1/vouchers`", LEAN_VOUCHERS, 1.25, "lean", "vouchers_lean"),
    OperationRow("redeem", "`POST /v1/vouchers/{id}/redeem`", "lean redeem", None, "lean"),
    OperationRow("beyond", "consumed event beyond the campaign",
                 "bare aio-pika loop, same prefetch", 1.5, "bare_loop"),
    OperationRow("eligible", "consumed eligible event", "bare aio-pika loop", None, "bare_loop"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Measured:
    """One operation's figures at one account size (``accounts`` None: size-independent),
    with each paired round's ratio when the row was measured in paired rounds."""

    accounts: int | None
    cost: Cost | None
    floor_cpu: float | None
    rounds: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        if self.cost is None or self.floor_cpu is None:
            return float("nan")
        return ratio(self.cost.cpu_per_op, self.floor_cpu)

    @property
    def interval(self) -> "Interval | None":
        return median_interval(list(self.rounds))


@dataclass(frozen=True, slots=True)
class Interval:
    """Bounds that hold the true median ratio with probability ``coverage``."""

    low: float
    high: float
    coverage: float


MEDIAN_CONFIDENCE = 0.90


def median_interval(ratios: list[float]) -> Interval | None:
    """A distribution-free interval of the median of the paired rounds' ratios.

    Each round falls above or below the true median with even odds, whatever the machine's
    noise looks like, so the k-th smallest and k-th largest of n rounds hold it with
    probability 1 - 2 P(Binomial(n, 1/2) < k). The narrowest such interval covering at least
    ``MEDIAN_CONFIDENCE`` is returned: with 5 rounds the smallest and largest (94%), with 9
    the second of each end (96%). None with fewer than 5 rounds (no interval covers 90%).
    """
    values = sorted(value for value in ratios if not math.isnan(value))
    n, found = len(values), None
    for k in range(1, n // 2 + 1):
        coverage = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if coverage < MEDIAN_CONFIDENCE:
            break
        found = Interval(values[k - 1], values[n - k], coverage)
    return found


def _size_floor(row: OperationRow, size: SizeResult) -> float | None:
    if row.floor == "verify":
        return size.argon2_floor.verify_cpu
    if row.floor == "hash":
        return size.argon2_floor.hash_cpu
    floor = size.floors.get(row.floor_key or row.key)
    return floor.cpu_per_op if floor else None


def measurements(row: OperationRow, result: RunResult) -> list[Measured]:
    if row.floor == "bare_loop":
        floor = result.bare_loop.cpu_per_op if result.bare_loop else None
        rounds = tuple(result.fast_path_ratios) if row.key == "beyond" else ()
        return [Measured(None, result.consumer_costs.get(row.key), floor, rounds)]
    return [
        Measured(
            s.accounts,
            s.costs.get(row.key),
            _size_floor(row, s),
            tuple(s.round_ratios.get(row.key, ())) if row.floor == "lean" else (),
        )
        for s in result.sizes
    ]


UNDECIDED = "undecided (interval spans the goal)"


def verdict(items: list[Measured], goal: float | None) -> str:
    """Whether every size meets the goal; ``n/a`` when any ratio is missing.

    Rows measured in enough paired rounds are judged on their median's interval: met when
    it lies at or under the goal at every size, not met when it lies above at any, else
    undecided (this run cannot tell). Other rows are judged on their ratio."""
    if goal is None:
        return "report"
    ratios = [item.ratio for item in items]
    if not ratios or any(math.isnan(value) for value in ratios):
        return "n/a"
    intervals = [item.interval for item in items]
    if all(intervals):
        if all(found.high <= goal for found in intervals if found):
            return "met"
        if any(found.low > goal for found in intervals if found):
            return "**not met**"
        return UNDECIDED
    return "met" if max(ratios) <= goal else "**not met**"


def median_round(ratios: list[float]) -> int | None:
    """The index of the round whose ratio is the median (the lower one of an even count)."""
    found = sorted((value, index) for index, value in enumerate(ratios) if not math.isnan(value))
    return found[(len(found) - 1) // 2][1] if found else None
