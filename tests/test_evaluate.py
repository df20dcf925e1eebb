"""Tests for qa.evaluate: loading gold questions in both formats, the metrics on hand-made answers,
and the three-system comparison (BM25, dense, hybrid) on small indexes with fake encoders."""
from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from conftest import FUSION_ORDER, FakeEncoder

from qa.abstain import AbstainParams
from qa.build import build_index
from qa.engine import Engine
from qa.errors import QAError
from qa.evaluate import (EvalReport, GoldQuestion, QuestionsFileError, SystemReport, load_questions, render_report,
                         report_json, run_eval, score)
from qa.index.store import load_index
from qa.retrieve import RetrievalParams, Retriever
from qa.types import Answer, Passage


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    return path


def passage(rank: int, doc_id: str = "other.txt", text: str = "Không liên quan.") -> Passage:
    return Passage(rank=rank, doc_id=doc_id, title="", date="", source="", text=text, start=0, end=len(text),
                   score=1.0 / rank)


def answer(passages: list[Passage], abstained: bool = False) -> Answer:
    return Answer(question="q", abstained=abstained, answer="", passages=tuple(passages))


# --- load_questions -------------------------------------------------------------------


def test_load_questions_with_evidence_strings(tmp_path):
    path = write_jsonl(tmp_path / "dev.jsonl", [
        {"id": "x01", "kind": "exact", "doc": "000.txt", "question": "Ở thành phố nào?",
         "evidence": ["tại Jakarta, Singapore và Bangkok"], "answer": "Jakarta"},
        {"id": "x02", "question": "Còn Nhật Bản thì sao?", "evidence": ["Nhật Bản", "Tokyo"],
         "history": ["Mỹ cung cấp bao nhiêu liều vaccine?"]},
        {"id": "x03", "kind": "unanswerable", "question": "Giá vàng hôm nay?"},
        {"question": "Không có id", "evidence": []},
    ])
    qs = load_questions(path)
    assert [q.qid for q in qs] == ["x01", "x02", "x03", "4"]  # line number when there is no id
    q1, q2, q3, q4 = qs
    assert q1 == GoldQuestion("x01", "Ở thành phố nào?", "exact", ("tại Jakarta, Singapore và Bangkok",), (), ())
    assert q1.answerable
    assert q2.kind == "answerable"  # inferred
    assert q2.evidence == ("Nhật Bản", "Tokyo")
    assert q2.history == ("Mỹ cung cấp bao nhiêu liều vaccine?",)
    assert not q3.answerable and q3.kind == "unanswerable"
    assert not q4.answerable and q4.kind == "unanswerable"


def test_load_questions_with_gold_passage_ids(tmp_path):
    path = write_jsonl(tmp_path / "xquad.jsonl", [
        {"id": "56beb4343aeaaa14008c925b", "question": "Đội thủ Panthers đã thua bao nhiêu điểm?",
         "gold_passage_ids": ["xquad_vi-000-00"], "answers": ["308"], "answer_starts": [30]},
        {"id": "q2", "question": "Hai bài?", "gold_passage_ids": ["a", "b"]},
    ])
    q1, q2 = load_questions(path)
    assert q1.qid == "56beb4343aeaaa14008c925b"
    assert q1.gold_ids == ("xquad_vi-000-00",)
    assert q1.evidence == ()
    assert q1.kind == "answerable" and q1.answerable
    assert q2.gold_ids == ("a", "b")


def test_load_questions_of_the_repository_dev_set():
    path = Path(__file__).resolve().parents[1] / "eval" / "dev_extra.jsonl"
    qs = load_questions(path)
    assert len(qs) >= 10
    assert all(q.question for q in qs)
    assert len({q.qid for q in qs}) == len(qs)
    assert any(q.answerable for q in qs)


