"""Tests for qa.engine (with qa.retrieve, qa.answer) and qa.followup, on the seed corpus with the fake encoder."""
from __future__ import annotations

import shutil

import pytest
from conftest import FUSION_ORDER, FakeEncoder

from qa.abstain import AbstainParams
from qa.build import build_index
from qa.engine import MAX_QUESTION_CHARS, Engine
from qa.errors import IndexLoadError, ModelMismatchError, QuestionError
from qa.followup import contextualize
from qa.index.store import load_index
from qa.rerank import RANK_FEATURES, RerankParams
from qa.retrieve import RetrievalParams, Retriever
from qa.types import Answer, Passage

JAPAN = "001_16ae142da84ba3c1.txt"
CHINA = "003_dfe8999da49fa911.txt"
QUESTION = "ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược như thế nào?"


@pytest.fixture
def index_dir(corpus, tmp_path, fake_encoder):
    target = tmp_path / "index"
    build_index(corpus, target, encoder=fake_encoder)
    return target


@pytest.fixture
def engine(index_dir, fake_encoder) -> Engine:
    return Engine.open(index_dir, encoder=fake_encoder)


@pytest.fixture
def answering_engine(index_dir, fake_encoder) -> Engine:
    """Never abstains, so the extractive answer is always produced (the fake encoder's cosines are low)."""
    return Engine(load_index(index_dir), fake_encoder, index_dir, abstain=AbstainParams(threshold=0.0),
                  rerank=FUSION_ORDER)


def check_passages(engine: Engine, answer: Answer, k: int) -> None:
    assert 1 <= len(answer.passages) <= k
    assert [p.rank for p in answer.passages] == list(range(1, len(answer.passages) + 1))
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    for p in answer.passages:
        assert isinstance(p, Passage)
        article = engine.articles[p.doc_id]
        assert (p.title, p.date, p.source) == (article.title, article.date, article.source)
        assert p.text == article.text[p.start:p.end]
        assert p.text


# --- answers and passages -------------------------------------------------------------


def test_ask_returns_ranked_passages_with_article_metadata(engine):
    answer = engine.ask(QUESTION, top_k=5)
    assert isinstance(answer, Answer)
    assert answer.question == QUESTION
    assert len(answer.passages) == 5
    check_passages(engine, answer, 5)
    assert answer.passages[0].doc_id == JAPAN
    # Metadata really comes from the article (the seed has dated, sourced articles).
    top = answer.passages[0]
    assert (top.date, top.source) == ("2020-03-13", "Vietnam+")
    assert 0.0 <= answer.confidence <= 1.0


@pytest.mark.parametrize("k", [1, 3, 10])
def test_top_k(engine, k):
    answer = engine.ask(QUESTION, top_k=k)
    assert len(answer.passages) == k
    check_passages(engine, answer, k)


def test_top_k_zero_still_gives_one_passage(engine):
    assert len(engine.ask(QUESTION, top_k=0).passages) == 1


def test_answer_sentences_cite_existing_passages_with_article_offsets(answering_engine):
    engine = answering_engine
    answer = engine.ask(QUESTION, top_k=5)
    assert not answer.abstained
    assert answer.sentences
    ranks = {p.rank: p for p in answer.passages}
    for s in answer.sentences:
        assert s.citation in ranks
        cited = ranks[s.citation]
        article = engine.articles[cited.doc_id]
        assert s.text == article.text[s.start:s.end]
        assert cited.start <= s.start < s.end <= cited.end
        assert f"{s.text} [{s.citation}]" in answer.answer
    assert answer.answer == " ".join(f"{s.text} [{s.citation}]" for s in answer.sentences)
    assert "Nhật Bản" in answer.answer


def test_abstained_answer_has_passages_but_no_sentences(index_dir, fake_encoder):
    engine = Engine(load_index(index_dir), fake_encoder, index_dir, abstain=AbstainParams(threshold=1.01))
    answer = engine.ask(QUESTION)
    assert answer.abstained
    assert answer.answer == ""
    assert answer.sentences == ()
    assert answer.passages


def test_ask_with_evidence(engine):
    answer, trace = engine.ask_with_evidence(QUESTION)
    evidence = trace.evidence
    assert trace.extract.sentences == answer.sentences or answer.abstained
    assert len(trace.extract.candidates) == len(trace.extract.features) > 0
    assert -1.0 <= evidence.dense <= 1.0
    assert 0.0 <= evidence.terms <= 1.0
    assert evidence.terms > 0.5  # the cited passage holds most of the question's words
    assert evidence.missing == evidence.unknown == 0  # and names what the question names


def test_unaccented_question_finds_the_same_article(engine):
    accented = engine.ask("Hội nghị ASEAN - Trung Quốc về hợp tác biển", top_k=3)
    plain = engine.ask("hoi nghi asean - trung quoc ve hop tac bien", top_k=3)
    assert accented.passages[0].doc_id == plain.passages[0].doc_id == CHINA


