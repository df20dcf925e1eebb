"""BM25 over Vietnamese syllables and their diacritics-folded forms (bm25s)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np

from ..tokens import bm25_tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)


class KeywordIndex:
    def __init__(self, model: bm25s.BM25):
        self._model = model
        self._vocab = model.vocab_dict

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> "KeywordIndex":
        model = bm25s.BM25(k1=k1, b=b)
        model.index([bm25_tokens(t) for t in texts], show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        # Memory-mapped like the vectors: a question reads only its tokens' postings.
        return cls(bm25s.BM25.load(str(folder), mmap=True))

    def known(self, tokens: Sequence[str]) -> list[str]:
        return [t for t in tokens if t in self._vocab]

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query tokens (zeros when none is known)."""
        tokens = self.known(tokens)
        n = self._model.scores["num_docs"]
        if not tokens:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)
