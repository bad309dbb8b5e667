"""CPU seconds of whole process groups, read from ``/proc``.

Each service runs in a process group of its own (``uv``, the Uvicorn supervisor and its
workers), so summing the group gives the service's CPU however many workers it has.
``cutime``/``cstime`` count children that have already exited and been reaped, so a
worker that was replaced still counts.

A process's own time comes in 10 ms clock ticks in ``/proc/PID/stat``: an idle service
spends a few ms per second, so an idle rate read in ticks over a few seconds is off by
as much as it measures, and subtracted over a minute-long window (a slow database) that
error swamps the operations. The process's CPU-time clock (``clock_getcpuclockid(3)``,
read with ``clock_gettime``) gives the same total in nanoseconds, threads that have exited
included; the ticks are used where that clock cannot be read.
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

    @property
    def ticks(self) -> int:
        return self.own_ticks + self.children_ticks


def parse_stat(text: str) -> ProcessCpu:
    """Parse one ``/proc/PID/stat`` line (the command name may hold spaces and parentheses)."""
    pid = int(text.split(" ", 1)[0])
    after_name = text[text.rindex(")") + 2 :].split()
    # after_name[0] is field 3 (state): field N is after_name[N - 3].
    process_group = int(after_name[5 - 3])
    utime, stime, cutime, cstime = (int(after_name[n - 3]) for n in (14, 15, 16, 17))
    return ProcessCpu(pid, process_group, utime + stime, cutime + cstime)


def process_cpu_clock(pid: int) -> int:
    """The clock id of ``pid``'s CPU time: what ``clock_getcpuclockid(3)`` returns on Linux."""
    return ((~pid) << 3) | 2  # CPUCLOCK_SCHED of the whole thread group


def process_seconds(pid: int) -> float | None:
    """CPU seconds of process ``pid`` (all its threads, live or exited), or None."""
    try:
        return time.clock_gettime(process_cpu_clock(pid))
    except OSError:
        return None


def main_thread_seconds(pid: int, proc: Path = PROC) -> float:
    """CPU seconds of ``pid``'s main thread (an event loop's), in nanoseconds' precision."""
    try:
        return int((proc / str(pid) / "task" / str(pid) / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass(frozen=True, slots=True)
class GroupCpu:
    seconds: float  # every process of the group, reaped children included
    main_threads: float  # of which the processes' main threads (event loops)


def group_cpu(process_group: int, proc: Path = PROC) -> GroupCpu:
    """CPU seconds used so far by every live process of ``process_group``, in one pass.

    ``proc`` other than ``/proc`` (a test's folder): its ticks only.
    """
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
    """What one operation cost: the window's total minus its idle share, per operation.

    Never below zero: with few operations in a long window, noise in the idle rate could
    otherwise make a cost negative.
    """
    if operations <= 0:
        return float("nan")
    return max(0.0, busy - idle_per_second * seconds) / operations
