"""Run every notebook in smoke mode (CPU, SmolLM2-135M, two steps), plus the notebook helpers' unit tests.

Each notebook runs top to bottom through nbclient, except the cell tagged "install" (the GPU stack).
A cell injected after the one tagged "parameters" sets ``SMOKE = True`` and points OUTPUT_DIR at a
temporary folder, so runs/, saved_adapters/ and exports never land in the repo; in the notebooks of
:data:`COLD_START` it also turns the cold start on (the GPU recipes leave it off), so its cell runs
too. The training notebooks run first and leave their adapters there for the inference notebook (run
alone, it gets a two-step adapter trained here). Deselect with ``pytest -m "not notebooks"`` (a few
minutes).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from r1kit.adapters import lora_change, newest_adapter
from r1kit.notebook import notebook_recipe, reward_table, smoke_recipe
from r1kit.plots import plot_success, series
from r1kit.runs import best_checkpoint
from r1kit.tasks import build_datasets, get_task
from rewards import get_reward

ROOT = Path(__file__).resolve().parents[1]
TRAINING = ["countdown_qwen_instruct", "countdown_r1_distill", "gsm8k_llama_t4"]
# notebooks whose smoke run turns the cold start on: its cell trains, saves <run>-sft and evaluates it
COLD_START = {"countdown_qwen_instruct", "gsm8k_llama_t4"}
# notebook -> adapter folders it must leave behind
ADAPTERS = {
    "countdown_qwen_instruct": ["countdown_qwen", "countdown_qwen-sft"],
    "countdown_r1_distill": ["countdown_r1_distill", "countdown_r1_distill-best"],
    "gsm8k_llama_t4": ["gsm8k_llama", "gsm8k_llama-sft"],
}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


def smoke_notebook(name: str, out: Path) -> nbformat.NotebookNode:
    """The notebook without its install cell, with SMOKE, OUTPUT_DIR (and COLD_START) set after its parameters cell."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if "install" not in c.metadata.get("tags", [])]
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = f"SMOKE = True\nOUTPUT_DIR = {str(out)!r}" + ("\nCOLD_START = True" if name in COLD_START else "")
    injected = nbformat.v4.new_code_cell(source)
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    return nb


def execute(name: str, out: Path) -> tuple[nbformat.NotebookNode, float]:
    nb = smoke_notebook(name, out)
    start = time.perf_counter()
    with pytest.MonkeyPatch.context() as env:
        # one torch thread: at these tiny sizes it costs nothing, and on a busy 2-core machine two
        # threads waiting on each other made generation 3-8x slower (measured)
        env.setenv("OMP_NUM_THREADS", "1")
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb, time.perf_counter() - start


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/markdown", ""))
    return "\n".join(parts)


@pytest.mark.notebooks
@pytest.mark.parametrize("name", TRAINING)
def test_training_notebook_runs_in_smoke_mode(name, out_dir):
    nb, seconds = execute(name, out_dir)
    print(f"{name}: {seconds:.0f} s")
    for adapter in ADAPTERS[name]:
        assert (out_dir / "saved_adapters" / adapter / "adapter_model.safetensors").is_file(), adapter
    run = out_dir / "runs" / ADAPTERS[name][0]
    assert (run / "rewards.png").is_file() and (run / "success.png").is_file() and (run / "eval.json").is_file()
    assert (run / "merged_16bit" / "model.safetensors").is_file()
    output = text_of(nb)
    assert "Plan for " in output  # the plan for this machine
    assert "| base model |" in output and "with the adapter" in output  # before/after and side-by-side tables
    rows = list(json.loads((run / "eval.json").read_text()))  # the before/after table's rows, in order
    if name in COLD_START:
        assert (
            rows[:2] == ["base model", "after cold start"] and "differ from" in output
        )  # LoRA check against the cold start
        card = json.loads((out_dir / "saved_adapters" / ADAPTERS[name][0] / "run_card.json").read_text())
        assert card["started_from"]["stage"] == "sft"  # GRPO started from the cold start's adapter
    else:
        assert "after cold start" not in rows and "No cold start" in output
    assert "GGUF export runs through Unsloth" in output  # the transformers backend explains itself


