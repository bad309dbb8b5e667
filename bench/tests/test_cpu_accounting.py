"""CPU accounting from /proc: parsing, group sums, idle subtraction."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cpu import (
    CLOCK_TICKS,
    group_cpu,
    parse_stat,
    per_operation,
    process_seconds,
)


def _stat(pid: int, name: str, pgid: int, utime: int, stime: int, cutime: int, cstime: int) -> str:
    # Fields 3.. of proc(5): state ppid pgrp session tty tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime priority ...
    rest = f"S 1 {pgid} {pgid} 0 -1 4194304 10 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0"
    return f"{pid} ({name}) {rest}\n"


def test_parse_stat_sums_user_system_and_reaped_children_time() -> None:
    stat = parse_stat(_stat(42, "python", 40, 100, 20, 3, 4))
    assert (stat.pid, stat.process_group, stat.own_ticks, stat.children_ticks) == (42, 40, 120, 7)


def test_parse_stat_reads_a_command_name_with_spaces_and_parentheses() -> None:
    stat = parse_stat(_stat(7, "uvicorn (worker) 2", 5, 1, 2, 0, 0))
    assert (stat.process_group, stat.own_ticks) == (5, 3)


def test_group_cpu_counts_only_the_processes_of_the_group(tmp_path: Path) -> None:
    for pid, pgid, utime in ((10, 10, 50), (11, 10, 150), (12, 99, 1000)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(_stat(pid, "p", pgid, utime, 0, 0, 0))
    (tmp_path / "self").mkdir()  # not a process id: ignored
    assert group_cpu(10, tmp_path).seconds == pytest.approx(200 / CLOCK_TICKS)


def test_group_cpu_gives_the_total_and_the_main_threads_in_one_reading(tmp_path: Path) -> None:
    for pid, pgid, utime, main_ns in ((10, 10, 50, 120_000_000), (12, 99, 1000, 5)):
        (tmp_path / str(pid) / "task" / str(pid)).mkdir(parents=True)
        (tmp_path / str(pid) / "stat").write_text(_stat(pid, "p", pgid, utime, 0, 0, 0))
        (tmp_path / str(pid) / "task" / str(pid) / "schedstat").write_text(f"{main_ns} 0 1\n")
    reading = group_cpu(10, tmp_path)
    assert reading.seconds == pytest.approx(50 / CLOCK_TICKS)
    assert reading.main_threads == pytest.approx(0.12)


def test_a_process_reads_finer_than_a_clock_tick() -> None:
    pid = os.getpid()
    before = process_seconds(pid)
    assert before is not None
    after = before
    while after == before:  # the next reading that moves at all
        after = process_seconds(pid) or 0.0
    assert 0 < after - before < 1 / CLOCK_TICKS


def test_the_cpu_of_threads_that_exited_still_counts() -> None:
    # Live threads' own figures (schedstat) lose an exited thread's time; the process's
    # CPU clock keeps it.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import threading, time\n"
            "def burn():\n"
            "    end = time.thread_time() + 0.3\n"
            "    while time.thread_time() < end: pass\n"
            "t = threading.Thread(target=burn); t.start(); t.join()\n"
            "print('done', flush=True); time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "done"
        spent = process_seconds(child.pid)
        assert spent is not None
        assert spent >= 0.3
    finally:
        child.kill()
        child.wait()


def test_group_cpu_of_this_process_group_grows_with_work() -> None:
    group = os.getpgrp()
    before = group_cpu(group).seconds
    deadline = sum(range(3_000_000))  # burn some CPU in this process
    assert deadline > 0
    assert group_cpu(group).seconds > before


def test_per_operation_subtracts_idle_cpu_over_the_window() -> None:
    # 2.0 s of CPU in 10 s, idle costs 0.05 s/s: 1.5 s for 100 operations.
    assert per_operation(2.0, 0.05, 10.0, 100) == pytest.approx(0.015)


def test_per_operation_never_goes_below_zero_and_is_nan_without_operations() -> None:
    assert per_operation(0.1, 0.05, 10.0, 5) == 0.0
    assert math.isnan(per_operation(1.0, 0.0, 1.0, 0))
