"""Recipes: one YAML file per training run, read into a checked :class:`Recipe`.

A recipe names the model, the task, the rewards, an optional cold start and the GRPO settings.
The kit's own fields (model, LoRA, task, evaluation) sit at the top level, each with help text
(``python -m r1kit train --help-recipe``); the trainers' settings sit in two sections whose keys
are TRL's own config fields, ``grpo:`` (trl.GRPOConfig) and ``sft:`` (trl.SFTConfig), as
open-r1's recipes use them, so nothing is copied under a second name. Any field can be
overridden with ``--set key=value`` (``--set grpo.learning_rate=1e-4`` reaches into a section).
Values are read with ``yaml.safe_load`` and checked; nothing is executed. The section keys are
checked against the installed TRL by :func:`r1kit.config.check_trl_fields`, which imports TRL
and therefore runs after Unsloth is imported (see :mod:`r1kit.unsloth_backend`).

>>> r = recipe_from_dict({"model": "smollm2-135m-instruct", "task": "arithmetic", "grpo": {"max_steps": 5}})
>>> r.run_name, r.grpo_value("max_steps"), r.grpo_value("logging_steps")
('arithmetic', 5, 1)
>>> apply_overrides(r, ["grpo.max_steps=7", "task_args.digits=2"]).grpo
{'max_steps': 7}
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from r1kit.backends import BACKENDS


class RecipeError(ValueError):
    """A recipe that cannot run, with a message that names the field and the fix."""


def _f(default: Any, help: str) -> Any:
    """A dataclass field with help text (mutable defaults are copied per instance)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


# All attention and MLP projections, as the notebooks use; drop q/k/v/o_proj if out of memory.
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# GRPOConfig / SFTConfig fields the kit sets itself, from the recipe's top-level fields.
KIT_OWNED = {
    "output_dir": "output_dir (the run folder is output_dir/run_name)",
    "logging_dir": "output_dir (TensorBoard logs go to the run folder)",
    "seed": "seed",
    "run_name": "run_name",
    "reward_weights": "rewards (a mapping of reward name: weight)",
}
# Unsloth rewrites the defaults of the GRPOConfig / SFTConfig it generates (unsloth 2026.8.18,
# unsloth/models/rl.py, `replacements`), so a field a recipe leaves out would take Unsloth's value
# on a GPU and TRL's on the CPU and in `plan`. The kit states every field Unsloth rewrites, with
# TRL 0.22.2's own value (so CPU run, plan and GPU run agree) unless a comment says otherwise; a
# recipe's grpo:/sft: section overrides any of them. tests/test_unsloth_rewrites.py reads the
# rewrite list from the pinned rl.py and fails when a rewritten field is missing here.
# The fields both stages share (Unsloth's value after each):
_TRAINER_DEFAULTS: dict[str, Any] = {
    "per_device_train_batch_size": 8,  # Unsloth: 4
    "gradient_accumulation_steps": 1,  # Unsloth: 2 (an sft: section would see its traces twice)
    "weight_decay": 0.0,  # Unsloth: 0.001
    "warmup_ratio": 0.0,  # Unsloth: 0.1
    "optim": "adamw_torch_fused",  # Unsloth: adamw_8bit; transformers' default with torch >= 2.8
    "data_seed": None,  # Unsloth: 3407 (its pattern for `seed` matches data_seed); None: the recipe's seed
    "logging_nan_inf_filter": True,  # Unsloth: False (a nan/inf step would enter the logged loss)
    "torch_empty_cache_steps": None,  # Unsloth: 250 (empties the CUDA cache every 250 steps)
    "logging_steps": 1,  # Unsloth: 1 too (TRL: 10): every step in TensorBoard and the reward plot
    "report_to": ["tensorboard"],  # Unsloth: none (TRL: every installed integration)
    # no effect on a run of the kit, which passes no eval_dataset and always an output_dir
    "per_device_eval_batch_size": 8,  # Unsloth: 4
    "eval_accumulation_steps": None,  # Unsloth: 2
    "overwrite_output_dir": False,  # Unsloth: None (its pattern for `output_dir` matches it)
}
# The kit's defaults for trl.GRPOConfig fields a recipe leaves out (TRL's own defaults otherwise).
GRPO_DEFAULTS: dict[str, Any] = {
    "max_prompt_length": 512,  # TRL's default too; named here so lengths can be checked without TRL
    "max_completion_length": 256,  # idem
    "num_generations": 8,  # idem (Unsloth: 8 too)
    **_TRAINER_DEFAULTS,
    "learning_rate": 1e-6,  # Unsloth: 5e-5
    # Unsloth: 0.001. 0.0 loads no reference model; the logged loss then sits near 0 (each group's
    # advantages sum to 0, so the loss is not a progress signal): watch the rewards instead
    "beta": 0.0,
    "loss_type": "dapo",  # Unsloth: bnpo; dapo normalises by the tokens of the whole accumulated batch
    # With loss_type dapo, Unsloth's GRPOConfig sets these two whatever the recipe says (rl.py,
    # "The DAPO paper recommends"); the same values here keep CPU and GPU alike. epsilon_high clips
    # only reused samples (gradient_accumulation_steps not a multiple of steps_per_generation x
    # num_iterations); otherwise the ratio it clips is exactly 1.
    # TRL: False. A completion cut at max_completion_length is left out of the loss; when the limit
    # is too short for every completion (a smoke run), nothing trains: set it false there
    "mask_truncated_completions": True,
    "epsilon_high": 0.28,  # TRL: None (= epsilon, 0.2)
    "vllm_mode": "server",  # Unsloth: colocate; its own engine (fast_inference) is colocated regardless
    "generation_kwargs": None,  # Unsloth: {} (the same: no extra sampling arguments)
    "save_strategy": "steps",
    "save_steps": 10,
}
# The kit's defaults for trl.SFTConfig fields of the cold start.
SFT_DEFAULTS: dict[str, Any] = {
    **_TRAINER_DEFAULTS,
    "learning_rate": 2e-5,  # Unsloth: 5e-5
    "padding_free": False,  # Unsloth: None (it may then turn padding-free batching on); set true for that
    "save_strategy": "steps",
    "save_steps": 20,
}


