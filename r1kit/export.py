"""Saving a trained model in the three forms people ask for: LoRA adapter, merged 16-bit, GGUF.

* LoRA adapter: the small PEFT folder training already writes to ``saved_adapters/<run>/``
  (plain PEFT, Unsloth and vLLM all load it).
* Merged 16-bit: the base weights with the LoRA folded in, a plain transformers model folder.
  On the unsloth backend this is Unsloth's ``model.save_pretrained_merged(...,
  save_method="merged_16bit")`` (it dequantizes 4-bit weights layer by layer); on the
  transformers backend, PEFT's ``merge_and_unload()`` on a copy of the model, so the model in
  memory keeps its adapter.
* GGUF (llama.cpp, Ollama, LM Studio): Unsloth's ``model.save_pretrained_gguf(...,
  quantization_method=...)``, which merges to 16-bit, then runs llama.cpp's converter. It
  writes the merge into the folder it is given and the GGUF files into a *sibling* folder
  ``<folder>_gguf``, and returns a dict naming it (``gguf_directory``). :func:`save_gguf`
  lets it merge into a scratch folder, moves the GGUF folder to the path asked for, and
  deletes the scratch merge (a second 16-bit copy: ~16 GB for an 8B model). The transformers
  backend has no converter behind it and raises :class:`GGUFUnavailable` saying what to do.

Written against unsloth 2026.8.18 (unsloth/save.py: ``unsloth_generic_save_pretrained_merged``,
``unsloth_save_pretrained_gguf`` and its returned dict, ``_gguf_output_directory``,
``ALLOWED_QUANTS``) and peft 0.18.1; tests/test_api_drift.py checks that contract.

    save_merged_16bit(pipe.backend, model, tokenizer, "exports/countdown_qwen-merged")
    save_gguf(pipe.backend, model, tokenizer, "exports/countdown_qwen-gguf", quantization_method="q4_k_m")

Which of them a backend has is its ``exports`` (:mod:`r1kit.backends`), which does the merge.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

# Unsloth's llama.cpp presets (unsloth/save.py ALLOWED_QUANTS; the IQ ones need an imatrix file).
GGUF_METHODS = (
    "not_quantized",
    "fast_quantized",
    "quantized",
    "f32",
    "bf16",
    "f16",
    "q8_0",
    "q4_k_m",
    "q5_k_m",
    "q2_k",
    "q2_k_l",
    "q3_k_l",
    "q3_k_m",
    "q3_k_s",
    "q4_0",
    "q4_1",
    "q4_k_s",
    "q4_k",
    "q5_k",
    "q5_0",
    "q5_1",
    "q5_k_s",
    "q6_k",
    "q3_k_xs",
)


class GGUFUnavailable(RuntimeError):
    """GGUF export cannot run on this backend; the message names the fixes."""


def _fresh_dir(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_merged_16bit(backend: Any, model: Any, tokenizer: Any, path: str | os.PathLike[str]) -> Path:
    """Save base + LoRA merged into one 16-bit transformers model folder; returns the folder.

    The transformers backend merges a copy (bfloat16), so it needs memory for a second copy of the model.
    """
    path = _fresh_dir(path)
    if not hasattr(model, "merge_and_unload") and not hasattr(model, "save_pretrained_merged"):
        raise ValueError(f"{type(model).__name__} has no LoRA to merge: expected a PEFT model")
    backend.save_merged(model, tokenizer, path)
    return path


def save_gguf(
    backend: Any, model: Any, tokenizer: Any, path: str | os.PathLike[str], *, quantization_method: str = "q4_k_m"
) -> Path:
    """Export to GGUF through Unsloth (it merges, then runs llama.cpp); returns ``path``, which holds the .gguf files.

    ``quantization_method``: one of :data:`GGUF_METHODS` ("q4_k_m" is the usual size/quality
    trade; "q8_0" converts fastest; "f16" keeps full precision). The 16-bit merge Unsloth
    makes on the way is deleted. Raises GGUFUnavailable on the transformers backend.

    >>> from r1kit.backends import TransformersBackend
    >>> save_gguf(TransformersBackend(), object(), None, "unused")
    Traceback (most recent call last):
    ...
    r1kit.export.GGUFUnavailable: GGUF export runs through Unsloth, and this model was loaded with the transformers backend. Either train on a CUDA GPU with the unsloth backend (the notebooks' install cell sets it up), or convert the merged 16-bit folder with llama.cpp: `python convert_hf_to_gguf.py MERGED_DIR --outtype q8_0`, then `llama-quantize` for smaller types such as Q4_K_M.
    """
    if quantization_method not in GGUF_METHODS:
        raise ValueError(
            f"unknown quantization_method {quantization_method!r}; choose one of {', '.join(GGUF_METHODS)}"
        )
    if "gguf" not in backend.exports:
        backend.save_gguf(model, tokenizer, Path(path), quantization_method)  # raises GGUFUnavailable, naming the fix
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.parent / f".{path.name}.merge"  # Unsloth's 16-bit merge, deleted afterwards
    written = Path(f"{scratch}_gguf")  # where Unsloth puts the GGUF files (unsloth/save.py, _gguf_output_directory)
    try:
        for leftover in (scratch, written):
            shutil.rmtree(leftover, ignore_errors=True)
        result = backend.save_gguf(model, tokenizer, scratch, quantization_method)
        written = Path(result["gguf_directory"]) if isinstance(result, dict) else written
        if not any(written.glob("*.gguf")):
            raise RuntimeError(f"Unsloth reported no .gguf file in {written}: see its output above")
        shutil.rmtree(path, ignore_errors=True)
        shutil.move(str(written), str(path))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(written, ignore_errors=True)
    return path


def folder_summary(path: str | os.PathLike[str]) -> str:
    """One line per file in ``path`` (recursively) with its size, largest first.

    >>> import tempfile; d = tempfile.mkdtemp(); _ = Path(d, "a.json").write_text("{}")
    >>> folder_summary(d)
    'a.json  2 B'
    """
    files = sorted((p for p in Path(path).rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
    return "\n".join(f"{p.relative_to(path)}  {_size(p.stat().st_size)}" for p in files)


def _size(n: int) -> str:
    """``n`` bytes for people: B, KB, MB or GB."""
    value, units = float(n), ["B", "KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{n} B" if units[0] == "B" else f"{value:.1f} {units[0]}"
