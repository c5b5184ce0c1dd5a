"""Atomic file writes: readers see the old file or the new one, never half of either.

>>> import tempfile; from pathlib import Path
>>> path = write_json(Path(tempfile.mkdtemp()) / "card.json", {"steps": 3})
>>> path.read_text()
'{\\n  "steps": 3\\n}'
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def write_json(path: Path, data: Any, *, default: Callable[[Any], Any] | None = None) -> Path:
    """Writes ``data`` as JSON through a temporary file beside ``path`` and ``os.replace``.

    ``default`` is json.dump's fallback for values JSON cannot hold (None: such values raise,
    and the old file stays as it was).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, default=default)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
