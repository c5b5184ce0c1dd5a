"""API drift: every keyword argument the kit passes to the GPU stack exists in the pinned versions.

The kit's calls are read with `ast` from r1kit/*.py and the code cells of notebooks/*.ipynb, so the
check follows the code as it changes. The names each callable accepts are read from the sources
of the releases pinned in gpu_requirements.txt: single files fetched out of the wheels on PyPI
without installing them (tests/pinned_sources.py; the first run downloads about 1.5 MB, later runs
read ~/.cache/r1kit-pins), or from the installed copy when it is the pinned version (trl and
transformers on the CPU path). Only named parameters count: Unsloth's methods also take **kwargs,
which would swallow a misspelt or removed argument without a word. Keywords passed through a
`**mapping` are seen only when the mapping is a literal (`**{...}`, `**dict(...)`).
Tests skip when PyPI cannot be reached.
"""

from __future__ import annotations

import ast
import itertools
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from pinned_sources import (
    PinUnavailable,
    call_keywords,
    code_cells,
    gpu_pins,
    normalize,
    notebook_code,
    pinned_file,
)

ROOT = Path(__file__).resolve().parents[1]
GPU_PINS = gpu_pins(ROOT)

# Callee as the kit spells it -> ((pinned package, file in its wheel), ...), class, method or None
# for the class's fields. Classes are looked up across the files listed, base classes followed.
PINNED_APIS = {
    "GRPOConfig": (
        (("trl", "trl/trainer/grpo_config.py"), ("transformers", "transformers/training_args.py")),
        "GRPOConfig",
        None,
    ),
    "SamplingParams": ((("vllm", "vllm/sampling_params.py"),), "SamplingParams", None),
    # Unsloth sets `model.fast_generate = model.vllm_engine.generate`, i.e. vLLM's LLM.generate.
    "fast_generate": ((("vllm", "vllm/entrypoints/llm.py"),), "LLM", "generate"),
    "FastLanguageModel.from_pretrained": (
        (("unsloth", "unsloth/models/loader.py"),),
        "FastLanguageModel",
        "from_pretrained",
    ),
    # FastLanguageModel inherits get_peft_model from FastLlamaModel (llama.py).
    "FastLanguageModel.get_peft_model": (
        (("unsloth", "unsloth/models/loader.py"), ("unsloth", "unsloth/models/llama.py")),
        "FastLanguageModel",
        "get_peft_model",
    ),
    # Module functions Unsloth binds onto the model (unsloth/save.py, patch_saving_functions).
    "save_pretrained_merged": ((("unsloth", "unsloth/save.py"),), None, "unsloth_generic_save_pretrained_merged"),
    "save_pretrained_gguf": ((("unsloth", "unsloth/save.py"),), None, "unsloth_save_pretrained_gguf"),
}
# One case per callee and pinned variant (vllm has a T4 and a newer-GPU pin).
CASES = [
    pytest.param(callee, dict(zip(packages, versions)), id=f"{callee}-{'-'.join(versions)}")
    for callee, (members, _, _) in PINNED_APIS.items()
    for packages in [sorted({package for package, _ in members})]
    for versions in itertools.product(*(GPU_PINS[package] for package in packages))
]
# Packages whose declared requirements the other GPU pins must satisfy.
CONSTRAINING = ["unsloth", "unsloth-zoo", "vllm"]


def kit_sources() -> dict[str, str]:
    """Python source of each r1kit module and each notebook code cell, by where it lives."""
    modules = sorted(ROOT.glob("r1kit/*.py"))
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in modules}
    for notebook in sorted(ROOT.glob("notebooks/*.ipynb")):
        for i, cell in enumerate(code_cells(notebook)):
            sources[f"{notebook.relative_to(ROOT)} code cell {i}"] = notebook_code(cell)
    return sources


def used_keywords(callee: str) -> dict[str, list[str]]:
    """Keyword -> the places in the kit that pass it to `callee`."""
    used: dict[str, list[str]] = {}
    for where, source in kit_sources().items():
        try:
            keywords = call_keywords(source, callee)
        except SyntaxError as err:
            pytest.fail(f"{where} does not parse ({err.msg}, line {err.lineno}): its calls cannot be checked")
        for keyword in keywords:
            used.setdefault(keyword, []).append(where)
    return used


def fetch(package: str, version: str, member: str) -> str:
    """`member` of `package==version`: from the installed copy when it is that version, else PyPI."""
    try:
        if metadata.version(package) == version:
            return Path(metadata.distribution(package).locate_file(member)).read_text(encoding="utf-8")
    except metadata.PackageNotFoundError:
        pass
    try:
        return pinned_file(package, version, member)
    except PinUnavailable as err:
        pytest.skip(str(err))


