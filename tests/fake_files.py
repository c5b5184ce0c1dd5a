"""Files the kit reads, written as their writers write them, without a model or a training run.

* :func:`write_base_model`: a model folder (``config.json`` and one safetensors file) with a
  few small projection matrices, enough for the checks that read a model's headers;
* :func:`write_adapter`: a saved LoRA adapter for that model, as PEFT and the kit save one;
* :func:`write_checkpoint`: a trainer checkpoint (weights, optimizer, scheduler, trainer state).

    base = write_base_model(tmp_path / "base")
    adapter = write_adapter(tmp_path / "adapter", base)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

HIDDEN, LAYERS, RANK = 8, 2, 2
TARGETS = ["q_proj", "v_proj"]


def module_names(layers: int = LAYERS) -> list[str]:
    """The projections of the fake model that the fake adapter targets."""
    return [f"model.layers.{i}.self_attn.{m}" for i in range(layers) for m in TARGETS]


def write_base_model(folder: Path) -> Path:
    """A model folder whose weights hold q/k/v projections of 2 layers (8x8) and an embedding."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": LAYERS}))
    weights = {"model.embed_tokens.weight": torch.zeros(16, HIDDEN)}
    for i in range(LAYERS):
        for m in ("q_proj", "k_proj", "v_proj"):
            weights[f"model.layers.{i}.self_attn.{m}.weight"] = torch.zeros(HIDDEN, HIDDEN)
        weights[f"model.layers.{i}.input_layernorm.weight"] = torch.ones(HIDDEN)
    save_file(weights, str(folder / "model.safetensors"))
    return folder


def lora_state(rank: int = RANK, modules: list[str] | None = None, prefix: str = "base_model.model.") -> dict:
    """The tensors PEFT saves for a LoRA of ``rank`` on ``modules`` (B non-zero, as after training)."""
    state = {}
    for name in module_names() if modules is None else modules:
        state[f"{prefix}{name}.lora_A.weight"] = torch.full((rank, HIDDEN), 0.1)
        state[f"{prefix}{name}.lora_B.weight"] = torch.full((HIDDEN, rank), 0.01)
    return state


def write_adapter(folder: Path, base: Path | str, *, state: dict | None = None, rank: int = RANK) -> Path:
    """A saved adapter of ``base``: config, weights, tokenizer files and run card."""
    folder.mkdir(parents=True)
    config = {"peft_type": "LORA", "r": rank, "lora_alpha": rank, "target_modules": TARGETS}
    (folder / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": str(base)}))
    save_file(lora_state(rank) if state is None else state, str(folder / "adapter_model.safetensors"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 64}))
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "BPE"}}))
    card = {"stage": "grpo", "base_model": str(base), "steps": 3, "recipe": {"model": str(base), "task": "arithmetic"}}
    (folder / "run_card.json").write_text(json.dumps(card))
    return folder


def write_checkpoint(checkpoints: Path, step: int, log_history: list[dict] | None = None) -> Path:
    """``checkpoints/checkpoint-<step>`` as transformers writes it, trainer_state.json last."""
    folder = checkpoints / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": RANK, "target_modules": TARGETS}))
    save_file(lora_state(), str(folder / "adapter_model.safetensors"))
    optimizer = {"state": {0: {"step": torch.tensor(float(step)), "exp_avg": torch.zeros(RANK, HIDDEN)}}}
    torch.save(
        {**optimizer, "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "params": [0]}]}, folder / "optimizer.pt"
    )
    torch.save({"last_epoch": step, "_step_count": step + 1}, folder / "scheduler.pt")
    state = {"global_step": step, "max_steps": 10, "log_history": log_history or []}
    (folder / "trainer_state.json").write_text(json.dumps(state))
    return folder
