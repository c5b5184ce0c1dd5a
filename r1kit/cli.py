"""Command line: ``python -m r1kit {demo,sft,train,eval,generate,plan} ...``; each has ``--help``.

python -m r1kit demo recipes/cpu_demo.yaml                  # every stage between evaluations, table
python -m r1kit sft recipes/cpu_demo.yaml                   # the cold start alone
python -m r1kit train recipes/cpu_demo.yaml --set grpo.max_steps=10
python -m r1kit eval recipes/cpu_demo.yaml --adapter saved_adapters/cpu_demo
python -m r1kit generate saved_adapters/cpu_demo "What is 12 + 7?"
python -m r1kit plan recipes/gsm8k_llama.yaml --gpu t4 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from r1kit.adapters import AdapterError
from r1kit.gpu import PROFILES
from r1kit.recipe import RecipeError, load_recipe, recipe_help

EPILOG_SET = (
    "Any recipe field can be overridden: --set grpo.max_steps=10 --set grpo.learning_rate=1e-4 "
    "--set task_args.digits=3 (values are read as YAML). --help-recipe lists the fields."
)


def _recipe_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", nargs="?", help="YAML recipe file, e.g. recipes/cpu_demo.yaml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field (repeatable)",
    )
    parser.add_argument("--help-recipe", action="store_true", help="list every recipe field with its help and exit")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m r1kit``."""
    parser = argparse.ArgumentParser(
        prog="python -m r1kit",
        description="Teach a small model to reason with GRPO and LoRA: train from a YAML recipe, "
        "evaluate before and after, and generate with the saved adapter.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="evaluate the base model, run every stage, evaluate after each, print a table",
        description="R1 in miniature: evaluate the base model on held-out problems, run "
        "the cold start (when the recipe has one) and GRPO, evaluating after "
        "each stage, and print strict success beside format-free correctness.",
        epilog=EPILOG_SET,
    )
    _recipe_args(demo)

    cold = commands.add_parser(
        "sft",
        help="the cold start: supervised fine-tuning on solver-made worked solutions",
        description="Fine-tune with TRL's SFTTrainer and LoRA on worked solutions (traces) "
        "that data_prep writes for the recipe's training problems, R1's cold "
        "start. The adapter lands in saved_adapters/<run>-sft; GRPO of a recipe "
        "with cold_start: true starts from it. Re-running resumes.",
        epilog=EPILOG_SET,
    )
    _recipe_args(cold)
    cold.add_argument("--no-resume", action="store_true", help="start from scratch even if checkpoints exist")

    train = commands.add_parser(
        "train",
        help="train a recipe with GRPO and save the adapter",
        description="Train a recipe with GRPO + LoRA (from the cold start's adapter when "
        "the recipe has cold_start: true). Re-running the same recipe resumes "
        "from its newest complete checkpoint; Ctrl-C saves the adapter trained "
        "so far. Several processes: `accelerate launch -m r1kit train RECIPE`.",
        epilog=EPILOG_SET,
    )
    _recipe_args(train)
    train.add_argument("--no-resume", action="store_true", help="start from scratch even if checkpoints exist")

    plan = commands.add_parser(
        "plan",
        help="show what a run of the recipe would do on a GPU, without that GPU",
        description="Backend, dtype, vLLM memory share, lengths, batch and checkpoint "
        "settings of a run of the recipe on the named GPU, computed by the code "
        "the trainer and loaders use. A combination that cannot run prints "
        "its reason and exits with 2.",
        epilog=EPILOG_SET,
    )
    _recipe_args(plan)
    plan.add_argument("--gpu", choices=sorted(PROFILES), help="GPU to plan for (default: this machine's)")
    plan.add_argument("--json", action="store_true", help="print one JSON object")

    ev = commands.add_parser(
        "eval",
        help="evaluate a model (and a saved adapter) on the recipe's held-out set",
        description="Greedy success, format rate and length on the recipe's held-out "
        "problems; with --adapter, base and adapter side by side.",
        epilog=EPILOG_SET,
    )
    _recipe_args(ev)
    ev.add_argument("--adapter", help="saved adapter folder, e.g. saved_adapters/cpu_demo")
    ev.add_argument("--k", type=int, help="sampled completions per problem for pass@k / maj@k (default: recipe)")
    ev.add_argument("--out", help="write the results as JSON here")

    gen = commands.add_parser(
        "generate",
        help="answer questions with a saved adapter",
        description="Generate with a saved adapter (its base model is read from the "
        "run card), or with --base the base model alone. Questions are wrapped "
        "in the prompt style the adapter was trained with.",
    )
    gen.add_argument("adapter", help="saved adapter folder, e.g. saved_adapters/cpu_demo")
    gen.add_argument("questions", nargs="+", help='one or more questions, e.g. "What is 12 + 7?"')
    gen.add_argument("--prompt-style", help="prompt style (default: the one the adapter was trained with)")
    gen.add_argument("--max-new-tokens", type=int, default=256, help="generated tokens per answer (default 256)")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (default); try 0.7 to sample")
    gen.add_argument("--base", action="store_true", help="answer with the base model (adapter switched off)")
    return parser


