"""Property tests for query handling: whatever text is asked, `Engine.ask` refuses it with a
QuestionError (only when it holds no letter or digit) or answers with passages and sentences whose
offsets point at the article text they quote."""
from __future__ import annotations

import pytest
from conftest import SEED_CORPUS, FakeEncoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.abstain import AbstainParams
from qa.build import build_index
from qa.engine import MAX_QUESTION_CHARS, Engine
from qa.errors import QuestionError
from qa.index.store import load_index
from qa.normalize import normalize_query

PIECES = [
    "Mỹ", "cung cấp", "vaccine", "ASEAN", "Nhật Bản", "hop tac", "Which agency", "?", "!", " ", "\n", "\t",
    "\x00", "\x1b[31m", "\x7f", "\u200b", "\u00ad", "\ufeff", "\u202e", "e\u0301", "😀", "🇻🇳", "<script>alert(1)</script>",
    "'; DROP TABLE chunks; --", "SELECT * FROM", "%s%n", "{{7*7}}", "مرحبا", "中文", "Ｆｕｌｌ", "¹²³", "Ⅻ",
]
question = st.one_of(
    st.text(),  # anything Unicode has, control characters and unpaired surrogates included
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    # Very long: up to ~100,000 characters of one repeated piece.
    st.builds(lambda piece, n: piece * n, st.sampled_from(PIECES) | st.text(min_size=1, max_size=8),
              st.integers(1000, 100_000 // 8)),
)


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """The seed index opened twice: as shipped, and never abstaining (so answers always have sentences)."""
    index_dir = tmp_path_factory.mktemp("query-properties") / "index"
    build_index(SEED_CORPUS, index_dir, encoder=FakeEncoder())
    return (Engine.open(index_dir, encoder=FakeEncoder()),
            Engine(load_index(index_dir), FakeEncoder(), index_dir, abstain=AbstainParams(threshold=0.0)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=question, history=st.lists(question, max_size=2), top_k=st.integers(-3, 12), answering=st.booleans())
def test_any_question_is_refused_clearly_or_answered_with_exact_offsets(engines, q, history, top_k, answering):
    engine = engines[answering]
    asked = normalize_query(q)
    if not any(ch.isalnum() for ch in asked):
        with pytest.raises(QuestionError, match="Câu hỏi trống"):
            engine.ask(q, top_k=top_k, history=history)
        return
    answer = engine.ask(q, top_k=top_k, history=history)
    assert answer.question == asked[:MAX_QUESTION_CHARS]
    assert 1 <= len(answer.passages) <= max(1, top_k)
    assert [p.rank for p in answer.passages] == list(range(1, len(answer.passages) + 1))
    for p in answer.passages:
        assert p.text == engine.articles[p.doc_id].text[p.start:p.end]
    ranks = {p.rank: p for p in answer.passages}
    assert answer.abstained or answer.sentences
    for s in answer.sentences:
        cited = ranks[s.citation]
        assert s.text == engine.articles[cited.doc_id].text[s.start:s.end]
        assert cited.start <= s.start < s.end <= cited.end
    assert engine.ask(q, top_k=top_k, history=history) == answer  # the same question, the same answer
