"""The two backends, chosen once: what loads a model, adds or loads LoRA, generates and exports.

* :class:`TransformersBackend`: plain transformers + PEFT LoRA, HF ``generate``; CPU or GPU.
* :class:`UnslothBackend`: a CUDA GPU with Unsloth: 4-bit weights, LoRA and a co-located vLLM
  engine (:mod:`r1kit.unsloth_backend`); generation through vLLM.

:func:`choose_backend` is the one place that reads a backend's name: ``auto`` takes unsloth on
a CUDA GPU and transformers without one; a CUDA machine without Unsloth is an error, not a
silent fallback (plain transformers would load the GPU recipes' models in 16-bit and run out of
memory). Everything else asks the object. The loading settings come from the recipe alone.

    backend = choose_backend(recipe.backend)     # this machine; gpu=PROFILES["t4"] plans for a T4
    backend.prepare()                            # Unsloth is imported before trl/transformers/peft
    model, tokenizer = backend.load(recipe, gpu)  # base weights under a fresh LoRA
    generator = backend.generator(model, tokenizer, batch_size=recipe.eval_batch_size)

>>> from r1kit.gpu import PROFILES
>>> choose_backend("auto", gpu=PROFILES["t4"]).name, choose_backend("auto", gpu=PROFILES["cpu"]).name
('unsloth', 'transformers')
>>> choose_backend("transformers").exports
('lora', 'merged_16bit')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1kit.gpu import Gpu

BACKENDS = ("auto", "unsloth", "transformers")


class TransformersBackend:
    """transformers + PEFT: LoRA on the full-precision model, HF generate, merged exports."""

    name = "transformers"
    exports: tuple[str, ...] = ("lora", "merged_16bit")
    matched_dtype_flags = False  # the trainer's bf16/fp16 may differ from the loaded dtype
    engine_context = False  # no vLLM engine whose context must hold prompt + completion

    def prepare(self) -> None:
        """Nothing must be imported first."""

    def before_grpo(self) -> None:
        """Nothing to clear before a GRPO stage."""

    def check_grpo_arguments(self, args: dict[str, Any]) -> None:
        """TRL runs the GRPOConfig arguments as given: nothing to refuse beyond TRL's own checks."""

    def generation(self, recipe: Any) -> str:
        """How GRPO generates, for ``plan``."""
        if recipe.grpo.get("use_vllm"):
            return f"vLLM through TRL (vllm_mode: {recipe.grpo_value('vllm_mode') or 'server'})"
        return "transformers generate"

    def load_tokenizer(self, model: str) -> Any:
        """The model's tokenizer alone (prompt lengths are measured with it before the model loads)."""
        from r1kit.models import load_tokenizer

        return load_tokenizer(model)

    def load(self, recipe: Any, gpu: Gpu) -> tuple[Any, Any]:
        """The recipe's model in ``gpu``'s dtype with a fresh LoRA (seeded by the recipe)."""
        import torch

        from r1kit.models import add_lora, load_base

        model, tokenizer = load_base(recipe.model, dtype=getattr(torch, gpu.dtype))
        torch.manual_seed(recipe.seed)
        return add_lora(model, **lora_settings(recipe)), tokenizer

    def load_adapter(self, folder: Path, base: str, settings: dict, gpu: Gpu) -> tuple[Any, Any]:
        """``base`` with the saved adapter in ``folder`` on top (PEFT), in eval mode."""
        import torch
        from peft import PeftModel
        from transformers import AutoTokenizer

        from r1kit.models import load_base

        model, _ = load_base(base, dtype=getattr(torch, gpu.dtype))
        model = PeftModel.from_pretrained(model, str(folder))
        model.eval()
        return model, AutoTokenizer.from_pretrained(str(folder))

    def generator(self, model: Any, tokenizer: Any, *, batch_size: int) -> Any:
        from r1kit.generation import HFGenerator

        return HFGenerator(model, tokenizer, batch_size=batch_size)

    def save_merged(self, model: Any, tokenizer: Any, path: Path) -> None:
        """PEFT's ``merge_and_unload`` on a copy, saved in bfloat16 (the model in memory keeps its adapter)."""
        import copy

        import torch

        merged = copy.deepcopy(model).merge_and_unload()
        merged.to(torch.bfloat16).save_pretrained(str(path), safe_serialization=True)
        tokenizer.save_pretrained(str(path))

    def save_gguf(self, model: Any, tokenizer: Any, scratch: Path, quantization_method: str) -> Any:
        from r1kit.export import GGUFUnavailable

        raise GGUFUnavailable(
            "GGUF export runs through Unsloth, and this model was loaded with the transformers backend. "
            "Either train on a CUDA GPU with the unsloth backend (the notebooks' install cell sets it up), "
            "or convert the merged 16-bit folder with llama.cpp: `python convert_hf_to_gguf.py MERGED_DIR "
            "--outtype q8_0`, then `llama-quantize` for smaller types such as Q4_K_M."
        )


