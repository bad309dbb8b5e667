"""The report's plots (PNG, matplotlib's Agg backend: no display needed)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from benchmarks.cost_plots import burst_timeline, cpu_ratios
from benchmarks.results import RunResult


def _accounts_axis(axis: Axes, sizes: list[int]) -> None:
    axis.set_xscale("log")
    axis.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axis.minorticks_off()
    axis.set_xlabel("accounts in the login database")


@contextmanager
def _figure(
    path: Path, title: str, legend_loc: Literal["best", "upper right"] = "best"
) -> Iterator[Axes]:
    """One plot: yield its axis to draw on, then add legend and title and save it."""
    figure, axis = plt.subplots(figsize=(7, 4.2), dpi=110)
    try:
        yield axis
        axis.legend(loc=legend_loc, fontsize="small")
        axis.set_title(title)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)


def ratios_by_accounts(result: RunResult, path: Path) -> None:
    sizes = [s.accounts for s in result.sizes]
    with _figure(path, "Throughput as a fraction of its ceiling") as axis:
        login = [s.login_ratio for s in result.sizes]
        axis.plot(sizes, login, "o-", label="login ÷ Argon2 ceiling")
        axis.plot(
            sizes, [s.me_ratio for s in result.sizes], "s-", label="GET /v1/accounts/me ÷ bare"
        )
        axis.plot(
            sizes, [s.vouchers_ratio for s in result.sizes], "^-", label="GET /v1/vouchers ÷ bare"
        )
        _accounts_axis(axis, sizes)
        axis.set_ylabel("ratio to its ceiling (same run)")
        axis.set_ylim(0, max(1.05, *login) * 1.05)
        axis.grid(True, which="both", alpha=0.3)


def latency_by_accounts(result: RunResult, path: Path) -> None:
    sizes = [s.accounts for s in result.sizes]
    with _figure(path, "First login to voucher") as axis:
        axis.plot(sizes, [s.first_logins.p50_ms for s in result.sizes], "o-", label="p50")
        axis.plot(sizes, [s.first_logins.p99_ms for s in result.sizes], "s-", label="p99")
        _accounts_axis(axis, sizes)
        axis.set_ylabel("first login → voucher granted (ms)")
        axis.set_ylim(bottom=0)
        if result.sequential is not None:
            unit = result.sequential.mean_seconds * 1000

            def to_transactions(ms: Any) -> Any:
                return ms / unit

            def to_ms(transactions: Any) -> Any:
                return transactions * unit

            secondary = axis.secondary_yaxis("right", functions=(to_transactions, to_ms))
            secondary.set_ylabel("in database transactions (one alone)")
        axis.grid(True, which="both", alpha=0.3)


def drain_by_consumers(result: RunResult, path: Path) -> None:
    counts = [d.consumers for d in result.drains]
    rates = [d.per_second for d in result.drains]
    with _figure(path, "Consumer throughput draining a backlog", "upper right") as axis:
        bars = axis.bar([str(c) for c in counts], rates, color="#4c72b0", label="events/s drained")
        ceiling = result.concurrent.per_second if result.concurrent else 0.0
        axis.set_ylim(0, max(ceiling, *rates) * 1.35)
        if ceiling:
            labels = [f"{rate / ceiling:.2f} of ceiling" for rate in rates]
            axis.bar_label(bars, labels=labels, padding=3, fontsize="small")
        if result.concurrent is not None:
            axis.axhline(
                result.concurrent.per_second,
                color="#c44e52",
                linestyle="--",
                label="database ceiling (claim-shaped transactions/s)",
            )
        axis.set_xlabel("consumer processes")
        axis.set_ylabel("events/s")


def draw_all(result: RunResult, folder: Path) -> list[str]:
    """Write every plot into ``folder``; return the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if cpu_ratios(result, folder / "cpu-ratios.png"):
        written.append("cpu-ratios.png")
    if result.burst is not None and burst_timeline(result.burst, folder / "burst.png"):
        written.append("burst.png")
    if result.sizes:
        ratios_by_accounts(result, folder / "ratios-by-accounts.png")
        latency_by_accounts(result, folder / "first-login-latency.png")
        written += ["ratios-by-accounts.png", "first-login-latency.png"]
    if result.drains:
        drain_by_consumers(result, folder / "consumer-throughput.png")
        written.append("consumer-throughput.png")
    return written
