"""Two settings of glibc's allocator for a long build; elsewhere than glibc they do nothing.

A build on 20,000 articles keeps ~1 GB it needs (its passages, the BM25 postings) while phases
come and go around it: torch's activations, the keyword index's per-passage arrays. glibc keeps
what they free for later use, in heaps that fragment (torch's threads have heaps of their own,
which the rest of the build never reuses), so the process stays as large as its largest phase.
"""
from __future__ import annotations

import ctypes
import gc

_M_MMAP_THRESHOLD = -3  # mallopt's parameter


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def map_large_allocations() -> None:
    """Every allocation of 1 MB or more mapped on its own, and unmapped when freed: torch's activations.

    glibc raises its threshold to the size of each mapped block freed (up to 32 MB), so after the
    first batch the activations come from the heap, which passages of ever-changing lengths
    fragment: embedding 640 long passages grew the process by 680 MB, by 370 MB with the threshold
    fixed, at the same speed."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def release_free_memory() -> None:
    """Give back to the system what the heaps hold free once a phase is over: the raw pages once
    cleaned, a model once dropped (~500 MB), the keyword index's per-passage arrays once built.
    Objects in reference cycles (a torch model has some) are collected first."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
