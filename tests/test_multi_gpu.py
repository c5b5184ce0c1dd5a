"""More than one GPU: the accelerate configs, the multi-GPU recipes and the README's commands, checked on CPU.

Nothing here needs a GPU, DeepSpeed or vLLM. Each command the README gives is parsed by the
parser that would run it (accelerate's `launch`, TRL's `vllm-serve`, torch's `torchrun`, r1kit's
CLI) and taken as far as it goes without GPUs: accelerate's launcher computes the environment
its processes get, and accelerate's DeepSpeedPlugin builds the DeepSpeed config from it (neither
imports deepspeed); the recipe loads, TRL's GRPOConfig accepts its fields, and it plans. The
training itself runs with several processes in tests/test_distributed.py (torchrun, gloo).

    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/test_multi_gpu.py
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import time
from pathlib import Path
from unittest import mock

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.utils import DistributedType

from r1kit.cli import build_parser
from r1kit.cli import main as cli_main
from r1kit.gpu import PROFILES
from r1kit.grpo import check_vllm_server
from r1kit.plan import plan
from r1kit.recipe import RecipeError, load_recipe
from r1kit.trainer_configs import check_trl_fields

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = ROOT / "recipes" / "accelerate"
MULTI_GPU_RECIPES = sorted((ROOT / "recipes").glob("*multi_gpu*.yaml"))

# config file -> (distributed type, ZeRO stage); every config is bf16 on one machine
CONFIGS = {
    "ddp.yaml": (DistributedType.MULTI_GPU, None),  # PyTorch DDP
    "zero2.yaml": (DistributedType.DEEPSPEED, 2),  # optimizer states and gradients sharded
    "zero3.yaml": (DistributedType.DEEPSPEED, 3),  # weights sharded too (Mini-R1, open-r1)
}

PROGRAMS = ("pip", "accelerate", "trl", "torchrun", "python")
PATH = re.compile(r"recipes/[\w./-]+\.ya?ml")


# --- Reading commands and the README ------------------------------------------------------------


def split_env(command: str) -> tuple[dict[str, str], list[str]]:
    """``VAR=value`` prefixes and the words after them.

    >>> split_env("CUDA_VISIBLE_DEVICES=3 trl vllm-serve --model m")
    ({'CUDA_VISIBLE_DEVICES': '3'}, ['trl', 'vllm-serve', '--model', 'm'])
    """
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, words


def readme_section(text: str | None = None, title: str = "More than one GPU") -> str | None:
    """The ``## title`` section of ``text`` (default: README.md), up to the next ``## ``; None when absent.

    >>> readme_section("# Kit\\n## More than one GPU\\nrun it\\n## Next\\n")
    'run it\\n'
    """
    if text is None:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    found = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return found.group(1) if found else None


def section_paths(section: str) -> list[str]:
    """Every ``recipes/...yaml`` path named in ``section``.

    >>> section_paths("run `accelerate launch --config_file recipes/accelerate/ddp.yaml` on recipes/x.yaml.")
    ['recipes/accelerate/ddp.yaml', 'recipes/x.yaml']
    """
    return sorted(set(PATH.findall(section)))


def section_commands(section: str) -> list[str]:
    """The commands in ``section``: its code blocks' lines (continuations joined, comments and a final ``&``
    dropped) and its inline code spans that are whole commands."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", section, re.M | re.S)
    spans = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"^```.*?^```", "", section, flags=re.M | re.S))
    inline = [span for span in spans if len(span.split()) >= 4]  # a whole command, not a name like `trl vllm-serve`
    commands = []
    for line in [*"\n".join(blocks).replace("\\\n", " ").splitlines(), *inline]:
        line = re.sub(r"\s+#.*$", "", line).strip().removesuffix("&").strip()
        _, words = split_env(line) if line else ({}, [])
        if words and words[0] in PROGRAMS and " ".join(line.split()) not in commands:
            commands.append(" ".join(line.split()))
    return commands


