"""Hybrid retrieval: dense (FAISS) and BM25 scores blended, near-duplicates dropped."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

import numpy as np

from .index.search_store import SearchStore
from .normalize import fold_diacritics
from .tokens import FOLD_MARK, bm25_tokens, syllables


@dataclass(frozen=True)
class RetrievalParams:
    pool: int = 100  # candidates taken from each side before fusion
    # Tuned on dev questions (scripts/calibrate.py): keywords slightly ahead of dense.
    dense_weight: float = 0.4
    keyword_weight: float = 0.6
    # Written without diacritics, Vietnamese loses most of its meaning for the encoder.
    unaccented_dense_weight: float = 0.2
    # Keyword coverage below `low` means another language (English): BM25 then only matches
    # stray names and numbers, so its weight ramps from 0 there up to full at `high`.
    coverage_low: float = 0.3
    coverage_high: float = 0.7
    duplicate_jaccard: float = 0.8
    # "dense" or "bm25" ranks by that side alone (the baselines `python -m qa eval` reports).
    mode: str = "hybrid"

    def __post_init__(self):
        if self.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"mode must be 'hybrid', 'dense' or 'bm25', not {self.mode!r}")


@dataclass(frozen=True)
class Hit:
    chunk_index: int
    score: float  # fused score, comparable only within one query
    dense: float  # cosine similarity to the query
    keyword: float  # BM25 score


@dataclass(frozen=True)
class QueryProfile:
    vietnamese: float  # 0 for a query in another language (English), 1 for Vietnamese
    unaccented: bool  # Vietnamese typed without diacritics


class Retriever:
    def __init__(self, store: SearchStore, params: RetrievalParams = RetrievalParams()):
        self.store = store
        self.params = params

    def keyword_coverage(self, query: str) -> float:
        """Share of the query's folded syllables the corpus knows: low for English questions,
        so BM25 (which then matches only stray names and numbers) gets less say."""
        folded = {t for t in bm25_tokens(query) if t.startswith(FOLD_MARK)}
        if not folded:
            return 0.0
        return len(self.store.known(sorted(folded))) / len(folded)

    def profile(self, query: str) -> "QueryProfile":
        p = self.params
        coverage = self.keyword_coverage(query)
        vietnamese = min(1.0, max(0.0, (coverage - p.coverage_low) / (p.coverage_high - p.coverage_low)))
        return QueryProfile(vietnamese, vietnamese == 1.0 and fold_diacritics(query) == query)

    def weights(self, query: str) -> tuple[float, float]:
        """(dense, keyword) fusion weights for this query's language and accents."""
        if self.params.mode == "dense":
            return 1.0, 0.0
        if self.params.mode == "bm25":
            return 0.0, 1.0
        profile = self.profile(query)
        dense = self.params.unaccented_dense_weight if profile.unaccented else self.params.dense_weight
        return dense, self.params.keyword_weight * profile.vietnamese

    def search(self, query: str, query_vector: np.ndarray, k: int,
               allowed: Collection[int] | None = None) -> list[Hit]:
        store = self.store
        n = store.chunk_count
        if n == 0 or k <= 0:
            return []
        pool = min(n, max(self.params.pool, k))
        tokens = bm25_tokens(query)
        if allowed is not None:
            candidates = np.fromiter(sorted(set(allowed)), dtype=np.int64)
            if candidates.size == 0:
                return []
            dense_scores = store.vectors_of(candidates) @ query_vector
            dense_top = candidates[np.argsort(-dense_scores)[:pool]]
            keyword_top = store.keyword_top(tokens, pool, candidates)
        else:
            dense_top = store.nearest(query_vector, pool)
            keyword_top = store.keyword_top(tokens, pool)
        union = np.union1d(dense_top, keyword_top)
        dense = store.vectors_of(union) @ query_vector
        keyword = store.keyword_scores(tokens, union)
        dense_weight, keyword_weight = self.weights(query)
        fused = dense_weight * _zscore(dense) + keyword_weight * _zscore(keyword)
        order = np.argsort(-fused, kind="stable")
        return self._dedupe([Hit(int(union[i]), float(fused[i]), float(dense[i]), float(keyword[i])) for i in order], k)

    def _dedupe(self, hits: list[Hit], k: int) -> list[Hit]:
        kept: list[Hit] = []
        kept_sets: list[set[str]] = []
        for hit in hits:
            words = set(syllables(self.store.chunk(hit.chunk_index).text))
            if any(_jaccard(words, other) >= self.params.duplicate_jaccard for other in kept_sets):
                continue
            kept.append(hit)
            kept_sets.append(words)
            if len(kept) == k:
                break
        return kept


def _zscore(values: np.ndarray) -> np.ndarray:
    std = values.std()
    return (values - values.mean()) / std if std > 1e-9 else np.zeros_like(values)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0
