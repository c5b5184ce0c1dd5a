"""The cold start: supervised fine-tuning with LoRA on worked solutions our solvers write (R1's first stage).

    python -m r1kit sft recipes/cpu_demo.yaml             # or, in Python:
    result = sft(load_recipe("recipes/cpu_demo.yaml"))

DeepSeek-R1 did not start RL from the bare model: a small set of long worked solutions in the
target format came first (the "cold start"), then GRPO. Here the worked solutions are traces
that :mod:`data_prep.traces` builds from the task's own solvers (digit-by-digit sums with
carries; a short Countdown search), for ``sft_size`` training problems (never the held-out
ones). TRL's SFTTrainer trains on the completion only, which is exactly the text GRPO and
evaluation ask the model to continue: the prompt rendered as GRPOTrainer renders it (prefill
included), the trace after the prefill, and the end-of-turn token. The adapter lands in
``<adapter_dir>/<run_name>-sft/``; GRPO then starts from it. The run resumes like GRPO's.
"""

from __future__ import annotations

from typing import Any

from r1kit.recipe import Recipe
from r1kit.runs import StageResult, begin_stage, load_stage_model, run_trainer, stage_callbacks


def sft_dataset(recipe: Recipe, tokenizer: Any) -> Any:
    """``sft_size`` prompt/completion rows of worked solutions for training problems (held-out ones excluded)."""
    from datasets import Dataset

    from data_prep import prefill_of
    from r1kit.generation import render_prompt
    from r1kit.tasks import build_datasets, get_task

    task = get_task(recipe.task)
    train_ds, _ = build_datasets(recipe, train_size=max(recipe.train_size, recipe.sft_size))
    rows = []
    for row in train_ds.select(range(min(recipe.sft_size, len(train_ds)))):
        trace = task.trace(row, recipe.prompt_style or task.prompt_style)
        prefill = prefill_of(row["prompt"])
        rows.append({"prompt": render_prompt(row["prompt"], tokenizer), "completion": trace[len(prefill) :]})
    return Dataset.from_list(rows)


def sft(
    recipe: Recipe,
    *,
    model: Any = None,
    tokenizer: Any = None,
    callbacks: list[Any] | None = None,
    resume: bool = True,
    show_progress: bool = True,
) -> StageResult:
    """Run the cold start of ``recipe``; returns the model and where the stage's files went.

    ``model``/``tokenizer``: a model already loaded with a fresh LoRA (default: load the recipe's).
    """
    stage = begin_stage(recipe, "sft")
    from trl import SFTConfig, SFTTrainer

    from r1kit.config import sft_arguments

    args = SFTConfig(**sft_arguments(recipe, stage.gpu, backend=stage.backend, run_dir=stage.run_dir))
    if model is None:
        model, tokenizer = load_stage_model(stage)
    callbacks = stage_callbacks(
        stage, title=f"{recipe.run_name}: cold start", show_progress=show_progress, extra=callbacks
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=sft_dataset(recipe, tokenizer),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    return run_trainer(stage, trainer, tokenizer, resume=resume)
