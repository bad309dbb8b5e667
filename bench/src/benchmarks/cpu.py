"""CPU seconds of whole process groups (a service's supervisor and its workers), from ``/proc``.

A process's own time is read from its CPU-time clock, in nanoseconds and with its exited
threads: its 10 ms ticks are too coarse for an idle rate subtracted over a long window.
Reaped children (a replaced worker) count through ``cutime``/``cstime``.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessCpu:
    pid: int
    process_group: int
    own_ticks: int  # utime + stime
    children_ticks: int  # cutime + cstime


@dataclass(frozen=True, slots=True)
class GroupCpu:
    seconds: float  # every process of the group, reaped children included
    main_threads: float  # of which the processes' main threads (event loops)


def parse_stat(text: str) -> ProcessCpu:
    """One ``/proc/PID/stat`` line (the command name may hold spaces and parentheses)."""
    fields = text[text.rindex(")") + 2 :].split()  # field N of proc(5) is fields[N - 3]
    utime, stime, cutime, cstime = (int(fields[n - 3]) for n in (14, 15, 16, 17))
    pid, group = int(text.split(" ", 1)[0]), int(fields[5 - 3])
    return ProcessCpu(pid, group, utime + stime, cutime + cstime)


def process_seconds(pid: int) -> float | None:
    """CPU seconds of process ``pid`` (all its threads, live or exited), or None."""
    try:  # the clock clock_getcpuclockid(3) gives on Linux: CPUCLOCK_SCHED of the thread group
        return time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        return None


def main_thread_seconds(pid: int, proc: Path = PROC) -> float:
    """CPU seconds of ``pid``'s main thread (an event loop's), from its schedstat (in ns)."""
    try:
        return int((proc / str(pid) / "task" / str(pid) / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def group_cpu(process_group: int, proc: Path = PROC) -> GroupCpu:
    """CPU seconds so far of every live process of ``process_group``, in one pass (ticks only
    when ``proc`` is not ``/proc``: a test's folder)."""
    seconds = main_threads = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        if stat.process_group == process_group:
            own = process_seconds(stat.pid) if proc == PROC else None
            seconds += stat.own_ticks / CLOCK_TICKS if own is None else own
            seconds += stat.children_ticks / CLOCK_TICKS
            main_threads += main_thread_seconds(stat.pid, proc)
    return GroupCpu(seconds, main_threads)


def per_operation(busy: float, idle_per_second: float, seconds: float, operations: int) -> float:
    """The window's CPU less its idle share, per operation: never below zero (noise in the
    idle rate), NaN without operations."""
    if operations <= 0:
        return float("nan")
    return max(0.0, busy - idle_per_second * seconds) / operations
