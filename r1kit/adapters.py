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
from pathlib import Path
from typing import Any

from r1kit.atomic import temporary_folder, write_json

RUN_CARD = "run_card.json"
WEIGHTS = "adapter_model.safetensors"
ADAPTER_FILES = ("adapter_config.json", WEIGHTS)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")  # one of them holds the vocabulary
LORA_PREFIX = "base_model.model."  # where PEFT's save_pretrained puts every key


class AdapterError(ValueError):
    """An adapter (or checkpoint) folder that cannot be used: damaged, incomplete, or made for another model."""


def _swap_into_place(staging: Path, path: Path) -> None:
    """Replace ``path`` by the complete folder ``staging`` (two renames; a failed one puts the old folder back)."""
    old = path.parent / f".{path.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    try:
        staging.rename(path)
    except BaseException:
        if old.exists() and not path.exists():
            old.rename(path)
        raise
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
    bad, total = nonfinite_lora(model)
    if bad:  # every process holds the same weights (DDP), so every process refuses
        raise AdapterError(
            f"refusing to save the adapter to {path}: {len(bad)} of {total} LoRA tensors hold NaN or infinite "
            f"values (e.g. {bad[0]}); training diverged, and {path} keeps what it held"
        )
    main = trainer is None or trainer.accelerator.is_main_process
    if trainer is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = temporary_folder(path.parent, prefix=f".{path.name}.saving.")
        model.save_pretrained(staging)
    else:
        staging = path.parent / f".{path.name}.saving"  # one name every process agrees on
        if main:
            path.parent.mkdir(parents=True, exist_ok=True)
            if staging.exists() and not staging.is_dir():
                raise AdapterError(f"{staging} is a file where the adapter's save stages its folder: remove it")
            shutil.rmtree(staging, ignore_errors=True)
        trainer.accelerator.wait_for_everyone()
        trainer.save_model(str(staging))
    try:
        if main:
            missing = [name for name in ADAPTER_FILES if not (staging / name).is_file()]
            if missing:
                raise AdapterError(
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
            from r1kit.model_card import write_model_card

            write_model_card(path)  # README.md: the folder publishes itself to the Hub as it is
    finally:
        if main:
            shutil.rmtree(staging, ignore_errors=True)
        if trainer is not None:
            trainer.accelerator.wait_for_everyone()
    return path


def _json_object(path: Path) -> dict:
    """The JSON object in ``path``; AdapterError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AdapterError(f"{path} is damaged: it does not read as JSON ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise AdapterError(f"{path} is damaged: it holds a JSON {type(data).__name__}, not an object")
    return data


def read_run_card(path: str | os.PathLike[str]) -> dict:
    """The run card of a saved adapter ({} when the folder has none, e.g. a foreign adapter; AdapterError if damaged)."""
    card = Path(path) / RUN_CARD
    return _json_object(card) if card.is_file() else {}


def update_run_card(path: str | os.PathLike[str], **fields: Any) -> dict:
    """Merge ``fields`` into the run card of a saved adapter (atomically); returns the new card."""
    card = {**read_run_card(path), **fields}
    write_json(Path(path) / RUN_CARD, card, default=str)
    from r1kit.model_card import write_model_card

    write_model_card(path)
    return card


def adapter_config(path: str | os.PathLike[str]) -> dict:
    """The ``adapter_config.json`` of a saved LoRA adapter; AdapterError naming the folder when absent or damaged."""
    config = Path(path) / "adapter_config.json"
    if not config.is_file():
        raise AdapterError(f"{path} is not a saved adapter: it has no adapter_config.json")
    data = _json_object(config)
    targets = data.get("target_modules")
    if data.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"{path} holds a {data.get('peft_type')} adapter; the kit loads LoRA adapters")
    if not isinstance(data.get("r"), int) or isinstance(data.get("r"), bool) or data["r"] < 1:
        raise AdapterError(f"{config} is damaged: its rank r is {data.get('r')!r}, not a positive integer")
    if not (
        isinstance(targets, str) or (isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets))
    ):
        raise AdapterError(f"{config} is damaged: target_modules is {targets!r}")
    return data


def lora_tensors(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Every tensor of ``folder``'s ``adapter_model.safetensors``, read whole (memory-mapped).

    AdapterError naming the file when it is missing, does not read (truncated, emptied) or holds
    NaN or infinite values.
    """
    import torch
    from safetensors import SafetensorError, safe_open

    path = Path(folder) / WEIGHTS
    if not path.is_file():
        raise AdapterError(f"{folder} has no {WEIGHTS}: the adapter's weights are missing")
    try:
        with safe_open(str(path), framework="pt") as handle:
            names = handle.keys()
            tensors = {name: handle.get_tensor(name) for name in names}
    except (SafetensorError, OSError) as error:
        raise AdapterError(f"{path} is damaged (truncated or overwritten?): {str(error).splitlines()[0]}") from None
    if not tensors:
        raise AdapterError(f"{path} holds no tensors")
    bad = [key for key, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise AdapterError(
            f"{path}: {len(bad)} of {len(tensors)} tensors hold NaN or infinite values (e.g. {bad[0]}): "
            "the training that saved them diverged"
        )
    return tensors


def nonfinite_lora(model: Any) -> tuple[list[str], int]:
    """(names of the LoRA parameters holding NaN or infinite values, how many LoRA parameters) of a model."""
    import torch

    lora = [(name, p) for name, p in model.named_parameters() if "lora_" in name]
    return [name for name, p in lora if not bool(torch.isfinite(p.detach()).all())], len(lora)


def model_modules(model: Any) -> dict[str, tuple[int, int] | None]:
    """Module name -> (out, in) features of a loaded model's linear layers (None: no such features), LoRA aside."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    modules: dict[str, tuple[int, int] | None] = {}
    for name, module in base.named_modules():
        if ".lora_" in name or name.endswith(".base_layer"):
            continue  # PEFT's own parts of a wrapped layer
        if hasattr(module, "in_features") and hasattr(module, "out_features"):
            modules[name] = (module.out_features, module.in_features)
        elif hasattr(module, "num_embeddings"):
            modules[name] = None
    return modules


def _targeted(modules: dict[str, Any], config: dict) -> set[str] | None:
    """The modules PEFT puts LoRA on for ``config`` (its rule: a list names module suffixes, a string is a regex).

    None where the config narrows the choice in ways not checked here (layers, exclusions, all-linear).
    """
    import re

    targets = config["target_modules"]
    if targets == "all-linear" or any(
        config.get(k) for k in ("layers_to_transform", "layers_pattern", "exclude_modules")
    ):
        return None
    if isinstance(targets, str):
        return {name for name in modules if re.fullmatch(targets, name)}
    return {name for name in modules if name in targets or any(name.endswith(f".{t}") for t in targets)}


def _check_fit(folder: Path, tensors: dict[str, Any], config: dict, modules: dict | None) -> None:
    """The saved tensors are PEFT LoRA pairs of the config's rank, for the modules of the base (when known)."""
    where = Path(folder) / WEIGHTS
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, tensor in tensors.items():
        module, mark, rest = key.partition(".lora_")
        if not mark:
            raise AdapterError(f"{where} holds {key!r}, which is not a LoRA weight")
        if not module.startswith(LORA_PREFIX):
            raise AdapterError(
                f"{where}: its weights sit under another prefix ({key!r}; PEFT saves them under {LORA_PREFIX!r}), "
                "so PEFT would load none of them"
            )
        pairs.setdefault(module[len(LORA_PREFIX) :], {})[rest.split(".", 1)[0]] = tuple(tensor.shape)
    rank = config["r"]
    for module, parts in pairs.items():
        a, b = parts.get("A"), parts.get("B")
        if (a is None) != (b is None):
            raise AdapterError(f"{where} is incomplete: {module} has lora_{'A' if a else 'B'} without its pair")
        if a is not None and not config.get("rank_pattern") and (a[0] != rank or b[1] != rank):
            raise AdapterError(f"{where}: {module} has rank {a[0]}, but its adapter_config.json says r={rank}")
    if not modules:
        return
    unknown = sorted(set(pairs) - set(modules))
    if unknown:
        raise AdapterError(
            f"{folder} does not fit this base model: it has no module {unknown[0]} (trained on another base model?)"
        )
    for module, parts in pairs.items():
        shape = modules[module]
        if shape is not None and "A" in parts and (parts["B"][0], parts["A"][1]) != shape:
            raise AdapterError(
                f"{folder} does not fit this base model: {module} is {shape[0]}x{shape[1]} there, the adapter's "
                f"LoRA is for {parts['B'][0]}x{parts['A'][1]} (trained on another base model?)"
            )
    expected = _targeted(modules, config)
    missing = sorted(expected - set(pairs)) if expected is not None else []
    if missing:
        raise AdapterError(
            f"{where} is incomplete: {len(missing)} of the {len(expected)} modules its adapter_config.json "
            f"targets have no weights (e.g. {missing[0]})"
        )


def _same_model(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.is_dir() and pb.is_dir() and pa.resolve() == pb.resolve()


def _checked(
    folder: str | os.PathLike[str], *, base: str | None, model: Any, tokenizer: bool
) -> tuple[dict, dict[str, Any]]:
    from r1kit.validate import linear_modules, local_model_folder

    folder = Path(folder)
    if not folder.is_dir():
        raise AdapterError(f"{folder} is not a folder: give a saved adapter folder, e.g. saved_adapters/cpu_demo")
    config = adapter_config(folder)
    card = read_run_card(folder)
    named = (card.get("recipe") or {}).get("model") or card.get("base_model") or config.get("base_model_name_or_path")
    if base is not None and named and not _same_model(base, named):
        raise AdapterError(f"{folder} was trained on {named!r}, not on {base!r}: load it with its own base model")
    if tokenizer:
        if not (folder / "tokenizer_config.json").is_file() or not any((folder / n).is_file() for n in TOKENIZER_FILES):
            raise AdapterError(f"{folder} has no tokenizer (tokenizer_config.json and its vocabulary are missing)")
        for name in ("tokenizer_config.json", "tokenizer.json"):
            if (folder / name).is_file():
                _json_object(folder / name)
    tensors = lora_tensors(folder)
    if model is not None:
        modules = model_modules(model)
    else:
        local = local_model_folder(base) if base is not None else None
        modules = linear_modules(local) if local is not None else None
    _check_fit(folder, tensors, config, modules)
    return config, tensors


def check_adapter(
    folder: str | os.PathLike[str], *, base: str | None = None, model: Any = None, tokenizer: bool = True
) -> dict:
    """Refuse, with one AdapterError line, a folder that would not load as a whole, fitting adapter; returns its config.

    Reads the folder's JSON files and every tensor of its weights; no model loads. ``base`` (a
    model name): the folder must name that model and fit its weight matrices when they are on
    disk (read from the safetensors headers). ``model`` (a loaded model): the folder must fit its
    modules. ``tokenizer``: a saved adapter carries its tokenizer (a checkpoint need not).

    >>> check_adapter("no/such/adapter")
    Traceback (most recent call last):
    ...
    r1kit.adapters.AdapterError: no/such/adapter is not a folder: give a saved adapter folder, e.g. saved_adapters/cpu_demo
    """
    return _checked(folder, base=base, model=model, tokenizer=tokenizer)[0]


def load_adapter_weights(model: Any, folder: str | os.PathLike[str]) -> Any:
    """Copy the LoRA weights saved in ``folder`` (an adapter or a checkpoint) into ``model``'s adapter.

    The model's LoRA must have the same rank and target modules (the same recipe): weights the
    model's LoRA has no place for, and LoRA weights of the model the folder leaves out (they would
    stay at their initialisation), are both an AdapterError.
    """
    from peft import set_peft_model_state_dict

    _, tensors = _checked(folder, base=None, model=model, tokenizer=False)
    result = set_peft_model_state_dict(model, tensors)
    unexpected = list(getattr(result, "unexpected_keys", []))
    missing = [key for key in getattr(result, "missing_keys", []) if "lora_" in key]
    if unexpected or missing:
        problem = f"the model's LoRA has no place for {unexpected[0]}" if unexpected else f"it leaves {missing[0]} out"
        raise AdapterError(
            f"{folder} does not fit this model's LoRA ({len(unexpected)} weights without a place, {len(missing)} "
            f"left at their initialisation; e.g. {problem}): was it saved with another rank, target_modules or base?"
        )
    return model


def load_adapter(path: str | os.PathLike[str], *, backend: str = "auto") -> tuple[Any, Any, Any]:
    """The base model named by the adapter's run card (or adapter_config), with the adapter's weights.

    Returns (model, tokenizer, backend object): on transformers a PEFT model in eval mode; on
    unsloth the 4-bit model with its vLLM engine and a LoRA of the adapter's shape holding its
    weights (generation still names the folder, which vLLM serves as a LoRA request). Settings
    the run card does not hold take the recipe's defaults.
    """
    from r1kit.backends import choose_backend
    from r1kit.gpu import detect
    from r1kit.recipe import field_default

    path = Path(path)
    config = adapter_config(path)
    recipe = read_run_card(path).get("recipe", {})
    base = recipe.get("model") or config.get("base_model_name_or_path")
    if not base:
        raise AdapterError(
            f"{path} does not say which base model it belongs to (no run card, no base_model_name_or_path)"
        )
    check_adapter(path, base=base)  # before anything loads: files, JSON, tensors, and the base's matrices when on disk
    chosen = choose_backend(backend)
    chosen.prepare()
    settings = {
        name: recipe.get(name, field_default(name))
        for name in ("max_seq_length", "load_in_4bit", "gpu_memory_utilization")
    }
    settings.update(
        lora_rank=config.get("r", field_default("lora_rank")),
        lora_alpha=config.get("lora_alpha") or config.get("r", field_default("lora_rank")),
        target_modules=sorted(config.get("target_modules") or field_default("target_modules")),
        random_state=recipe.get("seed", field_default("seed")),
    )
    model, tokenizer = chosen.load_adapter(path, base, settings, detect())
    check_adapter(path, model=model, tokenizer=False)  # as strict as training: it fits the loaded base
    return model, tokenizer, chosen


def newest_adapter(adapter_dir: str | os.PathLike[str]) -> Path:
    """The most recently saved adapter folder under ``adapter_dir``."""
    found = [p.parent for p in Path(adapter_dir).glob("*/adapter_config.json")]
    if not found:
        raise FileNotFoundError(
            f"no saved adapter in {adapter_dir}/: train one with a notebook or "
            "`python -m r1kit train RECIPE`, or set ADAPTER to a folder"
        )
    return max(found, key=lambda p: (p / "adapter_model.safetensors").stat().st_mtime)


def adapters_table(adapter_dir: str | os.PathLike[str]) -> str:
    """Markdown table of the adapters under ``adapter_dir``: base model, task, steps."""
    lines = ["| adapter | base model | task | steps |", "|---|---|---|---|"]
    for config in sorted(Path(adapter_dir).glob("*/adapter_config.json")):
        card = read_run_card(config.parent)
        recipe = card.get("recipe", {})
        lines.append(
            f"| {config.parent.name} | {card.get('base_model', '?')} | {recipe.get('task', '?')} | "
            f"{card.get('steps', '?')} |"
        )
    return "\n".join(lines)


def lora_change(adapter: str | os.PathLike[str], start: str | os.PathLike[str] | None = None) -> str:
    """Did training change the LoRA? How many B matrices moved away from zero, or from ``start``'s.

    LoRA's B matrices start at zero; after a cold start GRPO starts from the cold start's adapter
    (``start``), so there the question is how many differ from it.
    """
    from safetensors.torch import load_file

    def b_matrices(folder: str | os.PathLike[str]) -> dict[str, Any]:
        tensors = load_file(str(Path(folder) / "adapter_model.safetensors"))
        return {name: t for name, t in tensors.items() if "lora_B" in name}

    b = b_matrices(adapter)
    before = b_matrices(start) if start is not None else {}
    moved = sum(
        bool((t - before[name]).abs().max() > 0) if name in before else bool(t.abs().max() > 0) for name, t in b.items()
    )
    what = "are non-zero" if start is None else f"differ from {Path(start).name}'s"
    note = (
        ""
        if moved
        else (
            " GRPO learns only from groups whose completions score differently; "
            "none did yet (more steps, more generations, or an easier task)."
        )
    )
    return f"{moved} of {len(b)} LoRA B matrices {what}.{note}"
