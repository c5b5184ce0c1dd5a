"""GRPO, the stage this kit is for: TRL's GRPOTrainer with LoRA, trained on the groups that disagree.

    python -m r1kit train recipes/cpu_demo.yaml      # or, in Python: Pipeline(recipe).grpo()
    accelerate launch --config_file recipes/accelerate/ddp.yaml -m r1kit train RECIPE   # several GPUs

Every sample counts. GRPO scores each completion against the others of its group (the
completions of one prompt): a group whose completions all earned the same reward (all right, all
wrong) has zero advantage everywhere and teaches nothing, yet TRL runs the full forward and
backward pass over it. With ``informative_groups`` on (the default when ``beta`` is 0) the kit's trainer drops every
completion whose advantage is zero (up to float32 rounding, ``ZERO_ADVANTAGE``) before the loss,
so only groups that disagree cost a forward and a backward pass, and the loss is unchanged: with
``beta: 0`` a zero-advantage completion adds nothing to it, and the loss keeps TRL's own normalisation (for ``loss_type: dapo``
the token count of the whole batch, which TRL computes before this point; for the per-sequence
and per-token means the kept share rescales it). Generating more prompts per step
(``per_device_train_batch_size``) then buys more informative groups for the same training cost:
DAPO's dynamic sampling (arXiv 2503.14476), which over-samples and keeps the groups that
disagree, without its re-draw loop. The share of completions skipped is logged as
``informative/skipped`` (TensorBoard, metrics.csv, the progress bar) beside TRL's own
``frac_reward_zero_std``; ``success`` is the share of completions the task's parser reads as
right and formatted (the same definition evaluation uses).

Why this seam: TRL 0.22.2 has no field for it, and the kit patches no private TRL method.
``compute_loss`` and ``log`` are the Trainer methods transformers documents for subclasses to
override, and GRPOTrainer's ``compute_loss`` receives the batch with its ``advantages``.

A run leaves ``<output_dir>/<run_name>/``: ``checkpoints/`` (resumed from the newest complete
one), ``tensorboard/``, ``metrics.csv``, ``rewards.png``, ``samples.jsonl`` and
``success_samples.jsonl``; the adapter lands in ``<adapter_dir>/<run_name>/`` atomically.
"""

from __future__ import annotations

from typing import Any

from r1kit.recipe import Recipe, RecipeError
from r1kit.runs import Stage, StageResult, run_trainer, stage_callbacks

# |advantage| at or below this is a zero. A unanimous group's advantage is (reward - group mean) /
# (std + 1e-4) with std 0: the float32 rounding of the mean (one ulp, 1.2e-7 for the demo's reward
# 1.6667) divided by TRL's 1e-4 epsilon, about 1e-3, and 1e-6 missed such groups (3 of 35 in the
# demo). A completion of a group that disagrees sits this close to its group's mean only when its
# loss term is under 1% of one unit-advantage completion's.
ZERO_ADVANTAGE = 1e-2


def check_vllm_server(recipe: Recipe) -> None:
    """Fail fast, through TRL's own client check, when server mode is asked for and no vLLM server answers."""
    grpo = recipe.grpo
    if not grpo.get("use_vllm") or grpo.get("vllm_mode", "server") != "server":
        return
    url = (
        grpo.get("vllm_server_base_url")
        or f"http://{grpo.get('vllm_server_host', '0.0.0.0')}:{grpo.get('vllm_server_port', 8000)}"
    )
    from trl.extras import vllm_client

    if not vllm_client.is_vllm_available():
        raise RecipeError("grpo.use_vllm needs vLLM: install the GPU set (`pip install -r gpu_requirements.txt`)")
    try:
        vllm_client.VLLMClient(base_url=url, connection_timeout=0.0)  # asks <url>/health/ once
    except (ConnectionError, OSError) as error:
        raise RecipeError(
            f"grpo.use_vllm with vllm_mode server needs a vLLM server, and none answers at {url}/health/ "
            f"({type(error).__name__}). Start it first on a GPU of its own, e.g. `CUDA_VISIBLE_DEVICES=3 trl "
            f"vllm-serve --model {recipe.model}`, or set grpo.vllm_mode: colocate (see the README, 'More than one GPU')."
        ) from None


