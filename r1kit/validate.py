"""One validation pass of a recipe before anything loads, shared by every command, ``plan``, the pipeline and the notebooks.

    validate_recipe(recipe)                        # this machine: RecipeError, one line naming the field and the fix
    validate_recipe(recipe, gpu=PROFILES["t4"])    # planned for a T4 (``python -m r1kit plan --gpu t4``)

A recipe that passes fails later only for what cannot be known without loading (memory, a
prompt too long in tokens, which the pipeline measures). The checks, cheapest first:

1. the kit's fields, again (types and ranges, :mod:`r1kit.recipe`): a recipe may be changed after it was read;
2. paths: the run and adapter folders of both stages apart (none the same as, or inside,
   another), the output folders writable, and an adapter destination that holds nothing a
   save would replace but an adapter;
3. the backend can run; on this machine its import-first step runs (Unsloth before TRL);
4. on this machine, the model resolves without a download when the hub is off or unreachable
   (the alias, a folder, a hub id in the local cache), and ``target_modules`` name modules it has;
5. the ``grpo:``/``sft:`` sections: fields of the installed TRL, and TRL's own ``__post_init__``;
6. the task: the ``task_args`` its dataset builder takes and accepts, and ``eval_size`` distinct
   held-out problems it can give.

With ``gpu`` (a plan for that GPU, maybe on another machine) 3 plans the choice without
importing anything, and 4 and the hub-sourced data of 6 are left to the machine that runs it.
``sft.max_steps: -1`` (TRL's default) means transformers' "no step limit: train
``num_train_epochs`` over the traces"; 0 and other negative values are refused (see
:func:`r1kit.recipe._check_values`).
"""

from __future__ import annotations

import functools
import itertools
import json
import struct
import tempfile
from pathlib import Path
from typing import Any

from r1kit.gpu import Gpu
from r1kit.recipe import Recipe, RecipeError, check_lengths, recipe_from_dict

SAFETENSORS = "*.safetensors"


def validate_recipe(recipe: Recipe, *, gpu: Gpu | None = None) -> Any:
    """Refuse, with one line naming the field and the fix, a recipe that cannot run; see the module docstring.

    ``gpu``: a :class:`r1kit.gpu.Gpu` profile to plan for; None checks for this machine.
    Returns the backend object that will run it (prepared, on this machine).

    >>> from r1kit.gpu import PROFILES
    >>> r = recipe_from_dict({"model": "m", "task": "arithmetic", "backend": "unsloth"})
    >>> validate_recipe(r, gpu=PROFILES["cpu"])
    Traceback (most recent call last):
    ...
    r1kit.recipe.RecipeError: backend: the unsloth backend needs a CUDA GPU, and no CUDA GPU (CPU, float32) has none; use backend: transformers
    """
    from r1kit.backends import choose_backend
    from r1kit.gpu import detect

    recipe_from_dict(recipe.to_dict(), default_name=recipe.run_name)
    check_paths(recipe)
    try:
        backend = choose_backend(recipe.backend, gpu=gpu)
    except (RuntimeError, ValueError) as error:
        raise RecipeError(f"backend: {error}") from None
    here = gpu is None
    if here:
        backend.prepare()  # Unsloth is imported before anything below imports trl, transformers or peft
    if backend.engine_context:
        check_lengths(recipe)
    if here:
        check_model(recipe)
    _check_trainer_configs(recipe, gpu or detect(), backend)
    _check_task(recipe, here=here)
    return backend


# Paths --------------------------------------------------------------------------------------------


