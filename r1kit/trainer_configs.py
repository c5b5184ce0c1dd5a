"""The trainers' configs of a recipe on a given GPU: one function per stage, used by training and ``plan``.

``grpo_arguments`` and ``sft_arguments`` turn a recipe (its ``grpo:`` / ``sft:`` sections, the
kit's defaults under them, and the fields the kit owns) into the keyword arguments of
``trl.GRPOConfig`` / ``trl.SFTConfig`` for a :class:`r1kit.gpu.Gpu`. A real run passes the GPU it
detects; ``python -m r1kit plan RECIPE --gpu t4`` passes a profile, so what the plan shows is
what the trainer gets.

    args = grpo_arguments(recipe, PROFILES["t4"], backend=UnslothBackend(), run_dir=Path("runs/x"))
    args["fp16"], args["bf16"]   # (True, False): a T4 trains in float16
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from r1kit.backends import Backend
from r1kit.gpu import Gpu
from r1kit.recipe import GRPO_DEFAULTS, SFT_DEFAULTS, Recipe, RecipeError
from r1kit.runs import CHECKPOINTS, TENSORBOARD


def check_trl_fields(recipe: Recipe) -> None:
    """Every key of the ``grpo:`` and ``sft:`` sections is a field of the installed TRL's config.

    Imports TRL: on the unsloth backend call it after Unsloth is imported.
    """
    import dataclasses

    import trl
    from trl import GRPOConfig, SFTConfig

    for section, config in (("grpo", GRPOConfig), ("sft", SFTConfig)):
        known = {f.name for f in dataclasses.fields(config)}
        unknown = [key for key in getattr(recipe, section) if key not in known]
        if unknown:
            hints = [
                f"{key!r} (did you mean {close[0]!r}?)"
                if (close := difflib.get_close_matches(key, known, 1))
                else repr(key)
                for key in unknown
            ]
            raise RecipeError(
                f"{section}: {', '.join(hints)} not a field of trl.{config.__name__} (trl {trl.__version__})"
            )


def _dtype_flags(section: str, values: dict[str, Any], gpu: Gpu, backend: Backend) -> dict[str, bool]:
    """``bf16``/``fp16`` for the GPU; a recipe that sets them must ask for what the GPU and backend run."""
    wanted = {"bf16": gpu.dtype == "bfloat16", "fp16": gpu.dtype == "float16"}
    for flag, supported in (("bf16", gpu.bf16), ("fp16", gpu.cuda)):
        if values.get(flag) and not supported:
            raise RecipeError(
                f"{section}.{flag}: {gpu.describe()} cannot train in "
                f"{'bfloat16' if flag == 'bf16' else 'float16'}; remove it (the kit picks {gpu.dtype})"
            )
    if backend.matched_dtype_flags:
        # unsloth/models/rl.py: its trainer refuses bf16 on a float16 model ("Model is in float16
        # precision but you want to use bfloat16") and fp16 on a bfloat16 one; the kit loads gpu.dtype.
        for flag, value in wanted.items():
            if flag in values and bool(values[flag]) != value:
                raise RecipeError(
                    f"{section}.{flag}: the {backend.name} backend loads the model in {gpu.dtype} on "
                    f"{gpu.describe()}; remove {flag} or set it to {str(value).lower()}"
                )
    return {flag: bool(values.get(flag, wanted[flag])) for flag in wanted}


def _common(
    recipe: Recipe, stage: str, defaults: dict[str, Any], gpu: Gpu, backend: Backend, run_dir: Path
) -> dict[str, Any]:
    values = {**defaults, **getattr(recipe, stage)}
    return {
        **values,
        "output_dir": str(run_dir / CHECKPOINTS),
        "logging_dir": str(run_dir / TENSORBOARD),
        "run_name": recipe.stage_name(stage),
        "seed": recipe.seed,
        **_dtype_flags(stage, values, gpu, backend),
    }


def grpo_arguments(recipe: Recipe, gpu: Gpu, *, backend: Backend, run_dir: Path) -> dict[str, Any]:
    """Keyword arguments of ``trl.GRPOConfig`` for ``recipe`` on ``gpu``.

    >>> from r1kit.backends import UnslothBackend
    >>> from r1kit.gpu import PROFILES
    >>> from r1kit.recipe import recipe_from_dict
    >>> r = recipe_from_dict({"model": "m", "task": "gsm8k", "grpo": {"max_steps": 3}})
    >>> a = grpo_arguments(r, PROFILES["t4"], backend=UnslothBackend(), run_dir=Path("runs/gsm8k"))
    >>> a["max_steps"], a["fp16"], a["bf16"], a["output_dir"], a["reward_weights"][:2]
    (3, True, False, 'runs/gsm8k/checkpoints', [1.0, 1.0])
    """
    args = _common(recipe, "grpo", GRPO_DEFAULTS, gpu, backend, run_dir)
    args["reward_weights"] = list(recipe.reward_weights().values())
    try:
        backend.check_grpo_arguments(args)
    except ValueError as error:
        raise RecipeError(str(error)) from None
    return args


def sft_arguments(recipe: Recipe, gpu: Gpu, *, backend: Backend, run_dir: Path) -> dict[str, Any]:
    """Keyword arguments of ``trl.SFTConfig`` for the cold start of ``recipe`` on ``gpu``."""
    return _common(recipe, "sft", SFT_DEFAULTS, gpu, backend, run_dir)
