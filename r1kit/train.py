"""GRPO training from a recipe: TRL's GRPOTrainer with LoRA, logs, plot, checkpoints, saved adapter.

    python -m r1kit train recipes/cpu_demo.yaml            # or, in Python:
    result = train(load_recipe("recipes/cpu_demo.yaml"))

What a run leaves behind (``<output_dir>/<run_name>/``): ``checkpoints/`` (every ``save_steps``;
re-running the same recipe resumes from the last one), ``metrics.csv`` (per-step reward means),
``samples.jsonl`` and ``success_samples.jsonl`` (completions with their rewards),
``rewards.png`` (the reward curve). The adapter lands in ``<adapter_dir>/<run_name>/``
atomically, with its tokenizer and ``run_card.json``. Ctrl-C stops the run and still saves the
adapter trained so far.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1kit.recipe import Recipe, RecipeError
from r1kit.tasks import get_task

PLOT_FILE = "rewards.png"


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained model and where its outputs went."""

    model: Any
    tokenizer: Any
    adapter_path: Path
    run_dir: Path
    steps: int
    interrupted: bool
    train_seconds: float
    metrics: dict


def _row_key(row: dict) -> str:
    return json.dumps(row["prompt"], sort_keys=True)


def _distinct(dataset: Any) -> Any:
    """``dataset`` without repeated problems (the first of each is kept)."""
    seen: set[str] = set()
    keep = [i for i, row in enumerate(dataset) if not (_row_key(row) in seen or seen.add(_row_key(row)))]
    return dataset if len(keep) == len(dataset) else dataset.select(keep)


def build_datasets(recipe: Recipe) -> tuple[Any, Any]:
    """(train, held-out eval) datasets: ``eval_size`` distinct problems, and training rows that are none of them."""
    task = get_task(recipe.task)
    options = {"prompt_style": recipe.prompt_style, **recipe.task_args}
    eval_ds = _distinct(task.build_dataset(recipe.eval_size, seed=recipe.eval_seed, **options))
    if len(eval_ds) < recipe.eval_size:  # repeats drawn: draw more and keep the first distinct ones
        eval_ds = _distinct(task.build_dataset(8 * recipe.eval_size, seed=recipe.eval_seed, **options))
        if len(eval_ds) < recipe.eval_size:
            raise RecipeError(f"the task has only {len(eval_ds)} distinct problems with these task_args; "
                              f"lower eval_size or make the problems harder")
        eval_ds = eval_ds.select(range(recipe.eval_size))
    train_ds = task.build_dataset(recipe.train_size, seed=recipe.seed, **options)
    held_out = {_row_key(row) for row in eval_ds}
    train_ds = train_ds.filter(lambda row: _row_key(row) not in held_out)
    if len(train_ds) < recipe.prompts_per_step:
        raise RecipeError(
            f"only {len(train_ds)} training problems remain after removing the held-out ones: "
            "raise train_size or use a task with more distinct problems"
        )
    return train_ds, eval_ds


def prepare_backend(recipe: Recipe) -> str:
    """Resolve the recipe's backend; for unsloth, import Unsloth now, before trl/transformers/peft."""
    from r1kit.models import select_backend

    backend = select_backend(recipe.backend)
    if backend == "unsloth":
        from r1kit.unsloth_backend import import_unsloth_first

        import_unsloth_first()
    return backend


def load_recipe_model(recipe: Recipe) -> tuple[Any, Any]:
    """The recipe's model with a fresh LoRA adapter, on its backend."""
    prepare_backend(recipe)
    from r1kit.models import load_model

    return load_model(
        recipe.model,
        backend=recipe.backend,
        lora_rank=recipe.lora_rank,
        lora_alpha=recipe.lora_alpha,
        target_modules=recipe.target_modules,
        max_seq_length=recipe.max_seq_length,
        load_in_4bit=recipe.load_in_4bit,
        gpu_memory_utilization=recipe.gpu_memory_utilization,
    )


def grpo_config(recipe: Recipe, output_dir: Path) -> Any:
    """The trl.GRPOConfig of a recipe (``grpo_args`` last, so they win)."""
    import torch
    from trl import GRPOConfig

    known = {f.name for f in dataclasses.fields(GRPOConfig)}
    unknown = sorted(set(recipe.grpo_args) - known)
    if unknown:
        raise RecipeError(f"grpo_args: {', '.join(unknown)} are not trl.GRPOConfig fields")
    report_to = "tensorboard" if _tensorboard_installed() else "none"
    args = {
        "output_dir": str(output_dir),
        "max_steps": recipe.max_steps,
        "learning_rate": recipe.learning_rate,
        "num_generations": recipe.num_generations,
        "per_device_train_batch_size": recipe.prompts_per_step * recipe.num_generations,
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
        "max_prompt_length": recipe.max_prompt_length,
        "max_completion_length": recipe.max_completion_length,
        "temperature": recipe.temperature,
        "beta": recipe.beta,
        "lr_scheduler_type": recipe.lr_scheduler_type,
        "warmup_ratio": recipe.warmup_ratio,
        "max_grad_norm": recipe.max_grad_norm,
        "gradient_checkpointing": recipe.gradient_checkpointing,
        "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": recipe.save_steps,
        "save_total_limit": 2,
        "report_to": report_to,
        "logging_dir": str(output_dir.parent / "tensorboard"),
        "seed": recipe.seed,
        "disable_tqdm": True,
        **recipe.grpo_args,
    }
    return GRPOConfig(**args)