def _load(args: argparse.Namespace, *, here: bool = False):
    """The command's recipe, read (and with ``here`` validated for this machine) before anything loads.

    The commands that run a recipe build a :class:`r1kit.pipeline.Pipeline`, which validates it.
    """
    from r1kit.validate import validate_recipe

    if args.help_recipe:
        print("Recipe fields (YAML keys, or --set KEY=VALUE):\n" + recipe_help())
        raise SystemExit(0)
    if not args.recipe:
        raise RecipeError("give a recipe file, e.g. recipes/cpu_demo.yaml")
    recipe = load_recipe(args.recipe, args.overrides)
    if here:
        validate_recipe(recipe)
    return recipe


def _check_arguments(args: argparse.Namespace) -> None:
    """The command-line numbers a command takes besides its recipe, in range."""
    for name, flag in (("k", "--k"), ("max_new_tokens", "--max-new-tokens")):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise RecipeError(f"{flag} must be at least 1, got {value}")
    temperature = getattr(args, "temperature", None)
    if temperature is not None and not (math.isfinite(temperature) and temperature >= 0):
        raise RecipeError(f"--temperature must be a number of at least 0 (0 is greedy), got {temperature}")


def _cmd_demo(args: argparse.Namespace) -> None:
    from r1kit.demo import run_demo

    run_demo(_load(args))


def _cmd_sft(args: argparse.Namespace) -> None:
    from r1kit.pipeline import Pipeline

    _report(Pipeline(_load(args)).cold_start(evaluate=False, resume=not args.no_resume), "cold start")


def _cmd_train(args: argparse.Namespace) -> None:
    from r1kit.pipeline import Pipeline

    _report(Pipeline(_load(args)).grpo(evaluate=False, resume=not args.no_resume), "GRPO")


def _report(result: Any, what: str) -> None:
    from r1kit.callbacks import is_main_process

    if result is None:
        raise RecipeError("the recipe has no cold start (cold_start: false): nothing to do")
    if is_main_process():
        print(
            f"{what}: {result.steps} steps in {result.train_seconds:.0f} s. Adapter: {result.adapter_path}/ "
            f"Run folder: {result.run_dir}/"
        )


def _cmd_plan(args: argparse.Namespace) -> int:
    from r1kit.gpu import profile
    from r1kit.plan import PlanError, format_plan, plan

    recipe = _load(args, here=args.gpu is None)  # a plan for another GPU is validated for that GPU, by plan()
    try:
        result = plan(recipe, profile(args.gpu))
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else format_plan(args.recipe, result))
    return 0


def _cmd_eval(args: argparse.Namespace) -> None:
    from r1kit.evaluate import save_results
    from r1kit.pipeline import Pipeline

    recipe = _load(args)
    if args.k is not None:
        recipe.eval_k = args.k
    if args.adapter:
        from r1kit.adapters import check_adapter

        # before the model loads, not after the base's evaluation (the recipe's tokenizer is used, not the folder's)
        check_adapter(args.adapter, base=recipe.model, tokenizer=False)
    pipe = Pipeline(recipe)
    pipe.base()
    if args.adapter:
        pipe.evaluate("adapter", args.adapter)
    print(pipe.finish())
    if args.out:
        print(f"Results: {save_results(pipe.results, args.out)}")


def _cmd_generate(args: argparse.Namespace) -> None:
    from data_prep import build_prompt, prefill_of
    from r1kit.adapters import load_adapter, read_run_card
    from r1kit.tasks import get_task

    recipe = read_run_card(args.adapter).get("recipe", {})
    style = (
        args.prompt_style
        or recipe.get("prompt_style")
        or (get_task(recipe["task"]).prompt_style if recipe.get("task") else None)
    )
    model, tokenizer, backend = load_adapter(args.adapter)
    chats = [build_prompt(style, question=q) if style else [{"role": "user", "content": q}] for q in args.questions]
    generator = backend.generator(model, tokenizer, batch_size=len(chats))
    answers = generator.generate(
        chats, adapter=None if args.base else args.adapter, max_tokens=args.max_new_tokens, temperature=args.temperature
    )
    for question, chat, (answer,) in zip(args.questions, chats, answers):
        print(f"Q: {question}\nA: {prefill_of(chat) + answer}\n")


COMMANDS = {
    "demo": _cmd_demo,
    "sft": _cmd_sft,
    "train": _cmd_train,
    "eval": _cmd_eval,
    "generate": _cmd_generate,
    "plan": _cmd_plan,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an expected failure (a bad recipe or argument, a damaged adapter, a plan that cannot run)
    prints one ``error:`` line and returns 2. Anything else is a bug and keeps its traceback."""
    args = build_parser().parse_args(argv)
    try:
        _check_arguments(args)
        return COMMANDS[args.command](args) or 0
    except (RecipeError, AdapterError, FileNotFoundError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)  # one line, whatever the message
        return 2
