"""The cold start: supervised fine-tuning with LoRA on worked solutions our solvers write (R1's first stage).

    python -m r1kit sft recipes/cpu_demo.yaml             # or, in Python: Pipeline(recipe).cold_start()

DeepSeek-R1 did not start RL from the bare model: a small set of long worked solutions in the
target format came first (the "cold start"), then GRPO. Here the worked solutions are traces
that :mod:`data_prep.traces` builds from the task's own solvers (digit-by-digit sums with
carries; a short Countdown search), for ``sft_size`` training problems (never the held-out
ones). TRL's SFTTrainer trains on the completion only, which is exactly the text GRPO and
evaluation ask the model to continue: the prompt rendered as GRPOTrainer renders it (prefill
included), the trace after the prefill, and the end-of-turn token, tokenized apart. The adapter lands in
``<adapter_dir>/<run_name>-sft/``; GRPO then starts from it. The run resumes like GRPO's.
"""

from __future__ import annotations

from typing import Any

from r1kit.runs import Stage, StageResult, run_trainer, stage_callbacks


def sft_dataset(recipe: Any, tokenizer: Any, train_ds: Any) -> Any:
    """``sft_size`` tokenized worked solutions for the first training problems: prompt, trace, end-of-turn.

    Prompt and trace are tokenized apart and joined as ids, so the first trained token is the one
    generation produces after the prompt: tokenized as one text, ``<think>`` followed by ``\\n``
    merges into other tokens in the Llama 3 and Qwen vocabularies (TRL and Unsloth tokenize the
    joined text). No special token is added (the chat template has put the BOS in the prompt
    already), as GRPOTrainer tokenizes its prompts; ``labels`` hide the prompt from the loss.
    """
    from datasets import Dataset

    from data_prep import prefill_of
    from r1kit.generation import render_prompt
    from r1kit.tasks import get_task

    task = get_task(recipe.task)
    rows = []
    for row in train_ds.select(range(min(recipe.sft_size, len(train_ds)))):
        trace = task.trace(row, recipe.prompt_style or task.prompt_style)
        prompt = tokenizer(render_prompt(row["prompt"], tokenizer), add_special_tokens=False)["input_ids"]
        answer = tokenizer(trace[len(prefill_of(row["prompt"])) :], add_special_tokens=False)["input_ids"]
        answer = [*answer, tokenizer.eos_token_id]
        rows.append(
            {
                "input_ids": prompt + answer,
                "completion_mask": [0] * len(prompt) + [1] * len(answer),
                "labels": [-100] * len(prompt) + answer,
            }
        )
    return Dataset.from_list(rows)


def run_sft(
    stage: Stage,
    model: Any,
    tokenizer: Any,
    train_ds: Any,
    *,
    callbacks: list[Any] | None = None,
    resume: bool = True,
    show_progress: bool = True,
) -> StageResult:
    """Fine-tune ``model`` (a fresh LoRA on it) on worked solutions for ``train_ds``'s first problems."""
    from trl import SFTConfig, SFTTrainer

    from r1kit.trainer_configs import sft_arguments

    stage.begin()
    args = SFTConfig(**sft_arguments(stage.recipe, stage.gpu, backend=stage.backend, run_dir=stage.run_dir))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=sft_dataset(stage.recipe, tokenizer, train_ds),
        processing_class=tokenizer,
        callbacks=stage_callbacks(stage, show_progress=show_progress, extra=callbacks),
    )
    return run_trainer(stage, trainer, tokenizer, resume=resume)