@pytest.mark.parametrize("bad_line, message", [
    ("{not json", "not JSON"),
    ('{"id": "x", "evidence": ["a"]}', '"question"'),
    ('{"question": 3}', '"question"'),
    ('{"question": " ?! "}', '"question"'),
    ('["question"]', '"question"'),
    ('{"question": "Ở đâu?", "evidence": "Jakarta"}', '"evidence" must be a list of strings'),
    ('{"question": "Ở đâu?", "gold_passage_ids": [1]}', '"gold_passage_ids" must be a list of strings'),
    ('{"question": "Còn Nhật?", "history": "Mỹ thì sao?"}', '"history" must be a list of strings'),
])
def test_load_questions_bad_line_names_the_line(tmp_path, bad_line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "Hỏi gì?", "evidence": ["a"]}\n\n' + bad_line + "\n", encoding="utf-8")
    with pytest.raises(QuestionsFileError) as info:
        load_questions(path)
    assert isinstance(info.value, QAError)  # so the CLI prints `error: ...` and exits 2
    assert f"{path}, line 3: " in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_load_questions_empty_file_is_an_error(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionsFileError, match="has no questions"):
        load_questions(path)


def test_load_questions_missing_file_is_an_error(tmp_path):
    with pytest.raises(QuestionsFileError, match="none.jsonl"):
        load_questions(tmp_path / "none.jsonl")


def test_load_questions_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text('{"question": "Ở đâu?", "evidence": ["Jakarta"]}\n', encoding="utf-8-sig")
    assert load_questions(path)[0].evidence == ("Jakarta",)


# --- is_hit ---------------------------------------------------------------------------


def test_is_hit_by_evidence_is_normalized():
    q = GoldQuestion("1", "q", "exact", evidence=("tại  Jakarta,\nSingapore",))
    nfd = unicodedata.normalize("NFD", "Các trung tâm tại Jakarta, Singapore\u200b và Bangkok.")
    assert q.is_hit(passage(1, text=nfd))
    assert not q.is_hit(passage(1, text="tại Jakarta và Bangkok"))


def test_is_hit_by_gold_id():
    q = GoldQuestion("1", "q", "answerable", gold_ids=("doc-a",))
    assert q.is_hit(passage(1, doc_id="doc-a"))
    assert not q.is_hit(passage(1, doc_id="doc-b", text="doc-a"))


# --- score ----------------------------------------------------------------------------

EVIDENCE = "quan hệ Đối tác chiến lược"


def test_score_recall_mrr_ndcg_and_abstention():
    qs = [
        GoldQuestion("a", "q", "exact", evidence=(EVIDENCE,)),  # hit at rank 1
        GoldQuestion("b", "q", "exact", evidence=(EVIDENCE,)),  # hit at rank 3
        GoldQuestion("c", "q", "exact", gold_ids=("gold.txt",)),  # hit at rank 7
        GoldQuestion("d", "q", "exact", evidence=(EVIDENCE,)),  # no hit, abstained
        GoldQuestion("u1", "q", "unanswerable"),  # abstained: right
        GoldQuestion("u2", "q", "unanswerable"),  # answered: wrong
    ]
    hit_text = f"Hai bên cam kết tăng cường {EVIDENCE}."

    def ranked(n_hit: int | None, n: int = 10, gold_doc: str | None = None) -> list[Passage]:
        """n passages; the one at rank n_hit holds the evidence (or comes from gold_doc)."""
        out = [passage(r) for r in range(1, n + 1)]
        if n_hit is not None:
            out[n_hit - 1] = passage(n_hit, doc_id=gold_doc) if gold_doc else passage(n_hit, text=hit_text)
        return out

    answers = [
        answer(ranked(1)),
        answer(ranked(3)),
        answer(ranked(7, gold_doc="gold.txt")),
        answer(ranked(None), abstained=True),
        answer(ranked(None), abstained=True),
        answer(ranked(None)),
    ]
    s = score(qs, answers, ks=(1, 5, 10))
    assert (s.answerable, s.unanswerable) == (4, 2)
    assert s.recall == {1: 0.25, 5: 0.5, 10: 0.75}
    assert s.mrr == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    assert s.ndcg10 == pytest.approx((1 + 1 / math.log2(4) + 1 / math.log2(8)) / 4)
    assert s.abstain_answerable == pytest.approx(0.25)
    assert s.abstain_unanswerable == pytest.approx(0.5)