def _stage_folders(recipe: Recipe) -> dict[str, Path]:
    """Every folder a recipe's stages write, by the recipe fields that name it."""
    folders = {}
    for stage in ("sft", "grpo"):
        name = recipe.stage_name(stage)
        folders[f"output_dir/{name}"] = recipe.run_dir(stage)
        folders[f"adapter_dir/{name}"] = recipe.adapter_path(stage)
    return folders


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable(field: str, folder: Path) -> None:
    """``folder`` is, or can be made as, a folder this process can write in."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        what = "is a file" if existing == folder else f"lies under {existing}, which is a file"
        raise RecipeError(f"{field}: {folder} {what}, not a folder: move it or set {field} to another folder")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        raise RecipeError(
            f"{field}: {existing} cannot be written ({error.strerror or error}): "
            f"set {field} to a folder you can write in"
        ) from None


def check_paths(recipe: Recipe) -> None:
    """The stages' run and adapter folders are apart, writable, and no save replaces anything but an adapter.

    >>> r = recipe_from_dict({"model": "m", "task": "arithmetic", "output_dir": "out", "adapter_dir": "out"})
    >>> check_paths(r)
    Traceback (most recent call last):
    ...
    r1kit.recipe.RecipeError: output_dir/arithmetic-sft and adapter_dir/arithmetic-sft are the same folder (out/arithmetic-sft): saving the adapter would replace the run folder; give output_dir and adapter_dir different folders
    """
    folders = _stage_folders(recipe)
    resolved = {label: path.resolve() for label, path in folders.items()}
    for (a, pa), (b, pb) in itertools.combinations(resolved.items(), 2):
        if pa == pb:
            raise RecipeError(
                f"{a} and {b} are the same folder ({folders[a]}): saving the adapter would replace the run "
                "folder; give output_dir and adapter_dir different folders"
            )
        for inner, outer in ((a, b), (b, a)):
            if resolved[outer] in resolved[inner].parents:
                raise RecipeError(
                    f"{inner} ({folders[inner]}) lies inside {outer} ({folders[outer]}): give output_dir and "
                    "adapter_dir folders apart from each other"
                )
    for label, path in folders.items():
        field = label.split("/", 1)[0]
        if label.startswith("output_dir"):
            _check_writable(field, path)
        else:
            _check_adapter_destination(path)
            _check_writable(field, path.parent)


def _check_adapter_destination(path: Path) -> None:
    """A save may replace ``path`` only when it is a saved adapter (or absent), and nothing blocks its staging."""
    if path.exists() and not path.is_dir():
        raise RecipeError(f"adapter_dir: {path} is a file; the adapter is saved there as a folder: move the file away")
    if path.is_dir() and any(path.iterdir()) and not (path / "adapter_config.json").is_file():
        raise RecipeError(
            f"adapter_dir: {path} holds files that are not a saved adapter, and saving would replace them: "
            "move them away, or choose another adapter_dir or run_name"
        )
    for leftover in (path.parent / f".{path.name}.saving", path.parent / f".{path.name}.old"):
        if leftover.exists() and not leftover.is_dir():
            raise RecipeError(
                f"adapter_dir: {leftover} is a file where the adapter's save stages its folder: remove it"
            )


# The model ----------------------------------------------------------------------------------------


def _hub_unreachable(name: str) -> Exception | None:
    """Why the hub cannot give ``name`` now (None: it can), asked once with a short timeout."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import GatedRepoError, OfflineModeIsEnabled, RepositoryNotFoundError

    if constants.HF_HUB_OFFLINE:
        return OfflineModeIsEnabled("HF_HUB_OFFLINE is set")
    try:
        HfApi().model_info(name, timeout=10)
    except GatedRepoError:
        raise RecipeError(
            f"model {name!r} is gated on the hub: accept its license on its hub page, then log in "
            "(`huggingface-cli login`, or HF_TOKEN)"
        ) from None
    except RepositoryNotFoundError:
        raise RecipeError(
            f"model {name!r} is neither a local folder nor a model on the hub (a private one needs "
            "`huggingface-cli login`): check the name"
        ) from None
    except OSError as error:  # no network, DNS, timeout (requests' errors are OSErrors)
        return ConnectionError(f"{constants.ENDPOINT} did not answer: {type(error).__name__}")
    return None


def local_model_folder(name: str) -> Path | None:
    """The folder on this machine that holds model ``name`` (the converted alias, a folder, a cached hub id), else None.

    Nothing is downloaded, converted or asked of the hub.

    >>> local_model_folder("no-such-org/no-such-model") is None
    True
    """
    from r1kit.models import cache_dir
    from r1kit.smollm2 import CONVERSION_VERSION, SMOLLM2_ALIAS, conversion_version

    if name.lower() == SMOLLM2_ALIAS:
        folder = cache_dir() / SMOLLM2_ALIAS
        return folder if conversion_version(folder) == CONVERSION_VERSION else None
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not a valid hub id either
        return None
    return Path(cached).parent if isinstance(cached, str) else None


def check_model_available(name: str) -> Path | None:
    """Model ``name`` can be had on this machine: its folder (None: it is downloaded or converted when it loads).

    RecipeError naming the fixes when it cannot: a missing folder, a folder that is no model, the
    alias without its package, a hub id neither cached nor reachable (asked once, seconds at most).

    >>> check_model_available("./no/such/model")
    Traceback (most recent call last):
    ...
    r1kit.recipe.RecipeError: model: model folder './no/such/model' does not exist
    """
    from r1kit.models import _unreachable, resolve_model
    from r1kit.smollm2 import SMOLLM2_ALIAS, smollm2_gguf

    folder = local_model_folder(name)
    if folder is not None:
        if not (folder / "config.json").is_file():
            raise RecipeError(f"model: {folder} has no config.json: it is not a transformers model folder")
        return folder
    if name.lower() == SMOLLM2_ALIAS:
        try:
            smollm2_gguf()  # converted on first use from the file that package ships
        except FileNotFoundError as error:
            raise RecipeError(f"model: {error}") from None
        return None
    try:
        resolve_model(name)  # a path that is not a folder
    except FileNotFoundError as error:
        raise RecipeError(f"model: {error.args[0]}") from None
    problem = _hub_unreachable(name)
    if problem is not None:
        raise RecipeError(f"model: {_unreachable(name, problem)}")
    return None


