"""Damaged files are named, never used: checkpoints and adapters are read, not listed; nothing good is overwritten.

Most tests write the files as their writers do (tests/fake_files.py) and damage them, with no
model: a truncated or emptied weight or optimizer file in the newest checkpoint, a trainer state
of the wrong shape, adapter folders whose keys, shapes, rank, base model or JSON are wrong.
A few load the CPU model (``make_lora``) to check the loaders that take a model.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from fake_files import lora_state, module_names, write_adapter, write_base_model, write_checkpoint
from safetensors.torch import save_file

from r1kit.adapters import AdapterError, check_adapter, load_adapter_weights, save_adapter
from r1kit.cli import main
from r1kit.runs import checkpoint_problem, last_metrics, resume_checkpoint


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


# Checkpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda f: truncate(f / "adapter_model.safetensors"), "adapter_model.safetensors is damaged"),
        (lambda f: empty(f / "adapter_model.safetensors"), "adapter_model.safetensors is damaged"),
        (lambda f: truncate(f / "optimizer.pt"), "optimizer.pt does not read"),
        (lambda f: empty(f / "optimizer.pt"), "optimizer.pt does not read"),
        (lambda f: truncate(f / "scheduler.pt"), "scheduler.pt does not read"),
        (lambda f: (f / "trainer_state.json").write_text("[1, 2]"), "trainer_state.json unreadable (TypeError"),
        (
            lambda f: (f / "trainer_state.json").write_text('{"global_step": "4"}'),
            "trainer_state.json unreadable (global_step is '4', not a step number)",
        ),
        (lambda f: (f / "trainer_state.json").write_text('{"global_step": 4'), "trainer_state.json unreadable"),
        (
            lambda f: save_file(
                {k: v * float("nan") for k, v in lora_state().items()}, str(f / "adapter_model.safetensors")
            ),
            "adapter_model.safetensors: 8 of 8 tensors hold NaN or infinite values",
        ),
    ],
)
def test_resume_skips_a_damaged_newest_checkpoint_for_the_one_before(tmp_path, capsys, damage, why):
    for step in (2, 4):
        write_checkpoint(tmp_path, step)
    assert checkpoint_problem(tmp_path / "checkpoint-4") is None  # intact as written
    damage(tmp_path / "checkpoint-4")
    assert resume_checkpoint(tmp_path) == tmp_path / "checkpoint-2"
    out = capsys.readouterr().out
    assert f"Skipping checkpoint-4: damaged ({why}" in out and "removed" in out
    assert not (tmp_path / "checkpoint-4").exists()  # the trainer would rotate it and write step 4 over its remains


def test_an_incomplete_checkpoint_is_still_named_as_a_kill_leaves_it(tmp_path, capsys):
    write_checkpoint(tmp_path, 2)
    (write_checkpoint(tmp_path, 4) / "trainer_state.json").unlink()
    assert resume_checkpoint(tmp_path, remove_incomplete=False) == tmp_path / "checkpoint-2"
    assert "Skipping checkpoint-4: incomplete (trainer_state.json missing), as a run killed" in capsys.readouterr().out


def test_no_loadable_checkpoint_starts_over(tmp_path):
    empty(write_checkpoint(tmp_path, 2) / "optimizer.pt")
    assert resume_checkpoint(tmp_path) is None


# Adapter folders -------------------------------------------------------------------------------


@pytest.fixture
def base(tmp_path):
    return write_base_model(tmp_path / "base")


def other_prefix(folder: Path) -> None:
    save_file(lora_state(prefix="model.base."), str(folder / "adapter_model.safetensors"))


def half_missing(folder: Path) -> None:
    save_file(lora_state(modules=module_names(1)), str(folder / "adapter_model.safetensors"))  # layer 1's gone


def b_missing(folder: Path) -> None:
    state = lora_state()
    del state[f"base_model.model.{module_names()[0]}.lora_B.weight"]
    save_file(state, str(folder / "adapter_model.safetensors"))


def config_says(**values):
    def change(folder: Path) -> None:
        config = json.loads((folder / "adapter_config.json").read_text())
        (folder / "adapter_config.json").write_text(json.dumps({**config, **values}))

    return change


def other_shapes(folder: Path) -> None:
    state = {k: torch.zeros(v.shape[0] * (2 if "lora_B" in k else 1), v.shape[1] * (2 if "lora_A" in k else 1))
             for k, v in lora_state().items()}  # fmt: skip
    save_file(state, str(folder / "adapter_model.safetensors"))


def module_the_base_lacks(folder: Path) -> None:
    save_file(
        {**lora_state(), **lora_state(modules=["model.layers.0.mlp.up_proj"])},
        str(folder / "adapter_model.safetensors"),
    )


DAMAGE = {
    # the keys, shapes and rank must fit the base model and the adapter's own config
    "keys under another prefix": (other_prefix, "its weights sit under another prefix"),
    "half the tensors missing": (half_missing, "is incomplete: 2 of the 4 modules its adapter_config.json targets"),
    "a lora_B missing": (b_missing, "has lora_A without its pair"),
    "rank of the config": (config_says(r=4), "has rank 2, but its adapter_config.json says r=4"),
    "shapes of another base": (other_shapes, "does not fit this base model: model.layers.0.self_attn.q_proj is 8x8"),
    "a module the base lacks": (
        module_the_base_lacks,
        "does not fit this base model: it has no module model.layers.0.mlp",
    ),
    "NaN weights": (
        lambda f: save_file({k: v / 0 * 0 for k, v in lora_state().items()}, str(f / "adapter_model.safetensors")),
        "tensors hold NaN or infinite values",
    ),
    # damaged or missing files
    "truncated weights": (
        lambda f: truncate(f / "adapter_model.safetensors"),
        "is damaged (truncated or overwritten?)",
    ),
    "missing weights": (lambda f: (f / "adapter_model.safetensors").unlink(), "has no adapter_model.safetensors"),
    "corrupt adapter_config.json": (
        lambda f: (f / "adapter_config.json").write_text('{"r": 2,'),
        "adapter_config.json is damaged: it does not read as JSON",
    ),
    "adapter_config.json a list": (lambda f: (f / "adapter_config.json").write_text("[]"), "holds a JSON list"),
    "rank not a number": (config_says(r="2"), "its rank r is '2', not a positive integer"),
    "corrupt run card": (lambda f: (f / "run_card.json").write_text("{oops"), "run_card.json is damaged"),
    "missing tokenizer": (
        lambda f: [(f / name).unlink() for name in ("tokenizer.json", "tokenizer_config.json")],
        "has no tokenizer",
    ),
    "not an adapter": (lambda f: (f / "adapter_config.json").unlink(), "is not a saved adapter"),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_adapter_is_refused_with_one_line(tmp_path, base, case):
    adapter = write_adapter(tmp_path / "adapter", base)
    assert check_adapter(adapter, base=str(base))["r"] == 2  # intact as written
    damage, message = DAMAGE[case]
    damage(adapter)
    with pytest.raises(AdapterError) as error:
        check_adapter(adapter, base=str(base))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_adapter_of_another_base_model_is_refused(tmp_path, base):
    adapter = write_adapter(tmp_path / "adapter", base)
    with pytest.raises(AdapterError, match="was trained on .*base', not on 'HuggingFaceTB/SmolLM2-360M'"):
        check_adapter(adapter, base="HuggingFaceTB/SmolLM2-360M")


@pytest.mark.parametrize("case", ["keys under another prefix", "half the tensors missing", "corrupt run card"])
def test_generate_and_eval_refuse_a_damaged_adapter_before_loading(tmp_path, base, capsys, nothing_loads, case):
    adapter = write_adapter(tmp_path / "adapter", base)
    DAMAGE[case][0](adapter)
    assert main(["generate", str(adapter), "What is 1 + 1?"]) == 2
    generate_error = capsys.readouterr().err
    overrides = [f"model={base}", "target_modules=[q_proj, v_proj]", f"output_dir={tmp_path / 'runs'}"]
    args = ["eval", "recipes/cpu_demo.yaml", "--adapter", str(adapter)]
    assert main([*args, *(f"--set={o}" for o in overrides), f"--set=adapter_dir={tmp_path / 'saved'}"]) == 2
    eval_error = capsys.readouterr().err
    for err in (generate_error, eval_error):
        assert err.startswith("error: ") and len(err.splitlines()) == 1
        assert DAMAGE[case][1] in err
    assert generate_error == eval_error  # the same words from every command


# Loaders that take a model (the CPU model: about 6 s, once) --------------------------------------


def test_load_adapter_weights_refuses_lora_weights_it_would_leave_out(make_lora, tmp_path):
    model, tokenizer = make_lora(lora_rank=2, target_modules=["q_proj"])
    save_adapter(model, tokenizer, tmp_path / "q_only", {"steps": 0})  # a whole adapter, of q_proj alone
    wider, _ = make_lora(lora_rank=2, target_modules=["q_proj", "v_proj"])
    with pytest.raises(AdapterError, match="0 weights without a place, 60 left at their initialisation"):
        load_adapter_weights(wider, tmp_path / "q_only")  # v_proj's LoRA would stay as initialised


def test_evaluating_a_half_adapter_is_refused_not_half_used(make_lora, tmp_path):
    from r1kit.generation import HFGenerator

    model, tokenizer = make_lora(lora_rank=2, target_modules=["q_proj", "v_proj"])
    folder = save_adapter(model, tokenizer, tmp_path / "run", {"steps": 0})
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "adapter_model.safetensors"))
    save_file({k: v for k, v in tensors.items() if ".layers.1." not in k}, str(folder / "adapter_model.safetensors"))
    generator = HFGenerator(model, tokenizer)
    with pytest.raises(AdapterError, match="is incomplete: 2 of the 60 modules"):
        generator.generate([[{"role": "user", "content": "1 + 1?"}]], adapter=folder, max_tokens=1)


def test_a_nan_adapter_is_never_saved_over_a_good_one(make_lora, tmp_path):
    model, tokenizer = make_lora(lora_rank=2, target_modules=["q_proj"])
    save_adapter(model, tokenizer, tmp_path / "run", {"steps": 1})
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if "lora_B" in n).fill_(float("nan"))
    with pytest.raises(AdapterError, match=r"refusing to save the adapter to .*: 1 of 60 LoRA tensors hold NaN"):
        save_adapter(model, tokenizer, tmp_path / "run", {"steps": 2})
    assert json.loads((tmp_path / "run" / "run_card.json").read_text())["steps"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# Saving: permissions, a failed swap, the run card ------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_and_folders_get_the_umask_permissions(tmp_path, umask_022):
    from r1kit.atomic import temporary_folder, write_json

    path = write_json(tmp_path / "run_card.json", {"steps": 1})
    folder = temporary_folder(tmp_path, prefix=".run.saving.")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # tempfile.mkstemp gave 0600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # tempfile.mkdtemp gave 0700


def test_a_failed_swap_puts_the_old_adapter_back(tmp_path, monkeypatch):
    from r1kit import adapters

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run_card.json").write_text('{"steps": 1}')
    staging = tmp_path / ".run.saving.x"
    staging.mkdir()
    rename = Path.rename

    def failing(self, target):
        if self == staging:
            raise OSError(28, "No space left on device")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="No space left"):
        adapters._swap_into_place(staging, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "run_card.json").read_text()) == {"steps": 1}
    assert not (tmp_path / ".run.old").exists()


def test_the_run_card_keeps_small_metrics():
    # a learning rate of 5e-6 was recorded as 0.0 (rounded to 4 places)
    assert last_metrics([{"loss": 0.5, "learning_rate": 5e-06, "step": 3}])["learning_rate"] == 5e-06


# Non-finite training stops ------------------------------------------------------------------------


def control():
    return SimpleNamespace(should_save=True, should_training_stop=False)


@pytest.mark.parametrize(
    ("key", "value"), [("grad_norm", float("nan")), ("loss", float("inf")), ("loss", float("nan"))]
)
def test_a_non_finite_log_stops_training_before_the_step_is_saved(key, value):
    from r1kit.callbacks import StopOnNonFinite

    stop, state = StopOnNonFinite(), SimpleNamespace(global_step=3)
    flags = stop.on_log(None, state, control(), logs={"loss": 0.5, "grad_norm": 1.0, key: value})
    assert (flags.should_save, flags.should_training_stop) == (False, True)
    assert stop.problems == [f"{key} is {value} at step 3"]
    finite = StopOnNonFinite().on_log(None, state, control(), logs={"loss": 0.5, "grad_norm": 1.0})
    assert (finite.should_save, finite.should_training_stop) == (True, False)


def test_non_finite_lora_weights_stop_training_on_a_step_that_is_not_logged():
    from r1kit.callbacks import StopOnNonFinite

    model = torch.nn.Module()
    model.lora_A = torch.nn.Parameter(torch.tensor([1.0, float("nan")]))
    model.other = torch.nn.Parameter(torch.tensor([float("nan")]))  # not LoRA: not the adapter's weights
    stop = StopOnNonFinite()
    flags = stop.on_step_end(None, SimpleNamespace(global_step=7), control(), model=model)
    assert (flags.should_save, flags.should_training_stop) == (False, True)
    assert stop.problems == ["1 of 1 LoRA weights hold NaN or infinite values after step 7"]


def test_a_diverged_stage_saves_no_adapter(tmp_path, monkeypatch):
    from r1kit import adapters
    from r1kit.backends import TransformersBackend
    from r1kit.callbacks import StopOnNonFinite
    from r1kit.gpu import CPU
    from r1kit.recipe import RecipeError, recipe_from_dict
    from r1kit.runs import Stage, run_trainer

    recipe = recipe_from_dict(
        {"model": "m", "task": "arithmetic", "output_dir": str(tmp_path / "runs"), "adapter_dir": str(tmp_path / "a")}
    )
    stage = Stage(recipe, "grpo", TransformersBackend(), CPU)
    stage.run_dir.mkdir(parents=True)
    stop = StopOnNonFinite()
    state = SimpleNamespace(global_step=0, log_history=[])

    def train(resume_from_checkpoint=None):
        state.global_step = 1
        state.log_history.append({"loss": 0.0, "grad_norm": float("nan"), "step": 1})
        stop.on_log(None, state, control(), logs=state.log_history[-1])

    accelerator = SimpleNamespace(is_main_process=True, wait_for_everyone=lambda: None, num_processes=1)
    trainer = SimpleNamespace(
        remove_callback=lambda c: None,
        accelerator=accelerator,
        args=SimpleNamespace(world_size=1, device=torch.device("cpu"), max_steps=1),
        state=state,
        train=train,
        callback_handler=SimpleNamespace(callbacks=[stop]),
        model=None,
    )
    monkeypatch.setattr(adapters, "save_adapter", lambda *a, **k: pytest.fail("a diverged stage saved its adapter"))
    with pytest.raises(RecipeError, match="GRPO stopped: grad_norm is nan at step 1. .* keeps what it held"):
        run_trainer(stage, trainer, None, resume=False)
