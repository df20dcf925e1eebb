"""Memory given back to the system during a long build (glibc's malloc_trim); elsewhere than glibc, nothing.

A build on 20,000 articles keeps ~1 GB it needs (its passages, the BM25 postings) while phases
come and go around it: torch's activations, the keyword index's per-passage arrays. glibc keeps
what they free for later use, in heaps that fragment (torch's threads have heaps of their own,
which the rest of the build never reuses), so the process stays as large as its largest phase.
"""
from __future__ import annotations

import ctypes
import gc

def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def trim() -> None:
    """Give back to the system the pages the heaps hold free, without a garbage collection: after
    each embedding batch, whose activations of ever-changing sizes fragment the heaps. Embedding the
    640 longest passages of the dev corpus peaked at 1,470 MB with it and 1,590 MB without, at the
    same speed (10.6 and 10.1 passages/s); mapping every allocation of 1 MB or more on its own
    (mallopt) peaked at 1,215 MB but embedded 7.8 passages/s."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def release_free_memory() -> None:
    """Give back to the system what the heaps hold free once a phase is over: the raw pages once
    cleaned, a model once dropped (~500 MB), the keyword index's per-passage arrays once built.
    Objects in reference cycles (a torch model has some) are collected first."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
