"""Recipes: one YAML file per training run, read into a checked :class:`Recipe`.

A recipe names the model, the task, the rewards and the GRPO settings; every field has help
text (``python -m r1kit train --help-recipe`` prints it) and can be overridden on the command
line with ``--set key=value`` (``--set task_args.digits=3`` reaches into a mapping). Values are
read with ``yaml.safe_load`` and checked against the field types; nothing is executed.

>>> r = recipe_from_dict({"model": "smollm2-135m-instruct", "task": "arithmetic", "max_steps": 5})
>>> r.run_name, r.reward_weights()
('arithmetic', {'gsm8k_correctness': 1.0, 'int': 1.0})
>>> apply_overrides(r, ["max_steps=7", "task_args.digits=2"]).max_steps
7
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from r1kit.models import BACKENDS, DEFAULT_TARGET_MODULES


class RecipeError(ValueError):
    """A recipe that cannot run, with a message that names the field and the fix."""


def _f(default: Any, help: str) -> Any:
    """A dataclass field with help text (mutable defaults are copied per instance)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


REQUIRED: Any = dataclasses.MISSING


@dataclass
class Recipe:
    """Everything one GRPO run needs; see each field's help."""

    # Model
    model: str = field(metadata={"help": "alias `smollm2-135m-instruct`, a local model folder or a hub id"})
    task: str = field(metadata={"help": "task name from r1kit.tasks: arithmetic, countdown, countdown_boxed, gsm8k"})
    backend: str = _f("auto", "auto (unsloth when CUDA and Unsloth are present, else transformers), unsloth or transformers")
    lora_rank: int = _f(16, "LoRA rank: larger learns more per step but is slower")
    lora_alpha: typing.Optional[int] = _f(None, "LoRA alpha (scale = alpha / rank); empty means equal to the rank")
    target_modules: list[str] = _f(list(DEFAULT_TARGET_MODULES), "projections that get LoRA; drop some if out of memory")
    max_seq_length: int = _f(1024, "unsloth only: prompt + completion tokens the engine reserves")
    load_in_4bit: bool = _f(True, "unsloth only: 4-bit weights (False: 16-bit LoRA, about 4x the memory)")
    gpu_memory_utilization: float = _f(0.6, "unsloth only: share of GPU memory for vLLM; lower if out of memory")
    # Task
    task_args: dict[str, Any] = _f({}, "options for the task's dataset builder, e.g. {digits: 2, operators: '+'}")
    prompt_style: typing.Optional[str] = _f(None, "prompt style from data_prep.PROMPT_STYLES; empty means the task's own")
    train_size: int = _f(2000, "training problems generated (problems also in the evaluation set are dropped)")
    rewards: dict[str, float] = _f({}, "reward name -> weight (names from rewards.REWARDS); empty means the task's defaults")
    # GRPO
    max_steps: int = _f(100, "optimizer steps")
    learning_rate: float = _f(5e-6, "AdamW learning rate (LoRA on a tiny model tolerates far more than a full fine-tune)")
    num_generations: int = _f(8, "completions sampled per prompt (the GRPO group)")
    prompts_per_step: int = _f(1, "prompts per optimizer step; each brings num_generations completions")
    gradient_accumulation_steps: int = _f(1, "micro-batches per optimizer step")
    max_prompt_length: int = _f(512, "prompt tokens kept (longer prompts are cut from the left)")
    max_completion_length: int = _f(256, "generated tokens per completion")
    temperature: float = _f(1.0, "sampling temperature of the training completions")
    beta: float = _f(0.0, "KL penalty; 0 skips the reference model (faster, less memory)")
    lr_scheduler_type: str = _f("constant", "learning-rate schedule: constant, cosine, linear, ...")
    warmup_ratio: float = _f(0.0, "share of the steps spent warming the learning rate up")
    max_grad_norm: float = _f(1.0, "gradient clipping (the GPU recipes use 0.1)")
    gradient_checkpointing: bool = _f(False, "trade compute for memory; off on CPU, where it only slows things down")
    save_steps: int = _f(10, "checkpoint every this many steps (re-running resumes from the last one)")
    grpo_args: dict[str, Any] = _f({}, "extra trl.GRPOConfig fields, passed as they are (e.g. optim: adamw_8bit)")
    # Run
    run_name: str = _f("", "name of the run folder and the saved adapter; empty means the recipe file's name")
    output_dir: str = _f("runs", "run folders (checkpoints, logs, samples, plot) go in output_dir/run_name")
    adapter_dir: str = _f("saved_adapters", "the final adapter goes to adapter_dir/run_name")
    seed: int = _f(0, "seed of the training problems, the LoRA initialisation and the sampling")
    # Evaluation
    eval_size: int = _f(100, "held-out problems for the before/after evaluation")
    eval_seed: int = _f(1234, "seed of the held-out problems (keep it apart from seed)")
    eval_max_new_tokens: int = _f(256, "generated tokens per evaluation completion")
    eval_batch_size: int = _f(32, "sequences generated together during evaluation")
    eval_k: int = _f(1, "sampled completions per problem for pass@k and maj@k (1: greedy only)")
    eval_temperature: float = _f(1.0, "temperature of the pass@k samples")

    def reward_weights(self) -> dict[str, float]:
        """The rewards with their weights: the recipe's, else the task's defaults."""
        if self.rewards:
            return dict(self.rewards)
        from r1kit.tasks import get_task

        return dict(get_task(self.task).default_rewards)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data (for the run card and YAML)."""
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(Recipe)}
_TYPES = typing.get_type_hints(Recipe)


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """``value`` if it fits ``annotation`` (ints are accepted as floats), else RecipeError."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        return _check_type(name, value, args[0])
    if origin is list:
        if not isinstance(value, list):
            raise RecipeError(f"{name} must be a list of {_type_name(args[0])}, got {value!r}")
        return [_check_type(f"{name}[{i}]", item, args[0]) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{name} must be a mapping (key: value), got {value!r}")
        return {str(k): _check_type(f"{name}.{k}", v, args[1]) for k, v in value.items()}
    if annotation is Any:
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
    if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        raise RecipeError(f"{name} must be {_type_name(annotation)}, got {type(value).__name__} {value!r}")
    return value


def _check_values(recipe: Recipe) -> None:
    """Names that must resolve and numbers that must be positive."""
    from data_prep.prompts import get_style
    from r1kit.tasks import get_task
    from rewards import get_reward

    if recipe.backend not in BACKENDS:
        raise RecipeError(f"backend must be one of {', '.join(BACKENDS)}, got {recipe.backend!r}")
    for name, check in (("task", get_task), ("prompt_style", get_style)):
        value = getattr(recipe, name)
        try:
            if value is not None:
                check(value)
        except (KeyError, ValueError) as error:
            raise RecipeError(f"{name}: {error.args[0]}") from None
    for reward in recipe.rewards:
        try:
            get_reward(reward)
        except KeyError as error:
            raise RecipeError(f"rewards: {error.args[0]}") from None
    for name in ("lora_rank", "train_size", "max_steps", "num_generations", "prompts_per_step",
                 "gradient_accumulation_steps", "max_prompt_length", "max_completion_length", "save_steps",
                 "eval_size", "eval_max_new_tokens", "eval_batch_size", "eval_k"):
        if getattr(recipe, name) < 1:
            raise RecipeError(f"{name} must be at least 1, got {getattr(recipe, name)}")
    if recipe.num_generations < 2:
        raise RecipeError("num_generations must be at least 2: GRPO compares completions within a group")
    if recipe.learning_rate <= 0:
        raise RecipeError(f"learning_rate must be positive, got {recipe.learning_rate}")


def recipe_from_dict(data: Any, *, default_name: str = "") -> Recipe:
    """Check plain data (e.g. parsed YAML) and build a :class:`Recipe`; RecipeError if it cannot run."""
    if not isinstance(data, dict):
        raise RecipeError(f"a recipe must be a mapping of field: value, got {type(data).__name__}")
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        hints = [f"{key!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(str(key), FIELDS, 1))
                 else repr(key) for key in unknown]
        raise RecipeError(f"unknown recipe field(s): {', '.join(hints)}; see `python -m r1kit train --help-recipe`")
    missing = [name for name, f in FIELDS.items()
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and name not in data]
    if missing:
        raise RecipeError(f"missing required recipe field(s): {', '.join(missing)}")
    values = {key: _check_type(key, value, _TYPES[key]) for key, value in data.items()}
    recipe = Recipe(**values)
    if not recipe.run_name:
        recipe.run_name = default_name or recipe.task
    _check_values(recipe)
    return recipe


def load_recipe(path: str | os.PathLike[str], overrides: list[str] | None = None) -> Recipe:
    """Read a YAML recipe file, apply ``key=value`` overrides, check it."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {str(path)!r} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RecipeError(f"{path} is not valid YAML: {error}") from None
    data = _merge_overrides(data if data is not None else {}, overrides or [])
    return recipe_from_dict(data, default_name=path.stem)


def _merge_overrides(data: Any, overrides: list[str]) -> Any:
    """``data`` with each ``key=value`` (or ``mapping.key=value``) set; values read as YAML."""
    if not isinstance(data, dict):
        return data
    data = {key: (dict(value) if isinstance(value, dict) else value) for key, value in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {item!r} must look like key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as error:
            raise RecipeError(f"override {item!r}: the value is not valid YAML ({error})") from None
        head, dot, sub = key.strip().partition(".")
        if dot:
            inner = data.get(head) or {}
            if not isinstance(inner, dict):
                raise RecipeError(f"override {item!r}: {head} is not a mapping")
            data[head] = {**inner, sub: value}
        else:
            data[head] = value
    return data


def apply_overrides(recipe: Recipe, overrides: list[str]) -> Recipe:
    """A checked copy of ``recipe`` with ``key=value`` overrides applied."""
    return recipe_from_dict(_merge_overrides(recipe.to_dict(), overrides), default_name=recipe.run_name)


def recipe_help() -> str:
    """One line per field: name, type, default and help, in recipe order."""
    lines = []
    for name, f in FIELDS.items():
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        lines.append(f"  {name} ({_type_name(_TYPES[name])}, default {default!r}): {f.metadata['help']}")
    return "\n".join(lines)
