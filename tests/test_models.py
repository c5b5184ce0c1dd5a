"""Model loading: backend selection and its errors, name resolution, the offline alias, hub errors."""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest

from r1kit import models, smollm2
from r1kit.backends import choose_backend
from r1kit.smollm2 import SMOLLM2_ALIAS


@pytest.mark.parametrize(
    ("requested", "cuda", "unsloth_installed", "expected"),
    [
        ("transformers", True, True, "transformers"),  # forced transformers even where unsloth could run
        ("transformers", False, False, "transformers"),  # the CPU path
        ("auto", False, False, "transformers"),  # no CUDA: transformers
        ("auto", False, True, "transformers"),  # Unsloth installed but no CUDA: transformers
        ("auto", True, True, "unsloth"),  # CUDA and Unsloth: unsloth
        ("unsloth", True, True, "unsloth"),  # asked for and possible
    ],
)
def test_select_backend(monkeypatch, requested, cuda, unsloth_installed, expected):
    monkeypatch.setattr("torch.cuda.is_available", lambda: cuda)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object() if unsloth_installed else None)
    assert choose_backend(requested).name == expected


@pytest.mark.parametrize("requested", ["auto", "unsloth"])
def test_cuda_without_unsloth_stops_instead_of_falling_back(monkeypatch, requested):
    # a GPU runtime whose install failed: auto must not quietly load a 16-bit model
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(RuntimeError, match="Unsloth is not installed") as error:
        choose_backend(requested)
    assert "gpu_requirements.txt" in str(error.value) and "backend: transformers" in str(error.value)


def test_unsloth_installed_but_broken_stops_with_the_fix(monkeypatch):
    # an install that failed part-way (hidden by -q): Unsloth is found but does not import
    import importlib
    import sys
    import warnings

    from r1kit import unsloth_backend

    def broken(name):
        raise ImportError("cannot import name 'X' from 'unsloth_zoo'")

    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())
    monkeypatch.delitem(sys.modules, "unsloth", raising=False)
    monkeypatch.setattr(importlib, "import_module", broken)
    for key in unsloth_backend.UNSLOTH_ENVIRONMENT:  # the import sets them; setenv first so they are undone
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    assert choose_backend("auto").name == "unsloth"  # auto does not fall back to transformers
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="does not import") as error:
        warnings.simplefilter("ignore", RuntimeWarning)  # "imported before unsloth", when another test did
        unsloth_backend.import_unsloth_first()
    assert "gpu_requirements.txt" in str(error.value) and "restart the runtime" in str(error.value)


def test_unsloth_without_cuda_names_the_fix(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA") as error:
        choose_backend("unsloth")
    assert "backend='transformers'" in str(error.value)  # the message names the way out


@pytest.mark.parametrize("bad", ["vllm", "", "Transformers"])  # unknown names, case matters
def test_unknown_backend(bad):
    with pytest.raises(ValueError, match="unknown backend"):
        choose_backend(bad)


def test_unsloth_without_cuda_fails_before_loading(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        choose_backend("unsloth")


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("R1KIT_CACHE", str(tmp_path / "cache"))
    assert models.cache_dir() == tmp_path / "cache"
    assert models.cache_dir(tmp_path / "given") == tmp_path / "given"  # an explicit folder wins


def test_alias_reads_the_converted_folder(monkeypatch, tmp_path):
    folder = tmp_path / SMOLLM2_ALIAS
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / smollm2.CONVERSION_MARKER).write_text(json.dumps({"version": smollm2.CONVERSION_VERSION}))
    monkeypatch.setattr(smollm2, "_write_smollm2", lambda folder: pytest.fail("a current folder was converted again"))
    assert models.resolve_model("SmolLM2-135M-Instruct", cache=tmp_path) == str(folder)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),  # hub id unchanged
        ("gpt2", "gpt2"),  # a bare hub name
    ],
)
def test_hub_ids_pass_through(name, expected):
    assert models.resolve_model(name) == expected


@pytest.mark.parametrize("missing", ["./no/such/model", "/no/such/model", "~/no-such-model-dir"])
def test_missing_local_folder(missing):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        models.resolve_model(missing)


def test_uncached_hub_model_offline_names_the_fixes(monkeypatch, tmp_path):
    import huggingface_hub.constants
    import transformers.utils.hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(transformers.utils.hub, "_is_offline_mode", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(RuntimeError) as error:
        models.load_base("r1kit-tests/not-a-cached-model")
    message = str(error.value)
    for fix in ("huggingface-cli download", "local model folder", SMOLLM2_ALIAS):
        assert fix in message


def test_converted_alias_loads_with_the_right_end_token(make_lora):
    model, tokenizer = make_lora(lora_rank=4)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|im_end|>"
    assert tokenizer.eos_token_id == model.config.eos_token_id  # generation stops where turns end
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 0 < trainable < 0.05 * sum(p.numel() for p in model.parameters())  # only LoRA trains
