"""Read pins, and source files of pinned PyPI releases, without installing anything.

The GPU stack (Unsloth, vLLM) cannot be installed on a CPU machine, yet the kit must keep
calling it with keyword arguments that exist in the pinned versions. This module:

- parses the pin files (`requirements.txt`, `gpu_requirements*.txt`, following `-r` includes)
  into `{name: [versions]}`; the GPU set is the newer-GPU file and the Tesla T4 file together,
  so vllm has two versions;
- fetches single files out of a pinned wheel with HTTP range requests (the wheel's zip index
  and the wanted members only: a few hundred KB even for a 500 MB vLLM wheel), the way pip's
  "lazy wheel" does, and caches them in `~/.cache/r1kit-pins` (`R1KIT_PINS_CACHE` overrides);
- turns notebook code cells into Python (IPython `%` and `!` lines become `pass`) and collects,
  with `ast`, the keyword arguments passed to named callables.

Tests call `pinned_file(...)` and skip when it raises `PinUnavailable` (registry unreachable);
a pin that PyPI does not hold raises LookupError, a failure.

>>> parse_pins(["trl==0.22.2  # comment", "vllm==0.11.2", "vllm==0.15.1", "# x==1"])
{'trl': ['0.22.2'], 'vllm': ['0.11.2', '0.15.1']}
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import re
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path

PYPI_SIMPLE = "https://pypi.org/simple"
CACHE = Path(os.environ.get("R1KIT_PINS_CACHE", "~/.cache/r1kit-pins")).expanduser()
TIMEOUT_S = 60
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
GPU_PIN_FILES = ("gpu_requirements.txt", "gpu_requirements_t4.txt")


class PinUnavailable(RuntimeError):
    """The registry could not be reached, or it holds no such release."""


def normalize(name: str) -> str:
    """PEP 503 name: `Unsloth_Zoo` -> `unsloth-zoo`.

    >>> normalize("Unsloth_Zoo")
    'unsloth-zoo'
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(lines: Iterable[str]) -> dict[str, list[str]]:
    """Map each pinned package to its versions, in file order (see module docstring)."""
    pins: dict[str, list[str]] = {}
    for line in lines:
        match = _PIN.match(line)
        if match:
            pins.setdefault(normalize(match[1]), []).append(match[2])
    return pins


def read_pins(path: Path) -> dict[str, list[str]]:
    """`parse_pins` over a file and the files it includes with `-r` (as the notebooks read them)."""
    from r1kit.notebook import pinned

    return parse_pins(f"{name}=={version}" for name, version in pinned(path))


def gpu_pins(root: Path) -> dict[str, list[str]]:
    """The GPU set: every pin of the GPU pin files, each package's versions in file order, once each."""
    pins: dict[str, list[str]] = {}
    for name in GPU_PIN_FILES:
        for package, versions in read_pins(root / name).items():
            pins.setdefault(package, [])
            pins[package] += [v for v in versions if v not in pins[package]]
    return pins


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file; every read is one HTTP range request."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.pos = url, size, 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{end - 1}"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
            data = r.read()
        if r.status != 206 or len(data) != end - self.pos:
            raise PinUnavailable(f"{self.url} does not answer range requests")
        self.pos += len(data)
        return data


def _wheel(name: str, version: str) -> tuple[str, int]:
    """URL and size of a wheel of `name==version`, preferring pure Python, then Linux x86_64."""
    request = urllib.request.Request(
        f"{PYPI_SIMPLE}/{normalize(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
            files = json.load(r)["files"]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise LookupError(f"PyPI has no project {name!r}: is the pin right?") from err
        raise PinUnavailable(f"PyPI answered {err.code}; cannot read {name}=={version}") from err
    except (urllib.error.URLError, OSError) as err:
        raise PinUnavailable(f"PyPI is unreachable ({err}); cannot read {name}=={version}") from err
    prefix = re.sub(r"[-_.]+", "_", name).lower() + "-" + version + "-"
    wheels = [f for f in files if f["filename"].lower().startswith(prefix) and f["filename"].endswith(".whl")]
    wheels.sort(key=lambda f: ("none-any" not in f["filename"], "x86_64" not in f["filename"]))
    if not wheels:
        raise LookupError(f"PyPI has no wheel for {name}=={version}: is the pin right?")
    return wheels[0]["url"], int(wheels[0]["size"])


@functools.cache
def _remote_wheel(name: str, version: str) -> zipfile.ZipFile:
    """The wheel's zip index, read once per run; members are fetched when read."""
    url, size = _wheel(name, version)
    try:
        return zipfile.ZipFile(_RangeFile(url, size))
    except (urllib.error.URLError, OSError) as err:
        raise PinUnavailable(f"could not read the zip index of {url}: {err}") from err


def pinned_file(name: str, version: str, member: str) -> str:
    """Text of `member` (a path inside the wheel) from the `name==version` wheel, cached."""
    cached = CACHE / f"{normalize(name)}-{version}" / member
    if not cached.exists():
        try:
            data = _remote_wheel(name, version).read(member)
        except (urllib.error.URLError, OSError) as err:
            raise PinUnavailable(f"could not read {member} from {name}=={version}: {err}") from err
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(cached.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(cached)
    return cached.read_text(encoding="utf-8")


def notebook_code(cell_source: str) -> str:
    """Python of a notebook code cell: IPython magic (`%`) and shell (`!`) lines become `pass`.

    >>> print(notebook_code("%%capture\\nif True:\\n    !pip install x\\nx = 1"))
    pass
    if True:
        pass
    x = 1
    """
    lines = []
    for line in cell_source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped[:1] in ("%", "!") else line)
    return "\n".join(lines)


def code_cells(notebook: Path) -> list[str]:
    """Raw source of every code cell of a .ipynb file, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    return "?"


def _literal_keys(node: ast.expr) -> list[str]:
    """Keys of `**{"a": 1}` or `**dict(a=1)`; other `**` expressions cannot be read statically."""
    if isinstance(node, ast.Dict):
        return [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    if isinstance(node, ast.Call) and _dotted(node.func) == "dict":
        return [kw.arg for kw in node.keywords if kw.arg is not None]
    return []


def call_keywords(source: str, target: str) -> set[str]:
    """Keyword names passed to `target` in `source`: calls spelled `target(...)` or `x.target(...)`.

    >>> sorted(call_keywords("f(a, b=1, **{'c': 2})\\nm.f(d=3)\\ng(e=4)\\nf_g(h=5)", "f"))
    ['b', 'c', 'd']
    >>> sorted(call_keywords("A.load(x=1)\\nB.load(y=2)", "A.load"))
    ['x']
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            callee = _dotted(node.func)
            if callee == target or callee.endswith("." + target):
                for kw in node.keywords:
                    found |= {kw.arg} if kw.arg is not None else set(_literal_keys(kw.value))
    return found
