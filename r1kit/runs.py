"""What the training stages share: where a stage writes, resuming from its checkpoints, its run card, saving.

A recipe runs in stages that chain: the optional cold start (``sft``), then ``grpo``
(:mod:`r1kit.pipeline` runs them in order). Stage S of recipe R writes
``<output_dir>/<R.stage_name(S)>/`` (``checkpoints/``, ``tensorboard/``, metrics, samples) and
leaves its adapter in ``<adapter_dir>/<R.stage_name(S)>/``, whose run card names the stage it
started from. GRPO after a cold start starts from the cold start's adapter. Each stage resumes
on its own from the newest *complete* checkpoint of its run. This module is the one home of
that layout: the folder names, a checkpoint's step, reading a run's trainer state.

    stage = Stage(recipe, "grpo", backend, gpu)
    last = resume_checkpoint(stage.checkpoints)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1kit.backends import Backend
from r1kit.gpu import Gpu
from r1kit.recipe import Recipe

STAGES = ("sft", "grpo")
CHECKPOINTS = "checkpoints"  # the trainer's output_dir inside a run folder
TENSORBOARD = "tensorboard"  # the trainer's logging_dir inside a run folder
# What transformers 4.56 writes into a checkpoint, in this order, trainer_state.json last
# (trainer.py, Trainer._save_checkpoint): a folder holding all of them was written to the end.
CHECKPOINT_FILES = ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")
# Under DeepSpeed (recipes/accelerate/zero2.yaml, zero3.yaml) there is no optimizer.pt or scheduler.pt:
# the engine's save_checkpoint writes them into global_step<N>/ and then "latest", naming that folder
# (Trainer._save_optimizer_and_scheduler); trainer_state.json still comes last.
DEEPSPEED_CHECKPOINT_FILES = ("adapter_model.safetensors", "latest", "trainer_state.json")


@dataclass(frozen=True)
class Stage:
    """One training stage of a recipe on this machine: its name, backend, GPU and folders."""

    recipe: Recipe
    name: str
    backend: Backend
    gpu: Gpu

    def __post_init__(self) -> None:
        if self.name not in STAGES:
            raise ValueError(f"unknown stage {self.name!r}; stages: {', '.join(STAGES)}")

    @property
    def title(self) -> str:
        """How the stage is named to people (progress bar, plots)."""
        return "cold start" if self.name == "sft" else "GRPO"

    @property
    def run_dir(self) -> Path:
        return self.recipe.run_dir(self.name)

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / CHECKPOINTS

    @property
    def adapter_path(self) -> Path:
        return self.recipe.adapter_path(self.name)

    @property
    def previous(self) -> Stage | None:
        """The stage this one starts from: the cold start before GRPO when the recipe has one."""
        if self.name == "grpo" and self.recipe.cold_start:
            return Stage(self.recipe, "sft", self.backend, self.gpu)
        return None

    def started_from(self) -> dict | None:
        """What the run card says this stage started from (None: the base model)."""
        from r1kit.adapters import read_run_card

        previous = self.previous
        if previous is None:
            return None
        card = read_run_card(previous.adapter_path)
        return {"stage": previous.name, "adapter": str(previous.adapter_path), "steps": card.get("steps")}

    def begin(self) -> None:
        """Make the run folder and seed everything, right before the stage's trainer is built."""
        from transformers import set_seed

        self.run_dir.mkdir(parents=True, exist_ok=True)
        set_seed(self.recipe.seed)


def stage_callbacks(stage: Stage, *, show_progress: bool, extra: list[Any] | None) -> list[Any]:
    """The kit's callbacks of a stage: its run files, a progress bar (unless asked not to), the caller's."""
    from r1kit.callbacks import Progress, RunFiles, StopOnNonFinite

    bar = [Progress(stage.title)] if show_progress else []
    return [StopOnNonFinite(), RunFiles(stage.run_dir, plot_title(stage)), *bar, *(extra or [])]


def plot_title(stage: Stage) -> str:
    """The title of a stage's reward plot."""
    return f"{stage.recipe.stage_name(stage.name)}: {stage.title}"