def test_score_counts_the_first_hit_only():
    q = GoldQuestion("a", "q", "exact", evidence=("ASEAN",))
    passages = [passage(1), passage(2, text="ASEAN họp"), passage(3, text="ASEAN lần nữa")]
    s = score([q], [answer(passages)])
    assert s.mrr == pytest.approx(0.5)
    assert s.recall[1] == 0.0 and s.recall[5] == 1.0


def test_score_hit_beyond_k_does_not_count():
    q = GoldQuestion("a", "q", "exact", evidence=("ASEAN",))
    passages = [passage(r) for r in range(1, 11)] + [passage(11, text="ASEAN")]
    s = score([q], [answer(passages)], ks=(10,))
    assert s.recall == {10: 0.0}
    assert s.ndcg10 == 0.0
    assert s.mrr == pytest.approx(1 / 11)


def test_score_with_no_answerable_or_no_unanswerable_questions():
    only_u = score([GoldQuestion("u", "q", "unanswerable")], [answer([], abstained=True)])
    assert (only_u.answerable, only_u.unanswerable) == (0, 1)
    assert only_u.recall == {1: 0.0, 5: 0.0, 10: 0.0}
    assert only_u.mrr == 0.0
    assert only_u.abstain_unanswerable == 1.0
    empty = score([], [])
    assert (empty.answerable, empty.unanswerable, empty.mrr) == (0, 0, 0.0)


def test_score_rejects_mismatched_lengths():
    qs = [GoldQuestion(str(i), "q", "exact", evidence=("ASEAN",)) for i in range(3)]
    with pytest.raises(ValueError):
        score(qs, [answer([passage(1, text="ASEAN")])] * 2)


# --- run_eval, report_json, render_report --------------------------------------------


class SplitEncoder(FakeEncoder):
    """Puts every query next to the passages that do NOT mention Jakarta: dense ranks them wrong."""

    def __init__(self):
        super().__init__("split-encoder", dim=2)

    def _vector(self, text: str) -> np.ndarray:
        return np.array([1.0, 0.0] if "Jakarta" in text else [0.0, 1.0], dtype=np.float32)

    def encode_queries(self, texts):
        return np.array([[0.0, 1.0]] * len(texts), dtype=np.float32)


SPLIT_ARTICLES = [
    {"id": "hanoi", "title": "Hà Nội", "text": "Hà Nội có hồ Gươm và phố cổ. Du khách đến thăm hồ mỗi ngày."},
    {"id": "asean", "title": "ASEAN", "text": "Các bộ trưởng ASEAN họp tại Jakarta để bàn về hợp tác kinh tế."},
]
JAKARTA = GoldQuestion("j", "Các bộ trưởng ASEAN họp ở Jakarta?", "exact", evidence=("họp tại Jakarta",))


def open_engine(corpus: Path, index: Path, encoder, **params) -> Engine:
    build_index(corpus, index, encoder=encoder)
    return Engine(load_index(index), encoder, index, **params)


@pytest.fixture
def split_engine(tmp_path) -> Engine:
    return open_engine(write_jsonl(tmp_path / "split.jsonl", SPLIT_ARTICLES), tmp_path / "index", SplitEncoder(),
                       rerank=FUSION_ORDER)


@pytest.fixture
def seed_engine(corpus, tmp_path, fake_encoder) -> Engine:
    return open_engine(corpus, tmp_path / "index", fake_encoder)


def by_name(report: EvalReport) -> dict[str, SystemReport]:
    return {s.name: s for s in report.systems}


def test_modes_rank_differently_and_the_engine_is_restored(split_engine):
    original = split_engine.retriever
    report = run_eval(split_engine, [JAKARTA])
    assert [s.name for s in report.systems] == ["bm25", "dense", "hybrid"]
    systems = by_name(report)
    assert systems["bm25"].scores.recall[1] == 1.0  # BM25 matches "Jakarta"
    assert systems["dense"].scores.recall[1] == 0.0  # the encoder prefers the other article
    assert systems["dense"].scores.mrr == 0.5
    assert systems["hybrid"].scores.recall[1] == 1.0  # keywords outweigh dense for Vietnamese
    assert split_engine.retriever is original