# --- questions that are not questions ------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t ", "?", "?!...", " - , ; ", "\u200b\u200b", "😀🇻🇳"])
def test_empty_or_punctuation_only_question_raises(engine, question):
    with pytest.raises(QuestionError) as info:
        engine.ask(question)
    assert "Câu hỏi trống" in str(info.value)


def test_none_question_raises_question_error(engine):
    with pytest.raises(QuestionError):
        engine.ask(None)  # type: ignore[arg-type]


def test_very_long_question_is_truncated_and_answered(engine):
    question = ("Quan hệ ASEAN và Nhật Bản " * 5000)[:100_000]
    assert len(question) == 100_000
    answer = engine.ask(question)
    assert len(answer.question) <= MAX_QUESTION_CHARS
    assert answer.question.startswith("Quan hệ ASEAN và Nhật Bản")
    assert answer.passages


@pytest.mark.parametrize("question", [
    "Hợp tác ASEAN 😀🚀 thế nào?",
    "<script>alert('xss')</script><b>ASEAN</b>",
    "'; DROP TABLE articles; -- ASEAN",
    "SELECT * FROM chunks WHERE 1=1",
    "{{7*7}} ${jndi:ldap://x} %s %n",
    "\x00\x01ASEAN\x7f",
    "Ｆｕｌｌｗｉｄｔｈ ＡＳＥＡＮ",
    "مرحبا بالعالم",
])
def test_odd_questions_do_not_crash(engine, question):
    answer = engine.ask(question)
    assert isinstance(answer, Answer)
    check_passages(engine, answer, 5)


def test_question_is_normalized(engine):
    answer = engine.ask("  ASEAN\u200b và\n\nNhật   Bản?  ")
    assert answer.question == "ASEAN và Nhật Bản?"


# --- filters, duplicates, models ------------------------------------------------------


def test_doc_ids_filter_restricts_passages(engine):
    answer = engine.ask(QUESTION, top_k=50, doc_ids=[CHINA])
    assert answer.passages
    assert {p.doc_id for p in answer.passages} == {CHINA}
    assert len(answer.passages) == len(engine.store.rows_of({CHINA}))
    check_passages(engine, answer, 50)


def test_doc_ids_filter_with_two_articles(engine):
    answer = engine.ask("hợp tác", top_k=50, doc_ids={JAPAN, CHINA})
    assert {p.doc_id for p in answer.passages} == {JAPAN, CHINA}


@pytest.mark.parametrize("doc_ids", [[], ["not-in-the-index.txt"]])
def test_doc_ids_filter_without_matching_articles_abstains(engine, doc_ids):
    answer = engine.ask(QUESTION, doc_ids=doc_ids)
    assert answer.abstained
    assert answer.passages == ()
    assert answer.answer == ""


def test_near_duplicate_passages_are_dropped(corpus, tmp_path, fake_encoder):
    shutil.copy(corpus / JAPAN, corpus / "zz_ban_sao.txt")
    build_index(corpus, tmp_path / "index", encoder=fake_encoder)
    engine = Engine.open(tmp_path / "index", encoder=fake_encoder)
    # Both copies are indexed...
    texts = [engine.store.chunk(i).text for i in range(engine.store.chunk_count)]
    assert len(texts) > len(set(texts))
    # ...but the same text is never shown twice.
    answer = engine.ask(QUESTION, top_k=10)
    shown = [p.text for p in answer.passages]
    assert len(shown) == 10
    assert len(shown) == len(set(shown))
    assert {p.doc_id for p in answer.passages} & {JAPAN, "zz_ban_sao.txt"}


def test_near_duplicate_with_a_word_changed_is_dropped(corpus, tmp_path, fake_encoder):
    from qa.tokens import syllables

    text = (corpus / JAPAN).read_text(encoding="utf-8")
    (corpus / "zz_gan_giong.txt").write_text(text.replace("ASEAN", "Hiệp hội ASEAN", 3), encoding="utf-8")
    build_index(corpus, tmp_path / "index", encoder=fake_encoder)
    engine = Engine.open(tmp_path / "index", encoder=fake_encoder)
    answer = engine.ask(QUESTION, top_k=10)
    assert len(answer.passages) == 10
    words = [set(syllables(p.text)) for p in answer.passages]
    for i in range(len(words)):
        for j in range(i):
            assert len(words[i] & words[j]) / len(words[i] | words[j]) < 0.8, (i + 1, j + 1)


def test_model_mismatch_when_opening_with_another_encoder(index_dir):
    with pytest.raises(ModelMismatchError) as info:
        Engine.open(index_dir, encoder=FakeEncoder(model_id="other"))
    message = str(info.value)
    assert "fake-encoder" in message and "other" in message
    assert str(index_dir) in message


def test_model_mismatch_when_opening_with_another_model_name(index_dir):
    with pytest.raises(ModelMismatchError):
        Engine.open(index_dir, model="some-other/model-id")