def _problem(folder: Path) -> tuple[str, str] | None:
    """("incomplete" or "damaged", why) when ``folder`` cannot be resumed from, None when it can."""
    import zipfile

    from r1kit.adapters import AdapterError, lora_tensors

    deepspeed = (folder / "latest").is_file()
    needed = DEEPSPEED_CHECKPOINT_FILES if deepspeed else CHECKPOINT_FILES
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        return "incomplete", f"{', '.join(missing)} missing"
    if deepspeed:
        tag = (folder / "latest").read_text(encoding="utf-8", errors="replace").strip()
        if not tag or not (folder / tag).is_dir():
            return "incomplete", f"DeepSpeed state {tag or '(unnamed)'}/ missing"
    try:
        lora_tensors(folder)
    except AdapterError as error:
        return "damaged", str(error).replace(f"{folder}/", "")
    for path in [folder / name for name in needed if name.endswith(".pt")] + sorted(folder.glob("rng_state*.pth")):
        try:  # torch.save writes a zip archive; a cut one has lost the directory at its end
            with zipfile.ZipFile(path) as archive:
                archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            return "damaged", f"{path.name} does not read as torch.save wrote it ({error})"
    try:
        step = trainer_state(folder).global_step
    except (TypeError, ValueError, KeyError, OSError) as error:
        return "damaged", f"trainer_state.json unreadable ({type(error).__name__}: {str(error).splitlines()[0]})"
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return "damaged", f"trainer_state.json unreadable (global_step is {step!r}, not a step number)"
    return None


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be resumed from, or None when it can.

    Its files are read, not listed: the LoRA weights whole (memory-mapped) and finite, the
    optimizer, scheduler and RNG states as the zip archives ``torch.save`` writes (a truncated
    or emptied one has lost its directory), the trainer state as transformers reads it.
    """
    problem = _problem(folder)
    return None if problem is None else problem[1]


def trainer_state(checkpoint: Path) -> Any:
    """The ``TrainerState`` a checkpoint folder holds (transformers' own loader)."""
    from transformers import TrainerState

    return TrainerState.load_from_json(str(checkpoint / "trainer_state.json"))


def log_history(run_dir: Path) -> list[dict]:
    """The trainer's log history of a run, from its newest complete checkpoint ([] without one)."""
    last = resume_checkpoint(Path(run_dir) / CHECKPOINTS, remove_incomplete=False)
    return [] if last is None else trainer_state(last).log_history


def best_checkpoint(run_dir: Path, *, window: int = 10) -> tuple[Path, int, float]:
    """(folder, step, smoothed success) of the complete checkpoint where training success peaked.

    Success is the logged share of completions right and formatted (:mod:`r1kit.grpo`). Only
    checkpoints the run kept can be chosen: the R1-distill recipe keeps them all.
    """
    from r1kit.plots import moving_average, series

    steps, values = series(log_history(run_dir), "success")
    smoothed = dict(zip(steps, moving_average(values, window)))
    saved = {
        checkpoint_step(p): p
        for p in (Path(run_dir) / CHECKPOINTS).glob("checkpoint-*")
        if checkpoint_step(p) is not None and checkpoint_problem(p) is None
    }
    candidates = [(smoothed[step], step) for step in saved if step in smoothed]
    if not candidates:
        raise FileNotFoundError(f"no complete checkpoint under {run_dir}/{CHECKPOINTS} matches a logged step")
    score, step = max(candidates)
    return saved[step], step, score


def checkpoint_step(folder: Path) -> int | None:
    """The step of a ``checkpoint-<step>`` folder (None for any other name).

    >>> checkpoint_step(Path("runs/x/checkpoints/checkpoint-40")), checkpoint_step(Path("notes"))
    (40, None)
    """
    head, _, step = folder.name.rpartition("-")
    return int(step) if head == "checkpoint" and step.isdigit() else None


def resume_checkpoint(checkpoints: Path, *, remove_incomplete: bool = True) -> Path | None:
    """The newest checkpoint in ``checkpoints`` that is complete and reads (None if there is none).

    A newer checkpoint that a kill left half-written, or whose files do not read (truncated,
    emptied, NaN weights: :func:`checkpoint_problem`), is named with the reason it was skipped
    and, with ``remove_incomplete``, deleted: the trainer would otherwise count it when it
    rotates old checkpoints, and write the same step's folder again over its remains.
    """
    folders = sorted(
        (p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and checkpoint_step(p) is not None),
        key=checkpoint_step,
        reverse=True,
    )
    for folder in folders:
        problem = _problem(folder)
        if problem is None:
            return folder
        kind, why = problem
        cause = ", as a run killed while saving leaves it" if kind == "incomplete" else ""
        print(f"Skipping {folder.name}: {kind} ({why}){cause}" + ("; removed." if remove_incomplete else "."))
        if remove_incomplete:
            shutil.rmtree(folder, ignore_errors=True)
    return None


def run_card(stage: Stage, steps: int, metrics: dict, **extra: Any) -> dict:
    """The run card saved with a stage's adapter."""
    recipe = stage.recipe
    return {
        "stage": stage.name,
        "base_model": recipe.model,
        "run_name": recipe.stage_name(stage.name),
        "started_from": stage.started_from(),
        "steps": steps,
        "metrics": metrics,
        "recipe": recipe.to_dict(),
        **extra,
    }


def last_metrics(log_history: list[dict]) -> dict:
    """The last logged training metrics and the run's summary (runtime, ...), to 6 significant digits for the run card.

    >>> last_metrics([{"loss": 0.123456789, "learning_rate": 5e-06, "step": 1}, {"train_runtime": 9.87654321, "step": 1}])
    {'loss': 0.123457, 'learning_rate': 5e-06, 'step': 1, 'train_runtime': 9.87654}
    """
    from r1kit.callbacks import training_rows

    rows = training_rows(log_history)
    summary = next((entry for entry in reversed(log_history) if "train_runtime" in entry), {})
    merged = {**(rows[-1] if rows else {}), **summary}
    return {
        key: float(f"{value:.6g}") if isinstance(value, float) else value
        for key, value in merged.items()
        if isinstance(value, (int, float)) and key != "epoch"
    }


@dataclass
class StageResult:
    """What a training stage returns: the trained model and where its outputs went."""

    model: Any
    tokenizer: Any
    adapter_path: Path
    run_dir: Path
    steps: int
    interrupted: bool
    train_seconds: float
    metrics: dict
    log_history: list[dict]


def _restore_cpu_rank_locations() -> None:
    """Let ``torch.load`` map tensors onto a CPU rank's device (``cpu:0``, ``cpu:1``...).

    A multi-process run resumes with ``map_location=args.device`` (transformers 4.56,
    Trainer._load_optimizer_and_scheduler), which on CPU ranks is "cpu:<n>", a location torch
    2.13 does not restore by itself; torch's public ``register_package`` hook teaches it.
    """
    import torch

    torch.serialization.register_package(
        30, lambda obj: None, lambda obj, location: obj if location.startswith("cpu:") else None
    )


def run_trainer(stage: Stage, trainer: Any, tokenizer: Any, *, resume: bool) -> StageResult:
    """Train (resuming from the newest complete checkpoint), then save the stage's adapter and run card.

    Ctrl-C stops training and still saves the adapter trained so far. Every process calls
    this; files are written by the main process.
    """
    import time

    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from r1kit.adapters import save_adapter
    from r1kit.callbacks import StopOnNonFinite, write_run_files

    for default in (PrinterCallback, ProgressCallback):  # the kit's progress bar and files instead
        trainer.remove_callback(default)
    main = trainer.accelerator.is_main_process
    if trainer.args.world_size > 1 and trainer.args.device.type == "cpu":
        _restore_cpu_rank_locations()
    last = resume_checkpoint(stage.run_dir / "checkpoints", remove_incomplete=main) if resume else None
    trainer.accelerator.wait_for_everyone()
    resumed_from = None
    if last is not None:
        resumed_from = trainer_state(last).global_step
        if main:
            print(f"Resuming {stage.recipe.stage_name(stage.name)} from {last} (step {resumed_from})")
    interrupted = False
    start = time.perf_counter()
    try:
        if resumed_from is not None and resumed_from >= trainer.args.max_steps > 0:
            # already finished (a run killed while saving its adapter): transformers 4.56 would train
            # one step past max_steps, so take the checkpoint's weights and state as they are
            from r1kit.adapters import load_adapter_weights

            load_adapter_weights(trainer.model, last)
            trainer.state = trainer_state(last)
        else:
            trainer.train(resume_from_checkpoint=str(last) if last else None)
    except KeyboardInterrupt:
        interrupted = True
        if main:
            print(f"\nInterrupted at step {trainer.state.global_step}: saving the adapter trained so far.")
    seconds = time.perf_counter() - start
    history = trainer.state.log_history
    write_run_files(stage.run_dir, history, title=plot_title(stage))
    diverged = [p for c in trainer.callback_handler.callbacks if isinstance(c, StopOnNonFinite) for p in c.problems]
    if diverged:  # nothing of the broken steps is saved: no checkpoint (the callback cleared it), no adapter
        from r1kit.recipe import RecipeError

        raise RecipeError(
            f"{stage.title} stopped: {'; '.join(diverged)}. {stage.adapter_path} keeps what it held and no "
            f"checkpoint of the broken step was written; lower {stage.name}.learning_rate (or check the "
            "rewards and grpo.temperature) and run again"
        )
    steps = trainer.state.global_step
    card = run_card(
        stage,
        steps,
        last_metrics(history),
        interrupted=interrupted,
        train_seconds=round(seconds, 1),
        resumed_from_step=resumed_from,
        processes=trainer.accelerator.num_processes,
    )
    save_adapter(trainer.model, tokenizer, stage.adapter_path, card, trainer=trainer)
    trainer.model.eval()
    return StageResult(
        trainer.model,
        tokenizer,
        stage.adapter_path,
        stage.run_dir,
        steps,
        interrupted,
        seconds,
        card["metrics"],
        history,
    )
