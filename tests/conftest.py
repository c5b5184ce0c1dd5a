"""Shared test fixtures: one SmolLM2 base model per session, a fresh LoRA on a copy of it where a test needs one."""

import copy

import pytest

from r1kit.recipe import DEFAULT_TARGET_MODULES


@pytest.fixture(scope="session")
def smollm2_base():
    """The offline SmolLM2-135M-Instruct in float32 and its tokenizer, loaded once (about 6 s)."""
    import torch

    from r1kit.models import load_base

    return load_base("smollm2-135m-instruct", dtype=torch.float32)


@pytest.fixture(scope="session")
def make_lora(smollm2_base):
    """``make_lora(lora_rank=4, target_modules=...)``: a copy of the base model under a fresh LoRA, and its tokenizer."""
    import torch

    from r1kit.models import add_lora

    def make(lora_rank=4, target_modules=DEFAULT_TARGET_MODULES, lora_alpha=None, seed=0):
        model, tokenizer = smollm2_base
        torch.manual_seed(seed)
        lora = add_lora(
            copy.deepcopy(model), lora_rank=lora_rank, lora_alpha=lora_alpha or lora_rank, target_modules=target_modules
        )
        return lora, copy.deepcopy(tokenizer)

    return make


@pytest.fixture
def nothing_loads(monkeypatch):
    """Every model loader fails the test: the commands must refuse before they load."""

    def loaded(*args, **kwargs):
        raise AssertionError("a model was loaded")

    for target in (
        "r1kit.models.load_base",
        "r1kit.models.load_tokenizer",
        "r1kit.backends.TransformersBackend.load",
        "r1kit.backends.TransformersBackend.load_adapter",
        "r1kit.backends.TransformersBackend.load_tokenizer",
    ):
        monkeypatch.setattr(target, loaded)
