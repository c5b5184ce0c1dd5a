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
from r1kit.runs import Stage, StageResult, load_stage_model, run_trainer


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
    stage = Stage.of(recipe, "grpo")
    if stage.backend == "unsloth":
        from r1kit.unsloth_backend import import_unsloth_first

        import_unsloth_first()
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import GRPOConfig, GRPOTrainer

    from r1kit.callbacks import Progress, RunFiles, SampleRecorder
    from r1kit.config import check_trl_fields, grpo_arguments
    from r1kit.tasks import build_datasets, get_task
    from rewards import get_reward

    check_trl_fields(recipe)
    check_vllm_server(recipe)
    args = GRPOConfig(**grpo_arguments(recipe, stage.gpu, backend=stage.backend, run_dir=stage.run_dir))
    stage.run_dir.mkdir(parents=True, exist_ok=True)
    set_seed(recipe.seed)

    # Model, data, rewards (each wrapped so its completions land in samples.jsonl)
    if model is None:
        model, tokenizer = load_stage_model(stage)
    train_ds, _ = build_datasets(recipe)
    task = get_task(recipe.task)
    recorder = SampleRecorder(stage.run_dir, success=task.success_reward_name, success_score=task.success_score)
    reward_funcs = [recorder.wrap(get_reward(name)) for name in recipe.reward_weights()]

    # Trainer with the kit's files and progress bar instead of the default printer
    title = f"{recipe.run_name}: GRPO rewards"
    extra = [
        recorder,
        RunFiles(stage.run_dir, title),
        *([Progress("GRPO")] if show_progress else []),
        *(callbacks or []),
    ]
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_ds,
        callbacks=extra,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return run_trainer(stage, trainer, tokenizer, resume=resume)
