"""The work of an Argon2 run, so that every failed login does the same whatever hash it met.

Argon2's cost is its memory (KiB blocks) times its passes: a verification at m=19456, t=3
fills and passes over 19456 blocks three times. After the parameters are raised, an
account keeps its old-parameter hash until its owner logs in again, and a wrong password
at it would cost less than one at an unknown identifier (whose dummy hash carries the
current parameters): a timing oracle. The failure is padded with an Argon2 run of the
missing work instead, at the current memory or less, so it costs what any other failure
does (``padding``).
"""

import math
from dataclasses import dataclass

ARGON2_MIN_MEMORY_PER_LANE_KIB = 8  # Argon2's own floor: 8 KiB per lane


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    memory_cost_kib: int
    time_cost: int
    parallelism: int

    @property
    def work(self) -> int:
        """Blocks processed: memory times passes."""
        return self.memory_cost_kib * self.time_cost

    @property
    def label(self) -> str:
        return f"m={self.memory_cost_kib},t={self.time_cost},p={self.parallelism}"


def hash_parameters(password_hash: str) -> Argon2Parameters | None:
    """The parameters a PHC Argon2 hash string carries (``$argon2id$v=19$m=..,t=..,p=..$``)."""
    parts = password_hash.split("$")
    if len(parts) < 5:
        return None
    try:
        values = dict(item.split("=", 1) for item in parts[3].split(","))
        return Argon2Parameters(int(values["m"]), int(values["t"]), int(values["p"]))
    except (KeyError, ValueError):
        return None


def padding(outdated: Argon2Parameters, current: Argon2Parameters) -> Argon2Parameters | None:
    """An Argon2 run doing the work a verification at ``outdated`` lacks to equal one at
    ``current`` (no more memory than ``current``'s), or ``None`` when it lacks none."""
    missing = current.work - outdated.work
    if missing < ARGON2_MIN_MEMORY_PER_LANE_KIB * current.parallelism:
        return None
    passes = math.ceil(missing / current.memory_cost_kib)
    return Argon2Parameters(missing // passes, passes, current.parallelism)
