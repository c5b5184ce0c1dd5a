"""The Hub model card of a saved adapter: it parses as the Hub reads it and says what the run card says.

Offline: huggingface_hub's ModelCard parses the file; nothing is uploaded or validated remotely.
"""

from __future__ import annotations

import ast
import re

import pytest
from huggingface_hub import ModelCard

from r1kit.atomic import write_json
from r1kit.model_card import write_model_card


def metrics(success, correct):
    return {
        "n_problems": 200,
        "k": 4,
        "success": success,
        "correct": correct,
        "pass_at_k": 0.5,
        "maj_at_k": 0.4,
        "sample_success": 0.3,
        "sample_correct": 0.5,
        "format_rate": 0.9,
        "mean_length": 311.5,
        "length_unit": "tokens",
        "measured_on": "greedy",
    }


RUN_CARD = {
    "stage": "grpo",
    "base_model": "unsloth/Meta-Llama-3.1-8B-Instruct",
    "run_name": "gsm8k_llama",
    "started_from": {"stage": "sft", "adapter": "saved_adapters/gsm8k_llama-sft", "steps": 64},
    "steps": 250,
    "metrics": {"reward": 3.1, "train_runtime": 5400.0},
    "recipe": {
        "model": "unsloth/Meta-Llama-3.1-8B-Instruct",
        "task": "gsm8k",
        "prompt_style": None,
        "lora_rank": 32,
        "lora_alpha": None,
        "target_modules": ["q_proj", "v_proj"],
        "rewards": {"number_correctness": 1.0, "free_number": 0.0},
        "grpo": {"max_steps": 250, "learning_rate": 5e-06, "max_completion_length": 768},
        "eval_max_new_tokens": None,
    },
    "eval": {"base model": metrics(0.021, 0.552), "after GRPO": metrics(0.734, 0.781)},
}


def card_of(tmp_path, run_card, **kwargs):
    folder = tmp_path / "adapter"
    folder.mkdir(exist_ok=True)
    write_json(folder / "run_card.json", run_card)
    path = write_model_card(folder, **kwargs)
    assert path == folder / "README.md"
    return ModelCard.load(path)


def test_the_card_parses_and_names_what_the_run_card_says(tmp_path):
    card = card_of(tmp_path, RUN_CARD, repo_id="someone/gsm8k-llama-grpo")
    data = card.data.to_dict()
    assert data["base_model"] == "unsloth/Meta-Llama-3.1-8B-Instruct"
    assert (data["library_name"], data["pipeline_tag"]) == ("peft", "text-generation")
    assert {"grpo", "trl", "lora", "r1kit", "gsm8k"} <= set(data["tags"])
    text = card.text
    for said in (
        "gsm8k_llama",
        "250 steps",
        "saved_adapters/gsm8k_llama-sft",
        "rank 32, alpha 32",
        '"learning_rate": 5e-06',
    ):
        assert said in text
    # strict and format-free side by side, before and after
    assert "| base model | 2.1% | 55.2% |" in text and "| after GRPO | 73.4% | 78.1% |" in text
    assert "success (strict) | correct (format-free)" in text and "200 held-out problems" in text
    # the loading snippet is Python, loads from the repo, and prompts as training did (GSM8K's system prompt)
    code = re.search(r"```python\n(.*?)```", text, re.S)[1]
    ast.parse(code)
    assert (
        'PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("unsloth/Meta-Llama-3.1-8B-Instruct"), "someone/gsm8k-llama-grpo")'
        in code
    )
    assert '"role": "system"' in code and "max_new_tokens=768" in code


def test_the_offline_alias_names_its_hub_model_and_license(tmp_path):
    run_card = {**RUN_CARD, "base_model": "smollm2-135m-instruct", "stage": "sft", "eval": None, "started_from": None}
    run_card["recipe"] = {**RUN_CARD["recipe"], "task": "arithmetic", "prompt_style": "think_answer"}
    card = card_of(tmp_path, run_card)
    data = card.data.to_dict()
    assert (data["base_model"], data["license"]) == ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0")
    assert "sft" in data["tags"] and "grpo" not in data["tags"]
    assert "## Results" not in card.text  # no evaluation, no table
    assert "started from the base model" in card.text
    assert '+ "<think>"' in card.text  # the prefill the model continues
    assert f'"{tmp_path / "adapter"}")' in card.text  # no repo id: it loads from the folder


def test_a_local_base_has_no_hub_id_and_lends_its_license(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: mit\n---\n# a local model\n")
    card = card_of(tmp_path, {**RUN_CARD, "base_model": str(base)})
    data = card.data.to_dict()
    assert "base_model" not in data  # the Hub takes only hub ids there
    assert data["license"] == "mit"


@pytest.mark.parametrize("missing", ["eval", "recipe", "metrics", "started_from"])
def test_a_sparse_run_card_still_makes_a_card(tmp_path, missing):
    card = card_of(tmp_path, {key: value for key, value in RUN_CARD.items() if key != missing})
    assert card.data.to_dict()["library_name"] == "peft"


def test_the_run_s_own_prompt_is_the_snippet_s(tmp_path):
    prompt = [
        {"role": "user", "content": "Using the numbers [2, 3, 7], create an equation that equals 13."},
        {"role": "assistant", "content": "Let me solve this step by step.\n<think>"},
    ]
    card = card_of(tmp_path, {**RUN_CARD, "example_prompt": prompt})
    code = re.search(r"```python\n(.*?)```", card.text, re.S)[1]
    assert "create an equation that equals 13." in code
    assert 'add_generation_prompt=True) + "Let me solve this step by step.\\n<think>"' in code


def test_push_needs_a_token_and_a_repo_id(tmp_path, monkeypatch):
    from r1kit.model_card import push_adapter

    monkeypatch.delenv("HF_TOKEN", raising=False)
    card_of(tmp_path, RUN_CARD)
    with pytest.raises(ValueError, match="your-name/model-name"):
        push_adapter(tmp_path / "adapter", "not a repo id")
    with pytest.raises(RuntimeError, match="HF_TOKEN"):
        push_adapter(tmp_path / "adapter", "you/gsm8k-llama-grpo")


def test_push_uploads_the_folder_with_a_card_naming_the_repo(tmp_path, monkeypatch):
    import huggingface_hub

    from r1kit.model_card import push_adapter

    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token))

        def create_repo(self, repo_id, exist_ok):
            calls.append(("create", repo_id, exist_ok))

        def upload_folder(self, folder_path, repo_id, commit_message):
            calls.append(("upload", folder_path, repo_id))

    monkeypatch.setenv("HF_TOKEN", "hf_test")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    card_of(tmp_path, RUN_CARD)
    url = push_adapter(tmp_path / "adapter", "you/gsm8k-llama-grpo")
    folder = str(tmp_path / "adapter")
    assert url == "https://huggingface.co/you/gsm8k-llama-grpo"
    assert calls == [
        ("token", "hf_test"),
        ("create", "you/gsm8k-llama-grpo", True),
        ("upload", folder, "you/gsm8k-llama-grpo"),
    ]
    assert "you/gsm8k-llama-grpo" in (tmp_path / "adapter" / "README.md").read_text()  # the snippet names the repo
