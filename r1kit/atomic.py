"""Atomic file writes: readers (and a run killed mid-write) see the old file or the new one, never half.

Temporary files and folders get the permissions any new file gets (0666 / 0777 less the umask),
not ``tempfile``'s owner-only 0600 / 0700: what the kit writes stays readable where the user's
other files are.

>>> import tempfile; from pathlib import Path
>>> path = write_json(Path(tempfile.mkdtemp()) / "card.json", {"steps": 3})
>>> path.read_text()
'{\\n  "steps": 3\\n}'
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _unique(parent: Path, prefix: str, suffix: str = "") -> Path:
    return Path(parent) / f"{prefix}{secrets.token_hex(8)}{suffix}"


def temporary_folder(parent: Path, *, prefix: str) -> Path:
    """A new empty folder in ``parent`` named ``prefix`` + random letters, with the umask's permissions."""
    path = _unique(parent, prefix)
    path.mkdir()  # mode 0777 less the umask, as for any new folder
    return path


def write_text(path: Path, text: str) -> Path:
    """Writes ``text`` through a temporary file beside ``path`` and ``os.replace``; returns ``path``."""
    path = Path(path)
    tmp = _unique(path.parent, f".{path.name}.", ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # less the umask, as open() makes files
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, data: Any, *, default: Callable[[Any], Any] | None = None) -> Path:
    """Writes ``data`` as JSON atomically (see :func:`write_text`).

    ``default`` is json.dumps's fallback for values JSON cannot hold (None: such values raise,
    and the old file stays as it was).
    """
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=default))
