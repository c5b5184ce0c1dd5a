"""What the training stages share: where a stage writes, the model it starts from, resuming, saving.

A recipe runs in stages that chain: the optional cold start (``sft``), then ``grpo``. Stage S
of recipe R writes ``<output_dir>/<R.stage_name(S)>/`` (checkpoints, TensorBoard logs,
metrics, samples) and leaves its adapter in ``<adapter_dir>/<R.stage_name(S)>/``, whose run
card names the stage it started from. GRPO after a cold start starts from the cold start's
adapter. Each stage resumes on its own from the newest *complete* checkpoint of its run.

    stage = Stage.of(recipe, "grpo")
    model, tokenizer = load_stage_model(stage)        # fresh LoRA, or the previous stage's weights
    last = resume_checkpoint(stage.run_dir / "checkpoints")
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1kit.gpu import Gpu
from r1kit.recipe import Recipe, RecipeError

STAGES = ("sft", "grpo")
# What transformers 4.56 writes into a checkpoint, in this order, trainer_state.json last
# (trainer.py, Trainer._save_checkpoint): a folder holding all of them was written to the end.
CHECKPOINT_FILES = ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")
# Under DeepSpeed (recipes/accelerate/zero2.yaml, zero3.yaml) there is no optimizer.pt or scheduler.pt:
# the engine's save_checkpoint writes them into global_step<N>/ and then "latest", naming that folder
# (Trainer._save_optimizer_and_scheduler); trainer_state.json still comes last.
DEEPSPEED_CHECKPOINT_FILES = ("adapter_model.safetensors", "latest", "trainer_state.json")


@dataclass(frozen=True)
class Stage:
    """One stage of a recipe on this machine: its name, backend, GPU and folders."""

    recipe: Recipe
    name: str
    backend: str
    gpu: Gpu

    @classmethod
    def of(cls, recipe: Recipe, name: str, *, backend: str | None = None, gpu: Gpu | None = None) -> Stage:
        """The stage ``name`` of ``recipe`` on this machine (backend and GPU detected unless given)."""
        from r1kit.gpu import detect
        from r1kit.models import select_backend

        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
        return cls(recipe, name, backend or select_backend(recipe.backend), gpu or detect())

    @property
    def run_dir(self) -> Path:
        return Path(self.recipe.output_dir) / self.recipe.stage_name(self.name)

    @property
    def adapter_path(self) -> Path:
        return Path(self.recipe.adapter_dir) / self.recipe.stage_name(self.name)

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


def begin_stage(recipe: Recipe, name: str) -> Stage:
    """Stage ``name`` of ``recipe`` on this machine, ready to train.

    Unsloth is imported first where it runs (it must come before TRL), the ``grpo:``/``sft:``
    fields are checked against the installed TRL, the run folder exists and the seed is set.
    """
    stage = Stage.of(recipe, name)
    if stage.backend == "unsloth":
        from r1kit.unsloth_backend import import_unsloth_first

        import_unsloth_first()
    from transformers import set_seed

    from r1kit.config import check_trl_fields

    check_trl_fields(recipe)
    stage.run_dir.mkdir(parents=True, exist_ok=True)
    set_seed(recipe.seed)
    return stage


def stage_callbacks(stage: Stage, *, title: str, show_progress: bool, extra: list[Any] | None) -> list[Any]:
    """The kit's callbacks of a stage: its run files, a progress bar (unless asked not to), the caller's."""
    from r1kit.callbacks import Progress, RunFiles

    bar = [Progress(stage.name.upper() if stage.name == "grpo" else "cold start")] if show_progress else []
    return [RunFiles(stage.run_dir, title), *bar, *(extra or [])]


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be resumed from (a file missing or unreadable), or None when it is complete."""
    deepspeed = (folder / "latest").is_file()
    needed = DEEPSPEED_CHECKPOINT_FILES if deepspeed else CHECKPOINT_FILES
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        return f"{', '.join(missing)} missing"
    if deepspeed:
        tag = (folder / "latest").read_text(encoding="utf-8", errors="replace").strip()
        if not tag or not (folder / tag).is_dir():
            return f"DeepSpeed state {tag or '(unnamed)'}/ missing"
    try:
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]
    except (ValueError, KeyError, OSError) as error:
        return f"trainer_state.json unreadable ({error})"
    return None


