"""Seconds per GRPO step on this machine: the kit's trainer, stock TRL defaults, and the machine's floor.

    python benchmarks/grpo_step.py            # make bench runs it after the reward benchmark
    python benchmarks/grpo_step.py --steps 6 --completion-tokens 64

The same real work for both trainers: SmolLM2-135M-Instruct with the demo's LoRA (r16, all
projections), the demo's batch (two distinct demo prompts x 8 completions per step), completions
of exactly ``--completion-tokens`` tokens (``min_new_tokens``), all kept in the loss
(``mask_truncated_completions: false``), and the demo's rewards plus one that gives every
distinct completion its own score, so every group has a reward spread, every completion has an
advantage and reaches the loss, and neither trainer can skip anything (the kit's run checks
that it skipped nothing).

* kit: the CPU demo recipe's ``grpo:`` section as the kit turns it into a GRPOConfig
  (``r1kit.trainer_configs.grpo_arguments``) and the kit's trainer (``r1kit.grpo.trainer_class``):
  no gradient checkpointing, float32, no reference model, informative groups on.
* stock TRL: ``GRPOTrainer`` with ``GRPOConfig``'s own defaults for everything but the work
  above (so: gradient checkpointing on), in float32: TRL's default ``bf16=True`` refuses to
  start on a CPU without bfloat16 support.
* floor: for each phase, the larger of its compute time (FLOPs at this machine's dense float32
  matmul rate, 2048 x 2048) and its weight-traffic time (bytes of the weights it must read at this
  machine's memory bandwidth, a 256 MB copy). Generation's prefill reads the weights once;
  each decoded token reads them all again (one token per sequence at a time: on a CPU that is
  bound by memory bandwidth, not by FLOPs). The training forward and backward run over all
  tokens at once (2 + 2 FLOPs per parameter and token: the frozen weights need no weight
  gradients; LoRA's own are counted).

The step time is the median over ``--steps`` steps after one warm-up step, with the share of it
spent in ``generate``; ratios are printed against the floor and between the two trainers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def matmul_rate(size: int = 2048, repeats: int = 5) -> float:
    """Best dense float32 matmul rate of this machine, FLOP/s."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def memory_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Best copy bandwidth of this machine, bytes/s (each copy reads and writes ``megabytes``)."""
    import torch

    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    target.copy_(source)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        target.copy_(source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.numel() * 4 / best


def spread(completions, **kwargs) -> list[float]:
    """A score in [0, 1) of each completion's text: distinct completions score differently."""
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    return [zlib.crc32(text.encode()) / 2**32 for text in texts]


def floor_seconds(model, prompt_tokens: int, completion_tokens: int, rows: int, rate: float, bandwidth: float) -> dict:
    """Each phase's floor: the larger of compute time and weight-traffic time (see the module docstring)."""
    import torch

    config = model.config
    matmul = sum(
        m.weight.numel() for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and "lora_" not in name
    )
    lora = sum(p.numel() for name, p in model.named_parameters() if "lora_" in name)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())  # bytes read per pass
    per_token = 2 * (matmul + lora)
    attention = 4 * config.num_hidden_layers * config.hidden_size  # per token and token of context
    total = prompt_tokens + completion_tokens
    prefill = rows * (per_token * prompt_tokens + attention * prompt_tokens**2 / 2)
    decode_step = rows * (per_token + attention * (prompt_tokens + completion_tokens / 2))
    train_forward = rows * (per_token * total + attention * total**2 / 2)
    train_backward = rows * ((per_token + 2 * lora) * total + attention * total**2)
    phases = {
        "generation": max(prefill / rate, weights / bandwidth)
        + completion_tokens * max(decode_step / rate, weights / bandwidth),
        "forward": max(train_forward / rate, weights / bandwidth),
        "backward": max(train_backward / rate, 2 * weights / bandwidth),
    }
    phases["generation compute only"] = (prefill + completion_tokens * decode_step) / rate
    phases["total"] = phases["generation"] + phases["forward"] + phases["backward"]
    return {"phases": phases, "matmul_params": matmul, "lora_params": lora, "weight_bytes": weights}


class StepTimer:
    """Wall time of each optimizer step (a TrainerCallback, built lazily so this module imports fast)."""

    def __new__(cls):
        from transformers import TrainerCallback

        class _Timer(TrainerCallback):
            def __init__(self):
                self.times: list[float] = []
                self._start = 0.0

            def on_step_begin(self, args, state, control, **kwargs):
                self._start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                self.times.append(time.perf_counter() - self._start)

        return _Timer()


