"""The plots of a run, drawn from the trainer's log history (matplotlib, no display needed), written atomically.

plot_rewards(trainer.state.log_history, "runs/cpu_demo/rewards.png", title="cpu_demo")
plot_success(trainer.state.log_history, "runs/cpu_demo/success.png", reference={100: 0.25})
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


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


def series(log_history: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one logged metric, e.g. ``success`` (the share of completions right and formatted).

    >>> series([{"step": 1, "success": 0.25}, {"step": 2, "loss": 0.1}, {"step": 3, "success": 0.5}], "success")
    ([1, 3], [0.25, 0.5])
    """
    rows = [(int(entry["step"]), float(entry[key])) for entry in log_history if key in entry]
    return [step for step, _ in rows], [value for _, value in rows]


def _save(fig: Any, png: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``png`` through a temporary file and a rename, then close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, png)
    return png


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 4.5))


def plot_rewards(log_history: list[dict], png: str | os.PathLike[str], *, title: str = "") -> Path:
    """Plot the total reward and each reward's mean per step (raw and smoothed); returns the PNG path."""
    series = reward_series(log_history)
    if not series:
        raise ValueError("the log history holds no rewards to plot")
    fig, ax = _figure()
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
    return _save(fig, png)


def plot_success(
    log_history: list[dict],
    png: str | os.PathLike[str],
    *,
    title: str = "",
    reference: dict[int, float] | None = None,
    reference_label: str = "reference",
) -> Path:
    """Plot the share of training completions right and formatted per step (raw, smoothed, reference points)."""
    steps, values = series(log_history, "success")
    fig, ax = _figure()
    ax.plot(steps, values, alpha=0.3, label="this run, per step")
    ax.plot(steps, moving_average(values, max(1, len(values) // 10)), linewidth=2, label="this run, smoothed")
    if reference:
        ax.plot(list(reference), list(reference.values()), "o--", color="gray", label=reference_label)
    ax.set(xlabel="step", ylabel="share of completions right and formatted", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, png)
