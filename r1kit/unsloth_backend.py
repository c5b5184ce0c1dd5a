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
import re
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

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


def require_vllm() -> None:
    """Raise a RuntimeError that names the fix when vLLM, which ``fast_inference=True`` needs, is not installed.

    Without it Unsloth turns ``fast_inference`` off with only a warning (unsloth 2026.8.18,
    unsloth/models/_utils.py ``fast_inference_setup``: "vLLM is not installed! Will use Unsloth
    inference!"), and GRPO then samples with transformers' generate, many times slower.
    """
    if importlib.util.find_spec("vllm") is None:
        raise RuntimeError(
            "The unsloth backend generates with vLLM (fast_inference=True), and vLLM is not installed: "
            "Unsloth would fall back to its much slower generate with only a warning. "
            f"Fix: {INSTALL_HINT}, and read the install output for errors (vLLM's wheel must match the torch it pins)."
        )


# Set before `import unsloth`: unsloth_zoo reads UNSLOTH_VLLM_STANDBY on import (without it, it
# turns on expandable_segments, with which vLLM's standby mode cannot start) and both when vLLM
# starts. Standby shares GPU memory between vLLM and training over time. In standby, unsloth_zoo
# 2026.8.12 (vllm_utils.py, load_vllm) replaces gpu_memory_utilization with its own target unless
# UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE is set: with it, the recipe's share is what vLLM gets,
# so "lower gpu_memory_utilization if out of memory" works.
UNSLOTH_ENVIRONMENT = {"UNSLOTH_VLLM_STANDBY": "1", "UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE": "1"}


def import_unsloth_first() -> ModuleType:
    """Import Unsloth (once) with :data:`UNSLOTH_ENVIRONMENT`, warning when trl, transformers or peft came first.

    RuntimeError, naming the fix, when Unsloth was imported already without that environment.
    """
    if "unsloth" in sys.modules:
        unset = {key: os.environ.get(key) for key, value in UNSLOTH_ENVIRONMENT.items() if os.environ.get(key) != value}
        if unset:
            wanted = ", ".join(f"{key}={value}" for key, value in UNSLOTH_ENVIRONMENT.items())
            raise RuntimeError(
                f"Unsloth was imported before the kit could set {wanted} (now: {unset}); Unsloth reads them "
                "when it is imported, so setting them now is too late (vLLM's standby mode would not start). "
                "Fix: restart the runtime and call r1kit.unsloth_backend.import_unsloth_first() before "
                "`import unsloth` (or set those variables before importing it)."
            )
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
    lora_alpha: int,
    target_modules: Sequence[str],
    load_in_4bit: bool,
    gpu_memory_utilization: float,
    dtype: str | None,
    random_state: int,
    fast_inference: bool = True,
) -> tuple[Any, Any]:
    """Load `name` (hub id or local folder) through Unsloth, add LoRA, return (model, tokenizer).

    Args:
        max_seq_length: prompt plus completion tokens; raise it for longer reasoning traces.
        lora_rank: LoRA rank, also vLLM's `max_lora_rank`; larger is smarter but slower.
        load_in_4bit: 4-bit QLoRA weights (False: 16-bit LoRA, about 4x the memory).
        fast_inference: co-locate a vLLM engine for generation (`model.fast_generate`).
        gpu_memory_utilization: share of GPU memory vLLM may take; lower if out of memory.
        lora_alpha: LoRA scale numerator (the recipe's, or its rank: `r1kit.backends.lora_settings`).
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
    if fast_inference:
        require_vllm()
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
        lora_alpha=lora_alpha,
        use_gradient_checkpointing="unsloth",  # Unsloth's offloaded checkpointing: long contexts fit
        random_state=random_state,
    )
    return model, tokenizer


# Where Unsloth's GRPOTrainer keeps the LoRA config it hands vLLM: a folder of the working
# directory, `grpo_trainer_lora_model` (with `_<CUDA_VISIBLE_DEVICES>` when that is set; unsloth
# 2026.8.18, unsloth/models/rl.py). unsloth_zoo 2026.8.12 (vllm_utils.py, load_lora) writes the
# config only when the folder is missing or on the process's first LoRA request, and reads it
# through a cache (get_peft_config): a folder left by an earlier run, or an evaluation's LoRA
# request made first, gives vLLM the old rank and target modules.
GRPO_LORA_FOLDER = "grpo_trainer_lora_model"


def clear_grpo_lora_config(workdir: str | os.PathLike[str] = ".") -> list[str]:
    """Remove the vLLM LoRA config an earlier GRPO run left in ``workdir``; call before each GRPO stage.

    Returns the files removed. Also empties unsloth_zoo's cache of that config when it is loaded.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     os.makedirs(os.path.join(d, GRPO_LORA_FOLDER))
    ...     open(os.path.join(d, GRPO_LORA_FOLDER, "adapter_config.json"), "w").close()
    ...     [os.path.relpath(f, d) for f in clear_grpo_lora_config(d)], os.listdir(d)
    (['grpo_trainer_lora_model/adapter_config.json'], [])
    """
    import glob

    removed = []
    for folder in sorted(glob.glob(os.path.join(glob.escape(os.fspath(workdir)), GRPO_LORA_FOLDER + "*"))):
        if not re.fullmatch(re.escape(GRPO_LORA_FOLDER) + r"(_\d+)?", os.path.basename(folder)):
            continue
        config = os.path.join(folder, "adapter_config.json")
        if os.path.isfile(config):
            os.remove(config)
            removed.append(config)
        if not os.listdir(folder):
            os.rmdir(folder)
    vllm_utils = sys.modules.get("unsloth_zoo.vllm_utils")
    if vllm_utils is not None and hasattr(getattr(vllm_utils, "get_peft_config", None), "cache_clear"):
        vllm_utils.get_peft_config.cache_clear()
    return removed


# What Unsloth's generated GRPOConfig sets whatever the recipe says (unsloth 2026.8.18,
# unsloth/models/rl.py, `check_dr_grpo`: "The DAPO paper recommends ..."), by loss_type.
UNSLOTH_FORCED = {"dapo": {"mask_truncated_completions": True, "epsilon_high": 0.28}}


def check_grpo_arguments(args: dict[str, Any]) -> None:
    """ValueError, naming the fix, for GRPOConfig arguments Unsloth would change (or refuse) on the GPU.

    >>> check_grpo_arguments({"loss_type": "dapo", "mask_truncated_completions": True, "epsilon_high": 0.28})
    >>> check_grpo_arguments({"loss_type": "dapo", "mask_truncated_completions": False, "epsilon_high": 0.28})
    Traceback (most recent call last):
    ...
    ValueError: grpo.mask_truncated_completions: with loss_type dapo Unsloth sets it to True whatever the recipe says; set it to true, or choose another loss_type (bnpo, grpo, dr_grpo)
    """
    for key, value in UNSLOTH_FORCED.get(args.get("loss_type"), {}).items():
        if args.get(key) != value:
            raise ValueError(
                f"grpo.{key}: with loss_type {args['loss_type']} Unsloth sets it to {value} whatever the recipe says; "
                f"set it to {str(value).lower()}, or choose another loss_type (bnpo, grpo, dr_grpo)"
            )
    temperature = args.get("temperature", 1.0)  # rl.py: Unsloth refuses 0 and below, 10 and above
    if not 0 < temperature < 10:
        raise ValueError(f"grpo.temperature must be above 0 and below 10 on the unsloth backend, got {temperature}")
