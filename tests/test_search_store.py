"""The contract of a search backend (qa.index.search_store.SearchStore), checked against a reference
computed here from the corpus itself: every backend must pass it to serve the same answers."""
from __future__ import annotations

import math
import shutil
from collections import Counter

import numpy as np
import pytest

from qa.build import IndexParams, build_index, embedding_text
from qa.build_store import build_store
from qa.index.postgres import PostgresStore
from qa.index.store import load_index
from qa.tokens import bm25_tokens

from conftest import SEED_CORPUS, FakeEncoder
from pg_cluster import cluster

DUPLICATE = "zz_ban_sao.txt"


@pytest.fixture(scope="module")
def database():
    with cluster() as c:
        yield c


@pytest.fixture(scope="module", params=["local", "postgres"])
def built(request, tmp_path_factory):
    """(the backend under test, the local snapshot of the same corpus as the reference, the encoder,
    an article that has a copy)."""
    corpus = tmp_path_factory.mktemp("corpus") / "seeds"
    shutil.copytree(SEED_CORPUS, corpus)
    first = sorted(p.name for p in corpus.iterdir())[0]
    shutil.copy(corpus / first, corpus / DUPLICATE)  # a copy: one story of two articles
    encoder = FakeEncoder()
    index = tmp_path_factory.mktemp("index")
    build_index(corpus, index, encoder=encoder)
    reference = load_index(index)
    if request.param == "local":
        yield reference, reference, encoder, first
        return
    url = request.getfixturevalue("database").primary
    build_store(corpus, url, encoder=encoder)
    store = PostgresStore(url)
    yield store, reference, encoder, first
    store.close()


def aligned(store, reference) -> list[tuple[int, int]]:
    """(the store's row, the reference's row) of each passage: rows are the backend's own ids."""
    where = {(s.chunk.doc_id, s.chunk.start): i for i, s in enumerate(reference.chunks)}
    rows = store.rows_of(set(store.articles))
    return [(row, where[store.chunk(row).doc_id, store.chunk(row).start]) for row in rows]


def _bm25(reference, tokens: list[str]) -> np.ndarray:
    """Lucene BM25 of every passage (title and text, as indexed), from the definition."""
    k1, b = reference.manifest.params["bm25_k1"], reference.manifest.params["bm25_b"]
    docs = [Counter(bm25_tokens(f"{reference.articles[s.chunk.doc_id].title}\n{s.chunk.text}")) for s in reference.chunks]
    lengths = np.array([sum(d.values()) for d in docs], dtype=float)
    avg = lengths.mean()
    out = np.zeros(len(docs))
    for token in tokens:
        df = sum(1 for d in docs if token in d)
        if not df:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d.get(token, 0)
            if tf:
                out[i] += idf * tf / (tf + k1 * (1 - b + b * lengths[i] / avg))
    return out


def test_chunks_articles_and_counts(built):
    store, reference, _, first = built
    pairs = aligned(store, reference)
    assert store.chunk_count == len(pairs) == len(reference.chunks) == store.manifest.chunks
    assert sorted(r for _, r in pairs) == list(range(len(reference.chunks)))
    assert set(store.articles) == set(reference.articles) and len(store.articles) == len(reference.articles)
    for doc_id, article in reference.articles.items():
        assert store.articles[doc_id] == article
    for row, ref in pairs:
        chunk, expected = store.chunk(row), reference.chunks[ref].chunk
        assert (chunk.doc_id, chunk.start, chunk.end, chunk.text, chunk.sentences) == \
            (expected.doc_id, expected.start, expected.end, expected.text, expected.sentences)
    rows = store.rows_of({first})
    assert rows and all(store.chunk(r).doc_id == first for r in rows)
    assert store.rows_of({"not-in-the-index.txt"}) == []
    assert store.manifest.model_id == reference.manifest.model_id and store.manifest.dim == reference.manifest.dim


