"""Vietnamese keyword tokens for BM25 and lexical overlap.

Vietnamese writes one syllable per space-separated unit; syllables (including one-letter
ones such as "ở" or "ý") are the tokens. Each syllable also yields a diacritics-folded
twin so that unaccented queries ("my cung cap") meet accented text ("Mỹ cung cấp").
"""
from __future__ import annotations

import re
from functools import lru_cache

from .normalize import fold_diacritics

# Runs of word characters: Vietnamese syllables, English words, numbers.
SYLLABLE = re.compile(r"[^\W_]+")
FOLD_MARK = "~"

# Words that carry the question's form, not its topic; they must not count as overlap.
STOPWORDS = frozenset(fold_diacritics(w) for w in """
    là gì nào ai đâu sao bao nhiêu mấy khi thế nào như được có không của và các những một với cho
    trong tại về từ đến theo đã sẽ đang này đó hay hoặc thì mà nhằm để bởi do vì nên năm ngày tháng
    the a an of to in on at for by with and or is are was were be been what which who whom when where
    why how many much does did do that this these those from as it its their there
""".split())


def syllables(text: str) -> list[str]:
    """Lower-cased word characters runs; the text must already be normalized."""
    return SYLLABLE.findall(text.lower())


# A language has few distinct syllables: folding each once makes tokenizing a corpus several times faster.
fold_syllable = lru_cache(maxsize=1 << 17)(fold_diacritics)


def folded(text: str) -> list[str]:
    return [fold_syllable(s) for s in syllables(text)]


def bm25_tokens(text: str) -> list[str]:
    """Each syllable as written, its folded form marked with '~', and folded syllable pairs.

    Most Vietnamese words span two syllables ("hợp tác", "Nhật Bản"): pairs give BM25 the words
    without needing a word segmenter.
    """
    syls = syllables(text)
    marked = [FOLD_MARK + fold_syllable(s) for s in syls]
    out: list[str] = []
    for syl, mark in zip(syls, marked):
        out.append(syl)
        out.append(mark)
    out.extend(f"{a}_{b[1:]}" for a, b in zip(marked, marked[1:]))
    return out
