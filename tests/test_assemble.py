"""qa.index.assemble: a snapshot's vector files copied from the previous snapshot and pending batches."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEncoder

from qa.build import build_index
from qa.index.assemble import assemble_vectors
from qa.index.pending import PendingVectors
from qa.index.store import load_index


def test_each_chunk_gets_its_vectors_from_where_they_are(tmp_path, corpus):
    build_index(corpus, tmp_path / "index", encoder=FakeEncoder())
    previous = load_index(tmp_path / "index")
    rows = {stored.text_hash: i for i, stored in enumerate(previous.chunks)}
    pending = PendingVectors(tmp_path / "new", "fake-encoder")
    dim = previous.manifest.dim
    fresh = {"x": (np.full(dim, 0.5), np.full((2, dim), 0.25)), "y": (np.full(dim, -1.0), np.zeros((0, dim)))}
    batch = pending.add(list(fresh), [v for v, _ in fresh.values()], [s for _, s in fresh.values()])
    old = [previous.chunks[2].text_hash, previous.chunks[0].text_hash]
    keys = [old[0], "x", old[1], "x", "y", old[0]]  # repeated texts fill every row they are in
    counts = [len(previous.chunks[2].chunk.sentences), 2, len(previous.chunks[0].chunk.sentences), 2, 0,
              len(previous.chunks[2].chunk.sentences)]

    vectors, sentences = assemble_vectors(pending.staging(), keys, counts, dim, previous, rows,
                                          {"x": batch, "y": batch})
    vectors, sentences = np.asarray(vectors), np.asarray(sentences)
    expected = {**{k: (np.asarray(previous.vectors[rows[k]]), previous.sentences_of(rows[k])) for k in old},
                **fresh}
    assert vectors.dtype == np.float32 and sentences.dtype == np.float16
    starts = np.concatenate([[0], np.cumsum(counts)])
    assert len(vectors) == len(keys) and len(sentences) == starts[-1]
    for i, key in enumerate(keys):
        assert np.array_equal(vectors[i], expected[key][0].astype(np.float32))
        assert np.array_equal(sentences[starts[i]:starts[i + 1]], expected[key][1].astype(np.float16))

    with pytest.raises(RuntimeError, match="no vectors for 1 chunks"):
        assemble_vectors(pending.staging(), ["x", "z"], [2, 1], dim, previous, rows, {"x": batch})
