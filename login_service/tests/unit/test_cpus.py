"""The hashing threads follow the CPUs a container may use, not the host's."""

import os
from pathlib import Path

import pytest

from login_service.guard.cpus import cgroup_cpu_quota, usable_cpus


def _cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "max 100000"}, None),
        ({"cpu.max": "150000 100000"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2.0),
        ({}, None),
    ],
)
def test_the_quota_is_read_from_cgroup_v2_or_v1(
    tmp_path: Path, files: dict[str, str], quota: float | None
) -> None:
    assert cgroup_cpu_quota(_cgroup(tmp_path, files)) == quota


def test_a_quota_below_the_cpus_bounds_them_rounded_up(tmp_path: Path) -> None:
    cpus = os.process_cpu_count() or 1
    assert usable_cpus(_cgroup(tmp_path, {"cpu.max": "50000 100000"})) == 1
    assert usable_cpus(_cgroup(tmp_path, {"cpu.max": "max 100000"})) == cpus
    many = _cgroup(tmp_path / "many", {"cpu.max": f"{(cpus + 8) * 100000} 100000"})
    assert usable_cpus(many) == cpus
