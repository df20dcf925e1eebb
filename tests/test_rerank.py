"""Tests for qa.rerank: the candidates' features and the order they give."""
from __future__ import annotations

import numpy as np

from qa.question import analyze
from qa.rerank import COLUMN, RANK_FEATURES, Candidate, RerankParams, features, order, scores, translated_tokens
from qa.support import TextView
from qa.tokens import bm25_tokens


def candidate(text: str, dense: float = 0.8, keyword: float = 1.0, fused: float = 0.0,
              sentences: list[list[float]] = ((1.0, 0.0),)) -> Candidate:
    return Candidate(dense, keyword, fused, np.array(sentences, dtype=np.float32), TextView(text))


def test_english_words_are_put_into_vietnamese_for_bm25():
    tokens = translated_tokens(analyze("How much aid did Japan give ASEAN?", english=True))
    for word in ("nhật", "bản", "viện", "trợ"):
        assert word in tokens
    assert "japan" not in tokens  # the question's own words are already in the BM25 query
    assert translated_tokens(analyze("Nhật Bản viện trợ bao nhiêu?", english=False)) == []


def test_names_numbers_and_editions_the_passage_lacks():
    facts = analyze("Cuộc họp SOM ASEAN-Trung Quốc lần thứ 28 năm 2022 diễn ra ở đâu?", english=False)
    right = candidate("SOM ASEAN-Trung Quốc lần thứ 28 diễn ra năm 2022 tại Jakarta.")
    other = candidate("SOM ASEAN-EU lần thứ 24 diễn ra năm 2021 tại Brussels.")
    X = features(facts, np.array([1.0, 0.0]), [right, other], np.zeros(2), lambda token: 0.5)
    assert X[0, COLUMN["names"]] == 0 and X[1, COLUMN["names"]] > 0
    assert X[0, COLUMN["numbers"]] == 0 and X[1, COLUMN["numbers"]] == 1
    assert (X[0, COLUMN["conflict"]], X[1, COLUMN["conflict"]]) == (0, 1)
    assert X[0, COLUMN["terms"]] > X[1, COLUMN["terms"]]
    assert X[1, COLUMN["rare_missing"]] == 0.5


def test_gaps_are_measured_from_the_best_candidate():
    facts = analyze("Who opened the office?", english=True)
    near = candidate("a", dense=0.9, keyword=2.0, sentences=[[0.6, 0.0], [0.9, 0.0]])
    far = candidate("b", dense=0.7, keyword=1.0, sentences=[[0.5, 0.0]])
    X = features(facts, np.array([1.0, 0.0]), [near, far], np.array([0.0, 3.0]), lambda token: 0.0)
    assert np.allclose(X[:, COLUMN["dense_gap"]], [0.0, -0.2])
    assert np.allclose(X[:, COLUMN["sentence_gap"]], [0.0, -0.4])
    assert np.allclose(X[:, COLUMN["english_sentence_gap"]], X[:, COLUMN["sentence_gap"]])
    assert np.allclose(X[:, COLUMN["keyword"]], [1.0, 0.5])
    assert np.allclose(X[:, COLUMN["translated"]], [0.0, 1.0])
    vietnamese = features(analyze("Ai mở văn phòng?", english=False), np.array([1.0, 0.0]), [near, far],
                          np.zeros(2), lambda token: 0.0)
    assert not vietnamese[:, COLUMN["english_sentence_gap"]].any()


def test_order_follows_the_weights_and_keeps_ties_in_fused_order():
    X = np.zeros((3, len(RANK_FEATURES)))
    X[:, COLUMN["terms"]] = [0.2, 0.9, 0.2]
    fused_only = RerankParams(weights=(1.0,) + (0.0,) * (len(RANK_FEATURES) - 1))
    assert order(scores(X, fused_only)).tolist() == [0, 1, 2]
    terms = RerankParams(weights=tuple(float(name == "terms") for name in RANK_FEATURES))
    assert order(scores(X, terms)).tolist() == [1, 0, 2]
    assert features(analyze("x?", english=False), np.zeros(2), [], np.zeros(0), lambda t: 0.0).shape == (0, len(RANK_FEATURES))


def test_translated_tokens_are_bm25_tokens():
    tokens = translated_tokens(analyze("Which embassy?", english=True))
    assert set(bm25_tokens("đại sứ quán")) <= set(tokens)
