"""r1kit: load a model, train it with GRPO and LoRA, evaluate it, save and reuse the adapter.

Importing r1kit imports nothing heavy: the unsloth backend needs Unsloth imported before
transformers, trl and peft, so those load only when a function that needs them runs.

    from r1kit import load_recipe, train
    result = train(load_recipe("recipes/cpu_demo.yaml"))

Command line: ``python -m r1kit --help``.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "load_model": "r1kit.models",
    "select_backend": "r1kit.models",
    "Recipe": "r1kit.recipe",
    "RecipeError": "r1kit.recipe",
    "load_recipe": "r1kit.recipe",
    "train": "r1kit.train",
    "save_adapter": "r1kit.adapters",
    "load_adapter": "r1kit.adapters",
    "generate": "r1kit.adapters",
    "evaluate": "r1kit.evaluate",
    "compare": "r1kit.evaluate",
    "get_task": "r1kit.tasks",
    "run_demo": "r1kit.demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'r1kit' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
