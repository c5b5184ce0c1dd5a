"""Unsloth backend: a 4-bit model with LoRA and a co-located vLLM engine.

Calls the GPU stack exactly as Unsloth's GRPO notebooks do (unslothai/notebooks, Llama3.1 (8B)
and Qwen2.5 (3B) GRPO, 2026-08): `FastLanguageModel.from_pretrained(..., fast_inference=True,
max_lora_rank=..., gpu_memory_utilization=...)`, then `FastLanguageModel.get_peft_model(...)`;
generation goes through :class:`r1kit.generation.VLLMGenerator` (`model.fast_generate(...,
lora_request=model.load_lora(path))`). Written against the sources of the versions pinned in
gpu_requirements*.txt: unsloth 2026.8.18 (unsloth/models/loader.py, llama.py), unsloth_zoo
2026.8.12 (vllm_utils.py), vllm 0.15.1 and 0.11.2 (sampling_params.py, entrypoints/llm.py) and
trl 0.22.2. tests/test_api_drift.py checks every keyword argument the kit passes to them.

Import order. Unsloth patches transformers, trl and peft when it is imported, so it has to be
imported before them. This module imports nothing heavy at import time (it loads on a CPU
machine without Unsloth); `import_unsloth_first()` imports Unsloth and warns when it comes too
late. Callers that pick the unsloth backend (the CLI, the notebooks) call it before anything
imports trl, transformers or peft, so `r1kit/__init__.py` must not import those eagerly.

    import_unsloth_first()
    model, tokenizer = load_unsloth_model("unsloth/Qwen2.5-3B-Instruct", max_seq_length=1024, lora_rank=64)
    # generation: r1kit.generation.VLLMGenerator(model, tokenizer)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

# All attention and MLP projections, as the notebooks use; drop q/k/v/o_proj if out of memory.
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# Modules that Unsloth patches on import; importing any of them first weakens its patches.
PATCHED_BY_UNSLOTH = ("transformers", "trl", "peft")
INSTALL_HINT = (
    "install the GPU set with `pip install -r gpu_requirements.txt` (on a Tesla T4, with its #T4 vllm pin), "
    "as the notebooks' install cell does"
)


def cuda_available() -> bool:
    """True when torch sees a CUDA GPU.

    >>> isinstance(cuda_available(), bool)
    True
    """
    import torch

    return torch.cuda.is_available()


def require_unsloth() -> None:
    """Raise a RuntimeError that names the fix when the unsloth backend cannot run here."""
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(
            "The unsloth backend needs an NVIDIA GPU with CUDA, and torch sees none "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False). In Colab choose "
            "Runtime > Change runtime type > T4 GPU; without a GPU use backend='transformers'."
        )
    if importlib.util.find_spec("unsloth") is None:
        raise RuntimeError(
            "A CUDA GPU is visible but Unsloth is not installed, so the 4-bit + vLLM path cannot run "
            "(plain transformers would load the model in 16-bit and likely run out of GPU memory). "
            f"Fix: {INSTALL_HINT}, and read the install output for errors. To train without Unsloth "
            "on purpose, set backend: transformers."
        )


# Set before `import unsloth` (unsloth_zoo reads them when vLLM starts). Standby shares GPU
# memory between vLLM and training over time. In standby, unsloth_zoo 2026.8.12
# (vllm_utils.py, load_vllm) replaces gpu_memory_utilization with its own target unless
# UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE is set: with it, the recipe's share is what vLLM gets,
# so "lower gpu_memory_utilization if out of memory" works.
UNSLOTH_ENVIRONMENT = {"UNSLOTH_VLLM_STANDBY": "1", "UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE": "1"}


def import_unsloth_first() -> ModuleType:
    """Import Unsloth (once) with :data:`UNSLOTH_ENVIRONMENT`, warning when trl, transformers or peft came first."""
    if "unsloth" in sys.modules:
        return sys.modules["unsloth"]
    require_unsloth()
    too_early = [name for name in PATCHED_BY_UNSLOTH if name in sys.modules]
    if too_early:
        warnings.warn(
            f"{', '.join(too_early)} was imported before unsloth, so Unsloth's patches may not "
            "apply. Restart, then call r1kit.unsloth_backend.import_unsloth_first() before "
            "importing anything else that uses them.",
            RuntimeWarning,
            stacklevel=2,
        )
    os.environ.update(UNSLOTH_ENVIRONMENT)
    try:
        return importlib.import_module("unsloth")
    except ImportError as error:
        raise RuntimeError(
            f"Unsloth is installed but does not import ({type(error).__name__}: {error}). This usually "
            f"means the install cell failed part-way: {INSTALL_HINT}, restart the runtime, and run all again."
        ) from error


def load_unsloth_model(
    name: str,
    *,
    max_seq_length: int,
    lora_rank: int,
    load_in_4bit: bool = True,
    fast_inference: bool = True,
    gpu_memory_utilization: float = 0.6,
    target_modules: Sequence[str] = DEFAULT_TARGET_MODULES,
    lora_alpha: int | None = None,
    dtype: str | None = None,
    random_state: int = 3407,
) -> tuple[Any, Any]:
    """Load `name` (hub id or local folder) through Unsloth, add LoRA, return (model, tokenizer).

    Args:
        max_seq_length: prompt plus completion tokens; raise it for longer reasoning traces.
        lora_rank: LoRA rank, also vLLM's `max_lora_rank`; larger is smarter but slower.
        load_in_4bit: 4-bit QLoRA weights (False: 16-bit LoRA, about 4x the memory).
        fast_inference: co-locate a vLLM engine for generation (`model.fast_generate`).
        gpu_memory_utilization: share of GPU memory vLLM may take; lower if out of memory.
        lora_alpha: LoRA scale numerator; None means `lora_rank`, as the notebooks set it.
        dtype: "bfloat16" or "float16" (`r1kit.gpu.Gpu.dtype`, the same rule the trainer's
            bf16/fp16 follow); None lets Unsloth pick by the same rule.
        random_state: seed of the LoRA initialisation.
    """
    if max_seq_length <= 0 or lora_rank <= 0:
        raise ValueError(f"max_seq_length and lora_rank must be positive: {max_seq_length}, {lora_rank}")
    if not 0.0 < gpu_memory_utilization <= 1.0:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    if not target_modules:
        raise ValueError("target_modules is empty: name the projections that get LoRA, e.g. q_proj")
    import_unsloth_first()
    import torch
    from unsloth import FastLanguageModel

    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=name,
        max_seq_length=max_seq_length,
        dtype=None if dtype is None else getattr(torch, dtype),
        load_in_4bit=load_in_4bit,
        fast_inference=fast_inference,
        max_lora_rank=lora_rank,
        gpu_memory_utilization=gpu_memory_utilization,
    )
    model = FastLanguageModel.get_peft_model(
        model,
        r=lora_rank,
        target_modules=list(target_modules),
        lora_alpha=lora_rank if lora_alpha is None else lora_alpha,
        use_gradient_checkpointing="unsloth",  # Unsloth's offloaded checkpointing: long contexts fit
        random_state=random_state,
    )
    return model, tokenizer