@dataclass
class Recipe:
    """Everything one run needs: the kit's own fields, and TRL's config fields under ``grpo`` and ``sft``."""

    # Model
    model: str = field(metadata={"help": "alias `smollm2-135m-instruct`, a local model folder or a hub id"})
    task: str = field(metadata={"help": "task name from r1kit.tasks: arithmetic, countdown, countdown_boxed, gsm8k"})
    backend: str = _f("auto", "auto (unsloth on a CUDA GPU, transformers without one), unsloth or transformers")
    lora_rank: int = _f(16, "LoRA rank: larger learns more per step but is slower")
    lora_alpha: int | None = _f(None, "LoRA alpha (scale = alpha / rank); empty means equal to the rank")
    target_modules: list[str] = _f(
        list(DEFAULT_TARGET_MODULES), "projections that get LoRA; drop some if out of memory"
    )
    max_seq_length: int = _f(1024, "unsloth: the vLLM engine's context; must hold the prompt plus the completion")
    load_in_4bit: bool = _f(True, "unsloth only: 4-bit weights (False: 16-bit LoRA, about 4x the memory)")
    gpu_memory_utilization: float = _f(0.6, "unsloth only: share of GPU memory for vLLM; lower if out of memory")
    # Task
    task_args: dict[str, Any] = _f({}, "options for the task's dataset builder, e.g. {digits: 2, operators: '+'}")
    prompt_style: str | None = _f(None, "prompt style from data_prep.PROMPT_STYLES; empty means the task's own")
    train_size: int = _f(2000, "training problems generated (problems also in the evaluation set are dropped)")
    rewards: dict[str, float] = _f(
        {},
        "reward name -> weight (names from rewards.REWARDS; weight 0 logs a reward "
        "without training on it); empty means the task's defaults",
    )
    # Cold start: supervised fine-tuning on solver-made worked solutions before GRPO (R1's cold start)
    cold_start: bool = _f(False, "run the cold start (SFT on traces) before GRPO; GRPO then starts from its adapter")
    sft_size: int = _f(256, "worked solutions (traces) made for the cold start, from training problems")
    sft: dict[str, Any] = _f(
        {}, f"trl.SFTConfig fields of the cold start, as TRL names them (kit defaults: {SFT_DEFAULTS})"
    )
    # GRPO
    grpo: dict[str, Any] = _f(
        {},
        "trl.GRPOConfig fields, as TRL names them, e.g. {max_steps: 100, learning_rate: 5e-6}"
        f" (kit defaults: {GRPO_DEFAULTS})",
    )
    informative_groups: bool | None = _f(
        None,
        "GRPO trains only on completions whose group disagreed: zero-advantage ones skip the forward and "
        "backward pass, the loss unchanged (r1kit.grpo); needs grpo.beta 0; empty means on when beta is 0",
    )
    # Run
    run_name: str = _f("", "name of the run folder and the saved adapter; empty means the recipe file's name")
    output_dir: str = _f("runs", "run folders (checkpoints, TensorBoard logs, samples, plot) go in output_dir/run_name")
    adapter_dir: str = _f("saved_adapters", "the final adapter goes to adapter_dir/run_name")
    seed: int = _f(0, "seed of the training problems, the LoRA initialisation and the sampling")
    # Evaluation
    eval_size: int = _f(100, "held-out problems for the before/after evaluation")
    eval_seed: int = _f(1234, "seed of the held-out problems (keep it apart from seed)")
    eval_max_new_tokens: int | None = _f(
        None, "generated tokens per evaluation completion; empty means grpo.max_completion_length, as in training"
    )
    eval_batch_size: int = _f(32, "sequences generated together during evaluation")
    eval_k: int = _f(1, "sampled completions per problem for pass@k and maj@k (1: greedy only)")
    eval_temperature: float | None = _f(
        None, "temperature of the pass@k samples; empty means grpo.temperature, the one training samples at"
    )

    def reward_weights(self) -> dict[str, float]:
        """The rewards with their weights: the recipe's, else the task's defaults."""
        if self.rewards:
            return dict(self.rewards)
        from r1kit.tasks import get_task

        return dict(get_task(self.task).default_rewards)

    def grpo_value(self, key: str) -> Any:
        """A GRPOConfig field as this recipe sets it (the kit's default when it does not; None: TRL's default)."""
        return self.grpo.get(key, GRPO_DEFAULTS.get(key))

    @property
    def trains_informative_groups(self) -> bool:
        """Whether GRPO skips zero-advantage completions (as set, else when ``grpo.beta`` is 0)."""
        if self.informative_groups is None:
            return not self.grpo_value("beta")
        return self.informative_groups

    @property
    def sample_temperature(self) -> float:
        """Temperature of evaluation's samples: as set, else GRPO's (TRL's default 1.0 when unset)."""
        if self.eval_temperature is not None:
            return self.eval_temperature
        value = self.grpo_value("temperature")
        return 1.0 if value is None else float(value)

    @property
    def eval_tokens(self) -> int:
        """Generated tokens per evaluation completion: as set, else the training completion length."""
        return self.eval_max_new_tokens or self.grpo_value("max_completion_length")

    def stage_name(self, stage: str) -> str:
        """Run and adapter name of a stage: ``run_name`` for GRPO, ``run_name-sft`` for the cold start."""
        return self.run_name if stage == "grpo" else f"{self.run_name}-{stage}"

    def run_dir(self, stage: str) -> Path:
        """A stage's run folder (checkpoints, logs, samples): ``output_dir/<stage name>``."""
        return Path(self.output_dir) / self.stage_name(stage)

    def adapter_path(self, stage: str) -> Path:
        """Where a stage's adapter is saved: ``adapter_dir/<stage name>``."""
        return Path(self.adapter_dir) / self.stage_name(stage)

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
    if origin in (typing.Union, types.UnionType):  # Optional[X], X | None
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
    """Names that must resolve, numbers that must be positive, lengths that must fit."""
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
    for name in ("lora_rank", "train_size", "sft_size", "max_seq_length", "eval_size", "eval_batch_size", "eval_k"):
        if getattr(recipe, name) < 1:
            raise RecipeError(f"{name} must be at least 1, got {getattr(recipe, name)}")
    if recipe.eval_max_new_tokens is not None and recipe.eval_max_new_tokens < 1:
        raise RecipeError(f"eval_max_new_tokens must be at least 1 (or empty), got {recipe.eval_max_new_tokens}")
    if not 0.0 < recipe.gpu_memory_utilization <= 1.0:  # what load_unsloth_model accepts
        raise RecipeError(f"gpu_memory_utilization must be in (0, 1], got {recipe.gpu_memory_utilization}")
    for section in ("grpo", "sft"):
        for key in getattr(recipe, section):
            if key in KIT_OWNED:
                raise RecipeError(f"{section}.{key} is set by the kit: use the recipe's {KIT_OWNED[key]} instead")
    if recipe.informative_groups and recipe.grpo_value("beta"):
        raise RecipeError(
            "informative_groups skips zero-advantage completions, whose KL term is not zero with "
            f"grpo.beta {recipe.grpo_value('beta')}: set grpo.beta: 0 or informative_groups: false"
        )
    for key in ("max_prompt_length", "max_completion_length", "num_generations", "max_steps"):
        value = recipe.grpo_value(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise RecipeError(f"grpo.{key} must be a positive integer, got {value!r}")
    _check_ranges(recipe)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


# Values TRL accepts in its configs but that fail, or train on nothing, later: section key ->
# (test, what the value must be). A section's value is the recipe's, else the kit's default.
_SECTION_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "per_device_train_batch_size": (lambda v: _integer(v) and v >= 1, "a positive integer"),
    "gradient_accumulation_steps": (lambda v: _integer(v) and v >= 1, "a positive integer"),
    "learning_rate": (lambda v: _finite(v) and v > 0, "a positive number"),
    "num_train_epochs": (lambda v: _finite(v) and v > 0, "a positive number"),
}
_GRPO_RANGES = {
    # GRPO samples its completions: 0 divides the logits by zero and trains into NaN
    "temperature": (lambda v: _finite(v) and v > 0, "a positive number (GRPO samples; 0 would divide by zero)"),
    "top_p": (lambda v: _finite(v) and 0 < v <= 1, "a number in (0, 1]"),
    "beta": (lambda v: _finite(v) and v >= 0, "a number of at least 0"),
}
# sft.max_steps -1 (TRL's default) is transformers' "no step limit: train num_train_epochs"
_SFT_RANGES = {"max_steps": (lambda v: _integer(v) and (v >= 1 or v == -1), "a positive integer, or -1 for epochs")}
MAX_SEED = 2**32 - 1  # numpy's seeds (transformers' set_seed, datasets' shuffle) are unsigned 32-bit


