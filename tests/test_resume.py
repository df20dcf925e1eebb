"""A build that dies while embedding resumes where it stopped (qa.index.pending)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import DiesAfter, FakeEncoder, many_articles

from qa.build import build_index, rate_and_eta
from qa.index.pending import FOLDER, PendingVectors, read_batch
from qa.index.store import has_index, load_index


def test_a_killed_build_resumes_with_what_it_had_embedded(tmp_path):
    corpus, index = many_articles(tmp_path / "corpus"), tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, index, encoder=DiesAfter(batches=2))
    assert not has_index(index)  # nothing half-written is live
    saved = PendingVectors(index, "fake-encoder").load()
    assert len(saved) == 2 * 64

    encoder = FakeEncoder()
    report = build_index(corpus, index, encoder=encoder)
    assert report.resumed == 2 * 64
    assert report.embedded == report.chunks - report.resumed == sum(encoder.calls)
    assert not (index / FOLDER).exists()  # a finished build leaves no pending vectors
    # The resumed vectors are the ones a clean build makes.
    clean = tmp_path / "clean"
    build_index(corpus, clean, encoder=FakeEncoder())
    assert np.allclose(np.asarray(load_index(index).vectors), np.asarray(load_index(clean).vectors))
    assert np.allclose(np.asarray(load_index(index).sentence_vectors, dtype=np.float32),
                       np.asarray(load_index(clean).sentence_vectors, dtype=np.float32))


def test_pending_vectors_of_another_model_or_a_rebuild_are_not_used(tmp_path):
    corpus, index = many_articles(tmp_path / "corpus"), tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, index, encoder=DiesAfter(batches=1))
    other = FakeEncoder(model_id="other")
    assert build_index(corpus, index, encoder=other).resumed == 0
    assert sum(other.calls) == load_index(index).manifest.chunks

    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, tmp_path / "second", encoder=DiesAfter(batches=1))
    assert build_index(corpus, tmp_path / "second", encoder=FakeEncoder(), rebuild=True).resumed == 0


def test_a_damaged_batch_is_skipped_and_the_rest_kept(tmp_path):
    pending = PendingVectors(tmp_path, "m")
    pending.add(["a", "b"], [np.ones(4), np.zeros(4)], [np.ones((2, 4)), np.ones((1, 4))])
    (damaged,) = (tmp_path / FOLDER).glob("batch-*.npz")
    damaged.write_bytes(damaged.read_bytes()[:40])
    pending.add(["c", "d"], [np.ones(4), np.zeros(4)], [np.ones((3, 4)), np.ones((1, 4))])
    loaded = pending.load()
    assert set(loaded) == {"c", "d"}
    assert len(set(loaded.values())) == 1  # the batch file holding them
    assert [(k, v.shape, s.shape) for k, v, s in read_batch(loaded["c"])] == [("c", (4,), (3, 4)), ("d", (4,), (1, 4))]
    assert PendingVectors(tmp_path, "another model").load() == {}
    assert not (tmp_path / FOLDER).exists()


def test_rate_and_time_left():
    assert rate_and_eta(0, 100, 5.0) == (0.0, None)
    assert rate_and_eta(30, 100, 10.0) == (3.0, 70 / 3)
