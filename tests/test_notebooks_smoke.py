"""Run every notebook in smoke mode (CPU, SmolLM2-135M, two steps), plus the notebook helpers' unit tests.

Each notebook runs top to bottom through nbclient, except the cell tagged "install" (the GPU stack).
A cell injected after the one tagged "parameters" sets ``SMOKE = True`` and points OUTPUT_DIR at a
temporary folder, so runs/, saved_adapters/ and exports never land in the repo. The training
notebooks run first and leave their adapters there for the inference notebook (run alone, it gets
a two-step adapter trained here). Deselect with ``pytest -m "not notebooks"`` (a few minutes).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from r1kit.notebook import best_checkpoint, example_completions, newest_adapter, notebook_recipe, smoke_recipe
from r1kit.tasks import get_task
from rewards import get_reward

ROOT = Path(__file__).resolve().parents[1]
TRAINING = ["countdown_qwen_instruct", "countdown_r1_distill", "gsm8k_llama_t4"]
# notebook -> adapter folders it must leave behind
ADAPTERS = {"countdown_qwen_instruct": ["countdown_qwen"],
            "countdown_r1_distill": ["countdown_r1_distill", "countdown_r1_distill-best"],
            "gsm8k_llama_t4": ["gsm8k_llama"]}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


def smoke_notebook(name: str, out: Path) -> nbformat.NotebookNode:
    """The notebook without its install cell, with SMOKE and OUTPUT_DIR set after its parameters cell."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if "install" not in c.metadata.get("tags", [])]
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell(f"SMOKE = True\nOUTPUT_DIR = {str(out)!r}")
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
    assert "| base |" in output and "with the adapter" in output  # before/after and side-by-side tables
    assert "GGUF export runs through Unsloth" in output  # the transformers backend explains itself


@pytest.mark.notebooks
def test_inference_notebook_runs_in_smoke_mode(out_dir):
    if not list((out_dir / "saved_adapters").glob("*/adapter_config.json")):  # run alone: train an adapter
        from r1kit.train import train

        train(notebook_recipe("cpu_demo.yaml", smoke=True, output_dir=out_dir), show_progress=False)
    adapter = newest_adapter(out_dir / "saved_adapters")
    nb, seconds = execute("inference_saved_adapter", out_dir)
    print(f"inference_saved_adapter: {seconds:.0f} s")
    output = text_of(nb)
    assert f"adapter: {adapter}" in output
    assert "| with the adapter |" in output
    assert (out_dir / "runs" / adapter.name / "merged_16bit" / "model.safetensors").is_file()


# ---- helpers (fast) -------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["countdown", "countdown_boxed", "gsm8k", "arithmetic"])
def test_example_completions_score_full_then_zero(task):
    # the "correct" sample earns the task's success score, the "wrong" one nothing
    spec = get_task(task)
    row = spec.build_dataset(1, seed=3)[0]
    columns = {key: [value] for key, value in row.items() if key != "prompt"}
    (_, good), (_, bad) = example_completions(task, row)
    scores = [spec.success_reward([[{"role": "assistant", "content": text}]], **columns)[0] for text in (good, bad)]
    assert scores == [spec.success_score, 0.0]
    assert spec.format_reward([[{"role": "assistant", "content": good}]], **columns)[0] > 0  # in the format


@pytest.mark.parametrize("data, expected", [
    ({"model": "x", "task": "gsm8k", "task_args": {"source": "hub"}}, {"source": "fixture"}),  # hub -> fixture
    ({"model": "x", "task": "countdown", "task_args": {"num_counts": [3]}}, {"num_counts": [3]}),  # kept
    ({"model": "x", "task": "countdown"}, {}),  # none given
])
def test_smoke_recipe(data, expected):
    smoke = smoke_recipe(data)
    assert smoke["task_args"] == expected and smoke["backend"] == "transformers" and smoke["max_steps"] <= 2


def test_notebook_recipe_reads_the_recipe_file_and_overrides(tmp_path):
    recipe = notebook_recipe("gsm8k_llama.yaml", smoke=True, output_dir=tmp_path, max_steps=50)
    assert recipe.run_name == "gsm8k_llama" and recipe.max_steps == 2  # smoke wins over the parameters
    assert recipe.adapter_dir == str(tmp_path / "saved_adapters") and recipe.output_dir == str(tmp_path / "runs")
    with pytest.raises(ValueError, match="unknown recipe field"):
        notebook_recipe("gsm8k_llama.yaml", smoke=True, output_dir=tmp_path, max_stepz=5)


def write_metrics(run: Path, rewards: list[float]) -> None:
    run.mkdir(parents=True)
    with (run / "metrics.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "reward", "boxed_countdown_reward"])
        writer.writerows([step + 1, r, r] for step, r in enumerate(rewards))


@pytest.mark.parametrize("rewards, saved, window, best", [
    ([0.1, 0.5, 0.2, 0.1], [2, 4], 1, 2),  # raw peak at a saved step
    ([0.1, 0.5, 0.2, 0.1], [1, 3, 4], 1, 3),  # the peak's step was not saved: best saved one
    ([0.0, 0.9, 0.0, 0.6, 0.6], [2, 5], 2, 5),  # smoothed over 2 steps: step 5 (0.6) beats step 2 (0.45)
])
def test_best_checkpoint(tmp_path, rewards, saved, window, best):
    run = tmp_path / "run"
    write_metrics(run, rewards)
    for step in saved:
        (run / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)
    recipe = notebook_recipe("countdown_r1_distill.yaml", smoke=True, output_dir=tmp_path)
    folder, step, _ = best_checkpoint(run, recipe, window=window)
    assert (step, folder.name) == (best, f"checkpoint-{best}")


def test_newest_adapter_explains_an_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved adapter"):
        newest_adapter(tmp_path)


def test_reward_functions_named_in_recipes_exist():
    # the notebooks' recipes only name registered rewards
    for name in ("countdown_qwen.yaml", "countdown_r1_distill.yaml", "gsm8k_llama.yaml"):
        for reward in notebook_recipe(name, smoke=True).reward_weights():
            get_reward(reward)
