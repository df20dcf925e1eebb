"""BM25 over Vietnamese syllables and their diacritics-folded forms (bm25s)."""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

import bm25s
import numpy as np

from ..tokens import bm25_tokens
from .rows import RowFile

logging.getLogger("bm25s").setLevel(logging.WARNING)


class KeywordIndex:
    def __init__(self, model: bm25s.BM25):
        self._model = model
        self._vocab = model.vocab_dict

    @classmethod
    def build(cls, texts: Iterable[str], k1: float = 1.5, b: float = 0.75) -> "KeywordIndex":
        """`texts` is read once, in order: a generator spares a large build a copy of every passage."""
        model = bm25s.BM25(k1=k1, b=b)  # Lucene BM25, bm25s's default
        model.scores, model.vocab_dict = _lucene_matrix(map(bm25_tokens, texts), k1, b)
        model.nonoccurrence_array = None
        return cls(model)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        model = bm25s.BM25.load(str(folder), mmap=True)
        # bm25s's set of every token id serves only its own retrieval, which this class replaces:
        # ~1M ints (tens of MB), and a container the garbage collector walks on every full
        # collection (50 ms each at 20,000 articles: the tail of the question latency).
        model.unique_token_ids_set = None
        # The postings are read per question token, like the vectors (qa/index/rows.py): the
        # postings of common syllables span most documents and would otherwise stay resident.
        for name in ("data", "indices"):
            model.scores[name] = RowFile(Path(folder) / f"{name}.csc.index.npy")
        return cls(model)

    def known(self, tokens: Sequence[str]) -> list[str]:
        return [t for t in tokens if t in self._vocab]

    def rarity(self, token: str) -> float:
        """log(N / df) / log(N): 1 for a token of one passage, 0 for one in every passage or in none."""
        matrix = self._model.scores
        row = self._vocab.get(token)
        n = int(matrix["num_docs"])
        if row is None or n < 2:
            return 0.0
        df = int(matrix["indptr"][row + 1] - matrix["indptr"][row])
        return math.log(n / max(1, df)) / math.log(n)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query tokens (zeros when none is known); a token
        asked twice counts twice, as in bm25s."""
        matrix = self._model.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        out = np.zeros(matrix["num_docs"], dtype=np.float32)
        for token in self.known(tokens):
            start, end = indptr[self._vocab[token]], indptr[self._vocab[token] + 1]
            # A posting list names each document once, so a plain indexed add is exact; bm25s's
            # np.add.at is several times slower, and far slower on half-precision postings.
            out[indices[start:end]] += data[start:end]
        return out


def _lucene_matrix(docs: Iterable[list[str]], k1: float, b: float) -> tuple[dict, dict[str, int]]:
    """bm25s's score matrix (tokens x documents, CSC), built one document at a time: each keeps only
    its distinct token ids and their counts (int32), so 94,000 passages' 33 million postings take
    ~290 MB, not the ~6 GB of their tokens as Python lists; bm25s's own builder also loops in Python
    per token. Each document's postings then go to their tokens' next free slots, which keeps the
    documents in order within each token without sorting all the postings (an argsort and sorted
    copies of every array took twice the memory: ~1.25 GB at the peak, now ~640 MB with the vocabulary).
    score = idf * tf / (tf + k1 * (1 - b + b * len / avg_len)), idf = ln(1 + (N - df + 0.5) / (df + 0.5))."""
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__  # a new token gets the next id, all in C
    tokens_of, counts_of, lengths = [], [], []
    for tokens in docs:
        ids = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int32, count=len(tokens))
        distinct, counts = np.unique(ids, return_counts=True)
        tokens_of.append(distinct)
        counts_of.append(counts.astype(np.int32))
        lengths.append(len(tokens))
    n_docs = len(lengths)
    df = np.zeros(len(vocab), dtype=np.int64)
    for distinct in tokens_of:
        df[distinct] += 1
    indptr = np.concatenate([[0], np.cumsum(df)])
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    avg_len = max(float(lengths_arr.mean()) if n_docs else 0.0, 1.0)
    norm = (k1 * ((1 - b) + b * lengths_arr / avg_len)).astype(np.float32)
    # Half precision: three significant digits rank as well, and the postings are most of BM25's memory.
    data = np.empty(indptr[-1], dtype=np.float16)
    indices = np.empty(indptr[-1], dtype=np.int32)
    free = indptr[:-1].copy()
    for doc, (distinct, counts) in enumerate(zip(tokens_of, counts_of)):
        slots = free[distinct]
        tf = counts.astype(np.float32)
        data[slots] = idf[distinct] * tf / (tf + norm[doc])
        indices[slots] = doc
        free[distinct] += 1
    scores = {"data": data, "indices": indices, "indptr": indptr.astype(np.int32), "num_docs": n_docs}
    return scores, dict(vocab)