def loss_scale(loss_type: str, keep: Any, completion_mask: Any) -> Any:
    """What TRL's loss over the kept completions is multiplied by to equal its loss over all of them.

    Dropped completions add zero to the loss's sum; only the normaliser differs: ``grpo`` and
    ``dr_grpo`` divide by the number of completions, ``bnpo`` by their tokens, ``dapo`` by the
    batch's token count, which TRL fixed before this point.

    >>> import torch
    >>> keep, mask = torch.tensor([True, False, True, False]), torch.tensor([[1, 1], [1, 0], [1, 0], [1, 1]])
    >>> [float(loss_scale(kind, keep, mask)) for kind in ("grpo", "dr_grpo", "bnpo", "dapo")]
    [0.5, 0.5, 0.5, 1.0]
    """
    import torch

    if loss_type in ("grpo", "dr_grpo"):
        return keep.float().mean()
    if loss_type == "bnpo":
        return completion_mask[keep].sum().clamp(min=1) / completion_mask.sum().clamp(min=1)
    if loss_type == "dapo":
        return torch.ones(())
    raise ValueError(f"unknown loss_type {loss_type!r}")


def select_informative(inputs: dict[str, Any], loss_type: str) -> tuple[dict[str, Any], Any, int]:
    """The batch without its zero-advantage completions, the loss's rescale factor, how many had zero advantage.

    ``inputs`` is what GRPOTrainer hands ``compute_loss``: per-completion tensors (ids, masks,
    ``advantages``, log-probabilities) and batch-wide values (``num_items_in_batch``). When no
    completion is informative one is kept: its loss term is zero, and every process still runs
    a forward and a backward pass, as DDP needs.
    """
    advantages = inputs["advantages"]
    total = len(advantages)
    informative = advantages.abs() > ZERO_ADVANTAGE
    keep = informative.clone()
    if not bool(keep.any()):
        keep[0] = True
    kept = {
        key: value[keep] if hasattr(value, "dim") and value.dim() and len(value) == total else value
        for key, value in inputs.items()
    }
    return kept, loss_scale(loss_type, keep, inputs["completion_mask"]), total - int(informative.sum())


def trainer_class() -> type:
    """The kit's GRPOTrainer (built on first use: TRL must be imported after Unsloth)."""
    import torch
    from trl import GRPOTrainer

    class KitGRPOTrainer(GRPOTrainer):
        """GRPOTrainer that skips zero-advantage completions before the loss and logs the kit's metrics."""

        def __init__(self, *args: Any, informative_groups: bool, recorder: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.informative_groups, self.recorder = informative_groups, recorder
            self._counts = torch.zeros(2)  # completions skipped, completions seen since the last log

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not self.informative_groups or self.use_liger_loss or not model.training:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            kept, scale, skipped = select_informative(inputs, self.loss_type)
            self._counts += torch.tensor([float(skipped), float(len(inputs["advantages"]))])
            return super().compute_loss(model, kept, return_outputs, num_items_in_batch) * scale.to(
                kept["advantages"].device
            )

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            counts = torch.cat([self._counts, self.recorder.take_success_counts()]).to(self.accelerator.device)
            if self.accelerator.num_processes > 1:  # every process logs at the same steps
                counts = self.accelerator.reduce(counts, reduction="sum")
            skipped, seen, right, scored = counts.tolist()
            if "loss" in logs:  # a training step's log, not the run's summary
                if seen:
                    logs = {**logs, "informative/skipped": skipped / seen}
                if scored:
                    logs = {**logs, "success": right / scored}
            self._counts.zero_()
            super().log(logs, start_time)

    return KitGRPOTrainer


def run_grpo(
    stage: Stage,
    model: Any,
    tokenizer: Any,
    train_ds: Any,
    *,
    callbacks: list[Any] | None = None,
    resume: bool = True,
    show_progress: bool = True,
) -> StageResult:
    """Train ``model`` (LoRA already on it) with GRPO on ``train_ds``; returns the model and where the files went."""
    from trl import GRPOConfig

    from r1kit.callbacks import SampleRecorder, is_main_process
    from r1kit.tasks import get_task
    from r1kit.trainer_configs import grpo_arguments
    from rewards import get_reward

    recipe = stage.recipe
    stage.begin()
    check_vllm_server(recipe)
    args = GRPOConfig(**grpo_arguments(recipe, stage.gpu, backend=stage.backend, run_dir=stage.run_dir))
    if is_main_process():
        stage.backend.before_grpo()
    recorder = SampleRecorder(stage.run_dir, get_task(recipe.task))
    trainer = trainer_class()(
        model=model,
        processing_class=tokenizer,
        reward_funcs=[recorder.wrap(get_reward(name)) for name in recipe.reward_weights()],
        args=args,
        train_dataset=train_ds,
        callbacks=stage_callbacks(stage, show_progress=show_progress, extra=[recorder, *(callbacks or [])]),
        informative_groups=recipe.trains_informative_groups,
        recorder=recorder,
    )
    return run_trainer(stage, trainer, tokenizer, resume=resume)
