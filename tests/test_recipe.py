"""Recipes: parsing, command-line overrides, and clear messages for bad recipes."""

from pathlib import Path

import pytest
import yaml

from r1kit.recipe import FIELDS, Recipe, RecipeError, apply_overrides, load_recipe, recipe_from_dict, recipe_help

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
    assert recipe.reward_weights() == {"gsm8k_correctness": 1.0, "int": 1.0}  # the task's default rewards


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        (["max_steps=7"], "max_steps", 7),  # int
        (["learning_rate=1e-4"], "learning_rate", 1e-4),  # YAML float
        (["learning_rate=1"], "learning_rate", 1.0),  # an int where a float is expected
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
        ({**MINIMAL, "max_steps": "ten"}, "max_steps must be int"),  # wrong type
        ({**MINIMAL, "max_steps": True}, "max_steps must be int"),  # a bool is not an int
        ({**MINIMAL, "learning_rate": "fast"}, "learning_rate must be float"),  # wrong type
        ({**MINIMAL, "target_modules": "q_proj"}, "target_modules must be a list"),  # scalar for a list
        ({**MINIMAL, "rewards": ["int"]}, "rewards must be a mapping"),  # list where weights are needed
        ({**MINIMAL, "rewards": {"int": "high"}}, "rewards.int must be float"),  # weight not a number
        ({**MINIMAL, "max_step": 5}, "did you mean 'max_steps'"),  # unknown field with a suggestion
        ({**MINIMAL, "task": "sudoku"}, "unknown task 'sudoku'"),  # unknown task
        ({**MINIMAL, "prompt_style": "chatty"}, "unknown prompt style 'chatty'"),  # unknown style
        ({**MINIMAL, "backend": "vllm"}, "backend must be one of"),  # unknown backend
        ({**MINIMAL, "num_generations": 1}, "num_generations must be at least 2"),  # no group to compare
        ({**MINIMAL, "max_steps": 0}, "max_steps must be at least 1"),  # nothing to train
        (["model", "task"], "must be a mapping"),  # not a mapping at all
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
