"""Command line: ``python -m r1kit {demo,train,eval,generate} ...``; each has ``--help``.

    python -m r1kit demo recipes/cpu_demo.yaml                  # evaluate, train, evaluate, table
    python -m r1kit train recipes/cpu_demo.yaml --set max_steps=10
    python -m r1kit eval recipes/cpu_demo.yaml --adapter saved_adapters/cpu_demo
    python -m r1kit generate saved_adapters/cpu_demo "What is 12 + 7?"
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from r1kit.recipe import RecipeError, load_recipe, recipe_help

EPILOG_SET = (
    "Any recipe field can be overridden: --set max_steps=10 --set learning_rate=1e-4 "
    "--set task_args.digits=3 (values are read as YAML). --help-recipe lists the fields."
)


def _recipe_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", nargs="?", help="YAML recipe file, e.g. recipes/cpu_demo.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe field (repeatable)")
    parser.add_argument("--help-recipe", action="store_true", help="list every recipe field with its help and exit")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m r1kit``."""
    parser = argparse.ArgumentParser(
        prog="python -m r1kit",
        description="Teach a small model to reason with GRPO and LoRA: train from a YAML recipe, "
                    "evaluate before and after, and generate with the saved adapter.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="evaluate the base model, train, evaluate the adapter, print a table",
                               description="Evaluate the base model on held-out problems, train the recipe with "
                                           "GRPO, evaluate the adapter on the same problems and print the "
                                           "before/after table.", epilog=EPILOG_SET)
    _recipe_args(demo)

    train = commands.add_parser("train", help="train a recipe with GRPO and save the adapter",
                                description="Train a recipe with GRPO + LoRA. Re-running the same recipe "
                                            "resumes from its last checkpoint; Ctrl-C saves the adapter "
                                            "trained so far.", epilog=EPILOG_SET)
    _recipe_args(train)
    train.add_argument("--no-resume", action="store_true", help="start from scratch even if checkpoints exist")

    ev = commands.add_parser("eval", help="evaluate a model (and a saved adapter) on the recipe's held-out set",
                             description="Greedy success, format rate and length on the recipe's held-out "
                                         "problems; with --adapter, base and adapter side by side.",
                             epilog=EPILOG_SET)
    _recipe_args(ev)
    ev.add_argument("--adapter", help="saved adapter folder, e.g. saved_adapters/cpu_demo")
    ev.add_argument("--k", type=int, help="sampled completions per problem for pass@k / maj@k (default: recipe)")
    ev.add_argument("--out", help="write the results as JSON here")

    gen = commands.add_parser("generate", help="answer questions with a saved adapter",
                              description="Generate with a saved adapter (its base model is read from the "
                                          "run card). Questions are wrapped in the prompt style the adapter "
                                          "was trained with.")
    gen.add_argument("adapter", help="saved adapter folder, e.g. saved_adapters/cpu_demo")
    gen.add_argument("questions", nargs="+", help="one or more questions, e.g. \"What is 12 + 7?\"")
    gen.add_argument("--prompt-style", help="prompt style (default: the one the adapter was trained with)")
    gen.add_argument("--max-new-tokens", type=int, default=256, help="generated tokens per answer (default 256)")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (default); try 0.7 to sample")
    gen.add_argument("--base", action="store_true", help="answer with the base model (adapter switched off)")
    return parser


def _load(args: argparse.Namespace):
    if args.help_recipe:
        print("Recipe fields (YAML keys, or --set KEY=VALUE):\n" + recipe_help())
        raise SystemExit(0)
    if not args.recipe:
        raise RecipeError("give a recipe file, e.g. recipes/cpu_demo.yaml")
    return load_recipe(args.recipe, args.overrides)


def _cmd_demo(args: argparse.Namespace) -> None:
    from r1kit.demo import run_demo

    run_demo(_load(args))


def _cmd_train(args: argparse.Namespace) -> None:
    from r1kit.train import train

    result = train(_load(args), resume=not args.no_resume)
    print(f"Trained {result.steps} steps in {result.train_seconds:.0f} s. Adapter: {result.adapter_path}/ "
          f"Run folder: {result.run_dir}/")


def _cmd_eval(args: argparse.Namespace) -> None:
    from r1kit.demo import evaluate_recipe
    from r1kit.evaluate import compare, save_results
    from r1kit.train import build_datasets

    recipe = _load(args)
    if args.k is not None:
        recipe.eval_k = args.k
    _, eval_ds = build_datasets(recipe)
    if args.adapter:
        from r1kit.adapters import load_adapter

        model, tokenizer = load_adapter(args.adapter, backend=recipe.backend)
        results = {"base": evaluate_recipe(recipe, model, tokenizer, eval_ds, use_adapter=False),
                   "adapter": evaluate_recipe(recipe, model, tokenizer, eval_ds, lora_path=args.adapter)}
    else:
        from r1kit.models import load_base

        model, tokenizer = load_base(recipe.model)
        results = {"base": evaluate_recipe(recipe, model, tokenizer, eval_ds)}
    print(compare(results))
    if args.out:
        print(f"Results: {save_results(results, args.out)}")


def _cmd_generate(args: argparse.Namespace) -> None:
    from r1kit.adapters import generate, load_adapter, read_run_card
    from r1kit.tasks import get_task

    recipe = read_run_card(args.adapter).get("recipe", {})
    style = args.prompt_style or recipe.get("prompt_style") or (
        get_task(recipe["task"]).prompt_style if recipe.get("task") else None)
    model, tokenizer = load_adapter(args.adapter)
    if args.base and hasattr(model, "disable_adapter"):
        with model.disable_adapter():
            answers = generate(model, tokenizer, args.questions, prompt_style=style,
                               max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    else:
        answers = generate(model, tokenizer, args.questions, prompt_style=style,
                           max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    for question, answer in zip(args.questions, answers):
        print(f"Q: {question}\nA: {answer}\n")


COMMANDS = {"demo": _cmd_demo, "train": _cmd_train, "eval": _cmd_eval, "generate": _cmd_generate}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a bad recipe prints its message and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (RecipeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
