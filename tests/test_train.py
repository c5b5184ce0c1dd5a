"""GRPO training on the real CPU model with tiny settings: files, saved adapter, resume, Ctrl-C."""

import csv
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
from transformers import TrainerCallback

from r1kit.adapters import generate, load_adapter, read_run_card
from r1kit.callbacks import StopAfterStep
from r1kit.recipe import RecipeError, recipe_from_dict
from r1kit.train import build_datasets, grpo_config, train

TINY = {
    "model": "smollm2-135m-instruct",
    "backend": "transformers",
    "task": "arithmetic",
    "task_args": {"digits": 2},
    "train_size": 20,
    "eval_size": 4,
    "lora_rank": 2,
    "max_steps": 2,
    "num_generations": 2,
    "max_completion_length": 4,
    "max_prompt_length": 64,
    "learning_rate": 1e-3,
    "save_steps": 1,
    "run_name": "tiny",
}


def tiny_recipe(tmp_path, **changes):
    return recipe_from_dict({**TINY, "output_dir": str(tmp_path / "runs"),
                             "adapter_dir": str(tmp_path / "adapters"), **changes})


def csv_steps(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def test_two_steps_save_an_adapter_that_loads_and_generates(tmp_path):
    result = train(tiny_recipe(tmp_path), show_progress=False)
    assert result.steps == 2 and not result.interrupted
    # the adapter folder: standard PEFT files, tokenizer, run card
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "run_card.json"):
        assert (result.adapter_path / name).is_file(), name
    card = read_run_card(result.adapter_path)
    assert card["steps"] == 2 and card["base_model"] == "smollm2-135m-instruct"
    assert card["recipe"]["max_steps"] == 2 and "reward" in card["metrics"]
    # the run folder: per-step metrics, every completion, the plot, checkpoints
    assert csv_steps(result.run_dir) == [1, 2]
    samples = [json.loads(line) for line in (result.run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 * 2  # steps x completions per step
    assert set(samples[0]["rewards"]) == {"gsm8k_correctness_reward", "int_reward"}
    assert (result.run_dir / "success_samples.jsonl").is_file()
    assert (result.run_dir / "rewards.png").stat().st_size > 1000
    assert (result.run_dir / "checkpoints" / "checkpoint-2").is_dir()
    # the saved adapter loads on its own and generates, prefill included
    model, tokenizer = load_adapter(result.adapter_path)
    answers = generate(model, tokenizer, ["What is 12 + 30?"], prompt_style="answer_only", max_new_tokens=4)
    assert len(answers) == 1 and answers[0].startswith("<answer>")


def test_rerun_resumes_from_the_last_checkpoint(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path)
    first = train(recipe, callbacks=[StopAfterStep(1)], show_progress=False)  # an interrupted run
    assert first.steps == 1 and read_run_card(first.adapter_path)["steps"] == 1
    second = train(recipe, show_progress=False)  # the same recipe again
    assert "from step 1" in capsys.readouterr().out.replace("(step 1)", "from step 1")
    assert second.steps == 2
    assert read_run_card(second.adapter_path)["resumed_from_step"] == 1
    assert csv_steps(second.run_dir) == [1, 2]  # no step logged twice


class CtrlC(TrainerCallback):
    """Simulates Ctrl-C at the end of the first step."""

    def on_step_end(self, args, state, control, **kwargs):
        raise KeyboardInterrupt


def test_ctrl_c_saves_the_adapter(tmp_path):
    result = train(tiny_recipe(tmp_path, max_steps=5), callbacks=[CtrlC()], show_progress=False)
    assert result.interrupted and result.steps == 1
    card = read_run_card(result.adapter_path)
    assert card["interrupted"] is True and card["steps"] == 1


def test_held_out_problems_never_train(tmp_path):
    train_ds, eval_ds = build_datasets(tiny_recipe(tmp_path, train_size=300, eval_size=50))
    assert not {q for q in train_ds["question"]} & {q for q in eval_ds["question"]}
    assert len(eval_ds) == 50


@pytest.mark.parametrize(
    ("eval_size", "message"),
    [
        (81, "raise train_size"),  # all 81 one-digit sums held out: nothing left to train on
        (100, "only 81 distinct problems"),  # more held-out problems than exist
    ],
)
def test_too_few_distinct_problems(tmp_path, eval_size, message):
    with pytest.raises(RecipeError, match=message):
        build_datasets(tiny_recipe(tmp_path, task_args={"digits": 1}, eval_size=eval_size, train_size=50))


def test_grpo_config_from_recipe(tmp_path):
    recipe = tiny_recipe(tmp_path, prompts_per_step=3, grpo_args={"optim": "adamw_torch", "top_p": 0.9})
    args = grpo_config(recipe, tmp_path)
    assert args.per_device_train_batch_size == 3 * 2  # prompts x generations
    assert (args.top_p, args.optim, args.logging_steps, args.gradient_checkpointing) == (0.9, "adamw_torch", 1, False)


def test_unknown_grpo_args(tmp_path):
    with pytest.raises(RecipeError, match="not trl.GRPOConfig fields"):
        grpo_config(tiny_recipe(tmp_path, grpo_args={"num_epochz": 2}), tmp_path)
