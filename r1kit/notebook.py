"""Glue for the notebooks in notebooks/: GPU check, recipe + smoke mode, tables, plots, checkpoints.

The notebooks stay thin: every step is one call into rewards, data_prep or r1kit, and the
few notebook-only helpers live here. A notebook loads a YAML recipe from recipes/ (the same file
``python -m r1kit train`` takes), overrides it from its parameters cell (None keeps the recipe's
value) and, with ``SMOKE=True``, shrinks it to a CPU run of a few seconds per step on the
offline SmolLM2 model (what CI executes).

    recipe = notebook_recipe("countdown_qwen.yaml", smoke=False, overrides={"grpo.max_steps": 100, "lora_rank": None})

Nothing heavy is imported at import time: on the unsloth backend Unsloth has to be imported
before transformers, trl and peft, which :func:`notebook_recipe` does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep import prefill_of
from r1kit.generation import Generator
from r1kit.plots import moving_average
from r1kit.recipe import Recipe, load_recipe, recipe_from_dict
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


def recipe_path(name: str) -> Path:
    """``recipes/<name>`` of this checkout (a path that exists is returned as it is)."""
    path = Path(name)
    return path if path.is_file() else RECIPES / name


def _output_dirs(output_dir: str | os.PathLike[str]) -> dict[str, str]:
    """runs/ and saved_adapters/ under ``output_dir`` ("" means this checkout)."""
    output_dir = output_dir or CHECKOUT
    return {"output_dir": str(Path(output_dir) / "runs"), "adapter_dir": str(Path(output_dir) / "saved_adapters")}


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


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    """``data[key] = value``; ``"grpo.max_steps"`` reaches into a section."""
    head, dot, sub = key.partition(".")
    if dot:
        data[head] = {**(data.get(head) or {}), sub: value}
    else:
        data[head] = value


def _ready(data: dict[str, Any], smoke: bool, overrides: Mapping[str, Any] | None, output_dir: Any) -> Recipe:
    for key, value in (overrides or {}).items():
        if value is not None:  # None: the recipe's own value
            _set(data, key, value)
    data.update(_output_dirs(output_dir))
    recipe = recipe_from_dict(smoke_recipe(data) if smoke else data)
    _backend_ready(recipe, smoke)
    return recipe


def _backend_ready(recipe: Recipe, smoke: bool) -> None:
    """Import Unsloth first when the recipe will run on it; a clear error when it cannot; TRL fields checked."""
    from r1kit.config import check_trl_fields
    from r1kit.models import select_backend
    from r1kit.unsloth_backend import import_unsloth_first

    try:
        backend = select_backend(recipe.backend)
    except RuntimeError as error:
        hint = (
            "" if smoke else " Or set SMOKE = True in the parameters cell to run every cell on CPU with a tiny model."
        )
        raise RuntimeError(f"{error}{hint}") from None
    if backend == "unsloth":
        import_unsloth_first()
    check_trl_fields(recipe)


def notebook_recipe(
    name: str, *, smoke: bool, output_dir: str | os.PathLike[str] = "", overrides: Mapping[str, Any] | None = None
) -> Recipe:
    """Load ``recipes/<name>`` with the parameters cell's ``overrides`` and the output folders.

    ``overrides`` maps recipe fields (``"grpo.max_steps"`` reaches into a section) to values;
    None keeps the recipe's value, so the recipe file stays the one source of truth.
    ``smoke``: shrink the run with :data:`SMOKE_OVERRIDES` afterwards. Runs land in
    ``output_dir/runs/<run>`` and adapters in ``output_dir/saved_adapters/<run>`` (``output_dir``
    "" is this checkout).
    """
    return _ready(load_recipe(recipe_path(name)).to_dict(), smoke, overrides, output_dir)


def adapter_recipe(
    adapter: str | os.PathLike[str],
    *,
    smoke: bool,
    output_dir: str | os.PathLike[str] = "",
    overrides: Mapping[str, Any] | None = None,
) -> Recipe:
    """The recipe a saved adapter was trained with (from its run card), with ``overrides`` set."""
    from r1kit.adapters import read_run_card

    card = read_run_card(adapter)
    if "recipe" not in card:
        raise ValueError(f"{adapter} has no run card with a recipe: pass a folder that r1kit saved")
    return _ready(dict(card["recipe"]), smoke, overrides, output_dir)


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


def log_history(run_dir: str | os.PathLike[str]) -> list[dict]:
    """The trainer's log history of a run, from its newest complete checkpoint (or [] without one)."""
    from r1kit.runs import resume_checkpoint

    last = resume_checkpoint(Path(run_dir) / "checkpoints", remove_incomplete=False)
    if last is None:
        return []
    return json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]


