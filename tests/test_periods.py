"""A question's period and "the latest" prefer articles of that date, never dropping the others."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import FUSION_ORDER, FakeEncoder

from qa.abstain import AbstainParams
from qa.build import build_index
from qa.engine import Engine
from qa.index.store import load_index
from qa.periods import Period, asked_period, asks_latest
from qa.rerank import RerankParams, date_preference

D = dt.date


@pytest.mark.parametrize("question, period", [
    ("Cuộc họp lần thứ 9 năm 2017 do ai chủ trì?", (D(2017, 1, 1), D(2017, 12, 31))),
    ("cuoc hop lan thu 9 nam 2017 do ai chu tri", (D(2017, 1, 1), D(2017, 12, 31))),
    ("Who chaired the meeting in 2013?", (D(2013, 1, 1), D(2013, 12, 31))),
    ("Giá xăng ngày 12/4/2021 là bao nhiêu?", (D(2021, 4, 12), D(2021, 4, 19))),
    ("Tháng 5/2022 có bao nhiêu ca nhiễm?", (D(2022, 5, 1), D(2022, 5, 31))),
    ("thang 2 nam 2024 co bao nhieu ca", (D(2024, 2, 1), D(2024, 2, 29))),
    ("How many cases were there in May 2022?", (D(2022, 5, 1), D(2022, 5, 31))),
    ("Kế hoạch giai đoạn 2016-2020 gồm những gì?", (D(2016, 1, 1), D(2020, 12, 31))),
    ("Từ năm 2015 đến năm 2018 có gì thay đổi?", (D(2015, 1, 1), D(2018, 12, 31))),
])
def test_the_period_a_question_names(question, period):
    assert asked_period(question) == Period(*period)


@pytest.mark.parametrize("question", ["Cuộc họp lần thứ 28 diễn ra ở đâu?", "Có 1.000 người tham dự không?",
                                      "Tàu chở 2.021 container", "Giá 31/12 là bao nhiêu?"])
def test_numbers_that_are_not_a_period(question):
    assert asked_period(question) is None


def test_asking_for_the_latest():
    for question in ("Tin mới nhất về ASEAN?", "tin moi nhat ve ASEAN", "Gần đây Mỹ hỗ trợ gì?",
                     "What is the latest on the South China Sea?", "How many cases are there now?"):
        assert asks_latest(question), question
    assert not asks_latest("Mỹ hỗ trợ ASEAN bao nhiêu?")


def test_date_preference_orders_period_then_undated_then_outside():
    params = RerankParams()
    dates = ["2016-05-01", "", "2017-03-02", "not a date"]
    bonus = date_preference(dates, asked_period("năm 2017"), False, params)
    assert bonus[2] > bonus[1] == bonus[3] == 0 > bonus[0]
    latest = date_preference(["2013-01-01", "", "2021-06-30", "2019-01-01"], None, True, params)
    assert latest[2] > latest[3] > latest[1] == 0 > latest[0]
    assert not date_preference(dates, None, False, params).any()
    assert not date_preference(["", ""], None, True, params).any()


def dated_reports(folder):
    """Four reports of one yearly meeting, alike in topic but not copies; one undated."""
    topics = ["an ninh lương thực và giá gạo xuất khẩu", "biến đổi khí hậu và nước biển dâng ở đồng bằng",
              "kết nối hạ tầng đường sắt xuyên biên giới", "chuyển đổi số và thương mại điện tử nội khối"]
    rows = [{"id": f"report-{year}", "title": f"Hội nghị thường niên bàn về {topic}",
             "text": f"Hội nghị thường niên của các bộ trưởng khu vực đã thảo luận về {topic}. "
                     f"Phiên họp thứ {i + 1} kéo dài hai ngày với sự tham dự của {10 + i} đoàn đại biểu.",
             "date": f"{year}-06-01" if year else ""} for i, (year, topic) in enumerate(zip((2021, 2017, None, 2015), topics))]
    folder.mkdir()
    (folder / "news.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return folder / "news.jsonl"


def test_the_engine_prefers_the_period_and_the_newest_and_keeps_undated(tmp_path):
    corpus, index = dated_reports(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, encoder=FakeEncoder())
    engine = Engine(load_index(index), FakeEncoder(), index, abstain=AbstainParams(threshold=0.0), rerank=FUSION_ORDER)

    def ranked(question):
        return [p.doc_id for p in engine.ask(question, top_k=4).passages]

    assert ranked("Hội nghị thường niên năm 2017 bàn về gì?")[0] == "report-2017"
    # By fusion alone (the fake encoder) report-2015 comes first for both questions.
    assert ranked("Phiên họp mới nhất kéo dài mấy ngày?")[0] == "report-2021"
    assert len(ranked("Hội nghị thường niên năm 2030 bàn về gì?")) == 4  # nothing dropped
    scores = [p.score for p in engine.ask("Hội nghị thường niên năm 2017 bàn về gì?", top_k=4).passages]
    assert scores == sorted(scores, reverse=True) and np.isfinite(scores).all()