def run(kind: str, steps: int, completion_tokens: int) -> dict:
    """``steps + 1`` steps with the ``kind`` settings ("kit" or "stock"): per-step and generate seconds, logs."""
    import torch
    from datasets import Dataset
    from transformers import set_seed
    from trl import GRPOConfig, GRPOTrainer

    from r1kit.backends import TransformersBackend
    from r1kit.callbacks import SampleRecorder
    from r1kit.gpu import detect
    from r1kit.grpo import trainer_class
    from r1kit.recipe import load_recipe
    from r1kit.tasks import build_datasets, get_task
    from r1kit.trainer_configs import grpo_arguments
    from rewards import get_reward

    recipe = load_recipe(ROOT / "recipes" / "cpu_demo.yaml")
    set_seed(0)
    model, tokenizer = TransformersBackend().load(recipe, detect())  # the demo's LoRA: r16, alpha 32, all projections
    rows = recipe.grpo_value("per_device_train_batch_size")
    generations = recipe.grpo_value("num_generations")
    dataset = Dataset.from_list(
        list(build_datasets(recipe, tokenizer).train.select(range((steps + 1) * rows // generations)))
    )
    work = {
        "per_device_train_batch_size": rows,
        "num_generations": generations,
        "max_completion_length": completion_tokens,
        "max_prompt_length": recipe.grpo_value("max_prompt_length"),
        "temperature": recipe.grpo_value("temperature"),
        "max_steps": steps + 1,
        "learning_rate": recipe.grpo_value("learning_rate"),
        "lr_scheduler_type": "constant",
        "generation_kwargs": {"min_new_tokens": completion_tokens},
        "mask_truncated_completions": False,  # every completion runs to the limit: keep them all in the loss
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
        "logging_steps": 1,
        "reward_weights": [*recipe.reward_weights().values(), 1.0],  # the demo's, and the spread's
    }
    rewards = [get_reward(name) for name in recipe.reward_weights()] + [spread]  # the same for both trainers
    generate_seconds: list[float] = []
    plain_generate = model.generate

    def timed_generate(*args, **kwargs):
        start = time.perf_counter()
        try:
            return plain_generate(*args, **kwargs)
        finally:
            generate_seconds.append(time.perf_counter() - start)

    model.generate = timed_generate  # what GRPOTrainer calls to sample; timed, unchanged
    with tempfile.TemporaryDirectory() as out:
        timer = StepTimer()
        if kind == "kit":
            args = {**grpo_arguments(recipe, detect(), backend=TransformersBackend(), run_dir=Path(out)), **work}
            recorder = SampleRecorder(Path(out), get_task(recipe.task))
            trainer = trainer_class()(
                model=model,
                processing_class=tokenizer,
                args=GRPOConfig(**args),
                reward_funcs=[recorder.wrap(reward) for reward in rewards],
                train_dataset=dataset,
                callbacks=[timer, recorder],
                informative_groups=recipe.trains_informative_groups,
                recorder=recorder,
            )
        else:
            # TRL's default bf16=True stops at once on a CPU without bf16 support
            # ("Your setup doesn't support bf16/gpu"), so stock runs in float32 here too.
            args = {"output_dir": out, "bf16": False, **work}
            trainer = GRPOTrainer(
                model=model,
                processing_class=tokenizer,
                args=GRPOConfig(**args),
                reward_funcs=rewards,
                train_dataset=dataset,
                callbacks=[timer],
            )
        trainer.train()
        logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    prompt_tokens = max(
        len(tokenizer.apply_chat_template(row["prompt"], continue_final_message=True)) for row in dataset
    )
    del trainer, model
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return {
        "times": timer.times,
        "generate": generate_seconds,
        "logs": logs,
        "prompt_tokens": prompt_tokens,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per trainer, after one warm-up step")
    parser.add_argument("--completion-tokens", type=int, default=64, help="tokens per completion (the demo's maximum)")
    args = parser.parse_args()

    import torch

    from r1kit.backends import TransformersBackend
    from r1kit.gpu import detect
    from r1kit.recipe import load_recipe

    rate, bandwidth = matmul_rate(), memory_bandwidth()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} timed steps each, "
        f"16 completions (2 prompts x 8) x {args.completion_tokens} tokens; float32 matmul {rate / 1e9:.1f} GFLOP/s, "
        f"memory bandwidth {bandwidth / 1e9:.1f} GB/s (measured)"
    )
    times = {}
    for kind in ("kit", "stock"):
        result = run(kind, args.steps, args.completion_tokens)
        per_step, generating = result["times"][1:], result["generate"][1:]
        times[kind] = statistics.median(per_step)
        logs = result["logs"][1:]
        zero_std = statistics.mean(float(entry.get("frac_reward_zero_std", 0.0)) for entry in logs)
        skipped = statistics.mean(float(entry.get("informative/skipped", 0.0)) for entry in logs)
        print(
            f"{kind:>5}: {times[kind]:.2f} s/step (median of {len(per_step)}; min {min(per_step):.2f}, "
            f"max {max(per_step):.2f}; warm-up {result['times'][0]:.2f}); generate {statistics.median(generating):.2f} s "
            f"of it; frac_reward_zero_std {zero_std:.2f}, skipped {skipped:.2f}, "
            f"grad_norm {statistics.mean(float(e['grad_norm']) for e in logs):.3g}",
            flush=True,
        )
        prompt_tokens, rows = result["prompt_tokens"], result["rows"]
    model, _ = TransformersBackend().load(load_recipe(ROOT / "recipes" / "cpu_demo.yaml"), detect())
    floor = floor_seconds(model, prompt_tokens, args.completion_tokens, rows, rate, bandwidth)
    phases = floor["phases"]
    print(
        f"floor: {phases['total']:.2f} s/step = generation {phases['generation']:.2f} (compute alone "
        f"{phases['generation compute only']:.2f}) + forward {phases['forward']:.2f} + backward "
        f"{phases['backward']:.2f}; {floor['matmul_params'] / 1e6:.0f}M matmul + {floor['lora_params'] / 1e6:.1f}M "
        f"LoRA parameters, {floor['weight_bytes'] / 1e6:.0f} MB of weights, longest prompt {prompt_tokens} tokens"
    )
    print(
        f"kit / floor: {times['kit'] / phases['total']:.2f}x   stock / floor: {times['stock'] / phases['total']:.2f}x   "
        f"stock / kit: {times['stock'] / times['kit']:.2f}x"
    )


if __name__ == "__main__":
    main()
