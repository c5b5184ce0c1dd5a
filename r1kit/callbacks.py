"""What a run writes besides TRL's own logs: a progress bar, completion samples, metrics.csv, the plot.

TRL logs every metric (rewards per function, lengths, KL, learning rate) into the trainer's
log history, which TensorBoard receives (``report_to``) and every checkpoint keeps in
``trainer_state.json``. The kit adds, in the run folder, written by the main process only:

* ``metrics.csv``: the log history as a table, one row per logged step, and ``rewards.png``
  drawn from it; both are rewritten whole (atomically) at each checkpoint and at the end, so
  after a resume they hold exactly the steps the trainer's state holds.
* ``samples.jsonl``: every completion with its prompt and rewards (as Mini-R1 logs them) and
  ``success_samples.jsonl``: those the task's parser reads as right and formatted. TRL keeps
  completions only for its console and wandb tables, so the kit records them where the
  public API hands them out: the reward functions, wrapped by :class:`SampleRecorder`; with
  several processes each one's completions are gathered to the main process.

    recorder = SampleRecorder(run_dir, get_task("countdown"))
    reward_funcs = [recorder.wrap(f) for f in reward_funcs]
    trainer = GRPOTrainer(..., reward_funcs=reward_funcs, callbacks=[recorder, RunFiles(run_dir), Progress()])
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from r1kit.atomic import write_text
from rewards import completion_text

METRICS_FILE = "metrics.csv"
PLOT_FILE = "rewards.png"
SAMPLES_FILE = "samples.jsonl"
SUCCESS_FILE = "success_samples.jsonl"
# what TRL passes a reward function besides the dataset's columns
NOT_COLUMNS = ("prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric")


def is_main_process() -> bool:
    """True in the process that writes files (accelerate's answer; the only process without a launcher)."""
    from accelerate import PartialState

    return PartialState().is_main_process


def training_rows(log_history: list[dict]) -> list[dict]:
    """The per-step training entries of a trainer's log history (one per logged step).

    >>> training_rows([{"loss": 0.1, "step": 1}, {"train_runtime": 3.0, "step": 1}])
    [{'loss': 0.1, 'step': 1}]
    """
    return [entry for entry in log_history if "loss" in entry and "train_runtime" not in entry]


def metrics_csv(log_history: list[dict]) -> str:
    """The training rows of a log history as CSV text, ``step`` first, columns in order of appearance.

    >>> print(metrics_csv([{"loss": 0.5, "step": 1}, {"loss": 0.25, "reward": 1.0, "step": 2}]).strip())
    step,loss,reward
    1,0.5,
    2,0.25,1.0
    """
    rows = training_rows(log_history)
    columns = ["step"] + list(dict.fromkeys(key for row in rows for key in row if key not in ("step", "epoch")))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_run_files(run_dir: Path, log_history: list[dict], *, title: str) -> None:
    """Rewrite ``metrics.csv`` (and, with rewards, ``rewards.png``) from the log history (main process only)."""
    from r1kit.plots import plot_rewards, reward_series

    if not is_main_process() or not training_rows(log_history):
        return
    write_text(run_dir / METRICS_FILE, metrics_csv(log_history))
    if reward_series(log_history):  # GRPO; the cold start logs a loss only
        plot_rewards(log_history, run_dir / PLOT_FILE, title=title)


class RunFiles(TrainerCallback):
    """Keeps ``metrics.csv`` and ``rewards.png`` in step with every checkpoint (the end of a run writes them once more)."""

    def __init__(self, run_dir: Path, title: str) -> None:
        self.run_dir, self.title = run_dir, title

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        write_run_files(self.run_dir, state.log_history, title=self.title)


class Progress(TrainerCallback):
    """A one-line progress bar with the latest reward (main process only)."""

    def __init__(self, desc: str = "GRPO") -> None:
        self.desc = desc
        self._bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.desc, unit="step")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.update(state.global_step - self._bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if self._bar is not None and logs:
            shown = {
                key: f"{logs[key]:.3g}" for key in ("reward", "success", "informative/skipped", "loss") if key in logs
            }
            self._bar.set_postfix(shown)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def keep_steps_up_to(path: Path, step: int) -> None:
    """Drop the sample lines of steps after ``step`` (and any line a kill cut short), atomically."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    write_text(path, "".join(kept))


class SampleRecorder(TrainerCallback):
    """Records each completion with its rewards, as the reward functions see them; writes the sample files.

    ``wrap`` each reward function (the wrapper keeps its name, so TRL's logged metrics keep
    theirs). Each completion is also read by the task's parser once: right and formatted is a
    success, the definition evaluation uses. At each log, the completions scored since the last
    one are gathered from every process and the main process appends them to ``samples.jsonl``
    and the successes to ``success_samples.jsonl``. A run that resumes first drops the lines of
    steps after its checkpoint.
    """

    def __init__(self, run_dir: Path, task: Any) -> None:
        self.run_dir, self.task = run_dir, task
        self._rows: dict[tuple[int, int], dict] = {}  # (step, index in the batch) -> sample
        self._success = [0, 0]  # successes, completions read since take_success_counts

    def wrap(self, reward: Callable[..., list[float]]) -> Callable[..., list[float]]:
        name = getattr(reward, "__name__", type(reward).__name__)

        @functools.wraps(reward)
        def recorded(completions: list, **kwargs: Any) -> list[float]:
            scores = reward(completions, **kwargs)
            state = kwargs.get("trainer_state")
            step = state.global_step + 1 if state is not None else 0
            prompts = kwargs.get("prompts") or [None] * len(completions)
            columns = {key: value for key, value in kwargs.items() if key not in NOT_COLUMNS}
            for i, (prompt, completion, score) in enumerate(zip(prompts, completions, scores)):
                row = self._rows.get((step, i))
                if row is None:
                    text = completion_text(completion)
                    answer = self.task.parser.strict(text)
                    success = self.task.parser.is_correct(answer, {key: value[i] for key, value in columns.items()})
                    self._success[0] += success
                    self._success[1] += 1
                    row = self._rows[(step, i)] = {
                        "step": step,
                        "prompt": prompt,
                        "completion": text,
                        "success": success,
                        "rewards": {},
                    }
                row["rewards"][name] = score
            return scores

        recorded.__name__ = name
        return recorded

    def take_success_counts(self) -> Any:
        """(successes, completions) read since the last call, as a tensor (the trainer logs their ratio)."""
        import torch

        counts, self._success = torch.tensor([float(n) for n in self._success]), [0, 0]
        return counts

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if is_main_process():
            for name in (SAMPLES_FILE, SUCCESS_FILE):
                keep_steps_up_to(self.run_dir / name, state.global_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        from accelerate import PartialState
        from accelerate.utils import gather_object

        rows, self._rows = list(self._rows.values()), {}
        rows = gather_object(rows) if PartialState().num_processes > 1 else rows
        if not rows or not is_main_process():
            return
        with (
            (self.run_dir / SAMPLES_FILE).open("a", encoding="utf-8") as every,
            (self.run_dir / SUCCESS_FILE).open("a", encoding="utf-8") as good,
        ):
            for row in rows:
                line = json.dumps(row, ensure_ascii=False, default=str) + "\n"
                every.write(line)
                if row["success"]:
                    good.write(line)


class StopOnNonFinite(TrainerCallback):
    """Stops training at the first NaN or infinite loss, gradient norm or LoRA weight, before that step is saved.

    The trainer logs and then saves after each step; this clears the save, so no checkpoint holds
    the broken weights, and ``problems`` says what happened (the stage then refuses to save its
    adapter: :func:`r1kit.runs.run_trainer`). The weights are checked after every optimizer step
    (LoRA parameters only: milliseconds), so a NaN on a step that is not logged is caught too.
    """

    WATCHED = ("loss", "grad_norm")

    def __init__(self) -> None:
        self.problems: list[str] = []

    def _stop(self, control: Any, problem: str | None = None) -> Any:
        if problem and problem not in self.problems:
            self.problems.append(problem)
        if self.problems:
            control.should_save = False
            control.should_training_stop = True
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        from r1kit.adapters import nonfinite_lora

        bad, total = nonfinite_lora(model) if model is not None else ([], 0)
        problem = f"{len(bad)} of {total} LoRA weights hold NaN or infinite values after step {state.global_step}"
        return self._stop(control, problem if bad else None)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> Any:
        problems = [
            f"{key} is {logs[key]} at step {state.global_step}"
            for key in self.WATCHED
            if isinstance((logs or {}).get(key), float) and not math.isfinite(logs[key])
        ]
        for problem in problems:
            self._stop(control, problem)
        return self._stop(control)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        return self._stop(control)
