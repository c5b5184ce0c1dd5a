"""Unsloth rewrites TRL's config defaults; the kit states every field it rewrites, so CPU, plan and GPU agree.

unsloth 2026.8.18 generates its own GRPOConfig / SFTConfig (unsloth/models/rl.py): it writes the
``__init__`` signature of TRL's class out as text, one ``name = default`` per line, then puts new
defaults in with one regular expression per key of its ``replacements`` dicts (a shared one, one
for GRPO, one for SFT). The pattern is not anchored, so ``seed`` also rewrites ``data_seed`` and
``output_dir`` also ``overwrite_output_dir``. These tests read the dicts from the pinned rl.py
with ``ast``, apply them to the installed TRL's signature as rl.py does, and fail when a field
whose default changes is one the kit leaves to a library default. They skip when PyPI cannot be
reached or the installed TRL is not the pinned one.
"""

from __future__ import annotations

import ast
import inspect
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version
from pinned_sources import PinUnavailable, gpu_pins, pinned_file

ROOT = Path(__file__).resolve().parents[1]
PINS = {name: versions[0] for name, versions in gpu_pins(ROOT).items()}
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
# rl.py's pattern for one key, as it is written there (checked below), and its substitution
PATTERN_LINE = r'x = f"{k}( = [^,\n]{{1,}})?,\n"'
# the kit's own choices among the rewritten fields (every other one keeps TRL's default)
KIT_CHOICES = {"logging_steps": "every step in the reward plot", "report_to": "TensorBoard"}


def rl_source() -> str:
    try:
        return pinned_file("unsloth", PINS["unsloth"], "unsloth/models/rl.py")
    except PinUnavailable as error:
        pytest.skip(str(error))


def trl_config(kind: str):
    """trl.GRPOConfig / SFTConfig, when the installed TRL is the pinned one (rl.py reads that signature)."""
    if metadata.version("trl") != PINS["trl"]:
        pytest.skip(f"installed trl {metadata.version('trl')} is not the pinned {PINS['trl']}")
    import trl

    return getattr(trl, kind)


def _assigns_replacements(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Assign)
        and any(
            (isinstance(t, ast.Name) and t.id == "replacements")
            or (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "replacements")
            for t in n.targets
        )
        for n in ast.walk(node)
    )


