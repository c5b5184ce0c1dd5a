"""Static checks of notebooks/*.ipynb, of the pin files and of the README's notebook table.

Each notebook: valid nbformat; outputs stripped and execution counts cleared; every code cell
parses once IPython `%`/`!` lines are set aside; exactly one cell tagged "parameters" (papermill
and the smoke run set it), which is the one source of truth: a parameter that maps to a recipe field
is None (the recipe's value) and reaches the recipe only through the `overrides={...}` literal.
One install cell, the same in every notebook, fetches the kit from `KIT` and installs the GPU set
from the kit's pin files (it writes no pins itself); every `name==version` written in any code
cell agrees with the pin files. The README's Colab badges point at the repository `KIT` names,
and each notebook asks Colab for the GPU its README row names first.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import io
import re
import sys
import tokenize
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from pinned_sources import gpu_pins, normalize, notebook_code, read_pins

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))
TRAINING = [p for p in NOTEBOOKS if p.stem != "inference_saved_adapter"]
GPU_PINS = gpu_pins(ROOT)
CPU_PINS = read_pins(ROOT / "requirements.txt")
# The design runs both paths on the same versions of these.
SHARED = ("trl", "transformers", "peft")
_WRITTEN_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)")
_INSTALL_LINE = re.compile(r"^\s*[!%].*\bpip install\b", re.MULTILINE)
# Parameters that are not recipe fields; every other parameter maps to one through `overrides`.
KIT_PARAMETERS = {"RECIPE", "ADAPTER", "OUTPUT_DIR", "EXPORT", "GGUF_QUANTIZATION", "HUB_REPO", "SMOKE"}
# What a training notebook's parameters cell offers (issue 7): the recipe-mapped ones start as None.
TRAINING_PARAMETERS = KIT_PARAMETERS - {"ADAPTER"} | {
    "MODEL",
    "COLD_START",
    "MAX_STEPS",
    "NUM_GENERATIONS",
    "MAX_COMPLETION_LENGTH",
    "LEARNING_RATE",
    "LORA_RANK",
    "GPU_MEMORY_UTILIZATION",
    "EVAL_SIZE",
    "EVAL_K",
}
# The steps of a training notebook, as its `##` headings name them (style.md: one structure for all).
TRAINING_STEPS = [
    "Install",
    "GPU check",
    "Parameters",
    "Recipe",
    "Data",
    "Rewards",
    "Load the model",
    "Optional: the cold start",
    "Train",
    "Reward plot",
    "Before and after",
    "Inference with the saved adapter",
    "Saving options",
]
PIN_FILES = ("gpu_requirements.txt", "gpu_requirements_t4.txt")
_BADGE = re.compile(
    r"https://colab\.research\.google\.com/github/([^/\s)]+)/([^/\s)]+)/blob/main/notebooks/"
    r"([^/\s)]+\.ipynb)"
)
_GITHUB = re.compile(r"https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?")
_GPU_NAMES = re.compile(r"\b(T4|L4|A100|H100|V100)\b")


def notebook_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def tagged(path: Path, tag: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in notebook_cells(path) if tag in c.metadata.get("tags", [])]
    return cell


def written_pins(source: str) -> list[tuple[str, str]]:
    """(package, version) for every `name==version` in the text.

    >>> written_pins("!pip install trl==0.22.2 'vllm==0.11.2' f'numpy=={numpy.__version__}'.")
    [('trl', '0.22.2'), ('vllm', '0.11.2')]
    """
    return [(normalize(name), version.rstrip(".")) for name, version in _WRITTEN_PIN.findall(source)]


def ids(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_valid_nbformat(path):
    nbformat.validate(nbformat.read(path, as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_outputs_stripped(path):
    dirty = [i for i, c in enumerate(notebook_cells(path)) if c.outputs or c.execution_count is not None]
    assert not dirty, f"code cells {dirty} keep outputs or execution counts: clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_code_cells_parse(path):
    for i, cell in enumerate(notebook_cells(path)):
        try:
            ast.parse(notebook_code(cell.source))
        except SyntaxError as err:
            pytest.fail(f"code cell {i}, line {err.lineno}: {err.msg}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_one_parameters_cell(path):
    tagged_cells = [i for i, c in enumerate(notebook_cells(path)) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged_cells) == 1, f"code cells tagged 'parameters': {tagged_cells}; exactly one is needed"


@pytest.mark.parametrize("path", TRAINING, ids=ids)
def test_training_notebooks_keep_the_structure(path):
    cells = nbformat.read(path, as_version=4).cells
    headings = [
        line[3:] for c in cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")
    ]
    steps = iter(headings)
    missing = [step for step in TRAINING_STEPS if not any(h.startswith(step) for h in steps)]
    assert not missing, f"steps missing or out of order: {missing}; headings: {headings}"
    saving = next(i for i, c in enumerate(cells) if c.source.startswith("## Saving options"))
    bare = [i for i in range(1, saving) if cells[i].cell_type == "code" and cells[i - 1].cell_type == "code"]
    assert not bare, f"cells {bare} have no markdown before them (only the save cells share one)"


def pipeline_calls(path: Path) -> list[str]:
    """The ``pipe.<step>()`` calls of a notebook's code cells, in order."""
    calls = []
    for cell in notebook_cells(path):
        if cell.cell_type == "code":
            calls += re.findall(r"\bpipe\.(\w+)\(", cell.source)
    return calls


