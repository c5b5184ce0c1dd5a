"""Seconds per GRPO step on this machine: the kit's trainer settings, stock TRL defaults, and the compute floor.

    python benchmarks/grpo_step.py            # make bench runs it after the reward benchmark
    python benchmarks/grpo_step.py --steps 8 --completion-tokens 64

The same work for every row: SmolLM2-135M-Instruct with a fresh LoRA (r16, all projections),
one prompt of the CPU demo, 8 completions of exactly ``--completion-tokens`` tokens (TRL's
``generation_kwargs`` sets ``min_new_tokens`` so no completion stops early), one optimizer step.

* kit: the CPU demo recipe's ``grpo:`` section as the kit turns it into a GRPOConfig
  (``r1kit.trainer_configs.grpo_arguments``): no gradient checkpointing, float32, no reference model.
* stock TRL: ``GRPOConfig``'s own defaults for everything but the batch, the lengths, the
  learning rate and the schedule (so: gradient checkpointing on), in float32: TRL's default
  ``bf16=True`` refuses to start on a CPU without bfloat16 support.
* floor: the FLOPs of the step's passes divided by this machine's dense float32 matmul rate
  (measured here on 2048 x 2048 matrices): generation's forward over prompt and completion
  (2 x matmul parameters per token, plus attention), and the training forward and backward over
  the same tokens (2 + 2 per parameter and token: the frozen weights need no weight gradients;
  LoRA's own are counted). It is what the step would cost if every FLOP ran at matmul speed.

The step time is the median over ``--steps`` steps after one warm-up step; ratios are printed
against the floor and between the two trainers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
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


def step_flops(model, prompt_tokens: int, completion_tokens: int, completions: int) -> dict[str, float]:
    """FLOPs of one GRPO step's passes (see the module docstring)."""
    import torch

    config = model.config
    matmul = sum(
        m.weight.numel() for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and "lora_" not in name
    )
    lora = sum(p.numel() for name, p in model.named_parameters() if "lora_" in name)
    layers, hidden = config.num_hidden_layers, config.hidden_size
    tokens = completions * (prompt_tokens + completion_tokens)
    # attention scores and values: 4 x layers x context x hidden per token (context: average length seen)
    attention_gen = (
        completions
        * (4 * layers * hidden)
        * (prompt_tokens * prompt_tokens / 2 + completion_tokens * (prompt_tokens + completion_tokens / 2))
    )
    attention_train = 4 * layers * hidden * completions * (prompt_tokens + completion_tokens) ** 2 / 2
    generation = 2 * (matmul + lora) * tokens + attention_gen
    forward = 2 * (matmul + lora) * tokens + attention_train
    backward = 2 * (matmul + lora) * tokens + 2 * lora * tokens + 2 * attention_train
    return {
        "generation": generation,
        "train_forward": forward,
        "train_backward": backward,
        "total": generation + forward + backward,
        "matmul_params": matmul,
        "lora_params": lora,
    }


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


def run(kind: str, steps: int, completion_tokens: int) -> tuple[list[float], int]:
    """Per-step seconds of ``steps + 1`` steps with the ``kind`` settings ("kit" or "stock"); and the prompt length."""
    import torch
    from datasets import Dataset
    from transformers import set_seed
    from trl import GRPOConfig, GRPOTrainer

    from r1kit.backends import TransformersBackend
    from r1kit.gpu import detect
    from r1kit.recipe import load_recipe
    from r1kit.tasks import build_datasets
    from r1kit.trainer_configs import grpo_arguments
    from rewards import get_reward

    recipe = load_recipe(ROOT / "recipes" / "cpu_demo.yaml")
    set_seed(0)
    model, tokenizer = TransformersBackend().load(recipe, detect())  # the demo's LoRA: r16, alpha 32, all projections
    train_ds = build_datasets(recipe).train
    row = train_ds[0]
    dataset = Dataset.from_list([row] * (steps + 1))
    work = {
        "per_device_train_batch_size": 8,
        "num_generations": 8,
        "max_completion_length": completion_tokens,
        "max_prompt_length": recipe.grpo_value("max_prompt_length"),
        "max_steps": steps + 1,
        "learning_rate": recipe.grpo_value("learning_rate"),
        "lr_scheduler_type": "constant",
        "generation_kwargs": {"min_new_tokens": completion_tokens},
        "mask_truncated_completions": False,  # every completion runs to the limit: keep them all in the loss
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
    }
    rewards = [get_reward(name) for name in recipe.reward_weights()]  # the demo's rewards, for both trainers
    with tempfile.TemporaryDirectory() as out:
        if kind == "kit":
            args = {**grpo_arguments(recipe, detect(), backend=TransformersBackend(), run_dir=Path(out)), **work}
        else:
            # TRL's default bf16=True stops at once on a CPU without bf16 support
            # ("Your setup doesn't support bf16/gpu"), so stock runs in float32 here too.
            args = {"output_dir": out, "bf16": False, **work}
        timer = StepTimer()
        trainer = GRPOTrainer(
            model=model,
            processing_class=tokenizer,
            args=GRPOConfig(**args),
            reward_funcs=rewards,
            train_dataset=dataset,
            callbacks=[timer],
        )
        trainer.train()
    prompt_tokens = len(tokenizer.apply_chat_template(row["prompt"], continue_final_message=True))
    del trainer, model
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return timer.times, prompt_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per trainer, after one warm-up step")
    parser.add_argument("--completion-tokens", type=int, default=64, help="tokens per completion (the demo's maximum)")
    args = parser.parse_args()

    import torch

    from r1kit.backends import TransformersBackend
    from r1kit.gpu import detect
    from r1kit.recipe import load_recipe

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} timed steps each, "
        f"8 completions x {args.completion_tokens} tokens"
    )
    rate = matmul_rate()
    times = {}
    for kind in ("kit", "stock"):
        per_step, prompt_tokens = run(kind, args.steps, args.completion_tokens)
        times[kind] = statistics.median(per_step[1:])
        print(
            f"{kind:>5}: {times[kind]:.2f} s/step (median of {len(per_step) - 1}; "
            f"min {min(per_step[1:]):.2f}, max {max(per_step[1:]):.2f}; warm-up {per_step[0]:.2f})",
            flush=True,
        )
    model, _ = TransformersBackend().load(load_recipe(ROOT / "recipes" / "cpu_demo.yaml"), detect())
    flops = step_flops(model, prompt_tokens, args.completion_tokens, 8)
    floor = flops["total"] / rate
    print(
        f"floor: {floor:.2f} s/step = {flops['total'] / 1e12:.2f} TFLOP (generation {flops['generation'] / 1e12:.2f}, "
        f"forward {flops['train_forward'] / 1e12:.2f}, backward {flops['train_backward'] / 1e12:.2f}; "
        f"{flops['matmul_params'] / 1e6:.0f}M matmul + {flops['lora_params'] / 1e6:.1f}M LoRA parameters, "
        f"prompt {prompt_tokens} tokens) at {rate / 1e9:.1f} GFLOP/s (float32 matmul, measured)"
    )
    print(
        f"kit / floor: {times['kit'] / floor:.2f}x   stock / floor: {times['stock'] / floor:.2f}x   "
        f"stock / kit: {times['stock'] / times['kit']:.2f}x"
    )


if __name__ == "__main__":
    main()
