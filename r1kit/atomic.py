"""Atomic file writes: readers (and a run killed mid-write) see the old file or the new one, never half.

>>> import tempfile; from pathlib import Path
>>> path = write_json(Path(tempfile.mkdtemp()) / "card.json", {"steps": 3})
>>> path.read_text()
'{\\n  "steps": 3\\n}'
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str) -> Path:
    """Writes ``text`` through a temporary file beside ``path`` and ``os.replace``; returns ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, data: Any, *, default: Callable[[Any], Any] | None = None) -> Path:
    """Writes ``data`` as JSON atomically (see :func:`write_text`).

    ``default`` is json.dumps's fallback for values JSON cannot hold (None: such values raise,
    and the old file stays as it was).
    """
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=default))
