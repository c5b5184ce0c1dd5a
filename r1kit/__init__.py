"""r1kit: load a model, cold-start it, train it with GRPO and LoRA, evaluate it, save and reuse the adapter.

Importing r1kit imports nothing heavy: the unsloth backend needs Unsloth imported before
transformers, trl and peft, so those load only when a function that needs them runs.

    from r1kit import load_recipe, sft, train
    recipe = load_recipe("recipes/cpu_demo.yaml")
    sft(recipe)                 # the cold start (recipes with cold_start: true)
    result = train(recipe)      # GRPO, from the cold start's adapter

Command line: ``python -m r1kit --help``.
"""

from __future__ import annotations

import importlib
from typing import Any

# These four share their module's name. Importing a submodule binds it to the package attribute
# of the same name (`from r1kit import train` itself imports r1kit.train), which would hide a
# lazily exported function, so they are bound here, after their modules. Their modules import
# only the kit's own light modules at import time (tests/test_recipe.py checks this).
from r1kit.evaluate import evaluate as evaluate
from r1kit.plan import plan as plan
from r1kit.sft import sft as sft
from r1kit.train import train as train

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "load_model": "r1kit.models",
    "select_backend": "r1kit.models",
    "Recipe": "r1kit.recipe",
    "RecipeError": "r1kit.recipe",
    "load_recipe": "r1kit.recipe",
    "save_adapter": "r1kit.adapters",
    "load_adapter": "r1kit.adapters",
    "make_generator": "r1kit.generation",
    "compare": "r1kit.evaluate",
    "get_task": "r1kit.tasks",
    "run_demo": "r1kit.demo",
}

__all__ = sorted([*_EXPORTS, "evaluate", "plan", "sft", "train"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'r1kit' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