@pytest.mark.notebooks
def test_inference_notebook_runs_in_smoke_mode(out_dir):
    if not list((out_dir / "saved_adapters").glob("*/adapter_config.json")):  # run alone: train an adapter
        from r1kit.pipeline import Pipeline

        recipe = notebook_recipe("cpu_demo.yaml", smoke=True, output_dir=out_dir, overrides={"cold_start": False})
        Pipeline(recipe, show_progress=False).grpo(evaluate=False)
    adapter = newest_adapter(out_dir / "saved_adapters")
    nb, seconds = execute("inference_saved_adapter", out_dir)
    print(f"inference_saved_adapter: {seconds:.0f} s")
    output = text_of(nb)
    assert f"adapter: {adapter}" in output
    assert "| with the adapter |" in output and "| base |" in output
    assert (out_dir / "runs" / adapter.name / "merged_16bit" / "model.safetensors").is_file()


# ---- helpers (fast) -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["countdown_qwen.yaml", "countdown_r1_distill.yaml", "gsm8k_llama.yaml"])
def test_reward_table_pays_the_correct_sample_only(name, tmp_path):
    # the rewards cell: the worked solution earns the success score (in the format), the wrong one nothing
    recipe = notebook_recipe(name, smoke=True, output_dir=tmp_path)
    task = get_task(recipe.task)
    train_ds = build_datasets(recipe).train
    header, _, *rows = reward_table(recipe, train_ds.select(range(2))).splitlines()

    def split(line: str) -> list[str]:  # the cells of a table row ("\\|" is a pipe inside a cell)
        return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))]

    columns = split(header)
    cells = [dict(zip(columns, split(row), strict=True)) for row in rows]
    assert [c["sample"].split(": ", 1)[1] for c in cells] == ["correct, formatted", "wrong, loose format"] * 2
    for c in cells:
        good = c["sample"].endswith("correct, formatted")
        assert float(c[task.success_reward]) == (task.success_score if good else 0.0), c
        if task.format_reward:
            assert (float(c[task.format_reward]) > 0) == good, c


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"model": "x", "task": "gsm8k", "task_args": {"source": "hub"}}, {"source": "fixture"}),  # hub -> fixture
        ({"model": "x", "task": "countdown", "task_args": {"num_counts": [3]}}, {"num_counts": [3]}),  # kept
        ({"model": "x", "task": "countdown"}, {}),  # none given
    ],
)
def test_smoke_recipe(data, expected):
    smoke = smoke_recipe({**data, "grpo": {"max_steps": 450, "optim": "adamw_8bit"}, "cold_start": True})
    assert smoke["task_args"] == expected and smoke["backend"] == "transformers" and smoke["model"] != "x"
    assert (
        smoke["grpo"]["max_steps"] <= 2 and "optim" not in smoke["grpo"]
    )  # sections replaced whole (8-bit needs CUDA)
    assert smoke["sft"]["max_steps"] <= 2 and smoke["cold_start"] is True  # the cold start stays as asked


def test_notebook_recipe_none_keeps_the_recipe(tmp_path):
    overrides = {"model": None, "cold_start": None, "lora_rank": None, "grpo.max_steps": None, "eval_k": None}
    recipe = notebook_recipe("gsm8k_llama.yaml", smoke=False, output_dir=tmp_path, overrides=overrides)
    assert (recipe.model, recipe.cold_start, recipe.lora_rank, recipe.grpo["max_steps"], recipe.eval_k) == (
        "unsloth/Meta-Llama-3.1-8B-Instruct",
        False,
        32,
        250,
        1,
    )
    assert recipe.grpo["optim"] == "paged_adamw_8bit"  # a section keeps its other keys when one is overridden
    assert recipe.adapter_dir == str(tmp_path / "saved_adapters") and recipe.output_dir == str(tmp_path / "runs")


def test_notebook_recipe_values_override(tmp_path):
    overrides = {"cold_start": True, "lora_rank": 8, "grpo.max_steps": 7, "grpo.learning_rate": 1e-5, "eval_k": 2}
    recipe = notebook_recipe("gsm8k_llama.yaml", smoke=False, output_dir=tmp_path, overrides=overrides)
    assert (
        recipe.cold_start,
        recipe.lora_rank,
        recipe.grpo["max_steps"],
        recipe.grpo["learning_rate"],
        recipe.eval_k,
    ) == (True, 8, 7, 1e-5, 2)
    assert recipe.grpo["num_generations"] == 6  # the rest of the section is the recipe's
    smoke = notebook_recipe("gsm8k_llama.yaml", smoke=True, output_dir=tmp_path, overrides=overrides)
    assert smoke.grpo["max_steps"] == 2 and smoke.cold_start is True  # smoke shrinks the run; the stages stay


