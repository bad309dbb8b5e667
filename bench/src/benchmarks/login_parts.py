"""Where a successful login's event-loop CPU goes: its parts, each timed alone.

The probe (``probes/login_parts.py``) wires the login service as a worker does and times
each part of a non-first login on the event loop's thread; this module runs it and turns
its figures, beside the loops' CPU per login under load, into the report's paragraph.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.plan import PASSWORD
from benchmarks.stack import Stack

if TYPE_CHECKING:  # the results hold these parts
    from benchmarks.results import RunResult, SizeResult

USERNAMES = 20  # accounts the probe cycles over (accounts that have logged in)

# When the goal was set (the issue's own measurement, before this work): CPU per successful
# login against one Argon2id verification, and per `/v1/accounts/me` against its lean endpoint.
BEFORE = (
    "When the goal was set, a successful login cost 49.7 ms of CPU against 32.4 ms for one "
    "verification (1.53), and `GET /v1/accounts/me` 1.99 ms against 1.01 ms for its lean "
    "endpoint (1.97); this run's figures are in the table above."
)


@dataclass(frozen=True, slots=True)
class LoginParts:
    """Milliseconds of the event loop's CPU per call, each part timed alone."""

    account_read: float
    budgets: float  # the windows' read and the verification's hand-off (Argon2 excluded)
    verification: float  # the hand-off alone
    last_login_write: float
    session_token: float
    device_token: float
    login: float  # LoginService.login as a whole
    calls: int  # at most, per part
    seconds: float  # at most, per part
    fewest_calls: int  # made by the slowest part
    key_bits: int
    algorithm: str

    @classmethod
    def from_line(cls, line: str) -> "LoginParts":
        """The probe's line: its keys are these fields' names."""
        return cls(**json.loads(line))

    @property
    def windows_read(self) -> float:
        return self.budgets - self.verification

    @property
    def own_code(self) -> float:
        """The service's code between the parts: the whole less the parts timed alone."""
        timed = (
            self.account_read,
            self.budgets,
            self.last_login_write,
            self.session_token,
            self.device_token,
        )
        return self.login - sum(timed)


async def measure_login_parts(
    stack: Stack, usernames: list[str], calls: int, seconds: float
) -> LoginParts:
    line = await stack.run_probe(
        "login_service",
        "login_parts.py",
        "--password",
        PASSWORD,
        "--calls",
        str(calls),
        "--seconds",
        str(seconds),
        *usernames[:USERNAMES],
    )
    return LoginParts.from_line(line)


def _per_size(sizes: "list[SizeResult]", value: "Callable[[SizeResult], float | None]") -> str:
    figures = [value(s) for s in sizes]
    return " / ".join("n/a" if f is None else f"{f:.2f}" for f in figures)


def _fewest(sizes: "list[SizeResult]") -> str:
    return " / ".join(str(s.login_parts.fewest_calls) for s in sizes if s.login_parts)


def parts_paragraph(r: "RunResult") -> list[str]:
    """The parts per size, the loops' CPU per login under load, and the goal's budget."""
    sizes = [s for s in r.sizes if s.login_parts is not None]
    if not sizes:
        return []

    def part(pick: Callable[[LoginParts], float]) -> str:
        return _per_size(sizes, lambda s: pick(s.login_parts) if s.login_parts else None)

    def loops(s: "SizeResult") -> float | None:
        cost = s.costs.get("login")
        return cost.main_threads_cpu_per_op * 1000 if cost else None

    first = sizes[0].login_parts
    assert first is not None
    signing = f"{first.algorithm} with a {first.key_bits}-bit key"
    budget = _per_size(sizes, lambda s: 0.15 * s.argon2_floor.verify_cpu * 1000)
    return [
        "Where a successful non-first login's event-loop CPU goes "
        f"({', '.join(f'{s.accounts:,}' for s in sizes)} accounts; ms). Each part is timed "
        "alone in one process wired as a worker is (`bench/src/benchmarks/probes/"
        f"login_parts.py`: the event loop's thread CPU per call, calls made one after the "
        f"other, at most {first.calls} or {first.seconds:.0f} s per part, the fewest "
        f"{_fewest(sizes)}; the service's own code and settings, the run's database): the account "
        f"read {part(lambda p: p.account_read)}; the budgets' windows read "
        f"{part(lambda p: p.windows_read)}; the verification's hand-off to a hashing thread "
        f"{part(lambda p: p.verification)} (Argon2 itself runs on that thread, not counted "
        f"here); the `last_login_at` write {part(lambda p: p.last_login_write)}; the session "
        f"token ({signing}) {part(lambda p: p.session_token)}; the device token "
        f"{part(lambda p: p.device_token)}. `LoginService.login` as a whole costs "
        f"{part(lambda p: p.login)}, of which the service's own code between those parts "
        f"{part(lambda p: p.own_code)}. Under load the workers' event loops spent "
        f"{_per_size(sizes, loops)} per login, the HTTP layer included (Uvicorn, FastAPI, "
        "the middleware, the request's log line, the metrics); a loaded loop shares its "
        "wake-ups among requests, which calls made one at a time cannot, so the parts alone "
        "may cost more than under load. The "
        "goal of ≤ 1.15 leaves 0.15 of one verification for everything that is not Argon2 "
        f"(the hashing threads' own overhead included): {budget}. {BEFORE}",
        "",
    ]
