"""The unsloth backend's checks that need no GPU: vLLM present, Unsloth's environment in time, no stale LoRA config.

Each guards a failure the pinned sources show: unsloth 2026.8.18 turns fast_inference off with
only a warning when vLLM is missing (unsloth/models/_utils.py, fast_inference_setup); unsloth_zoo
2026.8.12 reads UNSLOTH_VLLM_STANDBY when imported (unsloth_zoo/__init__.py) and reuses the LoRA
config of an existing grpo_trainer_lora_model folder (vllm_utils.py, load_lora).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import types

import pytest

from r1kit import unsloth_backend

SETTINGS = dict(
    max_seq_length=1024,
    lora_rank=16,
    lora_alpha=16,
    target_modules=["q_proj"],
    load_in_4bit=True,
    gpu_memory_utilization=0.6,
    dtype="float16",
    random_state=0,
)


class Loading(Exception):
    """Raised where the model would start loading."""


@pytest.fixture
def no_vllm(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))

    def loading():
        raise Loading

    monkeypatch.setattr(unsloth_backend, "import_unsloth_first", loading)


def test_missing_vllm_is_an_error_before_loading(no_vllm):
    # Unsloth would fall back to its own generate with a warning only; GRPO would then crawl
    with pytest.raises(RuntimeError, match="vLLM is not installed") as error:
        unsloth_backend.load_unsloth_model("m", **SETTINGS)
    assert "gpu_requirements.txt" in str(error.value)  # the message names the fix


def test_without_fast_inference_vllm_is_not_needed(no_vllm):
    with pytest.raises(Loading):
        unsloth_backend.load_unsloth_model("m", fast_inference=False, **SETTINGS)


def test_unsloth_imported_before_its_environment_names_the_fix(monkeypatch):
    fake = types.ModuleType("unsloth")
    monkeypatch.setitem(sys.modules, "unsloth", fake)
    for key in unsloth_backend.UNSLOTH_ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match="restart the runtime") as error:
        unsloth_backend.import_unsloth_first()
    assert "UNSLOTH_VLLM_STANDBY=1" in str(error.value)
    for key, value in unsloth_backend.UNSLOTH_ENVIRONMENT.items():  # imported with them set: fine
        monkeypatch.setenv(key, value)
    assert unsloth_backend.import_unsloth_first() is fake


def test_stale_grpo_lora_config_is_removed(tmp_path, monkeypatch):
    folder = unsloth_backend.GRPO_LORA_FOLDER
    for name in (folder, f"{folder}_01", f"{folder}_old"):  # _01: CUDA_VISIBLE_DEVICES=0,1
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text('{"r": 8}')
    (tmp_path / f"{folder}_01" / "notes.txt").write_text("not ours")

    @functools.cache
    def get_peft_config(save_directory):
        return {"r": 8}

    get_peft_config(folder)
    monkeypatch.setitem(sys.modules, "unsloth_zoo.vllm_utils", types.SimpleNamespace(get_peft_config=get_peft_config))
    removed = unsloth_backend.clear_grpo_lora_config(tmp_path)
    assert sorted(removed) == [str(tmp_path / n / "adapter_config.json") for n in (folder, f"{folder}_01")]
    assert not (tmp_path / folder).exists()  # emptied, so removed
    assert (tmp_path / f"{folder}_01" / "notes.txt").exists()  # other files stay
    assert (tmp_path / f"{folder}_old" / "adapter_config.json").exists()  # not a folder Unsloth writes
    assert get_peft_config.cache_info().currsize == 0  # the in-process copy is gone too
    assert unsloth_backend.clear_grpo_lora_config(tmp_path) == []  # nothing left to remove


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"loss_type": "dapo", "mask_truncated_completions": False, "epsilon_high": 0.28},
            "mask_truncated_completions",
        ),
        ({"loss_type": "dapo", "mask_truncated_completions": True, "epsilon_high": 0.2}, "epsilon_high"),
        ({"loss_type": "bnpo", "temperature": 0.0}, "temperature"),
        ({"loss_type": "bnpo", "temperature": 10}, "temperature"),
    ],
)
def test_arguments_unsloth_would_change_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        unsloth_backend.check_grpo_arguments(args)


def test_arguments_unsloth_keeps_pass():
    unsloth_backend.check_grpo_arguments({"loss_type": "bnpo", "mask_truncated_completions": False, "temperature": 0.7})
