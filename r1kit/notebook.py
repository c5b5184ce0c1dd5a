"""Glue for the notebooks in notebooks/: GPU check, recipe + smoke mode, tables, plots, checkpoints.

The notebooks stay thin: every step is one call into rewards, data_prep or r1kit, and the
few notebook-only helpers live here. A notebook loads a YAML recipe from recipes/ (the same file
``python -m r1kit train`` takes), overrides it from its parameters cell and, with
``SMOKE=True``, shrinks it to a CPU run of a few seconds per step on the offline SmolLM2 model
(what CI executes).

    recipe = notebook_recipe("countdown_qwen.yaml", smoke=False, max_steps=100)

Nothing heavy is imported at import time: on the unsloth backend Unsloth has to be imported
before transformers, trl and peft, which :func:`notebook_recipe` does.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep import prefill_of
from r1kit.plots import moving_average
from r1kit.recipe import Recipe, recipe_from_dict, load_recipe
from r1kit.tasks import get_task
from rewards import get_reward

CHECKOUT = Path(__file__).resolve().parents[1]  # the kit's folder: recipes/, runs/, saved_adapters/
RECIPES = CHECKOUT / "recipes"
# SMOKE=True: every cell runs on CPU in seconds. Lengths are tiny, so scores mean nothing.
SMOKE_OVERRIDES: dict[str, Any] = {
    "model": "smollm2-135m-instruct", "backend": "transformers", "lora_rank": 4, "lora_alpha": 8,
    "target_modules": ["q_proj", "v_proj"], "train_size": 16, "max_steps": 2, "learning_rate": 1e-4,
    "num_generations": 2, "prompts_per_step": 1, "gradient_accumulation_steps": 1, "max_prompt_length": 256,
    "max_completion_length": 8, "beta": 0.0, "save_steps": 1, "grpo_args": {}, "eval_size": 2,
    "eval_max_new_tokens": 8, "eval_batch_size": 8, "eval_k": 2,
}


def check_gpu() -> str | None:
    """Print what torch sees and return the GPU's name, or None (with what to do) on CPU."""
    import torch

    if not torch.cuda.is_available():
        print("No CUDA GPU is visible (torch.cuda.is_available() is False).\n"
              "Colab: Runtime > Change runtime type > T4 GPU (or better), then run all again.\n"
              "Without a GPU only SMOKE = True runs: a tiny CPU run of every cell on SmolLM2-135M.")
        return None
    props = torch.cuda.get_device_properties(0)
    print(f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB, compute capability "
          f"{props.major}.{props.minor}, bf16: {torch.cuda.is_bf16_supported()}; torch {torch.__version__}")
    return props.name


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
    >>> d["model"], d["backend"], d["task_args"]
    ('smollm2-135m-instruct', 'transformers', {'source': 'fixture'})
    """
    task_args = dict(data.get("task_args") or {})
    if "source" in task_args:
        task_args["source"] = "fixture"
    return {**data, **SMOKE_OVERRIDES, "task_args": task_args}


def _backend_ready(recipe: Recipe, smoke: bool) -> None:
    """Import Unsloth first when the recipe will run on it; a clear error when it cannot."""
    from r1kit.models import select_backend
    from r1kit.unsloth_backend import import_unsloth_first

    try:
        backend = select_backend(recipe.backend)
    except RuntimeError as error:
        hint = "" if smoke else " Or set SMOKE = True in the parameters cell to run every cell on CPU with a tiny model."
        raise RuntimeError(f"{error}{hint}") from None
    if backend == "unsloth":
        import_unsloth_first()


def notebook_recipe(name: str, *, smoke: bool, output_dir: str | os.PathLike[str] = "", **fields: Any) -> Recipe:
    """Load ``recipes/<name>``, set ``fields`` (recipe field names) and the output folders.

    ``smoke``: shrink the run with :data:`SMOKE_OVERRIDES` after ``fields`` are set. Runs
    land in ``output_dir/runs/<run>`` and adapters in ``output_dir/saved_adapters/<run>``
    (``output_dir`` "" is this checkout).
    """
    base = load_recipe(recipe_path(name))
    data = {**base.to_dict(), **fields, **_output_dirs(output_dir)}
    recipe = recipe_from_dict(smoke_recipe(data) if smoke else data)
    _backend_ready(recipe, smoke)
    return recipe


def adapter_recipe(adapter: str | os.PathLike[str], *, smoke: bool, output_dir: str | os.PathLike[str] = "",
                   **fields: Any) -> Recipe:
    """The recipe a saved adapter was trained with (from its run card), with ``fields`` set."""
    from r1kit.adapters import read_run_card

    card = read_run_card(adapter)
    if "recipe" not in card:
        raise ValueError(f"{adapter} has no run card with a recipe: pass a folder that r1kit saved")
    data = {**card["recipe"], **fields, **_output_dirs(output_dir)}
    recipe = recipe_from_dict(smoke_recipe(data) if smoke else data)
    _backend_ready(recipe, smoke)
    return recipe


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


def example_completions(task: str, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    r"""Two hand-written completions for ``row``: (label, text), the first correct and well formed.

    Texts start with the prompt's prefilled assistant text, as GRPOTrainer hands them to rewards.

    >>> [label for label, _ in example_completions("gsm8k", {"answer": "8", "prompt": "x"})]
    ['correct, formatted', 'wrong, loose format']
    """
    pre = prefill_of(row["prompt"])
    if task == "countdown":
        good = f"{pre} I try combinations until one hits the target. </think>\n<answer> {row['solution']} </answer>"
        bad = f"{pre} Adding everything up should do. </think> The answer is {' + '.join(map(str, row['nums']))}."
    elif task == "countdown_boxed":
        good = f"I try combinations until one hits the target.\n\nThe equation is $\\boxed{{{row['solution']}}}$."
        bad = f"Adding everything: $\\boxed{{{' + '.join(map(str, row['nums']))}}}$ is close enough."
    else:  # number answers: gsm8k, arithmetic
        good = f"{pre}<reasoning>\nWork it out step by step.\n</reasoning>\n<answer>\n{row['answer']}\n</answer>\n"
        bad = f"{pre}I think it is about {row['answer']}0."
        if pre:  # arithmetic's prefill "<answer>": the number goes straight in
            good = f"{pre}{row['answer']}</answer>"
    return [("correct, formatted", good), ("wrong, loose format", bad)]


def reward_table(recipe: Recipe, rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown table: the recipe's rewards on :func:`example_completions` of each row."""
    weights = recipe.reward_weights()
    lines = ["| sample | completion | " + " | ".join(weights) + " |", "|---" * (len(weights) + 2) + "|"]
    for i, row in enumerate(rows):
        columns = {key: [value] for key, value in row.items() if key != "prompt"}
        for label, text in example_completions(recipe.task, row):
            completion = [{"role": "assistant", "content": text}]
            scores = [get_reward(name)([completion], prompts=[row["prompt"]], **columns)[0] for name in weights]
            lines.append(f"| {i + 1}: {label} | {_cell(text)} | " + " | ".join(f"{s:g}" for s in scores) + " |")
    return "\n".join(lines)


