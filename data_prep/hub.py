"""Thin layer over the `datasets` library: hub loading with a clear offline error, row lists.

`datasets` is imported inside the functions so that ``import data_prep`` stays light.

>>> rows_to_dataset([{"question": "What is 1 + 1?", "answer": "2"}]).num_rows
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset


def check_count(n: object, name: str = "n") -> int:
    """Return ``n`` when it is a positive int; ValueError otherwise.

    >>> check_count(3)
    3
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return n


def load_hub_dataset(path: str, config: str | None, split: str, *, offline_alternative: str) -> Dataset:
    """Load ``path`` (``config``, ``split``) from the Hugging Face Hub or its local cache.

    Raises RuntimeError naming ``offline_alternative`` when the hub cannot be reached
    (no network, ``HF_HUB_OFFLINE=1``) and the dataset is not cached.
    """
    import datasets

    try:
        return datasets.load_dataset(path, config, split=split)
    except OSError as err:  # ConnectionError (offline or no network) and missing cached files
        raise RuntimeError(
            f"could not load {path!r} from the Hugging Face Hub or its cache "
            f"({type(err).__name__}: {err}). Without a reachable hub, use {offline_alternative} instead."
        ) from err


def first_rows(dataset: Dataset, n: int | None) -> Dataset:
    """The first ``n`` rows of ``dataset`` (all of them when ``n`` is None or larger)."""
    if n is None:
        return dataset
    return dataset.select(range(min(check_count(n), dataset.num_rows)))


def rows_to_dataset(rows: list[dict[str, Any]]) -> Dataset:
    """A `datasets.Dataset` holding ``rows`` (a list of dicts with the same keys)."""
    from datasets import Dataset

    return Dataset.from_list(rows)
