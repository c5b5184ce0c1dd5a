"""Generation in one place: which weights answer is an explicit argument on every backend.

The HF generator runs the real CPU model; the vLLM generator runs against a scripted stand-in
for Unsloth's model (``fast_generate`` and ``load_lora`` as unsloth_zoo defines them), so the
choice of weights is checked on CPU: ``adapter=None`` sends no LoRA request.
"""

import os
import sys
import types

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
import torch

from r1kit.adapters import save_adapter
from r1kit.backends import UnslothBackend
from r1kit.cli import main
from r1kit.generation import HFGenerator, VLLMGenerator

CHAT = [[{"role": "user", "content": "What is 2 + 3?"}]]
CARD = {
    "base_model": "smollm2-135m-instruct",
    "steps": 1,
    "recipe": {"model": "smollm2-135m-instruct", "task": "arithmetic", "prompt_style": "think_answer"},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, make_lora):
    """The CPU model with a LoRA whose B matrices are far from zero (answers differ), saved as an adapter."""
    model, tokenizer = make_lora(lora_rank=4)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    path = save_adapter(model, tokenizer, tmp_path_factory.mktemp("adapters") / "run", CARD)
    return model, tokenizer, path


def test_hf_generator_picks_the_weights_it_is_told(trained):
    model, tokenizer, path = trained
    generator = HFGenerator(model, tokenizer)
    base = generator.generate(CHAT, adapter=None, max_tokens=8)
    tuned = generator.generate(CHAT, adapter=path, max_tokens=8)
    with torch.no_grad(), model.disable_adapter():
        plain = HFGenerator(model.get_base_model(), tokenizer).generate(CHAT, adapter=None, max_tokens=8)
    assert base == plain  # adapter=None is the base model
    assert tuned != base  # the saved adapter answers differently
    assert model.active_adapter == "default" and list(model.peft_config) == ["default"]  # the model is left as it was
    assert generator.generate(CHAT, adapter=None, max_tokens=8) == base  # and again


def test_hf_generator_samples_n_per_prompt_and_repeats_with_a_seed(trained):
    model, tokenizer, path = trained
    generator = HFGenerator(model, tokenizer, batch_size=4)
    first = generator.generate(CHAT * 2, adapter=path, n=3, temperature=1.0, max_tokens=6, seed=7)
    assert [len(group) for group in first] == [3, 3]
    assert generator.generate(CHAT * 2, adapter=path, n=3, temperature=1.0, max_tokens=6, seed=7) == first


def test_a_folder_that_is_not_an_adapter_is_named(trained, tmp_path):
    model, tokenizer, _ = trained
    with pytest.raises(FileNotFoundError, match="not a saved LoRA adapter"):
        HFGenerator(model, tokenizer).generate(CHAT, adapter=tmp_path, max_tokens=2)


class Output:
    def __init__(self, texts):
        self.outputs = [types.SimpleNamespace(text=t) for t in texts]


class VLLMLikeModel:
    """What Unsloth's model offers for generation: fast_generate (vLLM's LLM.generate) and load_lora."""

    vllm_engine = "the engine Unsloth attaches with fast_inference=True"

    def __init__(self):
        self.requests, self.loaded = [], []

    def load_lora(self, path):
        self.loaded.append(path)
        return f"LoRARequest({path})"

    def fast_generate(self, prompts, sampling_params=None, lora_request=None):
        self.requests.append(lora_request)
        weights = "base" if lora_request is None else "adapter"
        return [Output([f"{weights} answer"] * sampling_params.n) for _ in prompts]


@pytest.fixture()
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.SamplingParams = lambda **kwargs: types.SimpleNamespace(**kwargs)
    monkeypatch.setitem(sys.modules, "vllm", module)


def test_vllm_generator_sends_a_lora_request_only_for_an_adapter(trained, fake_vllm):
    _, tokenizer, path = trained
    model = VLLMLikeModel()
    generator = UnslothBackend().generator(model, tokenizer, batch_size=32)
    assert generator.generate(CHAT, adapter=None, max_tokens=4) == [["base answer"]]
    assert generator.generate(CHAT, adapter=path, n=2, max_tokens=4) == [["adapter answer"] * 2]
    assert model.requests == [None, f"LoRARequest({path})"]
    generator.generate(CHAT, adapter=path, max_tokens=4)
    assert model.loaded == [str(path)]  # loaded once while the folder is unchanged
    os.utime(path / "adapter_model.safetensors", ns=(1, 1))  # saved again
    generator.generate(CHAT, adapter=path, max_tokens=4)
    assert model.loaded == [str(path)] * 2  # a new LoRA request for the new weights


def test_vllm_generator_needs_a_vllm_engine(trained):
    _, tokenizer, _ = trained
    with pytest.raises(ValueError, match="no vLLM engine"):
        VLLMGenerator(object(), tokenizer)


@pytest.mark.parametrize("base", [False, True])
def test_cli_generate_base_answers_with_the_base_model_on_vllm(trained, fake_vllm, monkeypatch, capsys, base):
    _, tokenizer, path = trained
    model = VLLMLikeModel()
    monkeypatch.setattr("r1kit.adapters.load_adapter", lambda folder, **kw: (model, tokenizer, UnslothBackend()))
    assert main(["generate", str(path), "What is 1 + 1?", *(["--base"] if base else [])]) == 0
    assert model.requests == [None if base else f"LoRARequest({path})"]  # --base: no LoRA request at all
    assert ("A: <think>base answer" if base else "A: <think>adapter answer") in capsys.readouterr().out


def test_cli_generate_base_on_transformers(trained, capsys):
    _, _, path = trained
    outputs = {}
    for flag in ([], ["--base"]):
        assert main(["generate", str(path), "What is 1 + 1?", "--max-new-tokens", "6", *flag]) == 0
        outputs[bool(flag)] = capsys.readouterr().out
    assert outputs[True] != outputs[False]  # the base model and the adapter answer differently
