"""Saved adapters: write them atomically, load them back, generate with them.

A saved adapter is a standard PEFT folder (``adapter_config.json``,
``adapter_model.safetensors``) plus the tokenizer and ``run_card.json`` (recipe, base model,
steps, metrics), so plain PEFT, Unsloth and vLLM all load it. On the unsloth backend generation
goes through vLLM with the adapter as a LoRA request; elsewhere through PEFT and ``generate``.

    model, tokenizer = load_adapter("saved_adapters/cpu_demo")
    print(generate(model, tokenizer, ["What is 12 + 7?"], prompt_style="answer_only")[0])
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1kit.atomic import write_json

RUN_CARD = "run_card.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def save_adapter(model: Any, tokenizer: Any, path: str | os.PathLike[str], run_card: dict) -> Path:
    """Save the LoRA adapter, tokenizer and run card to ``path`` atomically; returns the path.

    Everything is written to a temporary folder beside ``path`` and renamed into place, so
    ``path`` holds either the previous adapter or the complete new one, never a mix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp."))
    old = path.parent / f".{path.name}.old"
    try:
        model.save_pretrained(tmp)
        missing = [name for name in ADAPTER_FILES if not (tmp / name).is_file()]
        if missing:
            raise ValueError(f"model did not save a LoRA adapter (missing {', '.join(missing)}); is it a PEFT model?")
        tokenizer.save_pretrained(tmp)
        write_json(tmp / RUN_CARD, run_card, default=str)
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            path.rename(old)
        tmp.rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
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


def _adapter_config(path: Path) -> dict:
    config = path / "adapter_config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{path} is not a saved adapter: it has no adapter_config.json")
    return json.loads(config.read_text(encoding="utf-8"))


def load_adapter(
    path: str | os.PathLike[str], *, backend: str = "auto", cache_dir: str | os.PathLike[str] | None = None
) -> tuple[Any, Any]:
    """Load the base model named by the adapter's run card (or adapter_config) with the adapter.

    transformers backend: a PEFT model in eval mode. unsloth backend: the Unsloth model, with
    the adapter folder remembered in ``model.r1kit_lora_path`` for :func:`generate` (vLLM serves
    it as a LoRA request).
    """
    from r1kit.models import load_base, select_backend

    path = Path(path)
    config = _adapter_config(path)
    recipe = read_run_card(path).get("recipe", {})
    base = recipe.get("model") or config.get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{path} does not say which base model it belongs to (no run card, no base_model_name_or_path)")
    if select_backend(backend) == "unsloth":
        from r1kit.unsloth_backend import DEFAULT_TARGET_MODULES, load_unsloth_model

        model, tokenizer = load_unsloth_model(
            base,
            max_seq_length=recipe.get("max_seq_length", 1024),
            lora_rank=config.get("r", 16),
            lora_alpha=config.get("lora_alpha"),
            target_modules=sorted(config.get("target_modules") or recipe.get("target_modules") or DEFAULT_TARGET_MODULES),
            load_in_4bit=recipe.get("load_in_4bit", True),
            gpu_memory_utilization=recipe.get("gpu_memory_utilization", 0.6),
        )
        model.r1kit_lora_path = str(path)
        return model, tokenizer
    from peft import PeftModel
    from transformers import AutoTokenizer

    model, _ = load_base(base, cache=cache_dir)
    model = PeftModel.from_pretrained(model, str(path))
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return model, tokenizer


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | list[dict[str, str]]],
    *,
    prompt_style: str | None = None,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    batch_size: int = 32,
) -> list[str]:
    """One completion per prompt (greedy when ``temperature`` is 0), prefill included.

    A prompt is a chat (list of messages) or a plain question; a question is wrapped with
    ``prompt_style`` (see ``data_prep.PROMPT_STYLES``) or, without one, sent as a user message.
    """
    from data_prep import build_prompt, prefill_of
    from r1kit.evaluate import hf_generate, render_prompt

    chats = [
        p if not isinstance(p, str) else build_prompt(prompt_style, question=p) if prompt_style
        else [{"role": "user", "content": p}]
        for p in prompts
    ]
    rendered = [render_prompt(chat, tokenizer) for chat in chats]
    options = {"n": 1, "temperature": temperature, "top_p": top_p, "max_tokens": max_new_tokens, "seed": seed}
    if hasattr(model, "vllm_engine"):
        from r1kit.unsloth_backend import unsloth_generate

        texts = unsloth_generate(model, tokenizer, rendered, lora_path=getattr(model, "r1kit_lora_path", None), **options)
    else:
        was_training = model.training
        model.eval()
        try:
            texts = hf_generate(model, tokenizer, rendered, batch_size=batch_size, **options)
        finally:
            model.train(was_training)
    return [prefill_of(chat) + group[0] for chat, group in zip(chats, texts)]