def _header(path: Path) -> dict[str, Any]:
    """The tensor table of a safetensors file (name -> dtype, shape, offsets), read from its header only."""
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    header.pop("__metadata__", None)
    return header


def linear_modules(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Module name -> (out, in) features of every matrix in a model folder's weights (None: quantized, shape unknown).

    Read from the safetensors headers alone: a model of any size answers in milliseconds.
    """
    modules: dict[str, tuple[int, int] | None] = {}
    for path in sorted(folder.glob(SAFETENSORS)):
        for key, entry in _header(path).items():
            if key.endswith(".weight") and len(entry["shape"]) == 2:
                float_weights = entry["dtype"] in ("F32", "F16", "BF16")
                modules[key[: -len(".weight")]] = tuple(entry["shape"]) if float_weights else None
    return modules


def check_model(recipe: Recipe) -> None:
    """The recipe's model can be had on this machine, and each of ``target_modules`` names modules it has."""
    folder = check_model_available(recipe.model)
    modules = linear_modules(folder) if folder is not None else {}
    if not modules:  # not on disk yet (downloaded or converted when it loads)
        return
    kinds = sorted({name.rsplit(".", 1)[-1] for name in modules})
    for target in recipe.target_modules:
        if not any(name == target or name.endswith(f".{target}") for name in modules):
            raise RecipeError(
                f"target_modules: {recipe.model} has no module {target!r}; its weight matrices are {', '.join(kinds)}"
            )


# The trainers' configs ----------------------------------------------------------------------------


def _check_trainer_configs(recipe: Recipe, gpu: Gpu, backend: Any) -> None:
    """``grpo:``/``sft:`` keys are fields of the installed TRL, and TRL's configs accept the values.

    The dtype flags are left out of the configs built here (they are checked against ``gpu``,
    which this machine may not have: TrainingArguments refuses fp16 without CUDA).
    """
    import trl

    from r1kit.trainer_configs import check_trl_fields, grpo_arguments, sft_arguments

    check_trl_fields(recipe)
    for section, kind, arguments in (("grpo", "GRPOConfig", grpo_arguments), ("sft", "SFTConfig", sft_arguments)):
        args = arguments(recipe, gpu, backend=backend, run_dir=recipe.run_dir(section))
        try:
            getattr(trl, kind)(**{**args, "bf16": False, "fp16": False})
        except (ValueError, TypeError) as error:
            raise RecipeError(f"{section}: trl.{kind} refuses it: {str(error).splitlines()[0]}") from None


# The task -----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _distinct_problems(task_name: str, n: int, seed: int, style: str, options: str) -> int:
    """How many distinct held-out problems the task draws for ``n`` asked (built once per process)."""
    from r1kit.tasks import _row_key, get_task

    task = get_task(task_name)
    rows = task.build_dataset(n, seed=seed, split=task.eval_split, prompt_style=style, **json.loads(options))
    distinct = len({_row_key(row) for row in rows})
    if distinct < n:  # r1kit.tasks.build_datasets draws 8 times as many then, and keeps the first distinct ones
        more = task.build_dataset(8 * n, seed=seed, split=task.eval_split, prompt_style=style, **json.loads(options))
        distinct = len({_row_key(row) for row in more})
    return distinct


def _check_task(recipe: Recipe, *, here: bool) -> None:
    """The task's builder takes and accepts ``task_args``, and gives ``eval_size`` distinct held-out problems.

    Problems that come from the hub (``task_args.source: hub``) are read by the machine that
    runs the recipe: a plan for a GPU leaves them to it.
    """
    from r1kit.tasks import get_task

    if recipe.task_args.get("source") == "hub" and not here:
        return
    task = get_task(recipe.task)
    style = recipe.prompt_style or task.prompt_style
    try:
        distinct = _distinct_problems(
            task.name, recipe.eval_size, recipe.eval_seed, style, json.dumps(recipe.task_args, sort_keys=True)
        )
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        unknown = str(error).rsplit(" ", 1)[-1].strip("'")
        raise RecipeError(f"task_args.{unknown}: the {task.name} task's dataset builder takes no such option") from None
    except ValueError as error:
        raise RecipeError(f"task_args: the {task.name} task refuses them: {str(error).splitlines()[0]}") from None
    except RuntimeError as error:  # data_prep's "the hub cannot be reached" (source: hub, on this machine)
        if recipe.task_args.get("source") != "hub":
            raise
        raise RecipeError(f"task_args: {str(error).splitlines()[0]}") from None
    if distinct < recipe.eval_size:
        raise RecipeError(
            f"eval_size: the {task.name} task has only {distinct} distinct problems with these task_args, "
            f"fewer than eval_size ({recipe.eval_size}): lower eval_size or make the problems harder"
        )
