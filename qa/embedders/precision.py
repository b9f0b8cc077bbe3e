"""Which arithmetic embeds a build's windows (``Settings.embed_precision``), decided without
loading any model.

``fp32`` and ``int8`` are taken as asked. ``bf16`` runs the torch model with bf16 weights:
on a CPU with native bf16 dot products (x86 ``avx512_bf16`` or ``amx_bf16``) about twice as
fast as fp32 with vectors at cosine 0.9999+ to fp32's (benchmarks/README.md, "bf16 window
vectors"); elsewhere bf16 is emulated and slower than fp32. ``auto`` is bf16 where the CPU has
it natively (read from ``/proc/cpuinfo``, no torch import) and the embedder has a bf16 form,
else fp32; since bf16 vectors meet the equivalence the query path is held to (cosine ≥ 0.999),
``auto`` accepts an index whose windows were embedded in either.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

__all__ = [
    "BF16_RECIPE",
    "CPUINFO",
    "NATIVE_BF16_FLAGS",
    "accepts",
    "cpu_flags",
    "has_bf16_form",
    "native_bf16",
    "wanted_description",
    "window_precision",
]

log = logging.getLogger(__name__)

CPUINFO = Path("/proc/cpuinfo")
"""Where the CPU's flags are read (tests point it at a fake file)."""
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
"""x86 flags under which bf16 matrix products run natively (AVX-512 BF16 dot products, AMX)."""
BF16_RECIPE = "weights-1"
"""How bf16 window vectors are made (the torch model's weights in bfloat16, every operation in
bf16, sdpa attention; until 2026-11-26 ``autocast-1``: torch autocast, pooling in fp32); recorded
in an index's manifest, so vectors made another way are not mixed with new ones."""
_INTERCHANGEABLE = frozenset({"fp32", "bf16"})


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The flags of the first processor listed in ``cpuinfo`` (the text of ``/proc/cpuinfo``)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@functools.lru_cache(maxsize=8)
def _native_bf16_at(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(cpu_flags(text) & NATIVE_BF16_FLAGS)


def native_bf16(cpuinfo: Path | None = None) -> bool:
    """Whether this CPU runs bf16 matrix products natively (False when it cannot be read)."""
    return _native_bf16_at(cpuinfo or CPUINFO)


def has_bf16_form(embedder: object) -> bool:
    """Whether ``embedder`` can embed in bf16 (has a ``bf16()`` method, as both real ones do)."""
    return callable(getattr(embedder, "bf16", None))


def window_precision(setting: str, embedder: object) -> str:
    """The arithmetic a build under ``setting`` embeds windows in with ``embedder``: ``auto``
    becomes ``bf16`` on a CPU with native bf16 when the embedder has a bf16 form, else ``fp32``;
    the others are themselves (an explicit ``bf16`` on a CPU without it is slow: logged)."""
    if setting == "auto":
        return "bf16" if native_bf16() and has_bf16_form(embedder) else "fp32"
    if setting == "bf16" and not native_bf16():
        log.warning("this CPU has no native bf16 (avx512_bf16, amx_bf16): bf16 runs emulated, slowly")
    return setting


def accepts(setting: str, built: str) -> bool:
    """Whether windows embedded in ``built`` fit ``setting`` (``auto`` takes fp32 and bf16 alike)."""
    return built == setting or (setting == "auto" and built in _INTERCHANGEABLE)


def wanted_description(setting: str) -> str:
    """``setting`` as a stale index's reason names it."""
    if setting == "auto":
        return "auto (fp32 or bf16)"
    return setting
