"""GRPO training from a recipe: TRL's GRPOTrainer with LoRA, its logs, checkpoints and the saved adapter.

    python -m r1kit train recipes/cpu_demo.yaml            # or, in Python:
    result = train(load_recipe("recipes/cpu_demo.yaml"))

    accelerate launch --config_file recipes/accelerate/ddp.yaml -m r1kit train RECIPE   # several GPUs

What a run leaves behind (``<output_dir>/<run_name>/``): ``checkpoints/`` (every
``grpo.save_steps``; running the recipe again resumes from the newest complete one),
``tensorboard/`` (TRL's metrics: ``tensorboard --logdir runs``), ``metrics.csv`` and
``rewards.png`` (from the trainer's log history), ``samples.jsonl`` and
``success_samples.jsonl`` (completions with their rewards). The adapter lands in
``<adapter_dir>/<run_name>/`` atomically, with its tokenizer and ``run_card.json``. After a
cold start (``cold_start: true``) GRPO starts from the cold start's adapter. Ctrl-C stops
the run and still saves the adapter trained so far. With several processes every process
trains on its share of the prompts and the main process writes the files.
"""

from __future__ import annotations

from typing import Any

from r1kit.recipe import Recipe, RecipeError
from r1kit.runs import StageResult, begin_stage, load_stage_model, run_trainer, stage_callbacks


def check_vllm_server(recipe: Recipe, *, timeout: float = 5.0) -> None:
    """Fail fast when the recipe asks for TRL's vLLM server mode and no server answers.

    TRL itself polls ``<url>/health/`` for ``vllm_server_timeout`` (240 s) before it gives up
    (trl/extras/vllm_client.py); this asks once.
    """
    import urllib.error
    import urllib.request

    grpo = recipe.grpo
    if not grpo.get("use_vllm") or grpo.get("vllm_mode", "server") != "server":
        return
    url = (
        grpo.get("vllm_server_base_url")
        or f"http://{grpo.get('vllm_server_host', '0.0.0.0')}:{grpo.get('vllm_server_port', 8000)}"
    )
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health/", timeout=timeout) as reply:
            if reply.status == 200:
                return
            problem = f"it answered {reply.status}"
    except (urllib.error.URLError, OSError) as error:
        problem = str(getattr(error, "reason", error))
    raise RecipeError(
        f"grpo.use_vllm with vllm_mode server needs a vLLM server, and none answers at {url}/health/ ({problem}). "
        f"Start it first on a GPU of its own, e.g. `CUDA_VISIBLE_DEVICES=3 trl vllm-serve --model {recipe.model}`, "
        "or set grpo.vllm_mode: colocate (see the README, 'More than one GPU')."
    )


def train(
    recipe: Recipe,
    *,
    model: Any = None,
    tokenizer: Any = None,
    callbacks: list[Any] | None = None,
    resume: bool = True,
    show_progress: bool = True,
) -> StageResult:
    """Train ``recipe`` with GRPO; returns the model and where the run's files went.

    ``model``/``tokenizer``: a model already loaded with LoRA (default: load the recipe's, with
    the cold start's weights when the recipe has one). ``resume``: continue from the run's
    newest complete checkpoint when there is one.
    """
    stage = begin_stage(recipe, "grpo")
    from trl import GRPOConfig, GRPOTrainer

    from r1kit.callbacks import SampleRecorder
    from r1kit.config import grpo_arguments
    from r1kit.tasks import build_datasets, get_task
    from rewards import get_reward

    check_vllm_server(recipe)
    args = GRPOConfig(**grpo_arguments(recipe, stage.gpu, backend=stage.backend, run_dir=stage.run_dir))

    # Model, data, rewards (each wrapped so its completions land in samples.jsonl)
    if model is None:
        model, tokenizer = load_stage_model(stage)
    train_ds, _ = build_datasets(recipe)
    task = get_task(recipe.task)
    recorder = SampleRecorder(stage.run_dir, success=task.success_reward_name, success_score=task.success_score)
    reward_funcs = [recorder.wrap(get_reward(name)) for name in recipe.reward_weights()]
    extra = [recorder, *(callbacks or [])]
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_ds,
        callbacks=stage_callbacks(
            stage, title=f"{recipe.run_name}: GRPO rewards", show_progress=show_progress, extra=extra
        ),
    )
    return run_trainer(stage, trainer, tokenizer, resume=resume)
