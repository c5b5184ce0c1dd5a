"""The GPU lock files: each holds its pin file's pins and every third-party module the kit imports.

``make gpu-lock`` resolves gpu_requirements.txt and gpu_requirements_t4.txt for Colab's Python
(3.12, Linux x86_64) into gpu_requirements.lock and gpu_requirements_t4.lock. A fresh GPU machine
installs only what those name, so a module the kit imports that no lock holds (tensorboard and
matplotlib were, until Colab's preinstalled copies stopped hiding it) fails there at start. The
kit's imports are read with ``ast`` from r1kit/, rewards/ and data_prep/, lazy ones included.
"""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

import pytest
from pinned_sources import normalize, parse_pins, read_pins

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"gpu_requirements.txt": "gpu_requirements.lock", "gpu_requirements_t4.txt": "gpu_requirements_t4.lock"}
FIRST_PARTY = {"r1kit", "rewards", "data_prep"}
# modules the GPU path does not import, each with the reason
NOT_ON_THE_GPU_PATH = {
    "IPython": "r1kit/notebook.py's display, inside a notebook, which brings IPython itself",
}


def kit_imports() -> dict[str, list[str]]:
    """Top-level third-party module -> the kit files that import it."""
    found: dict[str, list[str]] = {}
    for package in sorted(FIRST_PARTY):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY | {"__future__"}:
                        found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def distributions(module: str) -> set[str]:
    """The distributions that provide ``module``: as installed here, else its own name (unsloth, vllm)."""
    installed = metadata.packages_distributions().get(module)
    return {normalize(name) for name in installed} if installed else {normalize(module)}


def locked(lock: str) -> dict[str, list[str]]:
    path = ROOT / lock
    if not path.is_file():
        pytest.fail(f"{lock} is missing: run `make gpu-lock`")
    return parse_pins(path.read_text(encoding="utf-8").splitlines())


def test_the_scan_sees_the_gpu_stack():
    # guards against a scan that finds nothing and passes vacuously
    assert {"torch", "trl", "transformers", "peft", "unsloth", "vllm", "matplotlib"} <= set(kit_imports())


@pytest.mark.parametrize(("pins", "lock"), LOCKS.items())
def test_every_module_the_kit_imports_is_in_the_lock(pins, lock):
    held = locked(lock)
    missing = {
        module: where
        for module, where in kit_imports().items()
        if module not in NOT_ON_THE_GPU_PATH and not distributions(module) & set(held)
    }
    assert not missing, f"{lock} holds no distribution for {missing}: pin it in {pins}, then `make gpu-lock`"


def reported_to() -> set[str]:
    """The loggers (report_to) of the kit's defaults and of every recipe: transformers imports them at the trainer's start."""
    from r1kit.recipe import GRPO_DEFAULTS, SFT_DEFAULTS, load_recipe

    sections = [GRPO_DEFAULTS, SFT_DEFAULTS]
    for path in sorted((ROOT / "recipes").glob("*.yaml")):
        recipe = load_recipe(path)
        sections += [recipe.grpo, recipe.sft]
    names = set()
    for section in sections:
        value = section.get("report_to") or []
        names |= {value} if isinstance(value, str) else set(value)
    return names - {"none"}


@pytest.mark.parametrize(("pins", "lock"), LOCKS.items())
def test_every_logger_the_recipes_report_to_is_in_the_lock(pins, lock):
    # transformers 4.56.2 raises when report_to names tensorboard and it is not installed
    # (integrations/integration_utils.py, TensorBoardCallback)
    names = reported_to()
    assert "tensorboard" in names
    missing = names - set(locked(lock))
    assert not missing, f"report_to names {sorted(missing)}, which {lock} lacks: pin it in {pins}, then `make gpu-lock`"


@pytest.mark.parametrize(("pins", "lock"), LOCKS.items())
def test_the_lock_is_made_from_its_pin_file(pins, lock):
    # a pin changed since the lock was made: the lock no longer says what installs
    held = locked(lock)
    stale = {
        name: (versions, held.get(name))
        for name, versions in read_pins(ROOT / pins).items()
        if held.get(name) != versions
    }
    assert not stale, f"{lock} disagrees with {pins} (pin, lock): {stale}; run `make gpu-lock`"