def _tensorboard_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def run_card(recipe: Recipe, steps: int, metrics: dict, **extra: Any) -> dict:
    """The run card saved with the adapter: recipe, base model, steps, metrics."""
    return {"base_model": recipe.model, "run_name": recipe.run_name, "steps": steps,
            "metrics": metrics, "recipe": recipe.to_dict(), **extra}


def train(
    recipe: Recipe,
    *,
    model: Any = None,
    tokenizer: Any = None,
    callbacks: list[Any] | None = None,
    resume: bool = True,
    show_progress: bool = True,
) -> TrainResult:
    """Train ``recipe`` with GRPO; returns the model and where the run's files went.

    ``model``/``tokenizer``: a model already loaded with LoRA (default: load the recipe's).
    ``resume``: continue from the run's last checkpoint when there is one.
    """
    prepare_backend(recipe)
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from transformers.trainer_utils import get_last_checkpoint
    from trl import GRPOTrainer

    from r1kit.adapters import save_adapter
    from r1kit.callbacks import RunLogger, truncate_logs
    from r1kit.plots import plot_rewards
    from rewards import get_reward

    run_dir = Path(recipe.output_dir) / recipe.run_name
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    set_seed(recipe.seed)

    # Model, data, rewards
    if model is None:
        model, tokenizer = load_recipe_model(recipe)
    train_ds, _ = build_datasets(recipe)
    weights = recipe.reward_weights()
    reward_funcs = [get_reward(name) for name in weights]
    task = get_task(recipe.task)
    args = grpo_config(recipe, checkpoints)
    args.reward_weights = list(weights.values())

    # Trainer with our progress bar and logs instead of the default printer
    logger = RunLogger(run_dir, (task.success_reward.__name__, task.success_score), show_progress=show_progress)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=reward_funcs, args=args,
                          train_dataset=train_ds, callbacks=[logger, *(callbacks or [])])
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    logger.trainer = trainer
    trainer._generate_and_score_completions = logger.time_generation(trainer._generate_and_score_completions)

    # Resume from the last checkpoint, if any
    last = get_last_checkpoint(str(checkpoints)) if resume else None
    resumed_from = trainer.state.global_step
    if last is not None:
        resumed_from = json.loads((Path(last) / "trainer_state.json").read_text())["global_step"]
        print(f"Resuming {recipe.run_name} from {last} (step {resumed_from})")
    truncate_logs(run_dir, resumed_from)

    # Train; Ctrl-C keeps what was learned so far
    interrupted = False
    start = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=last)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\nInterrupted at step {trainer.state.global_step}: saving the adapter trained so far.")
    seconds = time.perf_counter() - start

    # Plot, adapter, run card
    metrics = _last_metrics(trainer)
    if (run_dir / "metrics.csv").is_file():
        plot_rewards(run_dir / "metrics.csv", run_dir / PLOT_FILE, title=f"{recipe.run_name}: GRPO rewards")
    adapter_path = Path(recipe.adapter_dir) / recipe.run_name
    card = run_card(recipe, trainer.state.global_step, metrics, interrupted=interrupted,
                    train_seconds=round(seconds, 1), resumed_from_step=resumed_from if last else None)
    save_adapter(trainer.model, tokenizer, adapter_path, card)
    model.eval()
    return TrainResult(trainer.model, tokenizer, adapter_path, run_dir, trainer.state.global_step,
                       interrupted, seconds, metrics)


def _last_metrics(trainer: Any) -> dict:
    """The last logged training metrics (reward means, loss, runtime), rounded for the run card."""
    history = [entry for entry in trainer.state.log_history if "reward" in entry]
    summary = next((entry for entry in reversed(trainer.state.log_history) if "train_runtime" in entry), {})
    last = history[-1] if history else {}
    keys = [k for k in last if k == "reward" or (k.startswith("rewards/") and k.endswith("/mean"))]
    return {**{k: round(float(last[k]), 4) for k in keys},
            **{k: round(float(v), 4) for k, v in summary.items() if isinstance(v, (int, float))}}
