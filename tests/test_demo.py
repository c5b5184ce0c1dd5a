"""The demo end to end on a tiny recipe: base model, cold start, GRPO, each evaluated, the table printed."""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

from r1kit.adapters import read_run_card
from r1kit.demo import run_demo
from r1kit.recipe import load_recipe


def test_the_demo_runs_every_stage_and_prints_the_table(tmp_path, capsys):
    recipe = load_recipe(
        "recipes/cpu_demo.yaml",
        [
            f"output_dir={tmp_path / 'runs'}",
            f"adapter_dir={tmp_path / 'adapters'}",
            "train_size=40",
            "sft_size=8",
            "eval_size=6",
            "eval_k=2",
            "eval_max_new_tokens=12",
            "lora_rank=2",
            "target_modules=[q_proj, v_proj]",
            "sft.max_steps=2",
            "sft.per_device_train_batch_size=4",
            "grpo.max_steps=2",
            "grpo.num_generations=2",
            "grpo.per_device_train_batch_size=4",
            "grpo.max_completion_length=12",
        ],
    )
    out = run_demo(recipe, show_progress=False)
    printed = capsys.readouterr().out
    assert list(out["results"]) == ["base model", "after cold start", "after GRPO"]
    table = [line for line in printed.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in table[1:]] == [
        "base model",
        "after cold start",
        "after GRPO",
    ]
    assert "pass@2" in table[0] and "correct, carry/borrow" in table[0] and "correct, no carry/borrow" in table[0]
    for name, result in out["results"].items():  # strict and format-free, pass@k at the training temperature, split
        metrics = result["metrics"]
        assert all(0 <= metrics[key] <= 1 for key in ("success", "correct", "pass_at_k")), name
        assert metrics["k"] == 2 and result["settings"]["temperature"] == 0.7  # grpo.temperature of the recipe
        assert sum(part["n_problems"] for part in metrics["by_difficulty"].values()) == 6
    assert "Format-free correctness:" in printed and "Strict success:" in printed
    saved = json.loads((tmp_path / "runs" / "cpu_demo" / "eval.json").read_text())
    assert list(saved) == list(out["results"])
    for stage in ("cpu_demo-sft", "cpu_demo"):  # every adapter's run card holds the whole table
        card = read_run_card(tmp_path / "adapters" / stage)
        assert list(card["eval"]) == list(out["results"]) and card["timings"]["total"] > 0
        assert (tmp_path / "adapters" / stage / "README.md").is_file()  # and its Hub model card
    assert read_run_card(tmp_path / "adapters" / "cpu_demo")["started_from"]["stage"] == "sft"
