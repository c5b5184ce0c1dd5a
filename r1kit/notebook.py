"""What only the notebooks need: the install and GPU checks, the recipe with its parameters and smoke mode, tables.

The notebooks stay thin: the stages run through :class:`r1kit.pipeline.Pipeline`, one cell per
step, and what is left here only shows things. A notebook loads a YAML recipe from recipes/ (the
same file ``python -m r1kit train`` takes), overrides it from its parameters cell (None keeps
the recipe's value) and, with ``SMOKE=True``, shrinks it to a CPU run of a few seconds per step
on the offline SmolLM2 model (what CI executes).

    recipe = notebook_recipe("countdown_qwen.yaml", smoke=False, overrides={"grpo.max_steps": 100, "lora_rank": None})
    pipe = Pipeline(recipe)

Nothing heavy is imported at import time: on the unsloth backend Unsloth has to be imported
before transformers, trl and peft, which the pipeline does first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep import prefill_of
from r1kit.generation import Generator
from r1kit.recipe import Recipe, load_recipe, recipe_from_dict, set_fields
from r1kit.tasks import get_task
from rewards import get_reward

CHECKOUT = Path(__file__).resolve().parents[1]  # the kit's folder: recipes/, runs/, saved_adapters/
RECIPES = CHECKOUT / "recipes"
# SMOKE=True: every cell runs on CPU in seconds. Lengths are tiny, so scores mean nothing. The
# trainers' sections are replaced whole: the GPU recipes' optimizers (8-bit) need CUDA.
SMOKE_OVERRIDES: dict[str, Any] = {
    "model": "smollm2-135m-instruct",
    "backend": "transformers",
    "lora_rank": 4,
    "lora_alpha": 8,
    "target_modules": ["q_proj", "v_proj"],
    "train_size": 16,
    "sft_size": 4,
    "eval_size": 2,
    "eval_max_new_tokens": 8,
    "eval_batch_size": 8,
    "eval_k": 2,
    "grpo": {
        "max_steps": 2,
        "learning_rate": 1e-4,
        "num_generations": 2,
        "per_device_train_batch_size": 2,
        "max_prompt_length": 256,
        "max_completion_length": 8,
        "save_steps": 1,
        "gradient_checkpointing": False,
    },
    "sft": {"max_steps": 2, "per_device_train_batch_size": 2, "save_steps": 1, "learning_rate": 1e-4},
}


def pinned(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """(name, version) of each ``name==version`` line of a pin file, following ``-r`` includes.

    >>> ("vllm", "0.11.2") in pinned(CHECKOUT / "gpu_requirements_t4.txt")
    True
    """
    pins = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins += pinned(Path(path).parent / line[3:].strip())
        elif "==" in line:
            name, version = (part.strip() for part in line.split("==", 1))
            pins.append((name, version))
    return pins


def check_installed(path: str | os.PathLike[str]) -> None:
    """Stop (SystemExit, with what to do) when what ``path`` pins is not what is installed."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    wrong = [
        f"{name} {installed(name)} (pinned {wanted})" for name, wanted in pinned(path) if installed(name) != wanted
    ]
    if wrong:
        raise SystemExit(
            f"The GPU stack did not install as {Path(path).name} pins it: {', '.join(wrong)}. "
            "Read pip's messages above, then Runtime > Restart session and run this cell again."
        )
    print(f"GPU stack installed from {Path(path).name}; the kit is in {Path(path).parent}")


def check_gpu() -> str | None:
    """Print what torch sees and return the GPU's name, or None (with what to do) on CPU."""
    import torch

    from r1kit.gpu import detect

    gpu = detect()
    if not gpu.cuda:
        print(
            "No CUDA GPU is visible (torch.cuda.is_available() is False).\n"
            "Colab: Runtime > Change runtime type > T4 GPU (or better), then run all again.\n"
            "Without a GPU only SMOKE = True runs: a tiny CPU run of every cell on SmolLM2-135M."
        )
        return None
    print(f"GPU: {gpu.describe()}; bf16: {gpu.bf16}; torch {torch.__version__}")
    return gpu.name


