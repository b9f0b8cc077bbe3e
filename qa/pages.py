"""Mapping a memory-mapped file's pages into this process now, rather than on the questions that
first read them (Linux's ``MADV_POPULATE_READ``, kernel 5.14+; elsewhere nothing happens).

Pages not yet in the page cache are read from disk in large sequential blocks: each range is
advised sequential while it is populated, then given its advice back (FAISS advises its codes as
read at random, and populating them 4 KB at a time from disk took 4 minutes at a million windows
against 0.4 s). The calls go through ``ctypes``, which lets go of the GIL while the kernel reads,
so a thread populating a cold file does not hold up the threads answering questions
(``mmap.madvise`` keeps the GIL for the whole call).
"""

from __future__ import annotations

import ctypes
import mmap
from pathlib import Path

import numpy as np

__all__ = ["available_memory", "mapped_ranges", "populate", "populate_map", "randomly_read"]

_MADV_NORMAL, _MADV_RANDOM, _MADV_SEQUENTIAL = 0, 1, 2
_MADV_POPULATE_READ = 22
"""Linux (5.14+): map a range's pages now, reading those not yet in the page cache."""
CHUNK = 32 << 20
"""Bytes populated in one call."""


def available_memory() -> int:
    """Bytes of memory available to new work (``MemAvailable``), 0 where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """Address ranges where this process maps ``path`` (from ``/proc/self/maps``)."""
    target = str(path.resolve())
    ranges = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].rstrip("\n") == target:
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    ranges.append((start, end))
    except OSError:
        pass
    return ranges


def randomly_read(path: Path) -> set[int]:
    """Start addresses of this process's mappings of ``path`` advised as read at random (the
    ``rr`` flag in ``/proc/self/smaps``: FAISS maps its codes so)."""
    target, found, start = str(path.resolve()), set(), None
    try:
        with open("/proc/self/smaps", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split(maxsplit=5)
                if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's first line
                    ours = len(fields) == 6 and fields[5].rstrip("\n") == target
                    start = int(fields[0].split("-")[0], 16) if ours else None
                elif start is not None and fields[0] == "VmFlags:" and " rr" in line:
                    found.add(start)
    except (OSError, ValueError):
        pass
    return found


def _madvise():
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "madvise", None)
    except OSError:
        return None


def _populate_range(madvise, start: int, length: int, *, advice: int) -> bool:
    """Populate ``length`` bytes from address ``start`` (page-aligned), :data:`CHUNK` bytes at a
    time, each advised sequential while it is read; the range is advised random until then (a
    question faulting a page meanwhile reads that page, not the 128 KB around it) and given
    ``advice`` at the end."""
    madvise(ctypes.c_void_p(start), ctypes.c_size_t(length), _MADV_RANDOM)
    ok = True
    for offset in range(0, length, CHUNK):
        address, size = ctypes.c_void_p(start + offset), ctypes.c_size_t(min(CHUNK, length - offset))
        madvise(address, size, _MADV_SEQUENTIAL)
        ok = not madvise(address, size, _MADV_POPULATE_READ)
        madvise(address, size, _MADV_RANDOM)
        if not ok:
            break
    madvise(ctypes.c_void_p(start), ctypes.c_size_t(length), advice)
    return ok


def populate(path: Path) -> int:
    """Map in now every page of this process's mappings of ``path`` (those FAISS made too, which
    Python never sees); returns the bytes mapped (0 where the system cannot)."""
    madvise = _madvise()
    if madvise is None:
        return 0
    random = randomly_read(path)
    done = 0
    for start, end in mapped_ranges(path):
        advice = _MADV_RANDOM if start in random else _MADV_NORMAL
        if not _populate_range(madvise, start, end - start, advice=advice):
            return done
        done += end - start
    return done


def populate_map(mapping: mmap.mmap) -> int:
    """Map in now every page of ``mapping`` (a read-only ``mmap.mmap``, such as NumPy's under a
    memory-mapped array, advised normal); returns the bytes mapped (0 where the system cannot)."""
    madvise = _madvise()
    length = len(mapping)
    if madvise is None or not length:
        return 0
    view = np.frombuffer(mapping, dtype=np.uint8)  # only to learn the mapping's address
    start = view.ctypes.data
    del view
    return length if _populate_range(madvise, start, length, advice=_MADV_NORMAL) else 0
