"""Large corpora for benchmarks, made from real sentences with cheap but realistic vectors.

Embedding 100,000 chunks takes hours on 2 cores, so the large benchmark indexes are built from
the real sentences of an index the real model made (seed corpus + XQuAD-vi): each synthetic
article strings random real sentences into paragraphs, and `ReplayEncoder` gives every sentence
its real pooled vector plus Gaussian noise (cosine ~0.96 to the original) and every passage the
normalized mean of its sentences. Texts, chunking, BM25 and FAISS are then all real; only the
vectors are recycled. The replay encoder carries the real model's id, so the real encoder can
add articles to these indexes incrementally.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.index.store import IndexData
from qa.normalize import normalize_query

# Noise of norm ~0.3 on unit vectors: copies of one sentence stay close but never coincide.
NOISE = 0.3
# Characters of article text per chunk with 800-character chunks and 200 of overlap, measured
# on these articles; the corpus is sized from it and the true chunk count is reported.
CHARS_PER_CHUNK = 560


@dataclass(frozen=True)
class SentencePool:
    texts: list[str]
    vectors: np.ndarray  # float32, one unit row per text
    titles: list[str]

    @classmethod
    def from_indexes(cls, indexes: Sequence[IndexData]) -> "SentencePool":
        texts, rows, titles = [], [], set()
        seen: set[str] = set()
        for data in indexes:
            for i, stored in enumerate(data.chunks):
                vectors = data.sentences_of(i)
                for (start, end), vector in zip(stored.chunk.sentences, vectors):
                    text = stored.chunk.text[start:end]
                    # Short fragments (captions, numbers) make poor filler sentences.
                    if len(text) >= 40 and text not in seen:
                        seen.add(text)
                        texts.append(text)
                        rows.append(vector)
            titles.update(a.title for a in data.articles.values() if a.title)
        return cls(texts, np.asarray(rows, dtype=np.float32), sorted(titles))


def write_corpus(pool: SentencePool, chunks: int, path: Path, seed: int = 0, first_id: int = 0) -> int:
    """A JSONL corpus of about `chunks` chunks; returns the number of articles written."""
    rng = np.random.default_rng(seed)
    budget = chunks * CHARS_PER_CHUNK
    written = articles = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < budget:
            paragraphs = []
            for _ in range(int(rng.integers(4, 10))):
                picks = rng.integers(0, len(pool.texts), int(rng.integers(2, 5)))
                paragraphs.append(" ".join(pool.texts[i] for i in picks))
            text = "\n\n".join(paragraphs)
            title = pool.titles[int(rng.integers(0, len(pool.titles)))]
            row = {"id": f"synthetic-{first_id + articles:07d}", "title": f"{title} ({first_id + articles})",
                   "text": text, "date": "2021-01-01", "source": "synthetic"}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += len(text)
            articles += 1
    return articles


class ReplayEncoder:
    """Real sentence vectors with noise; passages are the mean of their sentences.

    It only builds indexes (the one method `build_index` calls): questions are asked with the real encoder."""

    def __init__(self, pool: SentencePool, model_id: str, seed: int = 0):
        self.model_id = model_id
        self.dim = pool.vectors.shape[1]
        self._rows = {normalize_query(t): i for i, t in enumerate(pool.texts)}
        self._pool = pool
        self._rng = np.random.default_rng(seed)

    def _sentence(self, text: str) -> np.ndarray:
        row = self._rows.get(normalize_query(text))
        base = self._pool.vectors[row] if row is not None else self._pool.vectors[
            int(self._rng.integers(0, len(self._pool.texts)))]
        v = base + self._rng.normal(0.0, NOISE / np.sqrt(self.dim), self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages_and_spans(self, texts, spans):
        passages, pooled = [], []
        for text, text_spans in zip(texts, spans):
            vectors = np.stack([self._sentence(text[s:e]) for s, e in text_spans]) if text_spans else \
                np.zeros((0, self.dim), np.float32)
            mean = vectors.mean(axis=0) if len(vectors) else self._sentence(text)
            passages.append(mean / np.linalg.norm(mean))
            pooled.append(vectors.astype(np.float32))
        return np.asarray(passages, dtype=np.float32), pooled