@pytest.mark.parametrize("path", TRAINING, ids=ids)
def test_training_notebooks_run_the_pipelines_steps_and_hold_no_copy_of_them(path):
    from r1kit.pipeline import STEPS

    steps = [call for call in pipeline_calls(path) if call in (*STEPS, "finish")]
    assert steps == [*STEPS, "finish"], steps  # each step once, in the pipeline's order, one cell each
    code = "\n".join(c.source for c in notebook_cells(path) if c.cell_type == "code")
    for copied in ("run_sft(", "run_grpo(", "evaluate_recipe(", "build_datasets(", "Stage(", "backend.load("):
        assert copied not in code, f"{path.name} calls {copied} itself: the pipeline owns the stage sequence"


# ---- parameters: the recipe is the one source of truth ----------------------------------------


def parameters(path: Path) -> tuple[dict[str, ast.expr], dict[str, str]]:
    """The parameters cell's variables -> their value expressions, and -> their line's comment."""
    source = tagged(path, "parameters").source
    values = {}
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), (
            f"the parameters cell holds only `NAME = value` lines (line {node.lineno})"
        )
        values[node.targets[0].id] = node.value
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            line = source.splitlines()[token.start[0] - 1]
            comments[line.split("=", 1)[0].strip()] = token.string
    return values, comments


def overrides(path: Path) -> dict[str, str]:
    """The `overrides={...}` literal of the recipe call: recipe key -> the parameter it is set from."""
    calls = [
        node
        for cell in notebook_cells(path)
        for node in ast.walk(ast.parse(notebook_code(cell.source)))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("notebook_recipe", "adapter_recipe")
    ]
    assert len(calls) == 1, f"{len(calls)} calls of notebook_recipe/adapter_recipe; one builds the recipe"
    (given,) = [kw.value for kw in calls[0].keywords if kw.arg == "overrides"] or [None]
    assert isinstance(given, ast.Dict), "the recipe call passes overrides={...} as a dict literal"
    mapping = {}
    for key, value in zip(given.keys, given.values, strict=True):
        assert isinstance(key, ast.Constant) and isinstance(value, ast.Name), (
            f"overrides maps a recipe key to a parameter: {ast.unparse(key)}: {ast.unparse(value)}"
        )
        mapping[key.value] = value.id
    return mapping


