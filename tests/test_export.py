"""r1kit.export on a tiny random Llama (no download): LoRA, merged 16-bit, GGUF refusal, Unsloth calls."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from r1kit.backends import TransformersBackend, UnslothBackend
from r1kit.export import GGUFUnavailable, folder_summary, save_gguf, save_merged_16bit

HF, UNSLOTH = TransformersBackend(), UnslothBackend()


@pytest.fixture()
def tiny():
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # a "trained" adapter: B is no longer zero
            torch.nn.init.normal_(param, std=0.5)
    vocab = {f"t{i}": i for i in range(32)}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="t0")))
    return model.eval(), tokenizer


class FakeUnsloth:
    """Records the calls Unsloth's save methods get, and writes what unsloth 2026.8.18's save.py writes.

    save_pretrained_gguf merges into the folder it is given and puts the GGUF files (and Ollama's
    Modelfile) in the sibling `<folder>_gguf`, returning a dict that names it; tests/test_api_drift.py
    checks that contract against the pinned unsloth/save.py.
    """

    def __init__(self):
        self.calls = []

    def save_pretrained_merged(self, path, tokenizer, **kwargs):
        self.calls.append(("merged", kwargs))

    def save_pretrained_gguf(self, path, tokenizer, **kwargs):
        self.calls.append(("gguf", kwargs))
        merged, gguf = Path(path), Path(f"{path}_gguf")
        merged.mkdir(parents=True)
        (merged / "model.safetensors").write_bytes(b"0" * 2048)  # the 16-bit merge
        gguf.mkdir()
        (gguf / "model.Q8_0.gguf").write_bytes(b"GGUF" + b"0" * 1024)
        (gguf / "Modelfile").write_text("FROM ./model.Q8_0.gguf\n")
        return {
            "save_directory": str(merged),
            "gguf_directory": str(gguf),
            "gguf_files": [str(gguf / "model.Q8_0.gguf")],
        }


def test_merged_16bit_matches_the_adapter_and_keeps_it(tiny, tmp_path):
    model, tokenizer = tiny
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        expected = model(ids).logits
        with model.disable_adapter():
            base = model(ids).logits
    path = save_merged_16bit(HF, model, tokenizer, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(path, dtype="auto")
    assert merged.dtype == torch.bfloat16  # 16-bit on disk
    with torch.no_grad():
        got = merged.float()(ids).logits
    assert torch.allclose(got, expected, atol=0.05) and not torch.allclose(base, expected, atol=0.05)
    with torch.no_grad():
        assert torch.equal(model(ids).logits, expected)  # the model in memory still has its adapter


@pytest.mark.parametrize(
    "bad, error",
    [
        (torch.nn.Linear(2, 2), ValueError),  # not a PEFT model: nothing to merge
    ],
)
def test_merged_needs_a_lora_model(bad, error, tmp_path):
    with pytest.raises(error, match="no LoRA"):
        save_merged_16bit(HF, bad, None, tmp_path / "m")


def test_gguf_on_transformers_backend_names_the_fix(tiny, tmp_path):
    model, tokenizer = tiny
    with pytest.raises(GGUFUnavailable, match="unsloth backend.*convert_hf_to_gguf"):
        save_gguf(HF, model, tokenizer, tmp_path / "gguf")
    assert not (tmp_path / "gguf").exists()  # nothing half-written


def test_gguf_rejects_unknown_quantization(tmp_path):
    with pytest.raises(ValueError, match="unknown quantization_method"):
        save_gguf(UNSLOTH, FakeUnsloth(), None, tmp_path / "g", quantization_method="q4_k_x")


def test_unsloth_models_go_through_unsloth(tmp_path):
    fake = FakeUnsloth()
    save_merged_16bit(UNSLOTH, fake, "tok", tmp_path / "m")
    path = save_gguf(UNSLOTH, fake, "tok", tmp_path / "g", quantization_method="q8_0")
    assert fake.calls == [("merged", {"save_method": "merged_16bit"}), ("gguf", {"quantization_method": "q8_0"})]
    assert path == tmp_path / "g" and sorted(p.name for p in path.iterdir()) == ["Modelfile", "model.Q8_0.gguf"]
    assert folder_summary(path).splitlines()[0].startswith("model.Q8_0.gguf")  # the summary lists the GGUF file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g", "m"]  # no second 16-bit copy, no <dir>_gguf left


def test_folder_summary_lists_largest_first(tmp_path):
    (tmp_path / "small.txt").write_text("x")
    (tmp_path / "big.bin").write_bytes(b"0" * 4096)
    assert folder_summary(tmp_path).splitlines() == ["big.bin  4.0 KB", "small.txt  1 B"]