def _branch(test: ast.expr, trainer_file: str) -> bool | None:
    """The value of an ``if`` rl.py puts around a rewrite: which trainer, or which transformers version."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name):
        right = test.comparators[0]
        if test.left.id == "trainer_file" and isinstance(test.ops[0], ast.Eq) and isinstance(right, ast.Constant):
            return right.value == trainer_file
        if test.left.id == "transformers_version" and isinstance(right, ast.Call):
            compare = {ast.GtE: Version.__ge__, ast.Gt: Version.__gt__, ast.Lt: Version.__lt__, ast.LtE: Version.__le__}
            pinned, bound = Version(PINS["transformers"]), Version(ast.literal_eval(right.args[0]))
            return compare[type(test.ops[0])](pinned, bound)
    return None


def rewrites(source: str, trainer_file: str) -> list[dict]:
    """rl.py's ``replacements`` dicts that apply to ``trainer_file``, in the order rl.py applies them."""
    function = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(n, ast.Constant) and n.value == "per_device_train_batch_size"
            for a in ast.walk(node)
            if isinstance(a, ast.Assign) and isinstance(a.value, ast.Dict)
            for n in a.value.keys
        )
    )
    batches: list[dict] = []

    def walk(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and _assigns_replacements(node):
                taken = _branch(node.test, trainer_file)
                assert taken is not None, f"rl.py line {node.lineno}: a new condition around `replacements`; re-read it"
                walk(node.body if taken else node.orelse)
            elif isinstance(node, ast.Assign) and _assigns_replacements(node):
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    batches.append(ast.literal_eval(node.value))
                else:
                    batches[-1][ast.literal_eval(target.slice)] = ast.literal_eval(node.value)
            else:
                assert not _assigns_replacements(node), f"rl.py line {node.lineno}: `replacements` set in a new way"

    walk(function.body)
    return batches


def signature_text(config: type) -> str:
    """The ``arguments`` text rl.py writes for ``config``: simple defaults only, ``,\\n`` between them."""
    arguments = ["self"]
    for name, parameter in inspect.signature(config.__init__).parameters.items():
        default = parameter.default
        if name == "self":
            continue
        if default is inspect.Parameter.empty:
            arguments.append(name)
        elif type(default) is str:
            arguments.append(f"{name} = '{default}'")
        elif type(default) in (bool, type(None), int, float):
            arguments.append(f"{name} = {default}")
    return "\n        " + ",\n        ".join(arguments)


def rewritten(config: type, batches: list[dict]) -> dict[str, str]:
    """Field -> Unsloth's new default, for each field of ``config`` whose default rl.py changes."""
    before = signature_text(config)
    after = before
    for batch in batches:
        for key, value in batch.items():
            new = f"'{value}'" if type(value) is str else f"{value}"
            after = re.sub(f"{key}( = [^,\n]{{1,}})?,\n", f"{key} = {new},\n", after)
    pairs = zip(before.split(",\n"), after.split(",\n"), strict=True)
    return {new.split(" = ")[0].strip(): new.split(" = ", 1)[1] for old, new in pairs if old != new}


def kit_arguments(recipe) -> dict[str, dict]:
    """What the kit passes to GRPOConfig and SFTConfig on the unsloth backend (a T4)."""
    from r1kit.backends import UnslothBackend
    from r1kit.gpu import PROFILES
    from r1kit.trainer_configs import grpo_arguments, sft_arguments

    run = Path("runs") / recipe.run_name
    return {
        "grpo": grpo_arguments(recipe, PROFILES["t4"], backend=UnslothBackend(), run_dir=run),
        "sft": sft_arguments(recipe, PROFILES["t4"], backend=UnslothBackend(), run_dir=run),
    }


def recipes():
    from r1kit.recipe import load_recipe, recipe_from_dict

    yield recipe_from_dict({"model": "m", "task": "gsm8k"})  # every field left to the kit's defaults
    yield from (load_recipe(path) for path in RECIPES)


STAGES = [("grpo", "grpo_trainer", "GRPOConfig"), ("sft", "sft_trainer", "SFTConfig")]


def test_rl_py_rewrites_defaults_as_this_test_reads_it():
    source = rl_source()
    assert source.count(PATTERN_LINE) >= 3  # the shared, GRPO and SFT rewrites all use this pattern
    assert "for k, v in replacements.items():" in source
    # the shared dict and GRPO's are there, so a parse that finds nothing cannot pass
    grpo = {key for batch in rewrites(source, "grpo_trainer") for key in batch}
    assert {"gradient_accumulation_steps", "learning_rate", "loss_type", "beta"} <= grpo


@pytest.mark.parametrize(("stage", "trainer_file", "kind"), STAGES)
def test_the_kit_states_every_field_unsloth_rewrites(stage, trainer_file, kind):
    changed = rewritten(trl_config(kind), rewrites(rl_source(), trainer_file))
    assert {"gradient_accumulation_steps", "learning_rate", "data_seed"} <= set(changed)  # the parse found them
    for recipe in recipes():
        passed = kit_arguments(recipe)[stage]
        left = {key: value for key, value in changed.items() if key not in passed}
        assert not left, f"{recipe.run_name}: {stage} leaves {left} to Unsloth (it rewrites TRL's default)"


@pytest.mark.parametrize(("stage", "trainer_file", "kind"), STAGES)
def test_the_kit_states_trl_s_own_values(stage, trainer_file, kind):
    # so the CPU run (TRL's defaults) trains as before, and the GPU run trains as the CPU one
    from r1kit.recipe import GRPO_DEFAULTS, SFT_DEFAULTS

    config = trl_config(kind)
    trl_defaults = {name: p.default for name, p in inspect.signature(config.__init__).parameters.items()}
    defaults = {"grpo": GRPO_DEFAULTS, "sft": SFT_DEFAULTS}[stage]
    changed = rewritten(config, rewrites(rl_source(), trainer_file))
    differs = {
        key: (defaults[key], trl_defaults[key])
        for key in changed
        if key in defaults and key not in KIT_CHOICES and defaults[key] != trl_defaults[key]
    }
    assert not differs, f"{stage}: kit default vs TRL {PINS['trl']}'s: {differs}"


def _forced_by_loss_type(source: str) -> dict[str, dict]:
    """loss_type -> the fields Unsloth's GRPOConfig sets for it whatever the recipe says (rl.py, check_dr_grpo)."""
    snippet = next(
        ast.literal_eval(node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "check_dr_grpo"
    )
    forced: dict[str, dict] = {}
    for node in ast.walk(ast.parse(snippet)):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Call):
            loss_type = test.comparators[0].value
            for item in node.body:  # unconditional assignments only
                if isinstance(item, ast.Assign) and item.targets[0].id != "loss_type":
                    forced.setdefault(loss_type, {})[item.targets[0].id] = ast.literal_eval(item.value)
    return forced


def test_unsloth_s_loss_type_settings_are_the_kit_s():
    # with loss_type dapo Unsloth sets mask_truncated_completions and epsilon_high itself
    from r1kit.unsloth_backend import UNSLOTH_FORCED, check_grpo_arguments

    forced = _forced_by_loss_type(rl_source())
    assert forced == UNSLOTH_FORCED  # the kit's copy of the rule is the pinned one
    for recipe in recipes():
        args = kit_arguments(recipe)["grpo"]
        check_grpo_arguments(args)  # every shipped recipe, on the kit's defaults
        for key, value in forced.get(args["loss_type"], {}).items():
            assert args[key] == value, f"{recipe.run_name}: Unsloth sets {key}={value} with loss {args['loss_type']}"


def test_plan_shows_what_the_unsloth_backend_passes():
    # the plan's loss, beta and SFT batch layout are the kit's arguments, which Unsloth's defaults cannot change
    from r1kit.gpu import PROFILES
    from r1kit.plan import plan
    from r1kit.recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "gsm8k_llama.yaml", ["cold_start=true"])
    shown, args = plan(recipe, PROFILES["t4"]), kit_arguments(recipe)
    changed = {
        stage: rewritten(trl_config(kind), rewrites(rl_source(), trainer_file)) for stage, trainer_file, kind in STAGES
    }
    for key in ("loss_type", "beta", "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate"):
        assert shown[key] == args["grpo"][key]
    for key in ("per_device_train_batch_size", "gradient_accumulation_steps", "max_steps", "learning_rate"):
        assert shown["cold_start"][key] == args["sft"].get(key)
    assert {"loss_type", "beta", "learning_rate"} <= set(changed["grpo"])  # rewritten, and stated
    assert {"per_device_train_batch_size", "gradient_accumulation_steps"} <= set(changed["sft"])
