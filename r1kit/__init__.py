"""r1kit: load a model, cold-start it, train it with GRPO and LoRA, evaluate it, save and reuse the adapter.

Importing r1kit imports nothing heavy: the unsloth backend needs Unsloth imported before
transformers, trl and peft, so those load only when a function that needs them runs.

    from r1kit import Pipeline, load_recipe
    pipe = Pipeline(load_recipe("recipes/cpu_demo.yaml"))
    pipe.run()                  # base evaluation, cold start, GRPO, each evaluated; or one step at a time

Command line: ``python -m r1kit --help``.
"""

from __future__ import annotations

import importlib
from typing import Any

# These two share their module's name. Importing a submodule binds it to the package attribute
# of the same name (`from r1kit import plan` itself imports r1kit.plan), which would hide a
# lazily exported function, so they are bound here, after their modules. Their modules import
# only the kit's own light modules at import time (tests/test_recipe.py checks this).
from r1kit.evaluate import evaluate as evaluate
from r1kit.plan import plan as plan

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "Pipeline": "r1kit.pipeline",
    "choose_backend": "r1kit.backends",
    "Recipe": "r1kit.recipe",
    "RecipeError": "r1kit.recipe",
    "load_recipe": "r1kit.recipe",
    "save_adapter": "r1kit.adapters",
    "load_adapter": "r1kit.adapters",
    "compare": "r1kit.evaluate",
    "get_task": "r1kit.tasks",
    "run_demo": "r1kit.demo",
}

__all__ = sorted([*_EXPORTS, "evaluate", "plan"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'r1kit' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
