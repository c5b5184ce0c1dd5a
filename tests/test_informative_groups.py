"""GRPO on informative groups: zero-advantage completions skip the loss, and the update stays the same."""

import csv
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
import torch

from r1kit.grpo import select_informative
from r1kit.pipeline import Pipeline
from r1kit.recipe import recipe_from_dict

GROUP = 4


def advantages_of(rewards):
    """GRPO's advantages, as TRL 0.22.2 computes them: (reward - group mean) / (group std + 1e-4)."""
    grouped = torch.tensor(rewards, dtype=torch.float32).view(-1, GROUP)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)
    return ((grouped - mean) / (std + 1e-4)).flatten()


def trl_loss(loss_type, advantages, mask, num_items):
    """TRL's loss of one batch at the first iteration (ratio 1, beta 0): -A per token, then its normaliser."""
    per_token = -advantages.unsqueeze(1).expand_as(mask).float()
    if loss_type == "grpo":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if loss_type == "bnpo":
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0)
    if loss_type == "dr_grpo":
        return (per_token * mask).sum() / (per_token.size(0) * mask.size(1))
    return (per_token * mask).sum() / num_items


# three groups of four completions: all right (unanimous), mixed, all wrong (unanimous)
REWARDS = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0]


def batch(rewards):
    torch.manual_seed(0)
    n = len(rewards)
    mask = (torch.rand(n, 6) > 0.3).int()
    return {
        "prompt_ids": torch.arange(n * 3).view(n, 3),
        "completion_ids": torch.arange(n * 6).view(n, 6),
        "completion_mask": mask,
        "advantages": advantages_of(rewards),
        "num_items_in_batch": mask.sum(),
    }


def test_unanimous_groups_are_dropped_before_the_loss():
    inputs = batch(REWARDS)
    kept, _, skipped = select_informative(inputs, "dapo")
    assert skipped == 8  # the two unanimous groups: 8 completions with nothing to learn
    assert kept["prompt_ids"].tolist() == inputs["prompt_ids"][4:8].tolist()  # only the mixed group is left
    assert kept["num_items_in_batch"] is inputs["num_items_in_batch"]  # batch-wide values stay as they are


@pytest.mark.parametrize("loss_type", ["grpo", "bnpo", "dr_grpo", "dapo"])
def test_the_loss_over_the_kept_completions_equals_the_full_loss(loss_type):
    inputs = batch(REWARDS)
    kept, scale, _ = select_informative(inputs, loss_type)
    full = trl_loss(loss_type, inputs["advantages"], inputs["completion_mask"], inputs["num_items_in_batch"])
    part = trl_loss(loss_type, kept["advantages"], kept["completion_mask"], kept["num_items_in_batch"]) * scale
    assert torch.allclose(part, full, atol=1e-6), (float(part), float(full))


def test_a_batch_of_unanimous_groups_keeps_one_completion_with_zero_loss():
    inputs = batch([1.0] * 4 + [0.0] * 4)
    kept, scale, skipped = select_informative(inputs, "grpo")
    assert skipped == 8 and len(kept["advantages"]) == 1 and float(kept["advantages"].abs().max()) < 1e-6
    assert float(scale) == pytest.approx(1 / 8)


def test_a_unanimous_group_whose_mean_rounds_is_still_dropped():
    """The demo's rewards as TRL 0.22.2 sums and centres them: 2/3 + 1 in float32 has an inexact group mean."""
    columns = torch.tensor([[0.0, 2 / 3, 1.0, 0.0]] * 8 + [[0.0, 0.5, 1.0, 0.0]] * 4 + [[1.0, 1.0, 1.0, 1.0]] * 4)
    rewards = (columns * torch.tensor([1.0, 1.0, 1.0, 0.0])).nansum(dim=1)  # one weighted sum per completion
    groups = rewards.view(-1, 8)
    std = groups.std(dim=1).repeat_interleave(8)
    advantages = (rewards - groups.mean(dim=1).repeat_interleave(8)) / (std + 1e-4)
    assert bool(torch.isclose(std[:8], torch.zeros(8)).all())  # TRL counts the first group as zero-std
    assert float(advantages[:8].abs().max()) > 1e-6  # but its advantages are rounding, not zero
    inputs = {**batch([0.0] * 16), "advantages": advantages}
    kept, _, skipped = select_informative(inputs, "dapo")
    assert skipped == 8 and kept["prompt_ids"].tolist() == inputs["prompt_ids"][8:].tolist()


def test_every_group_informative_keeps_everything():
    inputs = batch([float(i % GROUP) for i in range(12)])
    kept, scale, skipped = select_informative(inputs, "bnpo")
    assert skipped == 0 and float(scale) == 1.0 and len(kept["advantages"]) == 12


# ---- wired into a real GRPO run on SmolLM2 -------------------------------------------------------


def scripted_reward(completions, prompts, **kwargs):
    """Unanimous for the first prompt of the batch (its group all scores 1); 0, 1, 0, 1... within the others."""
    first = str(prompts[0])
    return [1.0 if str(p) == first else float(i % 2) for i, p in enumerate(prompts)]


scripted_reward.max_score = 4.0


def grpo_run(tmp_path, monkeypatch, informative):
    import rewards

    monkeypatch.setattr(rewards, "get_reward", lambda name: scripted_reward)
    recipe = recipe_from_dict(
        {
            "model": "smollm2-135m-instruct",
            "backend": "transformers",
            "task": "arithmetic",
            "task_args": {"digits": 2},
            "train_size": 20,
            "eval_size": 2,
            "lora_rank": 2,
            "target_modules": ["q_proj", "v_proj"],
            "rewards": {"number_correctness": 1.0},
            "informative_groups": informative,
            "grpo": {
                "max_steps": 1,
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "max_completion_length": 6,
                "mask_truncated_completions": False,  # 6 tokens cut every completion: keep them in the loss
                "max_prompt_length": 64,
                "learning_rate": 1e-2,
                "optim": "sgd",  # the update is the gradient itself: Adam's first step is sign(gradient),
                # which rounding flips where a gradient is near zero
                "save_steps": 1,
                "gradient_checkpointing": False,
            },
            "run_name": f"informative-{informative}",
            "output_dir": str(tmp_path / "runs"),
            "adapter_dir": str(tmp_path / "adapters"),
        }
    )
    return Pipeline(recipe, show_progress=False).grpo(evaluate=False)


def test_a_real_run_skips_unanimous_groups_and_trains_the_same(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    on, off = (grpo_run(tmp_path, monkeypatch, flag) for flag in (True, False))
    with (on.run_dir / "metrics.csv").open() as handle:
        row = next(csv.DictReader(handle))
    assert float(row["informative/skipped"]) == 0.5  # the first prompt's group: half the batch
    assert float(row["frac_reward_zero_std"]) == 0.5
    with (off.run_dir / "metrics.csv").open() as handle:
        assert "informative/skipped" not in next(csv.DictReader(handle))
    a = load_file(str(on.adapter_path / "adapter_model.safetensors"))
    b = load_file(str(off.adapter_path / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    moved = [k for k in a if "lora_B" in k and a[k].abs().max() > 0]
    assert moved  # the step trained something
    scale = max(a[k].abs().max().item() for k in moved)
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-4 * scale) for k in a)  # and the same as without skipping