def _metrics(run_dir: Path) -> list[dict[str, str]]:
    with (Path(run_dir) / "metrics.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def success_column(recipe: Recipe) -> str:
    """The metrics.csv column of the task's success reward, e.g. ``countdown_reward``."""
    return get_task(recipe.task).success_reward.__name__


def plot_success(run_dir: str | os.PathLike[str], recipe: Recipe, *, reference: Mapping[int, float] | None = None,
                 reference_label: str = "reference") -> Path:
    """Plot the training success rate per step (raw, smoothed, reference points if given) to
    ``run_dir/success.png``; returns the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, column = _metrics(Path(run_dir)), success_column(recipe)
    steps = [int(r["step"]) for r in rows]
    score = get_task(recipe.task).success_score
    rate = [float(r.get(column) or 0.0) / score for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(steps, rate, alpha=0.3, label="this run, per step")
    ax.plot(steps, moving_average(rate, max(1, len(rate) // 10)), linewidth=2, label="this run, smoothed")
    if reference:
        ax.plot(list(reference), list(reference.values()), "o--", color="gray", label=reference_label)
    ax.set(xlabel="step", ylabel="share of completions fully correct", ylim=(0, 1), title=recipe.run_name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = Path(run_dir) / "success.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def best_checkpoint(run_dir: str | os.PathLike[str], recipe: Recipe, *, window: int = 10) -> tuple[Path, int, float]:
    """(folder, step, smoothed success reward) of the saved checkpoint where the reward peaked."""
    rows = _metrics(Path(run_dir))
    column = success_column(recipe)
    smoothed = moving_average([float(r.get(column) or 0.0) for r in rows], window)
    by_step = {int(r["step"]): value for r, value in zip(rows, smoothed)}
    saved = {int(p.name.split("-")[-1]): p for p in (Path(run_dir) / "checkpoints").glob("checkpoint-*")}
    candidates = [(by_step[step], step) for step in saved if step in by_step]
    if not candidates:
        raise FileNotFoundError(f"no checkpoint under {run_dir}/checkpoints matches a logged step")
    score, step = max(candidates)
    return saved[step], step, score


def load_adapter_weights(model: Any, folder: str | os.PathLike[str]) -> Any:
    """Copy the LoRA weights saved in ``folder`` (an adapter or a checkpoint) into ``model``."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = Path(folder) / "adapter_model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{folder} holds no adapter_model.safetensors")
    result = set_peft_model_state_dict(model, load_file(str(weights)))
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(f"{folder} does not fit this model's LoRA (e.g. {unexpected[0]}): was it trained on another base?")
    return model


def adapters_dir(output_dir: str | os.PathLike[str] = "") -> Path:
    """Where the notebooks save adapters: ``output_dir/saved_adapters`` ("" is this checkout)."""
    return Path(_output_dirs(output_dir)["adapter_dir"])


def newest_adapter(adapter_dir: str | os.PathLike[str]) -> Path:
    """The most recently saved adapter folder under ``adapter_dir``."""
    found = [p.parent for p in Path(adapter_dir).glob("*/adapter_config.json")]
    if not found:
        raise FileNotFoundError(f"no saved adapter in {adapter_dir}/: train one with a notebook or "
                                "`python -m r1kit train RECIPE`, or set ADAPTER to a folder")
    return max(found, key=lambda p: (p / "adapter_model.safetensors").stat().st_mtime)


def adapters_table(adapter_dir: str | os.PathLike[str]) -> str:
    """Markdown table of the adapters under ``adapter_dir``: base model, task, steps."""
    from r1kit.adapters import read_run_card

    lines = ["| adapter | base model | task | steps |", "|---|---|---|---|"]
    for config in sorted(Path(adapter_dir).glob("*/adapter_config.json")):
        card = read_run_card(config.parent)
        recipe = card.get("recipe", {})
        lines.append(f"| {config.parent.name} | {card.get('base_model', '?')} | {recipe.get('task', '?')} | "
                     f"{card.get('steps', '?')} |")
    return "\n".join(lines)


@contextlib.contextmanager
def adapter_switch(model: Any, adapter: str | os.PathLike[str] | None) -> Iterator[None]:
    """Generate with the adapter (a folder) or, with None, the base model, on either backend.

    vLLM (unsloth backend) serves the folder as a LoRA request; PEFT models switch their
    in-memory adapter off for the base model.
    """
    if hasattr(model, "vllm_engine"):
        previous = getattr(model, "r1kit_lora_path", None)
        model.r1kit_lora_path = None if adapter is None else str(adapter)
        try:
            yield
        finally:
            model.r1kit_lora_path = previous
    else:
        with contextlib.nullcontext() if adapter is not None else model.disable_adapter():
            yield


def side_by_side(model: Any, tokenizer: Any, rows: Sequence[Mapping[str, Any]], adapter: str | os.PathLike[str],
                 *, max_new_tokens: int) -> str:
    """Markdown table: greedy answers of the base model and of the adapter to the same prompts."""
    from r1kit.adapters import generate

    prompts = [row["prompt"] for row in rows]
    answers = {}
    for name, folder in (("base", None), ("adapter", adapter)):
        with adapter_switch(model, folder):
            answers[name] = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens)
    lines = ["| prompt | base model | with the adapter |", "|---|---|---|"]
    for prompt, base, tuned in zip(prompts, answers["base"], answers["adapter"]):
        lines.append(f"| {_cell(prompt[-1 if not prefill_of(prompt) else -2]['content'])} | {_cell(base, 400)} | "
                     f"{_cell(tuned, 400)} |")
    return "\n".join(lines)


def lora_change(adapter: str | os.PathLike[str]) -> str:
    """How many LoRA B matrices moved away from zero (all start at zero): did training change anything?"""
    from safetensors.torch import load_file

    tensors = load_file(str(Path(adapter) / "adapter_model.safetensors"))
    b = [t for name, t in tensors.items() if "lora_B" in name]
    moved = sum(bool(t.abs().max() > 0) for t in b)
    note = "" if moved else (" GRPO learns only from groups whose completions score differently; "
                             "none did yet (more steps, more generations, or an easier task).")
    return f"{moved} of {len(b)} LoRA B matrices are non-zero.{note}"
