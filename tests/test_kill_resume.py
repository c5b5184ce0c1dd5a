"""A training run killed at any moment (SIGKILL: power loss, the OOM killer, a preempted Colab) resumes and finishes.

Each run is a child process that trains the real CPU model; the test kills it with SIGKILL at
a chosen moment, then starts the same recipe again. The moments: while a checkpoint is being
written (after the adapter weights, before the optimizer and trainer_state.json), in the middle
of a step, and while the final adapter is being saved. The child holds at that moment (a hook
touches a file and sleeps) so the kill lands exactly there.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from r1kit.adapters import adapter_config, read_run_card

ROOT = Path(__file__).resolve().parents[1]
RECIPE = {
    "model": "smollm2-135m-instruct",
    "backend": "transformers",
    "task": "arithmetic",
    "task_args": {"digits": 2},
    "train_size": 40,
    "lora_rank": 2,
    "run_name": "killed",
    "grpo": {
        "max_steps": 4,
        "num_generations": 2,
        "per_device_train_batch_size": 2,
        "max_completion_length": 6,
        "max_prompt_length": 128,
        "learning_rate": 1e-3,
        "save_steps": 2,
        "gradient_checkpointing": False,
    },
}
# Where the child holds until it is killed (None: it runs to the end).
HOLDS = {
    "checkpoint": """
        import transformers
        save = transformers.Trainer._save_optimizer_and_scheduler
        def held(self, output_dir):
            hold()  # checkpoint-N holds the adapter weights, nothing else yet
        transformers.Trainer._save_optimizer_and_scheduler = held
    """,
    "step": """
        from transformers import TrainerCallback
        class Held(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                if state.global_step == 3 - 1:
                    hold()  # inside step 3, after checkpoint-2 was written
        callbacks.append(Held())
    """,
    "adapter": """
        import r1kit.adapters
        write_json = r1kit.adapters.write_json
        def held(path, data, **kwargs):
            if path.name == "run_card.json" and ".saving" in str(path.parent):
                hold()  # the final adapter half-staged
            return write_json(path, data, **kwargs)
        r1kit.adapters.write_json = held
    """,
}
CHILD = """
import json, os, sys, time
from pathlib import Path
from r1kit.pipeline import Pipeline
from r1kit.recipe import recipe_from_dict

def hold():
    Path(os.environ["HELD"]).touch()
    time.sleep(600)

callbacks = []
{hold}
recipe = recipe_from_dict(json.loads(sys.argv[1]))
Pipeline(recipe, show_progress=False).grpo(evaluate=False, callbacks=callbacks)
"""


def run(tmp_path: Path, hold: str | None) -> str:
    """Train the recipe in a child; with ``hold``, SIGKILL it at that moment and return after it died."""
    recipe = {**RECIPE, "output_dir": str(tmp_path / "runs"), "adapter_dir": str(tmp_path / "adapters")}
    held = tmp_path / "held"
    held.unlink(missing_ok=True)
    code = CHILD.format(hold=textwrap.dedent(HOLDS[hold]) if hold else "")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HELD": str(held), "PYTHONPATH": str(ROOT)}
    log = tmp_path / "child.log"  # a file, not a pipe: a chatty child can never block on a full pipe
    with log.open("w") as sink:
        child = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(recipe)], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        if hold is None:
            child.wait(timeout=600)
            out = log.read_text()
            assert child.returncode == 0, out[-3000:]
            return out
        deadline = time.monotonic() + 600
        while not held.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                child.kill()
                pytest.fail(f"the child never reached {hold!r}: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait()
    out = log.read_text()
    assert child.returncode == -signal.SIGKILL
    return out


@pytest.mark.slow
def test_killed_at_any_moment_the_run_resumes_and_finishes(tmp_path):
    checkpoints = tmp_path / "runs" / "killed" / "checkpoints"
    adapter = tmp_path / "adapters" / "killed"

    run(tmp_path, "checkpoint")  # killed while writing checkpoint-2
    half = checkpoints / "checkpoint-2"
    assert (half / "adapter_model.safetensors").is_file() and not (half / "trainer_state.json").exists()

    out = run(tmp_path, "step")  # starts over (checkpoint-2 is incomplete), killed inside step 3
    assert "Skipping checkpoint-2: incomplete" in out
    assert (checkpoints / "checkpoint-2" / "trainer_state.json").is_file()  # this time it was written whole

    out = run(tmp_path, "adapter")  # resumes from checkpoint-2, killed while saving the final adapter
    assert "from " in out and "(step 2)" in out
    assert not (adapter / "run_card.json").exists()  # no half adapter in place: absent, not broken

    out = run(tmp_path, None)  # resumes from checkpoint-4 and saves the adapter
    assert "(step 4)" in out
    card = read_run_card(adapter)
    assert (card["steps"], card["resumed_from_step"], card["interrupted"]) == (4, 4, False)
    assert adapter_config(adapter)["base_model_name_or_path"] == "smollm2-135m-instruct"
    assert sorted(p.name for p in adapter.parent.iterdir()) == ["killed"]  # no staging folders left
    run_dir = checkpoints.parent
    with (run_dir / "metrics.csv").open(newline="") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [1, 2, 3, 4]  # each step once
    steps = [json.loads(line)["step"] for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert steps == [1, 1, 2, 2, 3, 3, 4, 4]  # each completion once, none from the killed attempts


def test_deepspeed_checkpoints_count_as_complete(tmp_path):
    # zero2.yaml / zero3.yaml: the optimizer and scheduler live in global_step<N>/, named by "latest"
    from fake_files import lora_state
    from safetensors.torch import save_file

    from r1kit.runs import checkpoint_problem, resume_checkpoint

    for step, files in ((2, ("adapter_model.safetensors", "latest", "trainer_state.json")), (4, ("latest",))):
        folder = tmp_path / f"checkpoint-{step}"
        (folder / f"global_step{step}").mkdir(parents=True)
        for name in files:
            (folder / name).write_text(json.dumps({"global_step": step}) if name == "trainer_state.json" else "")
        (folder / "latest").write_text(f"global_step{step}")
    (tmp_path / "checkpoint-4" / "adapter_model.safetensors").write_bytes(b"")  # killed before trainer_state.json
    save_file(lora_state(), str(tmp_path / "checkpoint-2" / "adapter_model.safetensors"))  # weights that read
    assert checkpoint_problem(tmp_path / "checkpoint-2") is None
    assert checkpoint_problem(tmp_path / "checkpoint-4") == "trainer_state.json missing"
    assert resume_checkpoint(tmp_path) == tmp_path / "checkpoint-2"
    assert not (tmp_path / "checkpoint-4").exists()
    (tmp_path / "checkpoint-2" / "latest").write_text("global_step9")
    assert checkpoint_problem(tmp_path / "checkpoint-2") == "DeepSpeed state global_step9/ missing"
