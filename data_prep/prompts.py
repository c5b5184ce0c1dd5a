"""Prompt builders: one named style per recipe, shared by training, evaluation and tests.

Each style turns a task (a Countdown problem or a word question) into a conversational prompt,
a list of ``{"role", "content"}`` messages. Some styles end with an *assistant* message: a
prefill that the model continues instead of starting a fresh turn.

How TRL 0.22.2 treats a prefilled assistant turn (read in ``trl/data_utils.py`` and
``trl/trainer/grpo_trainer.py``):

* ``apply_chat_template`` looks at the last prompt message: ``user`` renders with
  ``add_generation_prompt=True``; ``assistant`` renders with ``continue_final_message=True``
  (and no generation prompt), so the model writes on from the end of the prefill text.
* After generation, for conversational prompts ``GRPOTrainer`` pops that final assistant
  message and hands the rewards ``[{"role": "assistant", "content": prefill + generated}]``.
  Rewards therefore see the prefill (e.g. the opening ``<think>``) as part of the completion.
* Plain-string prompts get no such treatment: the completion is the generated text only.

Evaluation code must do the same: prepend :func:`prefill_of` (prompt) to generated text
before scoring it.

>>> msgs = build_prompt("qwen_think", nums=[3, 5, 2], target=16)
>>> [m["role"] for m in msgs]
['system', 'user', 'assistant']
>>> prefill_of(msgs) == QWEN_THINK_PREFILL
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Message = dict[str, str]

COUNTDOWN_TASK = (
    "Using the numbers {nums}, create an equation that equals {target}. "
    "Allowed operations: {ops}. Use each number exactly once."
)
COUNTDOWN_EXAMPLE = "(1 + 2) / 3"
QUESTION_EXAMPLE = "42"

QWEN_THINK_SYSTEM = (
    "You are a helpful assistant. You first think through the reasoning process in your "
    "mind, then give the user the answer."
)
QWEN_THINK_INSTRUCTION = (
    "Show your work in <think> </think> tags. Then give the final {kind} in "
    "<answer> </answer> tags, for example <answer> {example} </answer>."
)
QWEN_THINK_PREFILL = "Let me solve this step by step.\n<think>"

R1_BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

GSM8K_XML_SYSTEM = (
    "Respond in the following format, each tag on its own line:\n"
    "<reasoning>\n...\n</reasoning>\n<answer>\n...\n</answer>"
)

ANSWER_ONLY_SYSTEM = "Reply with the final answer only, inside <answer></answer> tags."
ANSWER_ONLY_PREFILL = "<answer>"

# Compact think-then-answer for the CPU demo: few prompt tokens, and the assistant turn opens
# with "<think>" so even an untrained model starts in the format.
THINK_ANSWER_SYSTEM = (
    "Work it out step by step inside <think> </think>, then give only the final number inside <answer> </answer>."
)
THINK_ANSWER_PREFILL = "<think>"


@dataclass(frozen=True)
class PromptStyle:
    """A prompt recipe: optional system text, a format instruction after the task, a prefill."""

    name: str
    system: str | None
    instruction: str  # appended to the task after ``separator``; may use {kind} and {example}
    prefill: str
    separator: str = " "


PROMPT_STYLES: dict[str, PromptStyle] = {
    style.name: style
    for style in (
        PromptStyle("qwen_think", QWEN_THINK_SYSTEM, QWEN_THINK_INSTRUCTION, QWEN_THINK_PREFILL),
        PromptStyle("r1_boxed", None, R1_BOXED_INSTRUCTION, "", separator="\n\n"),
        PromptStyle("gsm8k_xml", GSM8K_XML_SYSTEM, "", ""),
        PromptStyle("answer_only", ANSWER_ONLY_SYSTEM, "", ANSWER_ONLY_PREFILL),
        PromptStyle("think_answer", THINK_ANSWER_SYSTEM, "", THINK_ANSWER_PREFILL),
    )
}


def get_style(name: str) -> PromptStyle:
    """Return the style called ``name``; ValueError listing the known names otherwise.

    >>> get_style("r1_boxed").system is None
    True
    """
    if name not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt style {name!r}; known styles: {sorted(PROMPT_STYLES)}")
    return PROMPT_STYLES[name]


def countdown_task(nums: Sequence[int], target: int, operators: str = "+-*/") -> str:
    """The plain-language Countdown task, shared by every style.

    >>> countdown_task([3, 5, 2], 16, "+*")
    'Using the numbers [3, 5, 2], create an equation that equals 16. Allowed operations: +, *. Use each number exactly once.'
    """
    ops = ", ".join(operators)
    return COUNTDOWN_TASK.format(nums=list(nums), target=target, ops=ops)


def build_prompt(
    style: str,
    *,
    question: str | None = None,
    nums: Sequence[int] | None = None,
    target: int | None = None,
    operators: str = "+-*/",
) -> list[Message]:
    """Build the conversational prompt of ``style`` for a question or a Countdown problem.

    Give either ``question`` or both ``nums`` and ``target``.

    >>> build_prompt("gsm8k_xml", question="What is 2 + 2?")[1]
    {'role': 'user', 'content': 'What is 2 + 2?'}
    >>> build_prompt("answer_only", question="What is 2 + 2?")[-1]
    {'role': 'assistant', 'content': '<answer>'}
    """
    recipe = get_style(style)
    if question is not None and (nums is not None or target is not None):
        raise ValueError("give either question or nums and target, not both")
    if question is not None:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question must be a non-empty string")
        task, kind, example = question.strip(), "answer", QUESTION_EXAMPLE
    elif nums is not None and target is not None:
        task, kind, example = countdown_task(nums, target, operators), "equation", COUNTDOWN_EXAMPLE
    else:
        raise ValueError("give either question, or both nums and target")
    instruction = recipe.instruction.replace("{kind}", kind).replace("{example}", example)
    user = task + recipe.separator + instruction if instruction else task
    messages = [{"role": "system", "content": recipe.system}] if recipe.system else []
    messages.append({"role": "user", "content": user})
    if recipe.prefill:
        messages.append({"role": "assistant", "content": recipe.prefill})
    return messages


def prefill_of(prompt: object) -> str:
    """The prefilled assistant text at the end of a conversational prompt ("" if none).

    Prepend it to generated text before scoring, exactly as TRL's GRPOTrainer does.

    >>> prefill_of([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<answer>"}])
    '<answer>'
    >>> prefill_of("a plain string prompt")
    ''
    """
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        last = prompt[-1]
        if last.get("role") == "assistant" and isinstance(last.get("content"), str):
            return last["content"]
    return ""
