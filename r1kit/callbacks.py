"""Trainer callbacks for a GRPO run: a compact progress bar, per-step CSV metrics, completion samples.

Files written in the run folder (``runs/<run>/``):

* ``metrics.csv``: one row per step: loss, reward, each reward's mean, completion length,
  learning rate, seconds per step and the part of them spent generating and scoring
  completions (the rest is the forward/backward pass and the optimizer). The reward plot is
  drawn from it.
* ``samples.jsonl``: every completion of every step, with its rewards (as Mini-R1 logs them).
* ``success_samples.jsonl``: the completions that earned the task's full success score.

Re-running a run that resumes from a checkpoint first drops the rows logged after that
checkpoint, so the files describe exactly the steps the adapter has seen.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

METRICS_FILE = "metrics.csv"
SAMPLES_FILE = "samples.jsonl"
SUCCESS_FILE = "success_samples.jsonl"
_KEPT = ("loss", "reward", "reward_std", "completions/mean_length", "completions/clipped_ratio",
         "frac_reward_zero_std", "learning_rate", "grad_norm")


def truncate_logs(run_dir: Path, last_step: int) -> None:
    """Drop CSV rows and samples of steps after ``last_step`` (0 clears them all)."""
    metrics = run_dir / METRICS_FILE
    if metrics.is_file():
        with metrics.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        kept = [row for row in rows if int(row["step"]) <= last_step]
        if kept:
            with metrics.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(kept)
        else:
            metrics.unlink()
    for name in (SAMPLES_FILE, SUCCESS_FILE):
        path = run_dir / name
        if path.is_file():
            lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                     if line and json.loads(line)["step"] <= last_step]
            path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


class RunLogger(TrainerCallback):
    """Writes metrics.csv and the sample files at every logging step, and shows progress.

    ``trainer`` must be set after the trainer is built: the samples are read from the
    completions it keeps for logging (``trainer._logs``, TRL 0.22), the same batch the step
    trained on. ``success`` is the name of the task's success reward and its full score.
    """

    def __init__(self, run_dir: Path, success: tuple[str, float], *, show_progress: bool = True) -> None:
        self.run_dir = run_dir
        self.success_name, self.success_score = success
        self.show_progress = show_progress
        self.trainer: Any = None
        self._bar: Any = None
        self._step_start = time.perf_counter()
        self._columns: list[str] | None = None
        self._generate_seconds = 0.0

    def time_generation(self, generate: Any) -> Any:
        """Wrap the trainer's generate-and-score method so each step's share of it is logged."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return generate(*args, **kwargs)
            finally:
                self._generate_seconds += time.perf_counter() - start

        return timed

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.show_progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=state.max_steps, initial=state.global_step, desc="GRPO", unit="step")
        self._step_start = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.update(state.global_step - self._bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not logs or "reward" not in logs:
            return
        now = time.perf_counter()
        row = {"step": state.global_step, "seconds": round(now - self._step_start, 3),
               "generate_seconds": round(self._generate_seconds, 3)}
        self._step_start, self._generate_seconds = now, 0.0
        row.update({key: logs[key] for key in _KEPT if key in logs})
        row.update({key.removeprefix("rewards/").removesuffix("/mean"): value for key, value in logs.items()
                    if key.startswith("rewards/") and key.endswith("/mean")})
        self._write_metrics(row)
        self._write_samples(state.global_step)
        if self._bar is not None:
            self._bar.set_postfix(reward=f"{logs['reward']:.2f}", len=f"{logs.get('completions/mean_length', 0):.0f}")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _write_metrics(self, row: dict) -> None:
        path = self.run_dir / METRICS_FILE
        if self._columns is None and path.is_file():
            with path.open(newline="", encoding="utf-8") as handle:
                self._columns = next(csv.reader(handle), None)
        new_file = self._columns is None or not path.is_file()
        if new_file:
            self._columns = list(row)
        with path.open("a" if not new_file else "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._columns, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(row)

    def _write_samples(self, step: int) -> None:
        logs = getattr(self.trainer, "_logs", None)
        if not logs or not logs.get("completion"):
            return
        rewards = {name: list(values) for name, values in logs["rewards"].items()}
        with (self.run_dir / SAMPLES_FILE).open("a", encoding="utf-8") as every, \
                (self.run_dir / SUCCESS_FILE).open("a", encoding="utf-8") as good:
            for i, (prompt, completion) in enumerate(zip(logs["prompt"], logs["completion"])):
                scores = {name: values[i] for name, values in rewards.items() if i < len(values)}
                line = json.dumps({"step": step, "prompt": prompt, "completion": completion, "rewards": scores},
                                  ensure_ascii=False) + "\n"
                every.write(line)
                if scores.get(self.success_name, 0.0) >= self.success_score:
                    good.write(line)


class StopAfterStep(TrainerCallback):
    """Stop training (after saving a checkpoint) once ``step`` is reached: an interrupted run."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step >= self.step:
            control.should_save = True
            control.should_training_stop = True
        return control
