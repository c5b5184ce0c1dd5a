"""The reward-curve PNG of a run, drawn from the trainer's log history (matplotlib, no display needed).

plot_rewards(trainer.state.log_history, "runs/cpu_demo/rewards.png", title="cpu_demo")
"""

from __future__ import annotations

import os
from pathlib import Path


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


def reward_series(log_history: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """Per-step values of the total reward and each reward function's mean, from a log history.

    >>> reward_series([{"step": 1, "reward": 0.5, "rewards/int_reward/mean": 0.5}, {"step": 1, "train_runtime": 9}])
    {'reward': ([1], [0.5]), 'int_reward': ([1], [0.5])}
    """
    series: dict[str, tuple[list[int], list[float]]] = {}
    for entry in log_history:
        for key, value in entry.items():
            if key == "reward" or (key.startswith("rewards/") and key.endswith("/mean")):
                name = key.removeprefix("rewards/").removesuffix("/mean")
                steps, values = series.setdefault(name, ([], []))
                steps.append(int(entry["step"]))
                values.append(float(value))
    return series


def plot_rewards(log_history: list[dict], png: str | os.PathLike[str], *, title: str = "") -> Path:
    """Plot the total reward and each reward's mean per step (raw and smoothed); returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = reward_series(log_history)
    if not series:
        raise ValueError("the log history holds no rewards to plot")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    window = max(1, len(series["reward"][0]) // 10) if "reward" in series else 1
    for name, (steps, values) in series.items():
        (line,) = ax.plot(steps, values, alpha=0.25)
        label = "total reward" if name == "reward" else name.removesuffix("_reward")
        ax.plot(
            steps,
            moving_average(values, window),
            color=line.get_color(),
            label=label,
            linewidth=2.5 if name == "reward" else 1.5,
        )
    ax.set_xlabel("step")
    ax.set_ylabel(f"mean reward (smoothed over {window} steps)")
    ax.set_title(title or "GRPO rewards")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, png)
    return png
