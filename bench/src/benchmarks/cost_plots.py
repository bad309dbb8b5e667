"""Plots of the per-operation CPU ratios and of the launch burst over time."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.burst import BurstResult, longest_gap
from benchmarks.cost_table import ROWS, measurements
from benchmarks.results import RunResult


def cpu_ratios(result: RunResult, path: Path) -> bool:
    """One horizontal bar per operation and size (log scale), its goal as a red tick."""
    labels, values, goals = [], [], []
    for row in ROWS:
        for item in measurements(row, result):
            if math.isnan(item.ratio) or item.ratio <= 0:
                continue
            size = f" ({item.accounts:,} accounts)" if item.accounts else ""
            labels.append(row.label.replace("`", "") + size)
            values.append(item.ratio)
            goals.append(row.goal)
    if not values:
        return False
    figure, axis = plt.subplots(figsize=(8, 0.32 * len(values) + 1.6), dpi=110)
    try:
        positions = list(range(len(values)))[::-1]
        bars = axis.barh(positions, values, color="#4c72b0")
        axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize="small")
        for position, goal in zip(positions, goals, strict=True):
            if goal is not None:
                axis.plot(
                    [goal, goal], [position - 0.4, position + 0.4], color="#c44e52", linewidth=2
                )
        axis.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        axis.set_yticks(positions, labels, fontsize="small")
        axis.set_xscale("log")
        axis.set_xlim(min(0.5, *values) * 0.8, max(2.0, *values) * 2.5)
        axis.set_xlabel("CPU per operation ÷ its floor's CPU (same run; log scale; red: goal)")
        axis.set_title("What one operation costs, against its floor")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return True


def burst_timeline(burst: BurstResult, path: Path) -> bool:
    """Logins answered and vouchers granted, cumulative, against seconds since the first request."""
    if not burst.answered_at:
        return False
    figure, axis = plt.subplots(figsize=(8, 4.4), dpi=110)
    try:
        for times, label, color in (
            (sorted(burst.answered_at), "logins answered", "#4c72b0"),
            (sorted(burst.granted_at), "vouchers granted", "#dd8452"),
        ):
            if not times:
                continue
            counts = list(range(1, len(times) + 1))
            axis.step(times, counts, where="post", label=label, color=color)
            axis.annotate(
                f"{len(times):,} at {times[-1]:.1f} s", (times[-1], len(times)),
                textcoords="offset points", xytext=(-10, 6), ha="right", fontsize="small",
                color=color,
            )  # fmt: skip
        gap = longest_gap(burst.answered_at + burst.granted_at)
        if gap is not None and gap.seconds >= 1.0:
            axis.axvspan(
                gap.at, gap.at + gap.seconds, color="#c44e52", alpha=0.15,
                label=f"longest pause ({gap.seconds:.1f} s)",
            )  # fmt: skip
        axis.set_yscale("log")
        axis.set_ylim(0.8, burst.logins * 2)
        axis.set_xlim(left=0)
        axis.set_xlabel("seconds since the first request")
        axis.set_ylabel("cumulative count (log scale)")
        axis.set_title(
            f"Launch burst: {burst.logins:,} first logins, {burst.concurrency} in flight"
        )
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(loc="lower right", fontsize="small")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return True
