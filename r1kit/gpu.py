"""The GPU a run uses, or would use: its name, compute capability, memory and training dtype.

One home for the hardware facts that decide how a run is set up, used both by a real run
(:func:`detect`) and by ``python -m r1kit plan RECIPE --gpu t4`` on a machine without that GPU
(:data:`PROFILES`). The dtype rule is Unsloth's: bfloat16 from compute capability 8 (Ampere)
up, float16 below (unsloth 2026.8.18, ``unsloth/models/_utils.py``: ``SUPPORTS_BFLOAT16 =
torch.cuda.get_device_capability()[0] >= 8``, which ``is_bfloat16_supported()`` returns and
``FastLanguageModel.from_pretrained(dtype=None)`` follows). ``torch.cuda.is_bf16_supported()``
is not used: on torch 2.9 it also counts emulation and says True on a T4, where Unsloth loads
float16 and its trainer then refuses ``bf16=True``.

>>> PROFILES["t4"].dtype, PROFILES["a100"].dtype, CPU.dtype
('float16', 'bfloat16', 'float32')
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    """One accelerator (or none): what the plan and the loaders need to know about it."""

    name: str
    capability: tuple[int, int] | None  # CUDA compute capability; None: no CUDA GPU
    memory_gib: float

    @property
    def cuda(self) -> bool:
        """True for an NVIDIA GPU."""
        return self.capability is not None

    @property
    def bf16(self) -> bool:
        """bfloat16 runs natively (compute capability 8.0 or newer)."""
        return self.capability is not None and self.capability[0] >= 8

    @property
    def dtype(self) -> str:
        """The weights' and mixed precision's dtype: bfloat16, float16 (pre-Ampere GPUs) or float32 (CPU)."""
        if not self.cuda:
            return "float32"
        return "bfloat16" if self.bf16 else "float16"

    def describe(self) -> str:
        """One line for people.

        >>> PROFILES["t4"].describe()
        'Tesla T4 (compute capability 7.5, 15 GiB, float16)'
        """
        if not self.cuda:
            return "no CUDA GPU (CPU, float32)"
        major, minor = self.capability
        return f"{self.name} (compute capability {major}.{minor}, {self.memory_gib:g} GiB, {self.dtype})"


CPU = Gpu("cpu", None, 0.0)
# The GPUs the notebooks name (Colab's T4, L4 and A100; the H100 of the sources), as Colab
# and NVIDIA's data sheets give them.
PROFILES: dict[str, Gpu] = {
    "cpu": CPU,
    "t4": Gpu("Tesla T4", (7, 5), 15.0),
    "l4": Gpu("NVIDIA L4", (8, 9), 22.5),
    "a100": Gpu("NVIDIA A100-SXM4-40GB", (8, 0), 40.0),
    "h100": Gpu("NVIDIA H100 80GB HBM3", (9, 0), 80.0),
}


def detect() -> Gpu:
    """The GPU torch sees (the first one), or :data:`CPU`."""
    import torch

    if not torch.cuda.is_available():
        return CPU
    props = torch.cuda.get_device_properties(0)
    return Gpu(props.name, (props.major, props.minor), round(props.total_memory / 2**30, 1))


def profile(name: str | None) -> Gpu:
    """A named profile (``t4``, ``l4``, ``a100``, ``h100``, ``cpu``), or this machine's GPU for None.

    >>> profile("T4").name
    'Tesla T4'
    """
    if name is None:
        return detect()
    key = name.lower()
    if key not in PROFILES:
        raise ValueError(f"unknown GPU {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[key]
