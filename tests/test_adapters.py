"""Saved adapters: atomic saves, run cards, loading back, and the CLI around them."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
import torch

from r1kit.adapters import AdapterError, adapter_config, load_adapter, read_run_card, save_adapter, update_run_card
from r1kit.cli import main

CARD = {
    "base_model": "smollm2-135m-instruct",
    "steps": 0,
    "recipe": {"model": "smollm2-135m-instruct", "task": "arithmetic", "prompt_style": "think_answer"},
}


@pytest.fixture(scope="module")
def lora_model(make_lora):
    """The CPU model with a small LoRA whose weights are non-zero, so a reload can be checked."""
    model, tokenizer = make_lora(lora_rank=2)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.01)
    return model, tokenizer


def lora_weights(model):
    return {name.replace(".default", ""): p.detach().clone() for name, p in model.named_parameters() if "lora_" in name}


def test_save_then_load_gives_the_same_weights(lora_model, tmp_path):
    model, tokenizer = lora_model
    path = save_adapter(model, tokenizer, tmp_path / "run", CARD)
    assert adapter_config(path)["base_model_name_or_path"] == "smollm2-135m-instruct"  # as the card names it
    loaded, loaded_tokenizer, backend = load_adapter(path)
    saved, reloaded = lora_weights(model), lora_weights(loaded)
    assert saved.keys() == reloaded.keys() and saved
    assert all(torch.equal(saved[k], reloaded[k]) for k in saved)
    assert loaded_tokenizer.eos_token == tokenizer.eos_token and backend.name == "transformers"
    answers = backend.generator(loaded, loaded_tokenizer, batch_size=2).generate(
        [[{"role": "user", "content": "What is 2 + 3?"}]] * 2, adapter=path, max_tokens=3
    )
    assert len(answers) == 2 and all(len(group) == 1 for group in answers)


def test_overwrite_is_atomic_and_leaves_no_temporary_folders(lora_model, tmp_path):
    model, tokenizer = lora_model
    save_adapter(model, tokenizer, tmp_path / "run", CARD)
    save_adapter(model, tokenizer, tmp_path / "run", {**CARD, "steps": 5})
    assert read_run_card(tmp_path / "run")["steps"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_save_keeps_the_previous_adapter(lora_model, tmp_path):
    model, tokenizer = lora_model
    save_adapter(model, tokenizer, tmp_path / "run", CARD)
    with pytest.raises(ValueError, match="PEFT"):
        save_adapter(model.get_base_model(), tokenizer, tmp_path / "run", {**CARD, "steps": 9})  # not an adapter
    assert read_run_card(tmp_path / "run")["steps"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_update_run_card_merges(tmp_path):
    (tmp_path / "run").mkdir()
    update_run_card(tmp_path / "run", steps=3)
    metrics = {"n_problems": 2, "k": 0, "success": 0.5, "correct": 0.5, "pass_at_k": None, "maj_at_k": None}
    metrics |= {"format_rate": 1.0, "mean_length": 3.0, "length_unit": "tokens"}
    assert update_run_card(tmp_path / "run", eval={"after GRPO": metrics}) == {
        "steps": 3,
        "eval": {"after GRPO": metrics},
    }
    assert "| after GRPO | 50.0% | 50.0% |" in (tmp_path / "run" / "README.md").read_text()  # the model card follows


def test_load_adapter_needs_an_adapter_folder(tmp_path):
    with pytest.raises(AdapterError, match="is not a saved adapter: it has no adapter_config.json"):
        load_adapter(tmp_path)


def test_cli_generate(lora_model, tmp_path, capsys):
    model, tokenizer = lora_model
    save_adapter(model, tokenizer, tmp_path / "run", CARD)
    assert main(["generate", str(tmp_path / "run"), "What is 1 + 1?", "--max-new-tokens", "2"]) == 0
    out = capsys.readouterr().out
    assert "Q: What is 1 + 1?" in out and "A: <think>" in out  # style read from the run card


@pytest.mark.parametrize("command", [[], ["train"], ["sft"], ["demo"], ["eval"], ["generate"], ["plan"]])
def test_cli_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0 and "usage: python -m r1kit" in capsys.readouterr().out


def test_cli_bad_recipe_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: smollm2-135m-instruct\ntask: arithmetic\nrewards: {corectness: 1}\n")
    assert main(["train", str(bad)]) == 2
    assert "unknown reward 'corectness'" in capsys.readouterr().err


def test_cli_help_recipe(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help-recipe"])
    out = capsys.readouterr().out
    assert "cold_start" in out and "trl.GRPOConfig fields" in out and "eval_max_new_tokens" in out