def test_retrieval_mode_weights(seed_engine):
    data = seed_engine.store
    hybrid = Retriever(data)
    for query in ("ASEAN và Nhật Bản hợp tác", "asean va nhat ban hop tac", "Which agency implements it?"):
        assert Retriever(data, RetrievalParams(mode="dense")).weights(query) == (1.0, 0.0)
        assert Retriever(data, RetrievalParams(mode="bm25")).weights(query) == (0.0, 1.0)
        assert Retriever(data, RetrievalParams(mode="hybrid")).weights(query) == hybrid.weights(query)
    assert hybrid.weights("asean va nhat ban hop tac")[0] == RetrievalParams().unaccented_dense_weight
    assert hybrid.weights("Which agency implements it?")[1] < RetrievalParams().keyword_weight
    with pytest.raises(ValueError, match="mode"):
        RetrievalParams(mode="sparse")


SEED_QUESTIONS = [
    GoldQuestion("a1", "ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược như thế nào?", "exact",
                 gold_ids=("001_16ae142da84ba3c1.txt",)),
    GoldQuestion("a2", "Hội nghị JCC ASEAN-Hoa Kỳ lần thứ 8", "paraphrase", evidence=("JCC",)),
    GoldQuestion("a3", "Kế hoạch nào?", "paraphrase", evidence=("chuỗi không có trong kho bài",)),
    GoldQuestion("u1", "Giá vàng hôm nay bao nhiêu?", "unanswerable"),
    GoldQuestion("u2", "Ai vô địch World Cup 2022?", "unanswerable"),
]


@pytest.mark.parametrize("threshold, abstains", [(2.0, True), (-1.0, False)])
def test_abstention_counts_follow_the_engine_decision(corpus, tmp_path, fake_encoder, threshold, abstains):
    engine = open_engine(corpus, tmp_path / "index", fake_encoder, abstain=AbstainParams(threshold=threshold))
    report = run_eval(engine, SEED_QUESTIONS)
    assert (report.questions, report.answerable, report.unanswerable) == (5, 3, 2)
    for system in report.systems:
        assert system.scores.abstain_answerable == float(abstains)
        assert system.scores.abstain_unanswerable == float(abstains)
        # a3 never hits; the unanswerable ones are misses only when answered.
        missed = [m.qid for m in system.misses]
        assert missed == (["a3"] if abstains else ["a3", "u1", "u2"])
        assert all(m.abstained == abstains for m in system.misses)


def test_per_kind_scores_and_misses(seed_engine):
    report = run_eval(seed_engine, SEED_QUESTIONS)
    hybrid = by_name(report)["hybrid"]
    assert list(hybrid.by_kind) == ["exact", "paraphrase", "unanswerable"]
    exact, paraphrase, unanswerable = hybrid.by_kind.values()
    assert (exact.answerable, paraphrase.answerable, unanswerable.unanswerable) == (1, 2, 2)
    assert exact.recall[1] == 1.0  # the question repeats the article's title
    assert paraphrase.recall[10] == 0.5  # a3's evidence is nowhere
    assert hybrid.scores.recall[10] == pytest.approx(2 / 3)
    a3 = next(m for m in hybrid.misses if m.qid == "a3")
    assert (a3.kind, a3.question, a3.answerable) == ("paraphrase", "Kế hoạch nào?", True)
    top = seed_engine.ask("Kế hoạch nào?", top_k=10).passages[0]
    assert a3.top_doc_id == top.doc_id
    assert a3.top_text == " ".join(top.text.split())[:150]