def test_open_missing_index(tmp_path, fake_encoder):
    with pytest.raises(IndexLoadError) as info:
        Engine.open(tmp_path / "missing", encoder=fake_encoder)
    assert "python -m qa index" in str(info.value)


# --- follow-up questions ---------------------------------------------------------------

HISTORY = ["Mỹ cung cấp bao nhiêu liều vaccine?"]


def test_followup_includes_the_previous_question():
    query = contextualize("Còn Nhật Bản thì sao?", HISTORY)
    assert "Mỹ cung cấp bao nhiêu liều vaccine?" in query
    assert "Còn Nhật Bản thì sao?" in query
    assert query.index("Mỹ") < query.index("Nhật Bản")


@pytest.mark.parametrize("question", ["What about Japan?", "Vậy Nhật Bản thì sao?", "Nhật Bản thì thế nào?",
                                      "Còn nước đó?", "Japan?"])
def test_dependent_forms_include_the_previous_question(question):
    assert contextualize(question, HISTORY).startswith(HISTORY[0])


@pytest.mark.parametrize("question", [
    "Các trung tâm kết nối ASEAN-Hoa Kỳ được thành lập ở những thành phố nào?",
    "Who chaired the eighth JCC meeting between ASEAN and the United States?",
    "Thủ tướng Phạm Minh Chính dự Hội nghị Cấp cao đặc biệt ASEAN – Hoa Kỳ ở đâu?",
])
def test_standalone_long_question_is_unchanged(question):
    assert contextualize(question, HISTORY) == question


def test_empty_history_leaves_the_question_unchanged():
    assert contextualize("Còn Nhật Bản thì sao?", []) == "Còn Nhật Bản thì sao?"
    assert contextualize("Còn Nhật Bản thì sao?", ["", "   "]) == "Còn Nhật Bản thì sao?"


def test_contextualize_normalizes():
    assert contextualize("  Còn\u200b Nhật  Bản\nthì sao? ", []) == "Còn Nhật Bản thì sao?"


def test_only_the_latest_history_entry_is_used():
    query = contextualize("Còn Nhật Bản thì sao?", ["Trung Quốc hỗ trợ gì?", "Mỹ cung cấp bao nhiêu liều vaccine?"])
    assert query == "Mỹ cung cấp bao nhiêu liều vaccine? Còn Nhật Bản thì sao?"


@pytest.mark.parametrize("question", [
    "Cơn bão Yagi gây thiệt hại bao nhiêu cho các tỉnh miền Bắc Việt Nam?",
    "Thế giới phản ứng thế nào với tuyên bố chung của Hội nghị Cấp cao ASEAN - Hoa Kỳ năm 2022?",
    "Kết quả cuộc họp Ủy ban hợp tác chung ASEAN-Hoa Kỳ lần thứ 8 tại Jakarta ra sao?",
])
def test_standalone_questions_with_followup_lookalike_words_are_unchanged(question):
    assert contextualize(question, HISTORY) == question


def test_second_followup_keeps_the_topic():
    history = ["Mỹ cung cấp bao nhiêu liều vaccine?", "Còn Nhật Bản thì sao?"]
    query = contextualize("Còn Hàn Quốc thì sao?", history)
    assert "vaccine" in query


def test_engine_uses_history(answering_engine):
    engine = answering_engine
    alone = engine.ask("Còn Trung Quốc thì sao?", top_k=3)
    followed = engine.ask("Còn Trung Quốc thì sao?", top_k=3,
                          history=["ASEAN và Nhật Bản hợp tác trong những lĩnh vực nào?"])
    assert followed.question == alone.question == "Còn Trung Quốc thì sao?"
    assert CHINA in {p.doc_id for p in followed.passages}
    assert JAPAN in {p.doc_id for p in followed.passages}
    assert [p.text for p in followed.passages] != [p.text for p in alone.passages]


def test_the_reranker_reorders_the_fused_candidates(index_dir, fake_encoder):
    lacking_names = RerankParams(weights=tuple(-float(name == "names") for name in RANK_FEATURES))
    engine = Engine(load_index(index_dir), fake_encoder, index_dir, abstain=AbstainParams(threshold=0.0),
                    rerank=lacking_names)
    question = "Mỹ hỗ trợ ASEAN bao nhiêu vaccine?"
    answer, trace = engine.ask_with_evidence(question, top_k=3)
    names_us = (lambda text: "Mỹ" in text or "Hoa Kỳ" in text)
    assert not names_us(trace.candidates[0].text)  # first by fusion
    assert names_us(answer.passages[0].text)
    assert len(trace.candidates) == len(trace.rank_features) > 3  # the fused pool, reranked
    # The baselines of `qa eval` rank by one side alone: nothing is reranked.
    engine.retriever = Retriever(engine.store, RetrievalParams(mode="dense"))
    assert engine.ask_with_evidence(question, top_k=3)[1].candidates == ()
