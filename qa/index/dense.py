"""FAISS inner-product search over L2-normalized vectors.

Large indexes use HNSW over 8-bit scalar-quantized vectors: a third of the memory of full vectors.
It only proposes candidates: the retriever scores them with the exact float32 vectors, which keeps
recall@10 against exact search at 0.994 on 107,000 chunks (scripts/bench.py).
"""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

# Exact search stays fast enough up to this many vectors; past it, HNSW keeps queries quick.
EXACT_LIMIT = 50_000
HNSW_NEIGHBORS = 32
HNSW_EF_SEARCH = 512  # 256 gave recall@10 0.988 after exact rescoring; 512 costs under 1 ms a query


def build_dense(vectors: np.ndarray) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) <= EXACT_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_NEIGHBORS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF_SEARCH
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return index


def save_dense(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