# The commands of the README's "More than one GPU" section, read from the README itself.
COMMANDS = section_commands(readme_section() or "")
INSTALL = next(c for c in COMMANDS if c.startswith("pip install"))
SERVER = next(c for c in COMMANDS if " trl vllm-serve " in f" {c} ")


# --- Checking one command -----------------------------------------------------------------------


def multi_gpu_vllm(command: str = INSTALL) -> str:
    """The vLLM version the install command names.

    >>> multi_gpu_vllm("pip install vllm==0.11.2 deepspeed")
    '0.11.2'
    """
    return re.search(r"\bvllm==(\S+)", command).group(1)


def server_args(command: str = SERVER):
    """``trl vllm-serve``'s arguments as TRL's own parser reads them, and the command's environment."""
    from trl.scripts.vllm_serve import make_parser

    env, words = split_env(command)
    assert words[:2] == ["trl", "vllm-serve"]
    (args,) = make_parser().parse_args_and_config(words[2:])
    return env, args


def launch(words: list[str], env: dict[str, str]):
    """What `accelerate launch` would start: (args, the processes' environment). Starts nothing."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    with mock.patch.dict(os.environ, env):
        args, defaults, mixed_precision_from_config = _validate_launch_command(
            launch_command_parser().parse_args(words)
        )
        if args.use_deepspeed:  # as accelerate.commands.launch.launch_command does before deepspeed_launcher
            fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_precision_from_config else [])
            args.deepspeed_fields_from_accelerate_config = ",".join(fields)
            _, child_env = prepare_deepspeed_cmd_env(args)
        else:
            child_env = prepare_multi_gpu_env(args)
    return args, {key: value for key, value in child_env.items() if key.startswith("ACCELERATE_")}


def check_training(script_args: list[str], processes: int, gpus: set[str] | None, *, gpu: bool = True) -> None:
    """The r1kit command a launcher runs: its recipe loads, TRL takes its fields, batches divide, it plans."""
    args = build_parser().parse_args(script_args)
    recipe = load_recipe(ROOT / args.recipe, args.overrides)
    check_trl_fields(recipe)
    # trl/trainer/grpo_config.py: generation batch = per-device batch x processes x steps_per_generation
    # (gradient_accumulation_steps by default), and it must hold whole groups of num_generations
    per_step = (
        recipe.grpo["per_device_train_batch_size"] * processes * recipe.grpo.get("gradient_accumulation_steps", 1)
    )
    assert per_step % recipe.grpo_value("num_generations") == 0
    if not gpu:
        return
    grpo = recipe.grpo
    assert plan(recipe, PROFILES["h100"])["backend"] == "transformers" and grpo.get("use_vllm") is True
    if grpo.get("vllm_mode", "server") == "server":
        server_env, server = server_args()
        assert gpus is not None and not gpus & set(server_env["CUDA_VISIBLE_DEVICES"].split(","))  # GPUs apart
        assert (server.model, server.port) == (recipe.model, grpo["vllm_server_port"])  # the model it trains
        assert server.max_model_len >= grpo["max_prompt_length"] + grpo["max_completion_length"]


def check_command(command: str) -> None:
    """Parse ``command`` as its program would and check what it names."""
    env, words = split_env(command)
    gpus = set(env["CUDA_VISIBLE_DEVICES"].split(",")) if "CUDA_VISIBLE_DEVICES" in env else None
    if words[:2] == ["pip", "install"]:
        from pinned_sources import gpu_pins

        assert (ROOT / words[words.index("-r") + 1]).is_file() and "deepspeed" in words
        assert multi_gpu_vllm(command) in gpu_pins(ROOT)["vllm"]  # a vLLM the kit pins already
    elif words[:2] == ["trl", "vllm-serve"]:
        _, args = server_args(command)
        assert args.model and gpus  # a model, and a GPU of its own
    elif words[:2] == ["accelerate", "launch"]:
        args, child_env = launch(words[2:], env)
        assert args.module and args.training_script == "r1kit"
        assert child_env["ACCELERATE_MIXED_PRECISION"] == "bf16"
        if gpus is not None:
            assert args.num_processes == len(gpus)  # one training process per visible GPU
        check_training(args.training_script_args, args.num_processes, gpus)
    elif words[0] == "torchrun":
        from torch.distributed.run import get_args_parser

        args = get_args_parser().parse_args(words[1:])
        assert (args.nproc_per_node, args.module, args.training_script) == ("2", True, "r1kit")
        check_training(args.training_script_args, 2, None, gpu=False)
    elif words[:4] == ["python", "-m", "r1kit", "plan"]:
        assert cli_main([*words[3:], "--json"]) == 0  # plans (for one process)
    elif words[:3] == ["python", "-m", "r1kit"]:
        args = build_parser().parse_args(words[3:])
        load_recipe(ROOT / args.recipe, args.overrides)
    else:
        raise AssertionError(f"no check for {command!r}")


# --- (a) accelerate configs -----------------------------------------------------------------------


def test_the_config_table_lists_every_config():
    assert sorted(p.name for p in ACCELERATE.glob("*.yaml")) == sorted(CONFIGS)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_accelerate_config_loads_without_deepspeed(name):
    config = load_config_from_file(str(ACCELERATE / name))  # refuses keys ClusterConfig does not have
    kind, stage = CONFIGS[name]
    assert isinstance(config, ClusterConfig)
    assert (config.distributed_type, config.mixed_precision, config.num_machines) == (kind, "bf16", 1)
    assert config.num_processes >= 2 and config.deepspeed_config.get("zero_stage") == stage
    if stage is not None:
        assert (
            config.deepspeed_config["offload_optimizer_device"],
            config.deepspeed_config["offload_param_device"],
        ) == ("none", "none")
    header = (ACCELERATE / name).read_text(encoding="utf-8").split("\ncompute_environment")[0]
    assert f"accelerate launch --config_file recipes/accelerate/{name}" in header  # says how it is run


@pytest.mark.parametrize("name", ["zero2.yaml", "zero3.yaml"])
def test_deepspeed_config_the_processes_would_get(name):
    from accelerate.utils import DeepSpeedPlugin

    args, child_env = launch(["--config_file", str(ACCELERATE / name), "-m", "r1kit", "train", "x.yaml"], {})
    assert args.nproc_per_node == "3"
    with mock.patch.dict(os.environ, child_env):
        zero = DeepSpeedPlugin().deepspeed_config["zero_optimization"]
    stage = CONFIGS[name][1]
    assert zero["stage"] == stage
    assert (zero["offload_optimizer"]["device"], zero["offload_param"]["device"]) == ("none", "none")
    if stage == 3:  # sharded while loading, one 16-bit copy gathered when the adapter is saved
        assert child_env["ACCELERATE_DEEPSPEED_ZERO3_INIT"] == "true"
        assert zero["stage3_gather_16bit_weights_on_model_save"] is True


# --- (b) multi-GPU recipes ------------------------------------------------------------------------


def test_there_is_a_multi_gpu_recipe():
    assert MULTI_GPU_RECIPES


@pytest.mark.parametrize("mode", ["server", "colocate"])
@pytest.mark.parametrize("path", MULTI_GPU_RECIPES, ids=lambda p: p.name)
def test_multi_gpu_recipe_loads_and_plans(path, mode):
    recipe = load_recipe(path, [f"grpo.vllm_mode={mode}"])
    check_trl_fields(recipe)  # every grpo: key is a field of the pinned trl.GRPOConfig
    for gpu in ("h100", "a100"):
        result = plan(recipe, PROFILES[gpu])
        assert (result["backend"], result["dtype"], result["load_in_4bit"]) == ("transformers", "bfloat16", False)
        assert result["generation"] == f"vLLM through TRL (vllm_mode: {mode})"


# --- (c) no vLLM server: a clear message at once --------------------------------------------------


def test_server_mode_without_a_server_fails_fast(monkeypatch):
    monkeypatch.setattr("trl.extras.vllm_client.is_vllm_available", lambda: True)  # the client, not the engine, is used
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recipe = load_recipe(MULTI_GPU_RECIPES[0], ["grpo.vllm_server_host=127.0.0.1", f"grpo.vllm_server_port={port}"])
    start = time.perf_counter()
    with pytest.raises(RecipeError) as error:
        check_vllm_server(recipe)
    assert time.perf_counter() - start < 30  # TRL itself would wait vllm_server_timeout (240 s)
    message = str(error.value)
    assert f"none answers at http://127.0.0.1:{port}/health/" in message
    assert f"trl vllm-serve --model {recipe.model}" in message and "vllm_mode: colocate" in message


def test_colocate_mode_needs_no_server():
    check_vllm_server(load_recipe(MULTI_GPU_RECIPES[0], ["grpo.vllm_mode=colocate"]))  # asks nothing


# --- (d) the README's commands --------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command(command):
    for path in PATH.findall(command):
        assert (ROOT / path).is_file(), path
    check_command(command)


def check_readme_section(section: str) -> None:
    """Every path the section names exists and loads; the section has commands to check."""
    for path in section_paths(section):
        assert (ROOT / path).is_file(), f"README names {path}, which does not exist"
        if path.startswith("recipes/accelerate/"):
            load_config_from_file(str(ROOT / path))
        else:
            load_recipe(ROOT / path)
    assert section_commands(section), (
        "the section's code blocks hold no command"
    )  # each is checked by test_readme_command


def test_readme_section_names_files_that_exist_and_load():
    section = readme_section()
    if section is None:
        pytest.skip("README.md has no 'More than one GPU' section yet")
    check_readme_section(section)


# --- vLLM: the version installed for several GPUs has what TRL imports from it ----------------------


def vllm_imports(trl_file: str) -> set[tuple[str, str]]:
    """``(module, name)`` for every ``from vllm... import name`` in an installed TRL file."""
    import ast

    import trl

    tree = ast.parse((Path(trl.__file__).parent / trl_file).read_text(encoding="utf-8"))
    return {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vllm"
        for alias in node.names
    }


def defines(source: str, name: str) -> bool:
    """``name`` is defined, assigned, imported or lazily exported (a ``"name":`` key) in ``source``."""
    return bool(
        re.search(
            rf"^\s*(def|class)\s+{name}\b|^{name}\s*[:=]|^\s*[\"']{name}[\"']\s*:|"
            rf"\bimport\b[^\n]*\b{name}\b|^\s+{name},?\s*$",
            source,
            re.M,
        )
    )


def test_trl_finds_what_it_imports_in_the_multi_gpu_vllm():
    # the trainer (colocate), its client (server) and `trl vllm-serve` import these at load time;
    # vLLM 0.15.1 (the notebooks' pin) has neither GuidedDecodingParams nor get_open_port
    from pinned_sources import PinUnavailable, pinned_file

    version = multi_gpu_vllm()
    wanted = set().union(
        *(vllm_imports(f) for f in ("trainer/grpo_trainer.py", "extras/vllm_client.py", "scripts/vllm_serve.py"))
    )
    assert ("vllm.sampling_params", "GuidedDecodingParams") in wanted
    missing = []
    for module, name in sorted(wanted):
        path = module.replace(".", "/")
        try:
            try:
                source = pinned_file("vllm", version, f"{path}.py")
            except KeyError:
                source = pinned_file("vllm", version, f"{path}/__init__.py")
        except PinUnavailable as error:
            pytest.skip(str(error))
        if not defines(source, name):
            missing.append(f"{module}.{name}")
    assert not missing, f"vllm=={version} lacks what TRL imports: {missing}"