def accepted_names(sources: list[str], cls: str | None, method: str | None) -> set[str]:
    """Named parameters of `cls.method` (following base classes), `cls`'s annotated fields, or module function `method`."""
    if cls is None:
        function = next(
            n for src in sources for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == method
        )
        args = function.args
        return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} - {"self"}
    classes = {n.name: n for src in sources for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ClassDef)}
    names: set[str] = set()
    node: ast.ClassDef | None = classes[cls]
    while node is not None:
        for item in node.body:
            if (
                method is None
                and isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and not item.target.id.startswith("_")
            ):  # private: not an __init__ argument
                names.add(item.target.id)
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == method:
                args = item.args
                return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} - {"self", "cls"}
        node = next((classes[b.id] for b in node.bases if isinstance(b, ast.Name) and b.id in classes), None)
    if method is not None:
        raise LookupError(f"{method} not found on {cls} or its bases in the pinned sources")
    return names


@pytest.mark.parametrize("callee, versions", CASES)
def test_keywords_exist_in_pinned_sources(callee, versions):
    members, cls, method = PINNED_APIS[callee]
    accepted = accepted_names([fetch(p, versions[p], member) for p, member in members], cls, method)
    unknown = {k: where for k, where in used_keywords(callee).items() if k not in accepted}
    assert not unknown, f"{callee} has no parameter(s) {unknown} in {versions}"


@pytest.mark.parametrize(
    "callee, keywords",
    [
        # the calls Unsloth's GRPO notebooks make, as r1kit/unsloth_backend.py repeats them
        (
            "FastLanguageModel.from_pretrained",
            {
                "model_name",
                "max_seq_length",
                "load_in_4bit",
                "fast_inference",
                "max_lora_rank",
                "gpu_memory_utilization",
            },
        ),
        (
            "FastLanguageModel.get_peft_model",
            {"r", "target_modules", "lora_alpha", "use_gradient_checkpointing", "random_state"},
        ),
        ("SamplingParams", {"n", "temperature", "top_p", "max_tokens", "seed"}),
        ("fast_generate", {"sampling_params", "lora_request"}),
        ("save_pretrained_merged", {"save_method"}),
        ("save_pretrained_gguf", {"quantization_method"}),
    ],
)
def test_collector_sees_the_backend_calls(callee, keywords):
    # guards against the drift check passing vacuously (calls renamed or built from **kwargs)
    assert keywords <= set(used_keywords(callee))


def test_gpu_pins_satisfy_pinned_requirements():
    # e.g. unsloth's "peft>=0.18.0" against the peft pin; requirements behind extras are skipped
    broken = []
    for package in CONSTRAINING:
        for version in GPU_PINS[package]:
            dist = re.sub(r"[-_.]+", "_", package)
            for line in fetch(package, version, f"{dist}-{version}.dist-info/METADATA").splitlines():
                if not line.startswith("Requires-Dist:"):
                    continue
                req = Requirement(line.split(":", 1)[1].strip())
                if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                    continue
                for pinned in GPU_PINS.get(normalize(req.name), []):
                    if not req.specifier.contains(pinned, prereleases=True):
                        broken.append(f"{package}=={version} requires {req}, pinned {req.name}=={pinned}")
    assert not broken, "\n".join(broken)