def smoke_recipe(data: Mapping[str, Any]) -> dict[str, Any]:
    """Recipe data shrunk for a CPU smoke run; hub datasets switch to the bundled fixture.

    >>> d = smoke_recipe({"model": "unsloth/Qwen2.5-3B-Instruct", "task_args": {"source": "hub"}})
    >>> d["model"], d["backend"], d["task_args"], d["grpo"]["max_steps"]
    ('smollm2-135m-instruct', 'transformers', {'source': 'fixture'}, 2)
    """
    task_args = dict(data.get("task_args") or {})
    if "source" in task_args:
        task_args["source"] = "fixture"
    return {**data, **SMOKE_OVERRIDES, "task_args": task_args}


def notebook_recipe(
    source: str | os.PathLike[str],
    *,
    smoke: bool,
    output_dir: str | os.PathLike[str] = "",
    overrides: Mapping[str, Any] | None = None,
) -> Recipe:
    """The recipe ``recipes/<source>`` (or the one a saved adapter folder was trained with) with its parameters.

    ``overrides`` maps recipe fields (``"grpo.max_steps"`` reaches into a section) to values;
    None keeps the recipe's value, so the recipe file stays the one source of truth.
    ``smoke``: shrink the run with :data:`SMOKE_OVERRIDES` afterwards. Runs land in
    ``output_dir/runs/<run>`` and adapters in ``output_dir/saved_adapters/<run>`` (``output_dir``
    "" is this checkout).
    """
    from r1kit.adapters import read_run_card

    if Path(source).is_dir():
        data = read_run_card(source).get("recipe")
        if data is None:
            raise ValueError(f"{source} has no run card with a recipe: pass a folder that r1kit saved")
    else:
        data = load_recipe(source if Path(source).is_file() else RECIPES / source).to_dict()
    data = set_fields(data, {key: value for key, value in (overrides or {}).items() if value is not None})
    base = Path(output_dir or CHECKOUT)
    data.update(output_dir=str(base / "runs"), adapter_dir=str(base / "saved_adapters"))
    return recipe_from_dict(smoke_recipe(data) if smoke else data)


def show(markdown: str) -> None:
    """Render Markdown in the notebook (print it elsewhere)."""
    try:
        from IPython.display import Markdown, display
    except ImportError:
        print(markdown)
        return
    display(Markdown(markdown))


def _cell(text: str, limit: int = 160) -> str:
    text = text if len(text) <= limit else text[:limit] + " …"
    return text.replace("|", "\\|").replace("\n", "⏎ ")


def reward_table(recipe: Recipe, rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown table: the recipe's rewards on the task's two example completions of each row."""
    task = get_task(recipe.task)
    weights = recipe.reward_weights()
    lines = ["| sample | completion | " + " | ".join(weights) + " |", "|---" * (len(weights) + 2) + "|"]
    for i, row in enumerate(rows):
        columns = {key: [value] for key, value in row.items() if key != "prompt"}
        for label, text in task.examples(row, recipe.prompt_style):
            completion = [{"role": "assistant", "content": text}]
            scores = [get_reward(name)([completion], prompts=[row["prompt"]], **columns)[0] for name in weights]
            lines.append(f"| {i + 1}: {label} | {_cell(text)} | " + " | ".join(f"{s:g}" for s in scores) + " |")
    return "\n".join(lines)


def side_by_side(
    generator: Generator, rows: Sequence[Mapping[str, Any]], adapter: str | os.PathLike[str], *, max_new_tokens: int
) -> str:
    """Markdown table: greedy answers of the base model and of the saved ``adapter`` to the same prompts."""
    prompts = [row["prompt"] for row in rows]
    answers = {}
    for name, weights in (("base", None), ("adapter", adapter)):
        groups = generator.generate(prompts, adapter=weights, max_tokens=max_new_tokens)
        answers[name] = [prefill_of(p) + group[0] for p, group in zip(prompts, groups, strict=True)]
    lines = ["| prompt | base model | with the adapter |", "|---|---|---|"]
    for prompt, base, tuned in zip(prompts, answers["base"], answers["adapter"], strict=True):
        question = prompt[-1 if not prefill_of(prompt) else -2]["content"]
        lines.append(f"| {_cell(question)} | {_cell(base, 400)} | {_cell(tuned, 400)} |")
    return "\n".join(lines)