def recipe_keys() -> set[str]:
    """Every key `overrides` may name: the recipe's fields, and `grpo.`/`sft.` + TRL's config fields."""
    import trl

    from r1kit.recipe import FIELDS

    sections = {"grpo": trl.GRPOConfig, "sft": trl.SFTConfig}
    return set(FIELDS) | {f"{name}.{f.name}" for name, config in sections.items() for f in dataclasses.fields(config)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_recipe_parameters_are_none_and_reach_the_recipe_through_overrides(path):
    values, comments = parameters(path)
    mapping = overrides(path)
    unknown = sorted(set(mapping) - recipe_keys())
    assert not unknown, f"overrides keys that are no recipe field (top-level, grpo.X or sft.X): {unknown}"
    assert not set(mapping.values()) - set(values), "overrides reads variables the parameters cell does not set"
    assert len(set(mapping.values())) == len(mapping), "a parameter feeds more than one recipe key"
    mapped = {name: key for key, name in mapping.items()}
    set_values = [
        name for name in mapped if not (isinstance(values[name], ast.Constant) and values[name].value is None)
    ]
    assert not set_values, f"{set_values} must be None in the committed notebook (None keeps the recipe's value)"
    stray = sorted(set(values) - KIT_PARAMETERS - set(mapped))
    assert not stray, f"parameters {stray} are neither kit settings nor mapped to a recipe field in overrides"
    undocumented = [
        name for name, key in mapped.items() if not re.search(rf"recipe: {re.escape(key)}\b", comments.get(name, ""))
    ]
    assert not undocumented, f"the comments of {undocumented} must name their recipe field, as `(recipe: grpo.X)`"


@pytest.mark.parametrize("path", TRAINING, ids=ids)
def test_training_parameters(path):
    values, comments = parameters(path)
    assert set(values) == TRAINING_PARAMETERS, f"differs by {sorted(set(values) ^ TRAINING_PARAMETERS)}"
    assert not [name for name in values if not comments.get(name)], "every parameter has a comment saying what to do"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_parameter_is_used(path):
    values, _ = parameters(path)
    parameters_cell = tagged(path, "parameters")
    used = {
        node.id
        for cell in notebook_cells(path)
        if cell is not parameters_cell
        for node in ast.walk(ast.parse(notebook_code(cell.source)))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    unused = sorted(set(values) - used)
    assert not unused, f"parameters {unused} are set but no cell reads them"


# ---- the install cell and the pin files -------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_written_pins_agree_with_pin_files(path):
    wrong = []
    for i, cell in enumerate(notebook_cells(path)):
        for name, version in written_pins(cell.source):
            allowed = GPU_PINS.get(name) or CPU_PINS.get(name)
            if allowed is None:
                wrong.append(f"code cell {i}: {name}=={version} is in no pin file")
            elif version not in allowed:
                wrong.append(f"code cell {i}: {name}=={version}, the pin files say {' or '.join(allowed)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_install_cell_installs_from_the_pin_files(path):
    install = [c for c in notebook_cells(path) if _INSTALL_LINE.search(c.source)]
    assert len(install) == 1, f"{len(install)} cells run `pip install`; keep the installs in one cell"
    source = install[0].source
    assert "install" in install[0].metadata.get("tags", []), "the install cell is tagged 'install' (CI skips it)"
    for name in PIN_FILES:
        assert f'"{name}"' in source, f"the install cell does not name {name}"
    assert re.search(r"^!uv pip install .*--system -r \"\{PINS\}\"", source, re.MULTILINE), (
        "the install cell installs with `uv pip install --system -r` from the pin file it chose"
    )
    assert not written_pins(source), f"the install cell writes pins {written_pins(source)}: the pin files hold them"


def test_pin_files_share_the_common_set():
    for name in PIN_FILES:
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        assert "-r gpu_requirements_common.txt" in lines, f"{name} does not include gpu_requirements_common.txt"
        assert list(read_pins(ROOT / name)) != ["vllm"], name


def test_install_cell_is_the_same_in_every_notebook():
    sources = {path.name: tagged(path, "install").source for path in NOTEBOOKS}
    assert len(set(sources.values())) == 1, f"install cells differ: {sorted(sources)}; copy one into the others"


def kit_url() -> str:
    """The value of `KIT = "..."` in the install cell."""
    tree = ast.parse(notebook_code(tagged(NOTEBOOKS[0], "install").source))
    (value,) = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["KIT"]
    ]
    return value


def run_install_cell(monkeypatch, tmp_path, kit: str, *, checkout: bool) -> dict:
    """Run the install cell's Python (its `!` shell lines set aside) in ``tmp_path``; returns its namespace.

    ``checkout=False``: r1kit is not importable, as in a fresh Colab runtime.
    """
    source = notebook_code(tagged(NOTEBOOKS[0], "install").source).replace(
        repr(kit_url()).replace("'", '"'), repr(kit), 1
    )
    if not checkout:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "r1kit" else real(name, *a))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        exec(compile(source, "install cell", "exec"), namespace)
    except SystemExit as stop:
        namespace["stopped"] = str(stop)
    return namespace


def test_install_cell_stops_when_the_kit_folder_is_missing(monkeypatch, tmp_path):
    result = run_install_cell(monkeypatch, tmp_path, str(tmp_path / "not-here"), checkout=False)
    assert "does not hold the kit" in result["stopped"] and "set KIT to" in result["stopped"]


def test_install_cell_stops_when_the_clone_fails(monkeypatch, tmp_path):
    result = run_install_cell(monkeypatch, tmp_path, f"file://{tmp_path}/no-such-repo.git", checkout=False)
    assert "Could not clone the kit" in result["stopped"] and "Set KIT to the git URL of your fork" in result["stopped"]


def test_install_cell_uses_a_kit_folder_and_checks_what_got_installed(monkeypatch, tmp_path):
    result = run_install_cell(monkeypatch, tmp_path, str(ROOT), checkout=False)
    assert result["KIT_DIR"] == str(ROOT) and Path.cwd() == ROOT and sys.path[0] == str(ROOT)
    assert Path(result["PINS"]).name in PIN_FILES
    wrong = []  # what this machine lacks of the chosen pin file (all of the GPU set on a CPU machine)
    for name, versions in read_pins(Path(result["PINS"])).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed not in versions:
            wrong.append(name)
    if wrong:
        assert "did not install as" in result["stopped"]
        assert all(re.search(rf"\b{re.escape(name)}\b", normalize(result["stopped"])) for name in wrong), result[
            "stopped"
        ]
    else:
        assert "stopped" not in result


def test_install_cell_fetches_nothing_inside_a_checkout(monkeypatch, tmp_path):
    result = run_install_cell(monkeypatch, tmp_path, "https://invalid.invalid/nobody/nothing", checkout=True)
    assert result["KIT_DIR"] == str(ROOT) and not list(tmp_path.iterdir())


def test_pin_files_agree():
    assert set(SHARED) <= GPU_PINS.keys() & CPU_PINS.keys(), f"both pin files must pin {SHARED}"
    shared = GPU_PINS.keys() & CPU_PINS.keys()
    differ = {name: (CPU_PINS[name], GPU_PINS[name]) for name in shared if CPU_PINS[name] != GPU_PINS[name]}
    assert not differ, f"requirements.txt and gpu_requirements.txt pin different versions: {differ}"


def test_one_gpu_pin_per_package():
    # vllm alone has two: the Tesla T4 variant and the newer-GPU one
    counts = {name: len(versions) for name, versions in GPU_PINS.items()}
    assert counts == {name: 2 if name == "vllm" else 1 for name in counts} and "vllm" in counts, GPU_PINS


# ---- the README's notebook table --------------------------------------------------------------


def readme_rows() -> dict[str, dict[str, str]]:
    """README notebook table: notebook file name -> {column header: cell text}."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| notebook |"))
    header = [cell.strip() for cell in lines[start].strip().strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (cell.strip() for cell in line.strip().strip("|").split(" | ")), strict=False))
        rows[cells["notebook"].strip("`")] = cells
    return rows


def test_readme_badges_open_the_kit_repository():
    url = _GITHUB.fullmatch(kit_url())
    assert url, f"KIT is not a github.com repository URL: {kit_url()!r}"
    rows = readme_rows()
    missing = sorted(p.name for p in NOTEBOOKS if p.name not in rows)
    assert not missing, f"README's notebook table has no row for {missing}"
    for name, row in rows.items():
        badge = _BADGE.search(row.get("open", ""))
        assert badge, f"README row {name} has no Colab badge"
        assert badge.group(3) == name, f"README row {name} opens {badge.group(3)}"
        assert badge.group(1, 2) == url.group(1, 2), (
            f"README's badge for {name} opens {'/'.join(badge.group(1, 2))}, the install cell's KIT is {kit_url()}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_colab_asks_for_the_readme_gpu(path):
    gpu_column = readme_rows()[path.name]["GPU"]
    named = _GPU_NAMES.search(gpu_column)
    wanted = named.group(1) if named else "T4"  # "any": the free Colab GPU
    meta = nbformat.read(path, as_version=4).metadata
    assert meta.get("accelerator") == "GPU" and meta.get("colab", {}).get("gpuType") == wanted, (
        f"README names {gpu_column!r} for {path.name}: metadata.colab.gpuType must be {wanted!r}"
    )