def _check_ranges(recipe: Recipe) -> None:
    """Ranges of the kit's fields and of the trainers' settings that fail only after a model loads."""
    name = recipe.run_name
    if name in ("", ".", "..") or any(c in name for c in "/\\\0") or name != name.strip():
        raise RecipeError(
            f"run_name must be one plain folder name (no '/', no '..'), got {name!r}: "
            "the run goes to output_dir/<run_name> and the adapter to adapter_dir/<run_name>"
        )
    for field_name in ("output_dir", "adapter_dir"):
        if not getattr(recipe, field_name).strip():
            raise RecipeError(f"{field_name} is empty: name a folder, e.g. {field_default(field_name)!r}")
    for field_name in ("seed", "eval_seed"):
        if not 0 <= getattr(recipe, field_name) <= MAX_SEED:
            raise RecipeError(f"{field_name} must be from 0 to {MAX_SEED}, got {getattr(recipe, field_name)}")
    if not recipe.target_modules or not all(m.strip() for m in recipe.target_modules):
        raise RecipeError(
            f"target_modules must name the projections that get LoRA, e.g. [q_proj, v_proj]; got {recipe.target_modules!r}"
        )
    if recipe.lora_alpha is not None and recipe.lora_alpha < 1:
        raise RecipeError(f"lora_alpha must be positive (or empty: the rank), got {recipe.lora_alpha}")
    if recipe.eval_temperature is not None and not (_finite(recipe.eval_temperature) and recipe.eval_temperature >= 0):
        raise RecipeError(f"eval_temperature must be a number of at least 0 (or empty), got {recipe.eval_temperature}")
    for reward, weight in recipe.rewards.items():
        if not math.isfinite(weight):  # TRL sums weighted rewards with nansum: a NaN weight would drop the reward
            raise RecipeError(f"rewards.{reward}: a weight must be a finite number, got {weight}")
    if recipe.rewards and not any(recipe.rewards.values()):
        raise RecipeError(
            "rewards: every weight is 0, so GRPO would train on no reward: give at least one a non-zero weight "
            "(weight 0 only logs a reward)"
        )
    for section, defaults, ranges in (
        ("grpo", GRPO_DEFAULTS, {**_SECTION_RANGES, **_GRPO_RANGES}),
        ("sft", SFT_DEFAULTS, {**_SECTION_RANGES, **_SFT_RANGES}),
    ):
        values = {**defaults, **getattr(recipe, section)}
        for key, (test, what) in ranges.items():
            if key in values and not test(values[key]):
                raise RecipeError(f"{section}.{key} must be {what}, got {values[key]!r}")


