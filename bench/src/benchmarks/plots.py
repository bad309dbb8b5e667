"""The report's plots (PNG, matplotlib's Agg backend: no display needed)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from benchmarks.burst import BurstResult, longest_gap
from benchmarks.results import ROWS, RunResult, measurements


@contextmanager
def _figure(
    path: Path,
    title: str,
    legend_loc: Literal["best", "upper right", "lower right"] | None = "best",
    size: tuple[float, float] = (7, 4.2),
) -> Iterator[Axes]:
    """One plot: yield its axis to draw on, then add legend and title and save it."""
    figure, axis = plt.subplots(figsize=size, dpi=110)
    try:
        yield axis
        if legend_loc is not None:
            axis.legend(loc=legend_loc, fontsize="small")
        axis.set_title(title)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)


def _accounts_axis(axis: Axes, sizes: list[int], ylabel: str) -> None:
    axis.set_xscale("log")
    axis.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axis.minorticks_off()
    axis.set_xlabel("accounts in the login database")
    axis.set_ylabel(ylabel)
    axis.grid(True, which="both", alpha=0.3)


def ratios_by_accounts(result: RunResult, path: Path) -> None:
    sizes = [s.accounts for s in result.sizes]
    login = [s.login_ratio for s in result.sizes]
    with _figure(path, "Throughput as a fraction of its ceiling") as axis:
        for values, style, label in (
            (login, "o-", "login ÷ Argon2 ceiling"),
            ([s.me_ratio for s in result.sizes], "s-", "GET /v1/accounts/me ÷ bare"),
            ([s.vouchers_ratio for s in result.sizes], "^-", "GET /v1/vouchers ÷ bare"),
        ):
            axis.plot(sizes, values, style, label=label)
        _accounts_axis(axis, sizes, "ratio to its ceiling (same run)")
        axis.set_ylim(0, max(1.05, *login) * 1.05)


def latency_by_accounts(result: RunResult, path: Path) -> None:
    sizes = [s.accounts for s in result.sizes]
    with _figure(path, "First login to voucher") as axis:
        axis.plot(sizes, [s.first_logins.p50_ms for s in result.sizes], "o-", label="p50")
        axis.plot(sizes, [s.first_logins.p99_ms for s in result.sizes], "s-", label="p99")
        _accounts_axis(axis, sizes, "first login → voucher granted (ms)")
        axis.set_ylim(bottom=0)
        if result.sequential is not None:
            unit = result.sequential.mean_seconds * 1000
            scale = (lambda ms: ms / unit, lambda transactions: transactions * unit)
            secondary = axis.secondary_yaxis("right", functions=scale)
            secondary.set_ylabel("in database transactions (one alone)")


def drain_by_consumers(result: RunResult, path: Path) -> None:
    rates = [d.per_second for d in result.drains]
    with _figure(path, "Consumer throughput draining a backlog", "upper right") as axis:
        counts = [str(d.consumers) for d in result.drains]
        bars = axis.bar(counts, rates, color="#4c72b0", label="events/s drained")
        ceiling = result.concurrent.per_second if result.concurrent else 0.0
        axis.set_ylim(0, max(ceiling, *rates) * 1.35)
        if ceiling:
            labels = [f"{rate / ceiling:.2f} of ceiling" for rate in rates]
            axis.bar_label(bars, labels=labels, padding=3, fontsize="small")
        if result.concurrent is not None:
            line = "database ceiling (claim-shaped transactions/s)"
            axis.axhline(ceiling, color="#c44e52", linestyle="--", label=line)
        axis.set_xlabel("consumer processes")
        axis.set_ylabel("events/s")


def cpu_ratios(result: RunResult, path: Path) -> None:
    """One horizontal bar per operation and size (log scale), its goal as a red tick."""
    labels, values, goals = [], [], []
    for row in ROWS:
        for item in measurements(row, result):
            if item.ratio > 0:  # neither NaN nor zero: a bar on a log scale
                size = f" ({item.accounts:,} accounts)" if item.accounts else ""
                labels.append(row.label.replace("`", "") + size)
                values.append(item.ratio)
                goals.append(row.goal)
    title = "What one operation costs, against its floor"
    with _figure(path, title, None, (8, 0.32 * len(values) + 1.6)) as axis:
        positions = list(range(len(values)))[::-1]
        bars = axis.barh(positions, values, color="#4c72b0")
        axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize="small")
        for position, goal in zip(positions, goals, strict=True):
            if goal is not None:
                axis.plot([goal, goal], [position - 0.4, position + 0.4], color="#c44e52", lw=2)
        axis.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        axis.set_yticks(positions, labels, fontsize="small")
        axis.set_xscale("log")
        axis.set_xlim(min(0.5, *values) * 0.8, max(2.0, *values) * 2.5)
        axis.set_xlabel("CPU per operation ÷ its floor's CPU (same run; log scale; red: goal)")


def burst_timeline(burst: BurstResult, path: Path) -> None:
    """Logins answered and vouchers granted, cumulative, against seconds since the first one."""
    title = f"Launch burst: {burst.logins:,} first logins, {burst.concurrency} in flight"
    with _figure(path, title, "lower right", (8, 4.4)) as axis:
        for times, label, color in (
            (sorted(burst.answered_at), "logins answered", "#4c72b0"),
            (sorted(burst.granted_at), "vouchers granted", "#dd8452"),
        ):
            if times:
                axis.step(times, range(1, len(times) + 1), where="post", label=label, color=color)
                axis.annotate(f"{len(times):,} at {times[-1]:.1f} s", (times[-1], len(times)),
                              textcoords="offset points", xytext=(-10, 6), ha="right",
                              fontsize="small", color=color)  # fmt: skip
        gap = longest_gap(burst.answered_at + burst.granted_at)
        if gap is not None and gap.seconds >= 1.0:
            pause = f"longest pause ({gap.seconds:.1f} s)"
            axis.axvspan(gap.at, gap.at + gap.seconds, color="#c44e52", alpha=0.15, label=pause)
        axis.set_yscale("log")
        axis.set_ylim(0.8, burst.logins * 2)
        axis.set_xlim(left=0)
        axis.set_xlabel("seconds since the first request")
        axis.set_ylabel("cumulative count (log scale)")
        axis.grid(True, which="both", alpha=0.3)


def draw_all(result: RunResult, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    assert result.burst is not None, "the run always ends with the burst"
    cpu_ratios(result, folder / "cpu-ratios.png")
    burst_timeline(result.burst, folder / "burst.png")
    if result.sizes:  # every size may have been skipped for the run's time budget
        ratios_by_accounts(result, folder / "ratios-by-accounts.png")
        latency_by_accounts(result, folder / "first-login-latency.png")
    if result.drains:
        drain_by_consumers(result, folder / "consumer-throughput.png")