def test_history_is_passed_to_every_ask_in_rotating_order(seed_engine, monkeypatch):
    calls = []
    ask = seed_engine.ask

    def spy(question, top_k=5, history=(), doc_ids=None):
        calls.append((question, top_k, tuple(history), seed_engine.retriever.params.mode))
        return ask(question, top_k=top_k, history=history, doc_ids=doc_ids)

    monkeypatch.setattr(seed_engine, "ask", spy)
    follow_up = GoldQuestion("f", "Còn Nhật Bản thì sao?", "followup", evidence=("Nhật Bản",),
                             history=("ASEAN và Hoa Kỳ hợp tác gì?",))
    run_eval(seed_engine, [follow_up, follow_up])
    # Systems take turns, first in rotation, so none pays alone for the slow first calls.
    assert [c[3] for c in calls] == ["bm25", "dense", "hybrid", "dense", "hybrid", "bm25"]
    assert all(c[:3] == ("Còn Nhật Bản thì sao?", 10, ("ASEAN và Hoa Kỳ hợp tác gì?",)) for c in calls)


def test_run_eval_needs_ten_passages_and_questions(split_engine):
    with pytest.raises(ValueError, match="top_k"):
        run_eval(split_engine, [JAKARTA], top_k=5)
    with pytest.raises(ValueError, match="no questions"):
        run_eval(split_engine, [])


METRIC_KEYS = {"recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "abstain_answerable", "abstain_unanswerable",
               "answer_hit"}


def test_report_json_shape(seed_engine):
    report = run_eval(seed_engine, SEED_QUESTIONS)
    data = json.loads(json.dumps(report_json(report)))
    assert data.keys() == {"questions", "answerable", "unanswerable", "top_k", "systems"}
    assert (data["questions"], data["answerable"], data["unanswerable"], data["top_k"]) == (5, 3, 2, 10)
    assert list(data["systems"]) == ["bm25", "dense", "hybrid"]
    for system, out in zip(report.systems, data["systems"].values()):
        assert out.keys() == METRIC_KEYS | {"qps", "by_kind", "reliability"}
        assert out["recall@10"] == round(system.scores.recall[10], 4)
        assert out["mrr"] == round(system.scores.mrr, 4)
        assert out["qps"] > 0
        assert list(out["by_kind"]) == ["exact", "paraphrase", "unanswerable"]
        for kind in out["by_kind"].values():
            assert kind.keys() == METRIC_KEYS | {"questions"}
        # A metric that does not apply to a kind is null, not a misleading 0.
        assert out["by_kind"]["unanswerable"]["recall@1"] is None
        assert out["by_kind"]["unanswerable"]["abstain_answerable"] is None
        assert out["by_kind"]["exact"]["abstain_unanswerable"] is None
        assert out["by_kind"]["unanswerable"]["questions"] == 2
    with_misses = report_json(report, misses=True)["systems"]["hybrid"]["misses"]
    assert {m["qid"] for m in with_misses} >= {"a3"}
    assert with_misses[0].keys() == {"qid", "kind", "question", "answerable", "abstained", "top_doc_id", "top_text"}


def test_render_report_puts_systems_side_by_side_and_lists_misses(split_engine):
    questions = [JAKARTA, GoldQuestion("u", "Giá vàng hôm nay?", "unanswerable")]
    report = run_eval(split_engine, questions)
    text = render_report(report)
    header = next(line for line in text.splitlines() if "bm25" in line)
    assert header.split() == ["bm25", "dense", "hybrid"]
    recall1 = next(line for line in text.splitlines() if line.startswith("Recall@1 "))
    assert recall1.split()[1:] == ["1.000", "0.000", "1.000"]
    assert "Misses" not in text
    kind_row = next(line for line in text.splitlines() if line.startswith("unanswerable"))
    assert kind_row.count("—") == 9  # R@1, R@5, MRR do not apply, for three systems
    with_misses = render_report(report, misses=True)
    for system in report.systems:
        assert f"Misses of {system.name}: {len(system.misses)}" in with_misses
        for m in system.misses:
            assert f"- {m.qid} [{m.kind}]" in with_misses
            assert f"top: {m.top_doc_id}: {m.top_text}" in with_misses
