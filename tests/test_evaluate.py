"""Tests for qa.evaluate: loading gold questions in both formats, and the metrics on hand-made answers."""
from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import pytest

from qa.evaluate import GoldQuestion, load_questions, score
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


def test_load_questions_missing_question_raises(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "evidence": ["a"]}])
    with pytest.raises(KeyError):
        load_questions(path)


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
