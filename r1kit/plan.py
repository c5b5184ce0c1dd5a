"""What a run of a recipe would do on a given GPU, computed without that GPU: ``python -m r1kit plan``.

    python -m r1kit plan recipes/gsm8k_llama.yaml --gpu t4          # a table for people
    python -m r1kit plan recipes/gsm8k_llama.yaml --gpu a100 --json # one JSON object

The plan comes from the code a real run uses: :func:`r1kit.backends.choose_backend` for the
backend, :class:`r1kit.gpu.Gpu` for the dtype the loaders and the trainer share,
:func:`r1kit.trainer_configs.grpo_arguments` for the trainer's config, the recipe's own length check,
and ``trl.GRPOConfig`` itself, whose ``__post_init__`` enforces TRL's batch rules
(trl/trainer/grpo_config.py: the generation batch must hold whole groups of
``num_generations``). A combination that cannot run raises :class:`PlanError` with a one-line
reason; the command prints it and exits with 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1kit.gpu import Gpu
from r1kit.recipe import Recipe, RecipeError
from r1kit.trainer_configs import grpo_arguments, sft_arguments


class PlanError(ValueError):
    """A recipe that cannot run on the planned GPU; the message is the one-line reason."""


def _trl_config(kind: str, args: dict[str, Any]) -> Any:
    """``trl.GRPOConfig``/``SFTConfig`` built from ``args``, its checks run on this machine.

    The dtype flags are left out here (they are checked against the planned GPU, which this
    machine may not have: TrainingArguments refuses fp16 without CUDA).
    """
    import trl

    config = getattr(trl, kind)
    try:
        return config(**{**args, "bf16": False, "fp16": False})
    except (ValueError, TypeError) as error:
        raise PlanError(f"trl.{kind}: {str(error).splitlines()[0]}") from None


def plan(recipe: Recipe, gpu: Gpu) -> dict[str, Any]:
    """What ``recipe`` would do on ``gpu``; PlanError when it cannot run there.

    >>> from r1kit.gpu import PROFILES
    >>> from r1kit.recipe import load_recipe
    >>> p = plan(load_recipe("recipes/countdown_r1_distill.yaml"), PROFILES["t4"])
    >>> p["backend"], p["dtype"], p["save_total_limit"], p["prompts_per_step"]
    ('unsloth', 'float16', None, 4)
    """
    from r1kit.validate import validate_recipe

    try:
        # what train checks, for that GPU: plan accepts exactly what train accepts
        backend = validate_recipe(recipe, gpu=gpu)
        args = grpo_arguments(recipe, gpu, backend=backend, run_dir=recipe.run_dir("grpo"))
        sft = sft_arguments(recipe, gpu, backend=backend, run_dir=recipe.run_dir("sft"))
    except (RecipeError, RuntimeError) as error:
        raise PlanError(str(error)) from None
    config = _trl_config("GRPOConfig", args)
    if recipe.cold_start:
        _trl_config("SFTConfig", sft)
    unsloth = backend.engine_context  # the unsloth backend's own settings: 4-bit, vLLM's share and context
    return {
        "gpu": gpu.describe(),
        "backend": backend.name,
        "model": recipe.model,
        "load_in_4bit": unsloth and recipe.load_in_4bit,
        "dtype": gpu.dtype,
        "gpu_memory_utilization": recipe.gpu_memory_utilization if unsloth else None,
        "generation": backend.generation(recipe),
        "max_seq_length": recipe.max_seq_length if unsloth else None,
        "max_prompt_length": config.max_prompt_length,
        "longest_prompt": longest_prompt(recipe, backend),
        "max_completion_length": config.max_completion_length,
        "eval_max_new_tokens": recipe.eval_tokens,
        "num_generations": config.num_generations,
        "prompts_per_step": config.generation_batch_size // config.num_generations,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "steps_per_generation": config.steps_per_generation,
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "loss_type": config.loss_type,
        "beta": config.beta,
        "informative_groups": recipe.trains_informative_groups,
        "eval_k": recipe.eval_k,
        "eval_temperature": recipe.sample_temperature if recipe.eval_k > 1 else None,
        "lora_rank": recipe.lora_rank,
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "report_to": config.report_to,
        "cold_start": {  # the arguments SFTConfig gets (None: TRL's default, epochs instead of steps)
            "sft_size": recipe.sft_size,
            "per_device_train_batch_size": sft["per_device_train_batch_size"],
            "gradient_accumulation_steps": sft["gradient_accumulation_steps"],
            "max_steps": sft.get("max_steps"),
            "learning_rate": sft["learning_rate"],
        }
        if recipe.cold_start
        else None,
        "exports": list(backend.exports),
    }


def longest_prompt(recipe: Recipe, backend: Any) -> int | str:
    """Tokens of the recipe's longest prompt, measured as a run measures it (r1kit.tasks.build_datasets).

    A model or dataset this machine cannot read offline (a hub id that is not cached) is said
    instead: the run measures it, and drops what does not fit, before its model loads.
    """

    from huggingface_hub import try_to_load_from_cache

    from r1kit.models import resolve_model
    from r1kit.tasks import build_datasets

    source = resolve_model(recipe.model)
    if not Path(source).is_dir() and not isinstance(try_to_load_from_cache(source, "tokenizer_config.json"), str):
        return f"not measured here: {recipe.model}'s tokenizer is not on this machine (a plan asks no hub)"
    try:
        tokenizer = backend.load_tokenizer(recipe.model)
        return build_datasets(recipe, tokenizer).longest_prompt
    except (RuntimeError, OSError):
        return f"not measured here: {recipe.model}'s tokenizer or the task's data is not on this machine"


def format_plan(name: str, result: dict[str, Any]) -> str:
    """The plan as aligned ``key: value`` lines, for people."""
    width = max(len(key) for key in result)
    lines = [f"Plan for {name}:"]
    for key, value in result.items():
        shown = "keep all" if key == "save_total_limit" and value is None else value
        lines.append(f"  {key.ljust(width)}  {shown}")
    return "\n".join(lines)