def _step(folder: Path) -> int:
    return int(folder.name.rsplit("-", 1)[1])


def resume_checkpoint(checkpoints: Path, *, remove_incomplete: bool = True) -> Path | None:
    """The newest complete checkpoint in ``checkpoints`` (None if there is none).

    A newer checkpoint that a kill left half-written is named with the reason it was skipped
    and, with ``remove_incomplete``, deleted: the trainer would otherwise count it when it
    rotates old checkpoints, and write the same step's folder again over its remains.
    """
    folders = sorted(
        (p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and p.name[11:].isdigit()), key=_step, reverse=True
    )
    for folder in folders:
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder
        print(
            f"Skipping {folder.name}: incomplete ({problem}), as a run killed while saving leaves it"
            + ("; removed." if remove_incomplete else ".")
        )
        if remove_incomplete:
            shutil.rmtree(folder, ignore_errors=True)
    return None


def load_stage_model(stage: Stage) -> tuple[Any, Any]:
    """The recipe's model with a LoRA adapter: fresh, or holding the previous stage's weights."""
    from r1kit.adapters import load_adapter_weights
    from r1kit.models import load_model

    recipe = stage.recipe
    previous = stage.previous
    if previous is not None and not (previous.adapter_path / "adapter_model.safetensors").is_file():
        raise RecipeError(
            f"the recipe has a cold start, and its adapter {previous.adapter_path} does not exist yet: "
            f"run `python -m r1kit sft RECIPE` first (`python -m r1kit demo RECIPE` runs every stage)"
        )
    model, tokenizer = load_model(
        recipe.model,
        backend=stage.backend,
        lora_rank=recipe.lora_rank,
        lora_alpha=recipe.lora_alpha,
        target_modules=recipe.target_modules,
        max_seq_length=recipe.max_seq_length,
        load_in_4bit=recipe.load_in_4bit,
        gpu_memory_utilization=recipe.gpu_memory_utilization,
        dtype=stage.gpu.dtype,
        seed=recipe.seed,
    )
    if previous is not None:
        load_adapter_weights(model, previous.adapter_path)
    return model, tokenizer


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
    """The last logged training metrics and the run's summary (runtime, ...), rounded for the run card.

    >>> last_metrics([{"loss": 0.12345, "step": 1}, {"train_runtime": 9.87654, "step": 1}])
    {'loss': 0.1235, 'step': 1, 'train_runtime': 9.8765}
    """
    from r1kit.callbacks import training_rows

    rows = training_rows(log_history)
    summary = next((entry for entry in reversed(log_history) if "train_runtime" in entry), {})
    merged = {**(rows[-1] if rows else {}), **summary}
    return {
        key: round(float(value), 4) if isinstance(value, float) else value
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
    from r1kit.callbacks import write_run_files

    for default in (PrinterCallback, ProgressCallback):  # the kit's progress bar and files instead
        trainer.remove_callback(default)
    main = trainer.accelerator.is_main_process
    if trainer.args.world_size > 1 and trainer.args.device.type == "cpu":
        _restore_cpu_rank_locations()
    last = resume_checkpoint(stage.run_dir / "checkpoints", remove_incomplete=main) if resume else None
    trainer.accelerator.wait_for_everyone()
    resumed_from = None
    if last is not None:
        resumed_from = json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]
        if main:
            print(f"Resuming {stage.recipe.stage_name(stage.name)} from {last} (step {resumed_from})")
    interrupted = False
    start = time.perf_counter()
    try:
        if resumed_from is not None and resumed_from >= trainer.args.max_steps > 0:
            # already finished (a run killed while saving its adapter): transformers 4.56 would train
            # one step past max_steps, so take the checkpoint's weights and state as they are
            from transformers import TrainerState

            from r1kit.adapters import load_adapter_weights

            load_adapter_weights(trainer.model, last)
            trainer.state = TrainerState.load_from_json(str(last / "trainer_state.json"))
        else:
            trainer.train(resume_from_checkpoint=str(last) if last else None)
    except KeyboardInterrupt:
        interrupted = True
        if main:
            print(f"\nInterrupted at step {trainer.state.global_step}: saving the adapter trained so far.")
    seconds = time.perf_counter() - start
    history = trainer.state.log_history
    title = f"{stage.recipe.stage_name(stage.name)}: {stage.name.upper()}"
    write_run_files(stage.run_dir, history, title=title)
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
