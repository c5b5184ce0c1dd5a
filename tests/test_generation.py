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
from r1kit.generation import HFGenerator, VLLMGenerator, next_tokens

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


PROMPTS = [
    [{"role": "user", "content": "What is 2 + 3?"}],
    [{"role": "user", "content": "Write a long story about a cat who learns to count, with many details."}],
    [{"role": "user", "content": "Hi"}],
]


def test_hf_generator_greedy_is_what_transformers_generate_writes(trained):
    """The kit's own decode loop (shared prefill, finished rows leave the batch) changes no token.

    The reference is ``generate`` on the model's own adapter, unmerged: the one that was saved.
    """
    from r1kit.generation import render_prompt

    model, tokenizer, path = trained
    ours = HFGenerator(model, tokenizer, batch_size=3).generate(PROMPTS, adapter=path, max_tokens=24)
    batch = tokenizer(
        [render_prompt(p, tokenizer) for p in PROMPTS], return_tensors="pt", padding=True, padding_side="left",
        add_special_tokens=False,
    )  # fmt: skip
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    theirs = [[tokenizer.decode(row, skip_special_tokens=True)] for row in out[:, batch["input_ids"].shape[1] :]]
    assert ours == theirs
    lengths = {len(tokenizer(group[0])["input_ids"]) for group in ours}
    assert len(lengths) > 1  # rows stopped at different steps: the compaction ran


def test_evaluating_an_adapter_leaves_the_model_weights_exactly_as_they_were(trained):
    model, tokenizer, path = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    HFGenerator(model, tokenizer).generate(CHAT, adapter=path, n=2, temperature=1.0, max_tokens=4)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_sampling_draws_from_the_softmax_and_top_p_keeps_the_likely_tokens():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).repeat(20000, 1)
    rng = torch.Generator().manual_seed(0)
    counts = torch.bincount(next_tokens(logits, temperature=1.0, top_p=1.0, rng=rng), minlength=3) / 20000
    assert torch.allclose(counts, torch.tensor([0.6, 0.3, 0.1]), atol=0.02)
    hot = torch.bincount(next_tokens(logits, temperature=2.0, top_p=1.0, rng=rng), minlength=3) / 20000
    assert hot[2] > 0.15  # a higher temperature flattens: 0.1 -> about 0.2
    nucleus = torch.bincount(next_tokens(logits, temperature=1.0, top_p=0.8, rng=rng), minlength=3) / 20000
    assert nucleus[2] == 0 and torch.allclose(nucleus[:2], torch.tensor([2 / 3, 1 / 3]), atol=0.02)
    assert next_tokens(logits[:1], temperature=1.0, top_p=0.5, rng=rng).tolist() == [0]  # 0.6 alone reaches 0.5


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
