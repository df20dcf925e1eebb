"""Vietnamese word and sentence segmentation (underthesea), loaded on first use.

underthesea's package `__init__` imports all its optional pipelines; the translation one pulls
transformers and torch, over 2 s of a cold question that only needs the word segmenter. They are
kept out while the package loads (an import that finds None in sys.modules fails, and underthesea
skips that pipeline), then unblocked, so an explicit import of one of them still works.
"""
from __future__ import annotations

import sys
from functools import cache
from types import ModuleType

_UNUSED_PIPELINES = (
    "underthesea.pipeline.classification",
    "underthesea.pipeline.sentiment",
    "underthesea.pipeline.lang_detect",
    "underthesea.pipeline.dependency_parse",
    "underthesea.pipeline.translate",
    "underthesea.agent",
    "underthesea.address",
)


@cache
def _underthesea() -> ModuleType:
    blocked = [name for name in _UNUSED_PIPELINES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import underthesea
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
    return underthesea


def words(text: str) -> list[str]:
    """Words of `text`, compounds whole: "cung cấp", "bao nhiêu"."""
    return _underthesea().word_tokenize(text)


def sentences(text: str) -> list[str]:
    return _underthesea().sent_tokenize(text)