def test_vectors_and_nearest(built):
    store, reference, encoder, _ = built
    params = IndexParams()
    pairs = aligned(store, reference)
    for row, ref in (pairs[0], pairs[len(pairs) // 2], pairs[-1]):
        chunk = store.chunk(row)
        expected = encoder.encode_passages([embedding_text(store.articles[chunk.doc_id], chunk, params)])[0]
        assert np.allclose(store.vectors_of([row])[0], expected, atol=1e-6)
        assert np.allclose(store.vectors_of([row])[0], reference.vectors_of([ref])[0], atol=1e-6)
        # The passage's own vector finds itself (or its identical copy) first.
        top = store.nearest(expected, 3)
        assert store.chunk(int(top[0])).text == chunk.text
        sentences = store.sentences_of(row)
        assert sentences.shape == (len(chunk.sentences), encoder.dim) and sentences.dtype == np.float32
        assert np.allclose(sentences, reference.sentences_of(ref), atol=1e-3)


def test_keyword_scores_are_bm25(built):
    store, reference, _, _ = built
    pairs = aligned(store, reference)
    rows = np.array([row for row, _ in pairs])
    for query in ("ASEAN và Nhật Bản hợp tác", "vaccine COVID-19", "asean va nhat ban hop tac", "ASEAN ASEAN"):
        tokens = bm25_tokens(query)
        expected = _bm25(reference, tokens)[[ref for _, ref in pairs]]  # in the store's row order
        score_of = dict(zip(rows, expected))
        assert np.allclose(store.keyword_scores(tokens, rows), expected, rtol=2e-3, atol=2e-3)
        top = store.keyword_top(tokens, 5)
        assert sorted(score_of[r] for r in top) == pytest.approx(sorted(expected)[-5:], rel=2e-3, abs=2e-3)
        subset = rows[::3]
        within = store.keyword_top(tokens, 4, subset)
        assert set(within) <= set(subset)
        assert sorted(score_of[r] for r in within) == pytest.approx(sorted(score_of[r] for r in subset)[-4:],
                                                                    rel=2e-3, abs=2e-3)


def test_a_costly_question_is_ranked_among_the_passages_of_its_rarest_word(built):
    store, reference, _, _ = built
    if not isinstance(store, PostgresStore):
        pytest.skip("only the database prunes: the local index scores every posting")
    pruned = PostgresStore(store.url, exact_postings=0, candidate_postings=1)  # as if every question were costly
    try:
        pairs = aligned(store, reference)
        tokens = bm25_tokens("ASEAN và Nhật Bản hợp tác vaccine")
        exact = dict(zip((row for row, _ in pairs), _bm25(reference, tokens)[[ref for _, ref in pairs]]))
        holders = {t: {row for row, _ in pairs if t in bm25_tokens(f"{store.articles[store.chunk(row).doc_id].title}\n{store.chunk(row).text}")}
                   for t in set(tokens)}
        rarest = min((t for t in holders if holders[t]), key=lambda t: (len(holders[t]), t))
        assert len(holders[rarest]) < len(pairs)  # else nothing is pruned
        k = min(3, len(holders[rarest]))
        top = pruned.keyword_top(tokens, k)
        assert set(top) <= holders[rarest]
        assert [exact[r] for r in top] == pytest.approx(sorted((exact[r] for r in holders[rarest]), reverse=True)[:k],
                                                         rel=2e-3, abs=2e-3)
    finally:
        pruned.close()


def test_unknown_tokens_score_nothing(built):
    store, _, _, _ = built
    tokens = ["zzzxq", "~zzzxq"]
    assert store.known(tokens) == []
    assert not store.keyword_scores(tokens, np.array(store.rows_of(set(store.articles)))).any()
    assert store.rarity("zzzxq") == 0.0


def test_known_and_rarity(built):
    store, reference, _, _ = built
    docs = [set(bm25_tokens(f"{reference.articles[s.chunk.doc_id].title}\n{s.chunk.text}")) for s in reference.chunks]
    n = len(docs)
    assert store.known(["asean", "~asean", "zzzxq"]) == ["asean", "~asean"]
    for token in ("asean", "~nhat", "jica"):
        df = sum(1 for d in docs if token in d)
        assert store.rarity(token) == pytest.approx(math.log(n / df) / math.log(n))


def test_stories_and_accents(built):
    store, _, _, first = built
    assert set(store.story_of[first]) == {first, DUPLICATE}
    assert store.story_of[DUPLICATE] == store.story_of[first]
    assert store.accents.restore("hop tac") == "hợp tác"