# What the kit's GPU decisions rely on, as the pinned sources state it. Each row: package, file in
# its wheel, a line that must be there, and the kit code that depends on it. When a pin moves and
# a row fails, re-read that file and revisit the code named.
SOURCE_FACTS = [
    # r1kit/gpu.py Gpu.dtype: bf16 from compute capability 8; float16 below (a T4 is 7.5)
    ("unsloth", "unsloth/models/_utils.py", "    if major_version >= 8:\n        SUPPORTS_BFLOAT16 = True"),
    ("unsloth", "unsloth/models/llama.py", "dtype = torch.float16 if not SUPPORTS_BFLOAT16 else torch.bfloat16"),
    # r1kit/config.py: the unsloth trainer refuses bf16 on a float16 model, so fp16/bf16 follow Gpu.dtype
    (
        "unsloth",
        "unsloth/models/rl.py",
        "Unsloth: Model is in float16 precision but you want to use bfloat16 precision",
    ),
    # r1kit/unsloth_backend.py UNSLOTH_ENVIRONMENT: in standby the share is replaced unless overridden
    (
        "unsloth-zoo",
        "unsloth_zoo/vllm_utils.py",
        'standby_util_override = os.getenv("UNSLOTH_VLLM_STANDBY_UTIL_OVERRIDE", "0") != "0"',
    ),
    ("unsloth-zoo", "unsloth_zoo/vllm_utils.py", "if unsloth_vllm_standby and not standby_util_override:"),
    # r1kit/recipe.py check_lengths: vLLM's context is max_seq_length
    ("unsloth-zoo", "unsloth_zoo/vllm_utils.py", "max_model_len          = max_seq_length,"),
    # ... and vLLM ends a request at max_model_len as "length capped", without an error
    ("vllm", "vllm/v1/core/sched/utils.py", "request.num_tokens >= max_model_len"),
    # r1kit/export.py save_gguf: GGUF files land in the sibling <dir>_gguf, named in the returned dict
    ("unsloth", "unsloth/save.py", 'return f"{save_directory}_gguf"'),
    ("unsloth", "unsloth/save.py", '"gguf_directory": gguf_directory,'),
    # r1kit/runs.py CHECKPOINT_FILES: trainer_state.json is written last into checkpoint-N
    (
        "transformers",
        "transformers/trainer.py",
        "self.state.save_to_json(os.path.join(output_dir, TRAINER_STATE_NAME))",
    ),
    # r1kit/train.py check_vllm_server: TRL polls <url>/health/ before it gives up
    ("trl", "trl/extras/vllm_client.py", 'url = f"{self.base_url}/health/"'),
    # r1kit/unsloth_backend.py require_vllm: without vLLM Unsloth turns fast_inference off, warning only
    (
        "unsloth",
        "unsloth/models/_utils.py",
        'logger.warning_once("Unsloth: vLLM is not installed! Will use Unsloth inference!")',
    ),
    # ... import_unsloth_first: unsloth_zoo reads UNSLOTH_VLLM_STANDBY when it is imported
    ("unsloth-zoo", "unsloth_zoo/__init__.py", 'if os.environ.get("UNSLOTH_VLLM_STANDBY", "0") == "0":'),
    # ... clear_grpo_lora_config: the trainer's LoRA folder, written only when missing or on the
    # first request, and read through a cache
    ("unsloth", "unsloth/models/rl.py", 'lora_name = trainer_file + "_lora_model\'"'),
    ("unsloth-zoo", "unsloth_zoo/vllm_utils.py", "if not os.path.exists(save_directory) or lora_request_id == 1:"),
    ("unsloth-zoo", "unsloth_zoo/vllm_utils.py", "@functools.cache\ndef get_peft_config(save_directory):"),
    # r1kit/generation.py VLLMGenerator: fast_generate is vLLM's LLM.generate, which takes token-id prompts
    ("unsloth", "unsloth/models/llama.py", "model.fast_generate = model.vllm_engine.generate"),
    ("vllm", "vllm/inputs/data.py", "class TokensPrompt(TypedDict):"),
    # gpu_requirements_common.txt tensorboard: report_to tensorboard without it stops the trainer
    ("transformers", "transformers/integrations/integration_utils.py", "TensorBoardCallback requires tensorboard"),
    # r1kit/recipe.py GRPO_DEFAULTS epsilon_high: TRL reuses samples (old log-probs) only when this holds
    ("trl", "trl/trainer/grpo_trainer.py", "if self.args.gradient_accumulation_steps % generate_every != 0:"),
]


@pytest.mark.parametrize(
    "package, member, line",
    SOURCE_FACTS,
    ids=[f"{p}:{m.rsplit('/', 1)[1]}:{i}" for i, (p, m, _) in enumerate(SOURCE_FACTS)],
)
def test_pinned_sources_still_say_what_the_kit_relies_on(package, member, line):
    pins = {**{name: versions[0] for name, versions in GPU_PINS.items()}}
    text = fetch(package, pins[package], member)
    assert line in text, f"{package}=={pins[package]} {member} no longer has: {line}"


def test_save_order_in_checkpoints():
    # trainer_state.json comes after the adapter, optimizer and scheduler in Trainer._save_checkpoint
    text = fetch("transformers", GPU_PINS["transformers"][0], "transformers/trainer.py")
    body = text[text.index("def _save_checkpoint(") :]
    order = [
        body.index(marker)
        for marker in ("self.save_model(output_dir", "self._save_optimizer_and_scheduler(", "self.state.save_to_json(")
    ]
    assert order == sorted(order)