def success_rate(history: list[dict], recipe: Recipe) -> dict[int, float]:
    """Per logged step: the share of training completions that earned the task's full success score.

    TRL logs each reward's mean; the success reward pays all or nothing, so mean / max is that share.
    """
    task = get_task(recipe.task)
    key = f"rewards/{task.success_reward_name}/mean"
    return {int(entry["step"]): float(entry[key]) / task.success_score for entry in history if key in entry}


def plot_success(
    history: list[dict],
    recipe: Recipe,
    png: str | os.PathLike[str],
    *,
    reference: Mapping[int, float] | None = None,
    reference_label: str = "reference",
) -> Path:
    """Plot the training success rate per step (raw, smoothed, reference points if given) to ``png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rate = success_rate(history, recipe)
    steps, values = list(rate), list(rate.values())
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(steps, values, alpha=0.3, label="this run, per step")
    ax.plot(steps, moving_average(values, max(1, len(values) // 10)), linewidth=2, label="this run, smoothed")
    if reference:
        ax.plot(list(reference), list(reference.values()), "o--", color="gray", label=reference_label)
    ax.set(xlabel="step", ylabel="share of completions fully correct", ylim=(0, 1), title=recipe.run_name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def best_checkpoint(run_dir: str | os.PathLike[str], recipe: Recipe, *, window: int = 10) -> tuple[Path, int, float]:
    """(folder, step, smoothed success rate) of the complete checkpoint where the training success peaked.

    Only checkpoints the run kept can be chosen: the R1-distill recipe keeps them all
    (``grpo.save_total_limit: null``).
    """
    from r1kit.runs import checkpoint_problem

    rate = success_rate(log_history(run_dir), recipe)
    smoothed = dict(zip(rate, moving_average(list(rate.values()), window), strict=True))
    saved = {
        int(p.name.rsplit("-", 1)[1]): p
        for p in (Path(run_dir) / "checkpoints").glob("checkpoint-*")
        if checkpoint_problem(p) is None
    }
    candidates = [(smoothed[step], step) for step in saved if step in smoothed]
    if not candidates:
        raise FileNotFoundError(f"no complete checkpoint under {run_dir}/checkpoints matches a logged step")
    score, step = max(candidates)
    return saved[step], step, score


def adapters_dir(output_dir: str | os.PathLike[str] = "") -> Path:
    """Where the notebooks save adapters: ``output_dir/saved_adapters`` ("" is this checkout)."""
    return Path(_output_dirs(output_dir)["adapter_dir"])


def newest_adapter(adapter_dir: str | os.PathLike[str]) -> Path:
    """The most recently saved adapter folder under ``adapter_dir``."""
    found = [p.parent for p in Path(adapter_dir).glob("*/adapter_config.json")]
    if not found:
        raise FileNotFoundError(
            f"no saved adapter in {adapter_dir}/: train one with a notebook or "
            "`python -m r1kit train RECIPE`, or set ADAPTER to a folder"
        )
    return max(found, key=lambda p: (p / "adapter_model.safetensors").stat().st_mtime)


def adapters_table(adapter_dir: str | os.PathLike[str]) -> str:
    """Markdown table of the adapters under ``adapter_dir``: base model, task, steps."""
    from r1kit.adapters import read_run_card

    lines = ["| adapter | base model | task | steps |", "|---|---|---|---|"]
    for config in sorted(Path(adapter_dir).glob("*/adapter_config.json")):
        card = read_run_card(config.parent)
        recipe = card.get("recipe", {})
        lines.append(
            f"| {config.parent.name} | {card.get('base_model', '?')} | {recipe.get('task', '?')} | "
            f"{card.get('steps', '?')} |"
        )
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


def lora_change(adapter: str | os.PathLike[str], start: str | os.PathLike[str] | None = None) -> str:
    """Did training change the LoRA? How many B matrices moved away from zero, or from ``start``'s.

    LoRA's B matrices start at zero; after a cold start GRPO starts from the cold start's adapter
    (``start``), so there the question is how many differ from it.
    """
    from safetensors.torch import load_file

    def b_matrices(folder: str | os.PathLike[str]) -> dict[str, Any]:
        tensors = load_file(str(Path(folder) / "adapter_model.safetensors"))
        return {name: t for name, t in tensors.items() if "lora_B" in name}

    b = b_matrices(adapter)
    before = b_matrices(start) if start is not None else {}
    moved = sum(
        bool((t - before[name]).abs().max() > 0) if name in before else bool(t.abs().max() > 0) for name, t in b.items()
    )
    what = "are non-zero" if start is None else f"differ from {Path(start).name}'s"
    note = (
        ""
        if moved
        else (
            " GRPO learns only from groups whose completions score differently; "
            "none did yet (more steps, more generations, or an easier task)."
        )
    )
    return f"{moved} of {len(b)} LoRA B matrices {what}.{note}"
