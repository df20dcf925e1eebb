"""scripts/bench_synth.py: the large benchmark corpora are real sentences with recycled vectors."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from qa.build import build_index
from qa.index.store import load_index
from qa.normalize import normalize_query

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from bench_synth import ReplayEncoder, SentencePool, write_corpus  # noqa: E402


def test_synthetic_corpus_is_sized_and_its_vectors_follow_the_real_ones(corpus, tmp_path, fake_encoder):
    build_index(corpus, tmp_path / "seed", encoder=fake_encoder)
    pool = SentencePool.from_indexes([load_index(tmp_path / "seed")])
    assert pool.texts and pool.vectors.shape == (len(pool.texts), fake_encoder.dim)

    path = tmp_path / "synthetic.jsonl"
    articles = write_corpus(pool, 300, path)
    report = build_index(path, tmp_path / "synthetic", encoder=ReplayEncoder(pool, "fake-encoder"))
    assert report.articles == articles
    assert 0.7 * 300 <= report.chunks <= 1.3 * 300

    data = load_index(tmp_path / "synthetic")
    assert data.manifest.model_id == "fake-encoder"  # the real encoder can add to it later
    assert np.allclose(np.linalg.norm(np.asarray(data.vectors), axis=1), 1.0, atol=1e-5)
    rows = {normalize_query(t): i for i, t in enumerate(pool.texts)}
    matched = 0
    for i, stored in enumerate(data.chunks[:50]):
        for (start, end), vector in zip(stored.chunk.sentences, data.sentences_of(i)):
            row = rows.get(normalize_query(stored.chunk.text[start:end]))
            if row is not None:
                matched += 1
                assert float(vector @ pool.vectors[row]) > 0.85  # a noisy copy, not another sentence
    assert matched > 50