class UnslothBackend:
    """Unsloth on a CUDA GPU: 4-bit (or 16-bit) LoRA with a co-located vLLM engine."""

    name = "unsloth"
    exports: tuple[str, ...] = ("lora", "merged_16bit", "gguf")
    # unsloth/models/rl.py: its trainer refuses bf16 on a float16 model and fp16 on a bfloat16 one
    matched_dtype_flags = True
    engine_context = True  # vLLM's max_model_len is max_seq_length

    def prepare(self) -> None:
        """Import Unsloth before anything imports trl, transformers or peft."""
        from r1kit.unsloth_backend import import_unsloth_first

        import_unsloth_first()

    def before_grpo(self) -> None:
        """unsloth_zoo reuses a ``grpo_trainer_lora_model/`` left in the working directory for vLLM's LoRA: start without one."""
        from r1kit import unsloth_backend

        unsloth_backend.clear_grpo_lora_config()

    def check_grpo_arguments(self, args: dict[str, Any]) -> None:
        """ValueError for arguments Unsloth's trainer would change or refuse on the GPU (r1kit.unsloth_backend)."""
        from r1kit.unsloth_backend import check_grpo_arguments

        check_grpo_arguments(args)

    def generation(self, recipe: Any) -> str:
        return "vLLM inside the training process (Unsloth fast_inference, standby)"

    def load_tokenizer(self, model: str) -> Any:
        from r1kit.models import load_tokenizer

        return load_tokenizer(model)

    def _load(self, model: str, settings: dict, gpu: Gpu) -> tuple[Any, Any]:
        from r1kit.models import resolve_model
        from r1kit.unsloth_backend import load_unsloth_model

        return load_unsloth_model(resolve_model(model), dtype=gpu.dtype, **settings)

    def load(self, recipe: Any, gpu: Gpu) -> tuple[Any, Any]:
        settings = lora_settings(recipe)
        return self._load(
            recipe.model,
            {
                "lora_rank": settings["lora_rank"],
                "lora_alpha": settings["lora_alpha"],
                "target_modules": settings["target_modules"],
                "max_seq_length": recipe.max_seq_length,
                "load_in_4bit": recipe.load_in_4bit,
                "gpu_memory_utilization": recipe.gpu_memory_utilization,
                "random_state": recipe.seed,
            },
            gpu,
        )

    def load_adapter(self, folder: Path, base: str, settings: dict, gpu: Gpu) -> tuple[Any, Any]:
        """The 4-bit base with its vLLM engine and a LoRA of the adapter's shape holding its weights."""
        from r1kit.adapters import load_adapter_weights

        model, tokenizer = self._load(base, settings, gpu)
        return load_adapter_weights(model, folder), tokenizer

    def generator(self, model: Any, tokenizer: Any, *, batch_size: int) -> Any:
        from r1kit.generation import VLLMGenerator

        return VLLMGenerator(model, tokenizer, batch_size=batch_size)

    def save_merged(self, model: Any, tokenizer: Any, path: Path) -> None:
        """Unsloth's merge (it dequantizes 4-bit weights layer by layer)."""
        model.save_pretrained_merged(str(path), tokenizer, save_method="merged_16bit")

    def save_gguf(self, model: Any, tokenizer: Any, scratch: Path, quantization_method: str) -> Any:
        """Unsloth merges into ``scratch`` and writes the GGUF files beside it; returns its report."""
        return model.save_pretrained_gguf(str(scratch), tokenizer, quantization_method=quantization_method)


Backend = TransformersBackend | UnslothBackend


def lora_settings(recipe: Any) -> dict[str, Any]:
    """The LoRA a recipe asks for (alpha defaults to the rank, as the notebooks use)."""
    return {
        "lora_rank": recipe.lora_rank,
        "lora_alpha": recipe.lora_rank if recipe.lora_alpha is None else recipe.lora_alpha,
        "target_modules": list(recipe.target_modules),
    }


def choose_backend(name: str = "auto", *, gpu: Gpu | None = None) -> Backend:
    """The backend that will run ``name`` ("auto", "unsloth" or "transformers").

    With ``gpu`` (a :mod:`r1kit.gpu` profile) the choice is planned for that GPU and nothing is
    checked on this machine. RuntimeError, naming the fix, when the unsloth backend cannot run.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    from r1kit import unsloth_backend

    if name == "transformers":
        return TransformersBackend()
    cuda = unsloth_backend.cuda_available() if gpu is None else gpu.cuda
    if name == "auto" and not cuda:
        return TransformersBackend()
    if gpu is None:
        unsloth_backend.require_unsloth()
    elif not gpu.cuda:
        raise RuntimeError(
            f"the unsloth backend needs a CUDA GPU, and {gpu.describe()} has none; use backend: transformers"
        )
    return UnslothBackend()
