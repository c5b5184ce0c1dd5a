"""Two training processes on CPU (torchrun, gloo): the data is shared out, every file is written once, resume works.

This is how a multi-GPU run behaves (accelerate or torchrun start one process per GPU), checked
on a CPU machine: the world size really is 2, the steps are logged once, both processes' completions
land in one samples file, one adapter and one run card are saved, and a second launch resumes.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from r1kit.adapters import load_adapter, read_run_card

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--set",
    "cold_start=false",
    "--set",
    "train_size=64",
    "--set",
    "lora_rank=2",
    "--set",
    "grpo={max_steps: 2, num_generations: 4, per_device_train_batch_size: 4, max_completion_length: 8, "
    "max_prompt_length: 128, learning_rate: 0.001, save_steps: 1, gradient_checkpointing: false}",
]


def launch(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # a free port of its own, not the fixed 29500 another job may hold
        "--nproc_per_node",
        "2",
        "-m",
        "r1kit",
        "train",
        "recipes/cpu_demo.yaml",
        *TINY,
        "--set",
        f"output_dir={tmp_path / 'runs'}",
        "--set",
        f"adapter_dir={tmp_path / 'adapters'}",
        *extra,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def steps_in(path: Path) -> list[int]:
    with path.open(newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_two_processes_write_everything_once_and_resume(tmp_path):
    first = launch(tmp_path)
    run, adapter = tmp_path / "runs" / "cpu_demo", tmp_path / "adapters" / "cpu_demo"
    card = read_run_card(adapter)
    assert card["processes"] == 2  # the world size really was 2
    assert first.stdout.count("GRPO: 2 steps") == 1  # one process reports
    assert steps_in(run / "metrics.csv") == [1, 2]  # one row per step
    samples = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    assert [s["step"] for s in samples] == [1] * 8 + [2] * 8  # both processes' 4 completions, once each
    assert sorted(p.name for p in (tmp_path / "adapters").iterdir()) == ["cpu_demo"]  # one adapter, no leftovers
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= {p.name for p in (run / "checkpoints" / "checkpoint-2").iterdir()}

    launch(tmp_path, "--set", "grpo.max_steps=3")  # the same run, one step more: resumes from checkpoint-2
    card = read_run_card(adapter)
    assert (card["steps"], card["resumed_from_step"], card["processes"]) == (3, 2, 2)
    assert steps_in(run / "metrics.csv") == [1, 2, 3]
    assert [json.loads(line)["step"] for line in (run / "samples.jsonl").read_text().splitlines()][-8:] == [3] * 8

    model, tokenizer, backend = load_adapter(adapter)  # the adapter loads and generates
    ((text,),) = backend.generator(model, tokenizer, batch_size=1).generate(
        [[{"role": "user", "content": "What is 12 + 30?"}]], adapter=adapter, max_tokens=4
    )
    assert isinstance(text, str)
