"""Recipes: parsing, command-line overrides, and clear messages for bad recipes."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from r1kit.recipe import FIELDS, Recipe, RecipeError, apply_overrides, load_recipe, recipe_from_dict, recipe_help
from r1kit.tasks import get_task

RECIPES = sorted((Path(__file__).parent.parent / "recipes").glob("*.yaml"))
MINIMAL = {"model": "smollm2-135m-instruct", "task": "arithmetic"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_shipped_recipes_parse(path):
    recipe = load_recipe(path)
    assert recipe.run_name
    assert recipe.reward_weights()  # every named reward resolves


def test_defaults_and_name_from_file(tmp_path):
    path = tmp_path / "my_run.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    recipe = load_recipe(path)
    assert recipe.run_name == "my_run"  # run_name defaults to the file name
    assert recipe.reward_weights() == dict(get_task("arithmetic").default_rewards) and recipe.reward_weights()


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        (["grpo.max_steps=7"], "grpo", {"max_steps": 7}),  # a GRPOConfig field, by TRL's name
        (["grpo.learning_rate=1e-4"], "grpo", {"learning_rate": 1e-4}),  # YAML float
        (["eval_temperature=1"], "eval_temperature", 1.0),  # an int where a float is expected
        (["backend=transformers"], "backend", "transformers"),  # string
        (["rewards={int: 0.5}"], "rewards", {"int": 0.5}),  # a whole mapping
        (["task_args.digits=3"], "task_args", {"digits": 3}),  # one key inside a mapping
        (["target_modules=[q_proj, v_proj]"], "target_modules", ["q_proj", "v_proj"]),  # a list
        (["lora_alpha="], "lora_alpha", None),  # empty value clears an optional field
    ],
)
def test_overrides(overrides, field, expected):
    recipe = apply_overrides(recipe_from_dict(MINIMAL), overrides)
    assert getattr(recipe, field) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**MINIMAL, "rewards": {"corectness": 1.0}}, "unknown reward 'corectness'"),  # typo in a reward name
        ({"task": "arithmetic"}, "missing required recipe field(s): model"),  # no model
        ({**MINIMAL, "eval_size": "ten"}, "eval_size must be int"),  # wrong type
        ({**MINIMAL, "eval_size": True}, "eval_size must be int"),  # a bool is not an int
        ({**MINIMAL, "eval_temperature": "hot"}, "eval_temperature must be float"),  # wrong type
        ({**MINIMAL, "target_modules": "q_proj"}, "target_modules must be a list"),  # scalar for a list
        ({**MINIMAL, "rewards": ["int"]}, "rewards must be a mapping"),  # list where weights are needed
        ({**MINIMAL, "rewards": {"int": "high"}}, "rewards.int must be float"),  # weight not a number
        ({**MINIMAL, "eval_sise": 5}, "did you mean 'eval_size'"),  # unknown field with a suggestion
        ({**MINIMAL, "max_steps": 5}, "unknown recipe field(s): 'max_steps'"),  # TRL's fields go in grpo:
        ({**MINIMAL, "task": "sudoku"}, "unknown task 'sudoku'"),  # unknown task
        ({**MINIMAL, "prompt_style": "chatty"}, "unknown prompt style 'chatty'"),  # unknown style
        ({**MINIMAL, "backend": "vllm"}, "backend must be one of"),  # unknown backend
        ({**MINIMAL, "grpo": {"max_steps": 0}}, "grpo.max_steps must be a positive integer"),  # nothing to train
        ({**MINIMAL, "grpo": {"output_dir": "x"}}, "grpo.output_dir is set by the kit"),  # the run folder is ours
        ({**MINIMAL, "grpo": {"reward_weights": [1]}}, "use the recipe's rewards"),  # weights live beside names
        (["model", "task"], "must be a mapping"),  # not a mapping at all
        # paths: one plain folder name, which cannot reach outside output_dir / adapter_dir
        ({**MINIMAL, "run_name": "../../elsewhere"}, "run_name must be one plain folder name"),
        ({**MINIMAL, "run_name": "a/b"}, "run_name must be one plain folder name"),
        ({**MINIMAL, "run_name": ".."}, "run_name must be one plain folder name"),
        ({**MINIMAL, "output_dir": ""}, "output_dir is empty"),
        # seeds numpy cannot take (transformers' set_seed, datasets' shuffle)
        ({**MINIMAL, "seed": -1}, "seed must be from 0 to 4294967295, got -1"),
        ({**MINIMAL, "eval_seed": 2**32}, "eval_seed must be from 0 to 4294967295"),
        # LoRA on nothing
        ({**MINIMAL, "target_modules": []}, "target_modules must name the projections"),
        ({**MINIMAL, "lora_alpha": 0}, "lora_alpha must be positive"),
        ({**MINIMAL, "eval_temperature": -0.5}, "eval_temperature must be a number of at least 0"),
        # reward weights: TRL sums the weighted rewards with nansum, so NaN would drop a reward silently
        ({**MINIMAL, "rewards": {"free_number": float("nan")}}, "rewards.free_number: a weight must be a finite"),
        ({**MINIMAL, "rewards": {"free_number": float("inf")}}, "rewards.free_number: a weight must be a finite"),
        ({**MINIMAL, "rewards": {"free_number": 0.0}}, "every weight is 0"),  # trains on nothing
        # trainer settings TRL accepts but that fail (or train wrong) after the model loads
        (
            {**MINIMAL, "grpo": {"per_device_train_batch_size": 0}},
            "grpo.per_device_train_batch_size must be a positive",
        ),
        (
            {**MINIMAL, "sft": {"per_device_train_batch_size": -16}},
            "sft.per_device_train_batch_size must be a positive",
        ),
        ({**MINIMAL, "grpo": {"learning_rate": "fast"}}, "grpo.learning_rate must be a positive number, got 'fast'"),
        ({**MINIMAL, "sft": {"learning_rate": -1e-4}}, "sft.learning_rate must be a positive number"),
        ({**MINIMAL, "grpo": {"temperature": 0}}, "grpo.temperature must be a positive number"),  # NaN training
        ({**MINIMAL, "grpo": {"temperature": -1.0}}, "grpo.temperature must be a positive number"),
        ({**MINIMAL, "grpo": {"gradient_accumulation_steps": 0}}, "grpo.gradient_accumulation_steps must be"),
        ({**MINIMAL, "sft": {"max_steps": -3}}, "sft.max_steps must be a positive integer, or -1 for epochs"),
        ({**MINIMAL, "sft": {"max_steps": 0}}, "sft.max_steps must be a positive integer, or -1 for epochs"),
    ],
)
def test_bad_recipes(data, message):
    with pytest.raises(RecipeError) as error:
        recipe_from_dict(data)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: [unclosed", "not valid YAML"),  # broken YAML
        ("model: x\ntask: arithmetic\n!!python/object:os.system {}", "not valid YAML"),  # no object tags
    ],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message):
        load_recipe(path)


def test_missing_file():
    with pytest.raises(RecipeError, match="not found"):
        load_recipe("no/such/recipe.yaml")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a YAML text file"),  # a binary file
        ("model: x\ntask: arithmetic\n".encode("utf-16-le"), "is not a YAML text file"),  # UTF-16 without its mark
        (b"model: [unclosed", "is not valid YAML: while parsing a flow sequence expected ',' or ']'"),
    ],
)
def test_unreadable_files_are_one_line(tmp_path, raw, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(raw)
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_utf16_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_bytes("model: smollm2-135m-instruct\ntask: arithmetic\n".encode("utf-16"))  # as Notepad saves it
    assert load_recipe(path).task == "arithmetic"


def test_sft_max_steps_minus_one_means_epochs():
    # TRL's default: transformers then trains num_train_epochs over the traces
    assert recipe_from_dict({**MINIMAL, "sft": {"max_steps": -1}}).sft == {"max_steps": -1}


@pytest.mark.parametrize("bad", ["max_steps", "=3", "rewards.int"])  # no '=', no key, no '='
def test_bad_override_syntax(bad):
    with pytest.raises(RecipeError, match="key=value"):
        apply_overrides(recipe_from_dict(MINIMAL), [bad])


def test_every_field_has_help():
    assert all(f.metadata.get("help") for f in FIELDS.values())
    assert all(name in recipe_help() for name in FIELDS)


def test_round_trip_through_dict():
    recipe = recipe_from_dict({**MINIMAL, "task_args": {"digits": 2}})
    assert recipe_from_dict(recipe.to_dict()) == recipe
    assert isinstance(recipe, Recipe)


def test_lengths_are_not_checked_against_the_vllm_context_on_transformers():
    recipe = recipe_from_dict({**MINIMAL, "backend": "transformers", "grpo": {"max_completion_length": 2048}})
    assert recipe.eval_tokens == 2048  # evaluation generates as long as training, unless set


def test_trl_fields_are_checked_against_the_installed_trl():
    from r1kit.trainer_configs import check_trl_fields

    check_trl_fields(recipe_from_dict({**MINIMAL, "grpo": {"beta": 0.04, "use_vllm": True}, "sft": {"packing": True}}))
    with pytest.raises(
        RecipeError, match="'num_generation' \\(did you mean 'num_generations'\\?\\) not a field of trl.GRPOConfig"
    ):
        check_trl_fields(recipe_from_dict({**MINIMAL, "grpo": {"num_generation": 4}}))
    with pytest.raises(RecipeError, match="sft: 'lerning_rate'"):
        check_trl_fields(recipe_from_dict({**MINIMAL, "sft": {"lerning_rate": 1e-4}}))


def test_public_names_of_r1kit_resolve():
    import r1kit

    assert all(callable(getattr(r1kit, name)) for name in r1kit.__all__)


def test_public_functions_import_as_functions_and_nothing_heavy_loads():
    # a fresh interpreter: `from r1kit import plan` once gave the module r1kit.plan
    code = (
        "import sys\n"
        "from r1kit import Pipeline, evaluate, load_recipe, plan\n"
        "assert all(callable(f) for f in (Pipeline, evaluate, load_recipe, plan))\n"
        "heavy = {'torch', 'transformers', 'trl', 'peft', 'unsloth', 'vllm', 'datasets'} & set(sys.modules)\n"
        "assert not heavy, heavy  # Unsloth must be imported before these\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
