"""How many CPUs this process may use: the CPUs it may run on (affinity), bounded by the CPU
quota of its container (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), which Python's own
count ignores: a container limited to 2 CPUs on a 64-core host would otherwise start 64
hashing threads per worker, and Argon2 would thrash."""

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """The container's CPU quota in CPUs (2.5 for 250 ms per 100 ms), None when unlimited."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        if quota == "max" or not period:
            return None
        return int(quota) / int(period)
    quota_v1, period_v1 = (
        _read(root / "cpu" / "cpu.cfs_quota_us"),
        _read(root / "cpu" / "cpu.cfs_period_us"),
    )
    if quota_v1 is None or period_v1 is None or int(quota_v1) <= 0:
        return None
    return int(quota_v1) / int(period_v1)


def usable_cpus(root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may use: affinity bounded by the container's quota, at least 1."""
    count = os.process_cpu_count() or 1
    quota = cgroup_cpu_quota(root)
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)
