"""Saved adapters: write them atomically, read their run cards, load them back with their base model.

A saved adapter is a standard PEFT folder (``adapter_config.json``,
``adapter_model.safetensors``) plus the tokenizer and ``run_card.json`` (stage, recipe, base
model, the stage it started from, steps, metrics), so plain PEFT, Unsloth and vLLM all load it.
Generating with one goes through :mod:`r1kit.generation`, which takes the folder explicitly.

    model, tokenizer, backend = load_adapter("saved_adapters/cpu_demo")
    gen = make_generator(backend, model, tokenizer)
    gen.generate(prompts, adapter="saved_adapters/cpu_demo", max_tokens=64)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from r1kit.atomic import write_json

RUN_CARD = "run_card.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def _swap_into_place(staging: Path, path: Path) -> None:
    """Replace ``path`` by the complete folder ``staging`` (two renames; a crash leaves one or none)."""
    old = path.parent / f".{path.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    staging.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def save_adapter(
    model: Any, tokenizer: Any, path: str | os.PathLike[str], run_card: dict, *, trainer: Any = None
) -> Path:
    """Save the LoRA adapter, tokenizer and run card to ``path`` atomically; returns the path.

    Everything is written to a staging folder beside ``path`` and renamed into place, so
    ``path`` holds the previous adapter or the complete new one, never a mix. With ``trainer``
    every process must call this: the trainer gathers weights that DeepSpeed shards, and only
    the main process writes.
    """
    path = Path(path)
    main = trainer is None or trainer.accelerator.is_main_process
    if trainer is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.saving."))
        model.save_pretrained(staging)
    else:
        staging = path.parent / f".{path.name}.saving"  # one name every process agrees on
        if main:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
        trainer.accelerator.wait_for_everyone()
        trainer.save_model(str(staging))
    try:
        if main:
            missing = [name for name in ADAPTER_FILES if not (staging / name).is_file()]
            if missing:
                raise ValueError(
                    f"model did not save a LoRA adapter (missing {', '.join(missing)}); is it a PEFT model?"
                )
            (staging / "training_args.bin").unlink(missing_ok=True)  # the trainer's pickle: not part of an adapter
            if run_card.get("base_model"):  # the model as the recipe names it (an alias, a hub id), not a cache path
                config = adapter_config(staging)
                write_json(
                    staging / "adapter_config.json", {**config, "base_model_name_or_path": run_card["base_model"]}
                )
            tokenizer.save_pretrained(staging)
            write_json(staging / RUN_CARD, run_card, default=str)
            _swap_into_place(staging, path)
    finally:
        if main:
            shutil.rmtree(staging, ignore_errors=True)
        if trainer is not None:
            trainer.accelerator.wait_for_everyone()
    return path


def read_run_card(path: str | os.PathLike[str]) -> dict:
    """The run card of a saved adapter ({} when the folder has none, e.g. a foreign adapter)."""
    card = Path(path) / RUN_CARD
    return json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}


def update_run_card(path: str | os.PathLike[str], **fields: Any) -> dict:
    """Merge ``fields`` into the run card of a saved adapter (atomically); returns the new card."""
    card = {**read_run_card(path), **fields}
    write_json(Path(path) / RUN_CARD, card, default=str)
    return card


def adapter_config(path: str | os.PathLike[str]) -> dict:
    """The ``adapter_config.json`` of a saved adapter (FileNotFoundError naming the folder when absent)."""
    config = Path(path) / "adapter_config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{path} is not a saved adapter: it has no adapter_config.json")
    return json.loads(config.read_text(encoding="utf-8"))


def load_adapter_weights(model: Any, folder: str | os.PathLike[str]) -> Any:
    """Copy the LoRA weights saved in ``folder`` (an adapter or a checkpoint) into ``model``'s adapter.

    The model's LoRA must have the same rank and target modules (the same recipe).
    """
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = Path(folder) / "adapter_model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{folder} holds no adapter_model.safetensors")
    result = set_peft_model_state_dict(model, load_file(str(weights)))
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(
            f"{folder} does not fit this model's LoRA (e.g. {unexpected[0]}): was it trained on another base?"
        )
    return model


def load_adapter(
    path: str | os.PathLike[str], *, backend: str = "auto", cache_dir: str | os.PathLike[str] | None = None
) -> tuple[Any, Any, str]:
    """The base model named by the adapter's run card (or adapter_config), with the adapter's weights.

    Returns (model, tokenizer, backend): on transformers a PEFT model in eval mode; on unsloth
    the 4-bit model with its vLLM engine and a LoRA of the adapter's shape holding its weights
    (generation still names the folder, which vLLM serves as a LoRA request).
    """
    from r1kit.gpu import detect
    from r1kit.models import load_base, select_backend

    path = Path(path)
    config = adapter_config(path)
    recipe = read_run_card(path).get("recipe", {})
    base = recipe.get("model") or config.get("base_model_name_or_path")
    if not base:
        raise ValueError(
            f"{path} does not say which base model it belongs to (no run card, no base_model_name_or_path)"
        )
    backend = select_backend(backend)
    if backend == "unsloth":
        from r1kit.unsloth_backend import DEFAULT_TARGET_MODULES, load_unsloth_model

        model, tokenizer = load_unsloth_model(
            base,
            max_seq_length=recipe.get("max_seq_length", 1024),
            lora_rank=config.get("r", 16),
            lora_alpha=config.get("lora_alpha"),
            target_modules=sorted(
                config.get("target_modules") or recipe.get("target_modules") or DEFAULT_TARGET_MODULES
            ),
            load_in_4bit=recipe.get("load_in_4bit", True),
            gpu_memory_utilization=recipe.get("gpu_memory_utilization", 0.6),
            dtype=detect().dtype,
        )
        return load_adapter_weights(model, path), tokenizer, backend
    from peft import PeftModel
    from transformers import AutoTokenizer

    model, _ = load_base(base, cache=cache_dir)
    model = PeftModel.from_pretrained(model, str(path))
    model.eval()
    return model, AutoTokenizer.from_pretrained(str(path)), backend
