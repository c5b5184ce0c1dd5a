"""One validation pass before anything loads: every command refuses a recipe that cannot run with one line and exit 2.

Each case is a command a new user could type (``recipes/cpu_demo.yaml`` with ``--set``
overrides). Every model loader fails the test (``nothing_loads``): the refusal must come
before any model or tokenizer loads, in seconds. ``plan`` accepts exactly what ``train``
accepts, in the same words.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_files import write_adapter, write_base_model

from r1kit.cli import main
from r1kit.gpu import PROFILES
from r1kit.recipe import RecipeError, recipe_from_dict
from r1kit.validate import validate_recipe

RECIPE = "recipes/cpu_demo.yaml"
COMMANDS = ["demo", "sft", "train", "eval", "plan"]


@pytest.fixture
def out(tmp_path):
    """Overrides that keep a command's folders in the test's own folder."""
    return [f"output_dir={tmp_path / 'runs'}", f"adapter_dir={tmp_path / 'saved_adapters'}"]


def run(command, overrides, capsys, recipe=RECIPE):
    """(exit code, stderr) of ``python -m r1kit COMMAND RECIPE --set ...``."""
    code = main([command, str(recipe), *(f"--set={o}" for o in overrides)])
    return code, capsys.readouterr().err


def refused(command, overrides, capsys, message, recipe=RECIPE):
    code, err = run(command, overrides, capsys, recipe)
    assert code == 2, err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err  # one line, no traceback
    assert message in err, err
    return err


CASES = {
    # runs that trained into NaN or destroyed their own output
    "temperature 0": (["cold_start=false", "grpo.temperature=0"], "grpo.temperature must be a positive number"),
    "negative temperature": (["grpo.temperature=-1"], "grpo.temperature must be a positive number"),
    "adapter_dir = output_dir": (["adapter_dir={out}/x", "output_dir={out}/x"], "are the same folder"),
    "adapters inside the run folder": (["adapter_dir={out}/runs/cpu_demo"], "lies inside"),
    "run_name escapes": (["run_name=../../elsewhere"], "run_name must be one plain folder name"),
    "NaN reward weight": (["rewards.free_number=.nan"], "rewards.free_number: a weight must be a finite number"),
    "infinite reward weight": (["rewards.answer_digits=.inf"], "rewards.answer_digits: a weight must be a finite"),
    "all-zero reward weights": (
        ["rewards={number_correctness: 0, free_number: 0}"],
        "every weight is 0, so GRPO would train on no reward",
    ),
    "negative sft.max_steps": (["sft.max_steps=-3"], "sft.max_steps must be a positive integer, or -1 for epochs"),
    # tracebacks, and checks that came only after the model loaded
    "negative seed": (["seed=-1"], "seed must be from 0 to 4294967295, got -1"),
    "unsloth on a CPU": (["backend=unsloth"], "backend: "),
    "task_args.digits=0": (["task_args.digits=0"], "task_args: the arithmetic task refuses them: digits must be"),
    "unknown task_args key": (["task_args.digitz=2"], "task_args.digitz: the arithmetic task's dataset builder takes"),
    "eval_size beyond the task": (
        ["task_args.digits=1", "task_args.operators=+", "eval_size=100"],
        "eval_size: the arithmetic task has only 81 distinct problems",
    ),
    "grpo batch size 0": (["grpo.per_device_train_batch_size=0"], "grpo.per_device_train_batch_size must be a"),
    "sft batch size negative": (["sft.per_device_train_batch_size=-2"], "sft.per_device_train_batch_size must be a"),
    "learning rate a string": (["grpo.learning_rate=fast"], "grpo.learning_rate must be a positive number"),
    "negative learning rate": (["sft.learning_rate=-1e-4"], "sft.learning_rate must be a positive number"),
    "no target modules": (["target_modules=[]"], "target_modules must name the projections"),
    "a module the model lacks": (["target_modules=[q_proj, qkv_proj]"], "has no module 'qkv_proj'"),
    # TRL's own __post_init__, before the model loads (it said so only after the model loaded)
    "num_generations does not divide": (["grpo.num_generations=7"], "must be divisible by num_generations (7)"),
    "misspelt TRL field": (["grpo.num_generation=4"], "did you mean 'num_generations'"),
}


@pytest.mark.parametrize("case", CASES)
def test_train_refuses_before_loading(case, tmp_path, out, capsys, nothing_loads, monkeypatch):
    if case == "a module the model lacks":  # read from a model folder's weights (headers only)
        out = [*out, f"model={write_base_model(tmp_path / 'base')}"]
    overrides, message = CASES[case]
    overrides = [o.replace("{out}", str(tmp_path)) for o in overrides]
    start = time.perf_counter()
    refused("train", [*out, *overrides], capsys, message)
    assert time.perf_counter() - start < 60  # TRL's import is most of it


@pytest.mark.parametrize(
    "case", ["temperature 0", "adapter_dir = output_dir", "run_name escapes", "task_args.digits=0", "grpo batch size 0"]
)
def test_every_command_says_the_same(case, tmp_path, out, capsys, nothing_loads):
    overrides = [o.replace("{out}", str(tmp_path)) for o in CASES[case][0]]
    errors = {command: refused(command, [*out, *overrides], capsys, CASES[case][1]) for command in COMMANDS}
    assert len(set(errors.values())) == 1, errors  # plan accepts exactly what train accepts


@pytest.mark.parametrize("gpu", ["t4", "a100"])
def test_plan_for_a_gpu_refuses_what_train_there_would(gpu, out, capsys):
    sets = [f"--set={o}" for o in out]
    for override, message in (
        ("run_name=../../elsewhere", "run_name must be one plain folder name"),  # plan crashed on it
        ("grpo.temperature=0", "grpo.temperature must be a positive number"),
    ):
        assert main(["plan", RECIPE, "--gpu", gpu, *sets, f"--set={override}"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.splitlines()) == 1
    assert main(["plan", RECIPE, "--gpu", gpu, *sets]) == 0


def test_an_offline_hub_id_fails_in_seconds_naming_the_fixes(out, capsys, nothing_loads, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    start = time.perf_counter()
    err = refused("train", [*out, "model=someone/not-in-the-cache"], capsys, "not in the local Hugging Face cache")
    assert "huggingface-cli download someone/not-in-the-cache" in err and "smollm2-135m-instruct" in err
    assert time.perf_counter() - start < 30  # it took 52 s of retries


def test_a_missing_model_folder_is_named(out, capsys, nothing_loads):
    refused("train", [*out, "model=./models/none-here"], capsys, "model folder './models/none-here' does not exist")


# Paths on disk: files where folders go, folders that cannot be written, a destination in the way ----


def test_output_dir_that_is_a_file(tmp_path, capsys, nothing_loads):
    (tmp_path / "runs").write_text("not a folder")
    refused("train", [f"output_dir={tmp_path / 'runs'}", f"adapter_dir={tmp_path / 'a'}"], capsys, "is a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_read_only_output_dir(tmp_path, capsys, nothing_loads):
    (tmp_path / "runs").mkdir(mode=0o555)
    refused("train", [f"output_dir={tmp_path / 'runs'}", f"adapter_dir={tmp_path / 'a'}"], capsys, "cannot be written")


@pytest.mark.parametrize("field", ["output_dir", "adapter_dir"])
def test_a_folder_that_cannot_be_written(field, tmp_path, out, capsys, nothing_loads, monkeypatch):
    # as root a read-only folder is writable, so the write probe is made to fail as it does for a user
    import tempfile

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    probe = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):
        if Path(dir) == blocked:
            raise PermissionError(13, "Permission denied")
        return probe(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    refused("train", [*out, f"{field}={blocked}"], capsys, f"{field}: {blocked} cannot be written (Permission denied)")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "cpu_demo").write_text("x"), "saved_adapters/cpu_demo is a file"),
        (lambda d: (d / "cpu_demo").mkdir() or (d / "cpu_demo" / "notes.txt").write_text("x"), "not a saved adapter"),
        (lambda d: (d / ".cpu_demo.saving").write_text("x"), ".cpu_demo.saving is a file where the adapter's save"),
        (lambda d: (d / ".cpu_demo-sft.old").write_text("x"), ".cpu_demo-sft.old is a file where"),
    ],
)
def test_an_adapter_destination_in_the_way_is_refused_before_training(
    make, message, tmp_path, out, capsys, nothing_loads
):
    (tmp_path / "saved_adapters").mkdir()
    make(tmp_path / "saved_adapters")
    refused("train", out, capsys, message)


def test_a_saved_adapter_and_a_leftover_staging_folder_are_not_in_the_way(tmp_path):
    saved = tmp_path / "saved_adapters"
    base = write_base_model(tmp_path / "base")
    write_adapter(saved / "cpu_demo", base)  # the previous run's adapter: replaced atomically
    (saved / ".cpu_demo.saving").mkdir()  # a kill while saving leaves it; the next save removes it
    recipe = recipe_from_dict(
        {
            "model": str(base),
            "task": "arithmetic",
            "task_args": {"digits": 2},
            "target_modules": ["q_proj"],
            "run_name": "cpu_demo",
        }
        | {"output_dir": str(tmp_path / "runs"), "adapter_dir": str(saved)}
    )
    validate_recipe(recipe)


# Recipe files and command-line numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (bytes(range(256)), "is not a YAML text file"),  # binary
        ("model: x\ntask: arithmetic\n".encode("utf-16-le"), "is not a YAML text file"),  # UTF-16 without its mark
    ],
)
def test_unreadable_recipe_files(raw, message, tmp_path, capsys, nothing_loads):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(raw)
    for command in COMMANDS:
        refused(command, [], capsys, message, recipe=path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", RECIPE, "--k", "0"], "--k must be at least 1, got 0"),
        (["generate", "saved_adapters/none", "hi", "--max-new-tokens", "0"], "--max-new-tokens must be at least 1"),
        (
            ["generate", "saved_adapters/none", "hi", "--temperature", "-1"],
            "--temperature must be a number of at least",
        ),
    ],
)
def test_command_line_numbers(args, message, capsys, nothing_loads):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


# The function itself, as the pipeline and the notebooks call it ----------------------------------------


def test_a_recipe_changed_after_it_was_read_is_checked_again(tmp_path):
    recipe = recipe_from_dict({"model": "smollm2-135m-instruct", "task": "arithmetic", "output_dir": str(tmp_path)})
    recipe.grpo["temperature"] = 0.0  # e.g. a notebook cell
    with pytest.raises(RecipeError, match="grpo.temperature must be a positive number"):
        validate_recipe(recipe, gpu=PROFILES["cpu"])


@pytest.mark.parametrize(
    ("grpo", "message"),
    [
        ({"max_prompt_length": 512, "max_completion_length": 768}, "512 + 768 = 1280 tokens, more than max_seq_length"),
        ({"max_prompt_length": None}, "grpo.max_prompt_length is empty (no limit)"),
    ],
)
def test_lengths_are_checked_where_a_vllm_engine_runs(grpo, message, tmp_path):
    recipe = recipe_from_dict(
        {"model": "unsloth/Qwen2.5-3B-Instruct", "task": "countdown", "grpo": grpo, "output_dir": str(tmp_path)}
    )
    with pytest.raises(RecipeError) as error:
        validate_recipe(recipe, gpu=PROFILES["t4"])
    assert message in str(error.value)
    validate_recipe(recipe, gpu=PROFILES["cpu"])  # no vLLM engine on the transformers backend


def test_hub_data_is_left_to_the_machine_that_runs_the_plan(tmp_path):
    # planning the GSM8K recipe for a T4 on a laptop without the hub: the data is the T4 machine's business
    recipe = recipe_from_dict(
        {"model": "unsloth/Meta-Llama-3.1-8B-Instruct", "task": "gsm8k", "task_args": {"source": "hub"}}
        | {"output_dir": str(tmp_path)}
    )
    validate_recipe(recipe, gpu=PROFILES["t4"])


def test_nothing_imports_trl_transformers_or_peft_before_the_backends_import_first_step(tmp_path):
    # Unsloth must be imported before them: validation runs the backend's prepare() before it reads TRL's configs
    code = (
        "import sys\n"
        "import r1kit.backends as backends\n"
        "seen = []\n"
        "class Recording(backends.TransformersBackend):\n"
        "    def prepare(self):\n"
        "        seen.append(sorted({'trl', 'transformers', 'peft'} & set(sys.modules)))\n"
        "backends.choose_backend = lambda name, gpu=None: Recording()\n"
        "from r1kit.recipe import recipe_from_dict\n"
        "from r1kit.validate import validate_recipe\n"
        "recipe = recipe_from_dict({'model': 'smollm2-135m-instruct', 'task': 'arithmetic', 'task_args': {'digits': 2},"
        f" 'output_dir': {str(tmp_path / 'runs')!r}, 'adapter_dir': {str(tmp_path / 'saved')!r}}})\n"
        "validate_recipe(recipe)\n"
        "assert seen == [[]], seen\n"
        "assert 'trl' in sys.modules  # and TRL's configs were read after it\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
