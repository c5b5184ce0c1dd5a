"""``python -m r1kit plan``: what each recipe does on each GPU, computed without the GPU, and the rules it enforces.

Every rule is the rule of the pinned code that would enforce it on the GPU:

* dtype: unsloth 2026.8.18 unsloth/models/_utils.py (SUPPORTS_BFLOAT16: compute capability >= 8)
  and unsloth/models/llama.py (float16 when it is False); unsloth/models/rl.py refuses bf16=True
  on a float16 model ("Model is in float16 precision but you want to use bfloat16").
* vLLM memory: unsloth_zoo 2026.8.12 unsloth_zoo/vllm_utils.py load_vllm replaces
  gpu_memory_utilization in standby mode unless UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE is set.
* lengths: unsloth_zoo/vllm_utils.py gives vLLM max_model_len = max_seq_length; vLLM 0.11.2/0.15.1
  stop a request at max_model_len without an error (vllm/v1/core/sched/utils.py).
* batch: trl 0.22.2 trl/trainer/grpo_config.py GRPOConfig.__post_init__ ("generation_batch_size
  ... must be divisible by num_generations").
tests/test_api_drift.py checks that the pinned files still say so.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from r1kit.backends import TransformersBackend, UnslothBackend
from r1kit.cli import main
from r1kit.gpu import CPU, PROFILES, Gpu
from r1kit.plan import plan
from r1kit.recipe import load_recipe
from r1kit.trainer_configs import grpo_arguments

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted(p.name for p in (ROOT / "recipes").glob("*.yaml"))
GPUS = ["t4", "l4", "a100", "h100"]
KEYS = {
    "backend",
    "dtype",
    "gpu_memory_utilization",
    "max_seq_length",
    "max_prompt_length",
    "max_completion_length",
    "eval_max_new_tokens",
    "num_generations",
    "save_total_limit",
}


@pytest.mark.parametrize("gpu", GPUS)
@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_plans_on_every_gpu(name, gpu):
    recipe = load_recipe(ROOT / "recipes" / name)
    result = plan(recipe, PROFILES[gpu])
    assert set(result) >= KEYS
    json.dumps(result)  # --json prints it whole
    assert result["dtype"] == ("float16" if gpu == "t4" else "bfloat16")  # Unsloth's rule: capability >= 8
    if result["backend"] == "unsloth":
        assert result["load_in_4bit"] == recipe.load_in_4bit
        assert result["gpu_memory_utilization"] == recipe.gpu_memory_utilization  # the recipe's share holds
        # vLLM's context holds the prompt and the longest completion, in training and in evaluation
        longest = max(result["max_completion_length"], result["eval_max_new_tokens"])
        assert result["max_prompt_length"] + longest <= result["max_seq_length"]
    assert result["eval_max_new_tokens"] == (recipe.eval_max_new_tokens or result["max_completion_length"])
    assert result["prompts_per_step"] >= 1  # whole groups of num_generations per generation batch


def test_the_r1_distill_recipe_keeps_every_checkpoint():
    # the source peaked near step 100 and collapsed after: going back needs the old checkpoints
    result = plan(load_recipe(ROOT / "recipes" / "countdown_r1_distill.yaml"), PROFILES["a100"])
    assert result["save_total_limit"] is None


@pytest.mark.parametrize(("gpu", "dtype"), [("t4", "float16"), ("a100", "bfloat16")])
def test_cli_json_dtype(gpu, dtype, capsys):
    assert main(["plan", "recipes/gsm8k_llama.yaml", "--gpu", gpu, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["backend"], result["dtype"]) == ("unsloth", dtype)


def test_cli_table_for_people(capsys):
    assert main(["plan", "recipes/countdown_r1_distill.yaml", "--gpu", "t4"]) == 0
    out = capsys.readouterr().out
    assert "Tesla T4 (compute capability 7.5, 15 GiB, float16)" in out and "keep all" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # the prompt plus the completion do not fit vLLM's context (max_model_len = max_seq_length)
        (["grpo.max_completion_length=900"], "256 + 900 = 1156 tokens, more than max_seq_length (1024)"),
        # nor does the evaluation's
        (["eval_max_new_tokens=1000"], "evaluation needs grpo.max_prompt_length + eval_max_new_tokens"),
        # 6 completions per device do not hold whole groups of 4 (TRL's GRPOConfig.__post_init__)
        (["grpo.num_generations=4"], "generation_batch_size (6) must be divisible by num_generations (4)"),
        # a T4 has no bfloat16 (Unsloth's float16 model would refuse it)
        (["grpo.bf16=true"], "grpo.bf16: Tesla T4 (compute capability 7.5, 15 GiB, float16) cannot train in bfloat16"),
        # fp16 asked on a bfloat16 model would be refused by Unsloth's trainer too
        (["grpo.fp16=false"], "the unsloth backend loads the model in float16"),
        # a misspelt TRL field
        (["grpo.num_generation=4"], "did you mean 'num_generations'"),
        # TRL reads an empty length as "no limit"; vLLM's context (max_seq_length) still has one
        (["grpo.max_prompt_length=null"], "grpo.max_prompt_length is empty (no limit)"),
        (["grpo.max_completion_length=null"], "grpo.max_completion_length is empty (no limit)"),
        # load_unsloth_model refuses a share outside (0, 1]; the plan must not promise it
        (["gpu_memory_utilization=1.5"], "gpu_memory_utilization must be in (0, 1], got 1.5"),
    ],
)
def test_wrong_combinations_exit_2_with_one_line(overrides, message, capsys):
    args = ["plan", "recipes/gsm8k_llama.yaml", "--gpu", "t4", "--json"]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_unsloth_needs_a_gpu_in_the_plan_too(capsys):
    assert main(["plan", "recipes/gsm8k_llama.yaml", "--gpu", "cpu", "--set", "backend=unsloth"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_training_uses_the_same_dtype_flags_as_the_plan():
    # the trainer gets grpo_arguments(recipe, detect(), ...): one function decides for both
    recipe = load_recipe(ROOT / "recipes" / "gsm8k_llama.yaml")
    t4 = grpo_arguments(recipe, PROFILES["t4"], backend=UnslothBackend(), run_dir=Path("runs/x"))
    a100 = grpo_arguments(recipe, PROFILES["a100"], backend=UnslothBackend(), run_dir=Path("runs/x"))
    cpu = grpo_arguments(recipe, CPU, backend=TransformersBackend(), run_dir=Path("runs/x"))
    assert (t4["fp16"], t4["bf16"], a100["fp16"], a100["bf16"], cpu["fp16"], cpu["bf16"]) == (
        True,
        False,
        False,
        True,
        False,
        False,
    )


@pytest.mark.parametrize(("capability", "bf16"), [((7, 5), False), ((8, 0), True), ((8, 9), True), ((9, 0), True)])
def test_bf16_follows_compute_capability_not_torch_emulation(capability, bf16):
    # torch 2.9's is_bf16_supported() counts emulation and says True on a T4; Unsloth's rule does not
    assert Gpu("gpu", capability, 16.0).bf16 is bf16


def test_check_gpu_does_not_claim_bf16_on_a_t4(monkeypatch, capsys):
    from r1kit import notebook

    monkeypatch.setattr("r1kit.gpu.detect", lambda: PROFILES["t4"])
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda *a, **k: True)  # what torch 2.9 says on a T4
    notebook.check_gpu()
    assert "bf16: False" in capsys.readouterr().out


def test_unsloth_is_imported_with_the_memory_override(monkeypatch):
    # without UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE, standby replaces the recipe's gpu_memory_utilization
    import importlib
    import sys

    from r1kit import unsloth_backend

    imported = []
    monkeypatch.delitem(sys.modules, "unsloth", raising=False)
    monkeypatch.setattr(unsloth_backend, "require_unsloth", lambda: None)
    monkeypatch.setattr(
        importlib,
        "import_module",
        lambda name: imported.append(
            (name, os.environ.get("UNSLOTH_VLLM_STANDBY"), os.environ.get("UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE"))
        ),
    )
    for key in unsloth_backend.UNSLOTH_ENVIRONMENT:  # setenv first: undone afterwards
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "imported before unsloth", when another test did
        unsloth_backend.import_unsloth_first()
    assert imported == [("unsloth", "1", "1")]  # both set before Unsloth reads them
