"""Training stages on the real CPU model with tiny settings: files, saved adapters, resume, Ctrl-C, cold start."""

import csv
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
from transformers import TrainerCallback

from r1kit.adapters import adapter_config, load_adapter, read_run_card
from r1kit.pipeline import Pipeline
from r1kit.recipe import RecipeError, recipe_from_dict
from r1kit.runs import resume_checkpoint
from r1kit.tasks import build_datasets

TINY = {
    "model": "smollm2-135m-instruct",
    "backend": "transformers",
    "task": "arithmetic",
    "task_args": {"digits": 2},
    "train_size": 20,
    "eval_size": 4,
    "lora_rank": 2,
    "grpo": {
        "max_steps": 2,
        "num_generations": 2,
        "per_device_train_batch_size": 2,
        "max_completion_length": 4,
        "max_prompt_length": 64,
        "learning_rate": 1e-3,
        "save_steps": 1,
        "gradient_checkpointing": False,
    },
    "sft_size": 4,
    "sft": {"max_steps": 2, "per_device_train_batch_size": 2, "save_steps": 1, "learning_rate": 1e-3},
    "run_name": "tiny",
}


def train(recipe, callbacks=None):
    return Pipeline(recipe).grpo(evaluate=False, callbacks=callbacks)


def sft(recipe):
    return Pipeline(recipe).cold_start(evaluate=False)


class StopAfterStep(TrainerCallback):
    """Stop training (after saving a checkpoint) once ``step`` is reached: an interrupted run."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_save = control.should_training_stop = True
        return control


def tiny_recipe(tmp_path, grpo=None, **changes):
    return recipe_from_dict(
        {
            **TINY,
            "output_dir": str(tmp_path / "runs"),
            "adapter_dir": str(tmp_path / "adapters"),
            "grpo": {**TINY["grpo"], **(grpo or {})},
            **changes,
        }
    )


def csv_steps(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def test_two_steps_save_an_adapter_that_loads_and_generates(tmp_path):
    result = train(tiny_recipe(tmp_path))
    assert result.steps == 2 and not result.interrupted
    # the adapter folder: standard PEFT files, tokenizer, run card; no trainer pickle
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "run_card.json"):
        assert (result.adapter_path / name).is_file(), name
    assert not (result.adapter_path / "training_args.bin").exists()
    assert adapter_config(result.adapter_path)["base_model_name_or_path"] == "smollm2-135m-instruct"  # not a cache path
    card = read_run_card(result.adapter_path)
    assert (card["stage"], card["steps"], card["base_model"], card["started_from"]) == (
        "grpo",
        2,
        "smollm2-135m-instruct",
        None,
    )
    assert card["recipe"]["grpo"]["max_steps"] == 2 and "reward" in card["metrics"]
    # the run folder: per-step metrics from the log history, every completion, the plot, TensorBoard, checkpoints
    assert csv_steps(result.run_dir) == [1, 2]
    samples = [json.loads(line) for line in (result.run_dir / "samples.jsonl").read_text().splitlines()]
    assert [s["step"] for s in samples] == [1, 1, 2, 2]  # steps x completions per step
    assert set(samples[0]["rewards"]) == {
        "number_correctness_reward",
        "answer_digits_reward",
        "think_answer_format_reward",
        "free_number_reward",
    }
    assert samples[0]["completion"].startswith("<think>")  # as the rewards saw it, prefill included
    assert (result.run_dir / "success_samples.jsonl").is_file()
    assert (result.run_dir / "rewards.png").stat().st_size > 1000
    assert list((result.run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert resume_checkpoint(result.run_dir / "checkpoints").name == "checkpoint-2"
    # the saved adapter loads on its own and generates
    model, tokenizer, backend = load_adapter(result.adapter_path)
    ((answer,),) = backend.generator(model, tokenizer, batch_size=1).generate(
        [[{"role": "user", "content": "What is 12 + 30?"}]], adapter=result.adapter_path, max_tokens=4
    )
    assert isinstance(answer, str) and answer


def test_rerun_resumes_from_the_last_checkpoint(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path)
    first = train(recipe, callbacks=[StopAfterStep(1)])  # an interrupted run
    assert first.steps == 1 and read_run_card(first.adapter_path)["steps"] == 1
    second = train(recipe)  # the same recipe again
    assert "(step 1)" in capsys.readouterr().out
    assert second.steps == 2
    assert read_run_card(second.adapter_path)["resumed_from_step"] == 1
    assert csv_steps(second.run_dir) == [1, 2]  # no step logged twice
    steps = [json.loads(line)["step"] for line in (second.run_dir / "samples.jsonl").read_text().splitlines()]
    assert steps == [1, 1, 2, 2]


def test_a_half_written_checkpoint_is_skipped_and_named(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path, grpo={"max_steps": 3})
    train(recipe, callbacks=[StopAfterStep(1)])
    checkpoints = tmp_path / "runs" / "tiny" / "checkpoints"
    broken = checkpoints / "checkpoint-2"  # what a kill while saving leaves: the adapter weights only
    broken.mkdir()
    shutil.copy(checkpoints / "checkpoint-1" / "adapter_model.safetensors", broken)
    result = train(recipe)
    out = capsys.readouterr().out
    assert "Skipping checkpoint-2: incomplete (optimizer.pt, scheduler.pt, trainer_state.json missing" in out
    assert "(step 1)" in out and result.steps == 3
    assert read_run_card(result.adapter_path)["resumed_from_step"] == 1


class CtrlC(TrainerCallback):
    """Simulates Ctrl-C at the end of the first step."""

    def on_step_end(self, args, state, control, **kwargs):
        raise KeyboardInterrupt


def test_ctrl_c_saves_the_adapter(tmp_path):
    result = train(tiny_recipe(tmp_path, grpo={"max_steps": 5}), callbacks=[CtrlC()])
    assert result.interrupted and result.steps == 1
    card = read_run_card(result.adapter_path)
    assert card["interrupted"] is True and card["steps"] == 1


def test_cold_start_then_grpo_chains_the_adapters(tmp_path):
    recipe = tiny_recipe(tmp_path, cold_start=True)
    with pytest.raises(RecipeError, match="run `python -m r1kit sft RECIPE` first"):
        train(recipe)  # GRPO after a cold start needs the cold start's adapter
    cold = sft(recipe)
    assert cold.adapter_path.name == "tiny-sft" and cold.steps == 2
    assert read_run_card(cold.adapter_path)["stage"] == "sft"
    assert csv_steps(cold.run_dir) == [1, 2]
    grpo = train(recipe)
    card = read_run_card(grpo.adapter_path)
    assert card["started_from"] == {"stage": "sft", "adapter": str(cold.adapter_path), "steps": 2}


def test_held_out_problems_never_train(tmp_path):
    data = build_datasets(tiny_recipe(tmp_path, train_size=300, eval_size=50))
    train_ds, eval_ds = data.train, data.eval
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
        build_datasets(
            tiny_recipe(tmp_path, task_args={"digits": 1, "operators": "+"}, eval_size=eval_size, train_size=50)
        )
