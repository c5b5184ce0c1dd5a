"""Static checks of notebooks/*.ipynb and of the pin files; executing the notebooks is elsewhere.

Each notebook: valid nbformat; outputs stripped and execution counts cleared; every code cell
parses once IPython `%`/`!` lines are set aside; exactly one cell tagged "parameters" (papermill
and the smoke run set it); one install cell that pins the whole GPU set; every `name==version`
written in a code cell agrees with gpu_requirements.txt (either vllm variant) or, for packages only
the CPU set pins, requirements.txt. The pin files agree with each other for the shared packages.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from pinned_sources import normalize, notebook_code, read_pins

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))
GPU_PINS = read_pins(ROOT / "gpu_requirements.txt")
CPU_PINS = read_pins(ROOT / "requirements.txt")
# The design runs both paths on the same versions of these.
SHARED = ("trl", "transformers", "peft")
_WRITTEN_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)")
_INSTALL_LINE = re.compile(r"^\s*[!%].*\bpip install\b", re.MULTILINE)


def notebook_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


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
    tagged = [i for i, c in enumerate(notebook_cells(path)) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"code cells tagged 'parameters': {tagged}; exactly one is needed"


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
def test_install_cell_pins_the_gpu_set(path):
    install = [c.source for c in notebook_cells(path) if _INSTALL_LINE.search(c.source)]
    assert len(install) == 1, f"{len(install)} cells run `pip install`; keep the installs in one cell"
    pinned = set(written_pins(install[0]))
    wanted = [(name, version) for name, versions in GPU_PINS.items() for version in versions]
    missing = [f"{name}=={version}" for name, version in wanted if (name, version) not in pinned]
    assert not missing, f"the install cell does not pin {missing} (see gpu_requirements.txt)"


def test_pin_files_agree():
    assert set(SHARED) <= GPU_PINS.keys() & CPU_PINS.keys(), f"both pin files must pin {SHARED}"
    shared = GPU_PINS.keys() & CPU_PINS.keys()
    differ = {name: (CPU_PINS[name], GPU_PINS[name]) for name in shared if CPU_PINS[name] != GPU_PINS[name]}
    assert not differ, f"requirements.txt and gpu_requirements.txt pin different versions: {differ}"


def test_one_gpu_pin_per_package():
    # vllm alone has two: the Tesla T4 variant and the newer-GPU one
    counts = {name: len(versions) for name, versions in GPU_PINS.items()}
    assert counts == {name: 2 if name == "vllm" else 1 for name in counts} and "vllm" in counts, GPU_PINS