def check_lengths(recipe: Recipe) -> None:
    """Prompt plus completion must fit the vLLM engine's context (``max_seq_length``), in training and evaluation.

    Unsloth gives vLLM ``max_model_len = max_seq_length``; a longer request is cut short without a
    word, so an over-long recipe trains and evaluates on truncated completions. Only a backend with
    such an engine (``backend.engine_context``) applies the rule.
    """
    prompt, completion = recipe.grpo_value("max_prompt_length"), recipe.grpo_value("max_completion_length")
    for name, value in (("grpo.max_prompt_length", prompt), ("grpo.max_completion_length", completion)):
        if value is None:  # TRL reads None as "no limit"; vLLM's context still has one
            raise RecipeError(
                f"{name} is empty (no limit), but prompt plus completion must fit max_seq_length "
                f"({recipe.max_seq_length}): set {name} to a number of tokens"
            )
    for what, tokens, name in (
        ("training", completion, "grpo.max_completion_length"),
        (
            "evaluation",
            recipe.eval_tokens,
            "eval_max_new_tokens" if recipe.eval_max_new_tokens else "grpo.max_completion_length",
        ),
    ):
        if prompt + tokens > recipe.max_seq_length:
            raise RecipeError(
                f"{what} needs grpo.max_prompt_length + {name} = {prompt} + {tokens} = {prompt + tokens} tokens, "
                f"more than max_seq_length ({recipe.max_seq_length}): raise max_seq_length or lower the lengths"
            )


