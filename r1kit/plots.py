"""The reward-curve PNG of a run, drawn from its ``metrics.csv`` (matplotlib, no display needed).

    plot_rewards("runs/cpu_demo/metrics.csv", "runs/cpu_demo/rewards.png")
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

# Columns of metrics.csv that are not per-reward means.
_OTHER_COLUMNS = {"step", "seconds", "generate_seconds", "loss", "reward", "reward_std", "completions/mean_length",
                  "completions/clipped_ratio", "frac_reward_zero_std", "learning_rate", "grad_norm"}


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over up to ``window`` values (shorter at the start).

    >>> moving_average([0.0, 1.0, 2.0, 3.0], 2)
    [0.0, 0.5, 1.5, 2.5]
    """
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_rewards(metrics_csv: str | os.PathLike[str], png: str | os.PathLike[str], *, title: str = "") -> Path:
    """Plot the total reward and each reward's mean per step (raw and smoothed); returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Path(metrics_csv).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{metrics_csv} holds no steps to plot")
    steps = [int(row["step"]) for row in rows]
    series = ["reward"] + [name for name in rows[0] if name not in _OTHER_COLUMNS]
    window = max(1, len(rows) // 10)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name in series:
        values = [float(row[name]) if row.get(name) not in (None, "") else 0.0 for row in rows]
        line, = ax.plot(steps, values, alpha=0.25)
        label = "total reward" if name == "reward" else name.removesuffix("_reward")
        ax.plot(steps, moving_average(values, window), color=line.get_color(), label=label,
                linewidth=2.5 if name == "reward" else 1.5)
    ax.set_xlabel("step")
    ax.set_ylabel(f"mean reward (smoothed over {window} steps)")
    ax.set_title(title or "GRPO rewards")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