def test_notebook_recipe_refuses_unknown_fields(tmp_path):
    with pytest.raises(ValueError, match="unknown recipe field"):
        notebook_recipe("gsm8k_llama.yaml", smoke=True, output_dir=tmp_path, overrides={"max_stepz": 5})


def fake_run(run: Path, success: list[float], saved: list[int], incomplete: tuple[int, ...] = ()) -> None:
    """A run folder whose checkpoints hold real (tiny) files and the trainer's log history, as the trainer writes them."""
    import torch
    from safetensors.torch import save_file

    history = [{"step": step + 1, "loss": 0.0, "success": r} for step, r in enumerate(success)]
    for step in saved:
        folder = run / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        save_file({"lora_A": torch.zeros(2, 2)}, str(folder / "adapter_model.safetensors"))
        for name in ("optimizer.pt", "scheduler.pt"):
            torch.save({"state": {}}, folder / name)
        state = {"global_step": step, "log_history": history[:step]}
        if step not in incomplete:  # a kill while saving leaves trainer_state.json (written last) out
            (folder / "trainer_state.json").write_text(json.dumps(state))


@pytest.mark.parametrize(
    "success, saved, incomplete, window, best",
    [
        ([0.1, 0.5, 0.2, 0.1], [2, 4], (), 1, 2),  # raw peak at a saved step
        ([0.1, 0.5, 0.2, 0.1], [1, 3, 4], (), 1, 3),  # the peak's step was not saved: best saved one
        ([0.0, 0.9, 0.0, 0.6, 0.6], [2, 5], (), 2, 5),  # smoothed over 2 steps: step 5 (0.6) beats step 2 (0.45)
        ([0.1, 0.9, 0.2, 0.1], [2, 4], (2,), 1, 4),  # the peak's checkpoint is incomplete: not a candidate
        ([0.1, 0.2, 0.3, 0.9], [2, 4], (4,), 1, 2),  # the newest is incomplete: the history comes from checkpoint-2
    ],
)
def test_best_checkpoint(tmp_path, success, saved, incomplete, window, best):
    run = tmp_path / "run"
    fake_run(run, success, saved, incomplete)
    folder, step, _ = best_checkpoint(run, window=window)
    assert (step, folder.name) == (best, f"checkpoint-{best}")


def test_best_checkpoint_without_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        best_checkpoint(tmp_path / "run")


def test_success_series_and_plot(tmp_path):
    # the trainer logs "success" (the task's parser: right and formatted) on training steps only
    history = [
        {"step": 1, "success": 0.25},
        {"step": 2, "loss": 0.1},
        {"step": 2, "success": 0.5},
        {"step": 2, "train_runtime": 3.0},
    ]
    assert series(history, "success") == ([1, 2], [0.25, 0.5])
    png = plot_success(history, tmp_path / "success.png", reference={2: 0.4}, reference_label="source")
    assert png.stat().st_size > 0


def write_adapter(folder: Path, b: float) -> Path:
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    save_file(
        {
            "x.lora_A.weight": torch.ones(2, 2),
            "x.lora_B.weight": torch.zeros(2, 2),
            "y.lora_B.weight": torch.full((2, 2), b),
        },
        str(folder / "adapter_model.safetensors"),
    )
    return folder


def test_lora_change(tmp_path):
    fresh, trained = write_adapter(tmp_path / "fresh", 0.0), write_adapter(tmp_path / "trained", 0.5)
    assert lora_change(fresh).startswith("0 of 2") and "GRPO learns only" in lora_change(fresh)
    assert lora_change(trained).startswith("1 of 2 LoRA B matrices are non-zero")
    assert lora_change(trained, start=trained).startswith("0 of 2")  # nothing moved since the start
    assert lora_change(trained, start=fresh).startswith("1 of 2 LoRA B matrices differ from fresh's")


def test_newest_adapter(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved adapter"):
        newest_adapter(tmp_path)
    old, new = write_adapter(tmp_path / "old", 0.1), write_adapter(tmp_path / "new", 0.1)
    os.utime(new / "adapter_model.safetensors", (1_000, 1_000))  # "new" was written first after all
    assert newest_adapter(tmp_path) == old
    (tmp_path / "not_an_adapter").mkdir()  # folders without adapter_config.json are not candidates
    assert newest_adapter(tmp_path) == old


def test_reward_functions_named_in_recipes_exist():
    # the notebooks' recipes only name registered rewards
    for name in ("countdown_qwen.yaml", "countdown_r1_distill.yaml", "gsm8k_llama.yaml"):
        for reward in notebook_recipe(name, smoke=True).reward_weights():
            get_reward(reward)