def recipe_from_dict(data: Any, *, default_name: str = "") -> Recipe:
    """Check plain data (e.g. parsed YAML) and build a :class:`Recipe`; RecipeError if it cannot run."""
    if not isinstance(data, dict):
        raise RecipeError(f"a recipe must be a mapping of field: value, got {type(data).__name__}")
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        hints = [
            f"{key!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(str(key), FIELDS, 1))
            else repr(key)
            for key in unknown
        ]
        raise RecipeError(f"unknown recipe field(s): {', '.join(hints)}; see `python -m r1kit train --help-recipe`")
    missing = [
        name
        for name, f in FIELDS.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and name not in data
    ]
    if missing:
        raise RecipeError(f"missing required recipe field(s): {', '.join(missing)}")
    values = {key: _check_type(key, value, _TYPES[key]) for key, value in data.items()}
    for section in ("grpo", "sft"):  # YAML 1.1 reads 1e-4 (no dot) as a string; TRL wants the number
        if section in values:
            values[section] = {
                key: float(v) if isinstance(v, str) and _FLOAT.fullmatch(v.strip()) else v
                for key, v in values[section].items()
            }
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
        raw = path.read_bytes()
    except OSError as error:
        raise RecipeError(f"recipe file {path} cannot be read ({error.strerror or error})") from None
    try:
        data = yaml.safe_load(raw)  # bytes: YAML reads UTF-8, or UTF-16/32 that starts with a byte-order mark
    except yaml.reader.ReaderError as error:
        raise RecipeError(
            f"{path} is not a YAML text file (UTF-8, or UTF-16 with a byte-order mark): {error.reason} "
            f"at byte {error.position}"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        what = " ".join(part for part in (error.context, error.problem) if part)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise RecipeError(f"{path} is not valid YAML: {what}{where}") from None
    except yaml.YAMLError as error:
        raise RecipeError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from None
    data = _merge_overrides(data if data is not None else {}, overrides or [])
    return recipe_from_dict(data, default_name=path.stem)


def _merge_overrides(data: Any, overrides: list[str]) -> Any:
    """``data`` with each ``key=value`` (or ``mapping.key=value``) set; values read as YAML."""
    values = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {item!r} must look like key=value")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as error:
            raise RecipeError(f"override {item!r}: the value is not valid YAML ({error})") from None
    return set_fields(data, values)


def set_fields(data: Any, values: dict[str, Any]) -> Any:
    """A copy of recipe ``data`` with ``values`` set; ``"grpo.max_steps"`` reaches into a section.

    >>> set_fields({"grpo": {"max_steps": 5, "beta": 0.0}}, {"grpo.max_steps": 9, "seed": 1})
    {'grpo': {'max_steps': 9, 'beta': 0.0}, 'seed': 1}
    """
    if not isinstance(data, dict):
        return data
    data = {key: (dict(value) if isinstance(value, dict) else value) for key, value in data.items()}
    for key, value in values.items():
        head, dot, sub = key.partition(".")
        if dot:
            inner = data.get(head) or {}
            if not isinstance(inner, dict):
                raise RecipeError(f"override {key}: {head} is not a mapping")
            data[head] = {**inner, sub: value}
        else:
            data[head] = value
    return data


def apply_overrides(recipe: Recipe, overrides: list[str]) -> Recipe:
    """A checked copy of ``recipe`` with ``key=value`` overrides applied."""
    return recipe_from_dict(_merge_overrides(recipe.to_dict(), overrides), default_name=recipe.run_name)


def field_default(name: str) -> Any:
    """The default of recipe field ``name`` (the one home of the loading defaults).

    >>> field_default("lora_rank"), field_default("max_seq_length")
    (16, 1024)
    """
    f = FIELDS[name]
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


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
