"""The short answer read from the first answer sentence; shown only when one candidate clearly fits."""
from __future__ import annotations

import pytest

from qa.answer import format_answer
from qa.highlight import answer_html, short_html
from qa.question import analyze
from qa.short_answer import short_answer, short_of
from qa.types import AnswerSentence


def short(question: str, sentence: str) -> str | None:
    span = short_answer(analyze(question, english=question.startswith(("How", "When", "Who", "Where"))), question,
                        sentence)
    return sentence[span[0]:span[1]] if span else None


@pytest.mark.parametrize("question, sentence, expected", [
    ("Mỹ đã cung cấp bao nhiêu liều vaccine cho ASEAN?",
     "Tính đến nay, Mỹ đã cung cấp hơn 42 triệu liều vaccine cho các nước ASEAN.", "hơn 42 triệu liều"),
    # The figure in the unit asked for, not the first figure.
    ("Australia hỗ trợ đào tạo bao nhiêu kỹ sư nông nghiệp?",
     "Australia sẽ hỗ trợ 15 triệu đô la Australia để đào tạo 300 kỹ sư nông nghiệp trong 5 năm.", "300 kỹ sư"),
    # A measure, not a rank ("thứ 2") nor the question's own year.
    ("Thương mại hai chiều ASEAN - Hoa Kỳ năm 2020 đạt bao nhiêu?",
     "Hoa Kỳ là đối tác thương mại lớn thứ 2 của ASEAN với kim ngạch đạt 308,3 tỷ USD năm 2020.", "308,3 tỷ USD"),
    ("Bao nhiêu dòng hành động đã được triển khai?",
     "Kế hoạch có 71/75 dòng hành động đã được triển khai.", "71/75 dòng"),
    ("Khi nào CDC mở văn phòng khu vực tại Hà Nội?",
     "Ngày 25/8/2021, CDC Hoa Kỳ chính thức mở Văn phòng khu vực Đông Nam Á tại Hà Nội.", "25/8/2021"),
    ("When did the US CDC open its office in Hanoi?",
     "Ngày 25/8/2021, CDC Hoa Kỳ chính thức mở Văn phòng khu vực Đông Nam Á tại Hà Nội.", "25/8/2021"),
    ("Ai chủ trì cuộc họp liên ngành về hợp tác ASEAN?",
     "Thứ trưởng Bộ Ngoại giao Nguyễn Quốc Dũng chủ trì cuộc họp liên ngành về hợp tác ASEAN.", "Nguyễn Quốc Dũng"),
    ("Hội nghị được tổ chức ở đâu?", "Hội nghị được tổ chức tại Hà Nội vào ngày 12/5/2023.", "Hà Nội"),
])
def test_the_short_answer_is_the_span_asked_for(question, sentence, expected):
    assert short(question, sentence) == expected


@pytest.mark.parametrize("question, sentence", [
    ("Hợp tác ASEAN - Nhật Bản có ý nghĩa gì?", "Hợp tác đạt 300 triệu USD năm 2020."),  # asks for no figure
    ("Nhật Bản mở bao nhiêu khóa đào tạo?", "Nhật Bản mở 1 khóa đào tạo năm 2019 và 3 khóa đào tạo năm 2020."),  # two fit
    ("Khi nào hội nghị diễn ra?", "Hội nghị diễn ra trực tuyến."),  # no date
    ("Năm 2021 Mỹ viện trợ bao nhiêu?", "Năm 2021, Mỹ tăng cường viện trợ."),  # only the question's own year
])
def test_no_short_answer_rather_than_a_guess(question, sentence):
    assert short(question, sentence) is None


def test_the_short_answer_is_cited_and_marked_in_its_sentence():
    sentence = AnswerSentence("Mỹ đã cung cấp hơn 42 triệu liều vaccine.", 2, 100, 141)
    found = short_of(analyze("Mỹ cung cấp bao nhiêu liều vaccine?", False), "Mỹ cung cấp bao nhiêu liều vaccine?",
                     sentence)
    assert (found.text, found.citation, found.start, found.end) == ("hơn 42 triệu liều", 2, 115, 132)
    markup = answer_html([sentence], found, anchor="7")
    assert '<mark class="qa-short">hơn 42 triệu liều</mark>' in markup
    assert '<a href="#qa-source-7-2">[2]</a>' in markup
    assert "<strong>hơn 42 triệu liều</strong>" in short_html(found)


def test_a_run_of_sentences_from_one_source_is_cited_once():
    sentences = [AnswerSentence("A.", 1, 0, 2), AnswerSentence("B.", 1, 3, 5), AnswerSentence("C.", 2, 0, 2)]
    assert format_answer(sentences) == "A. B. [1] C. [2]"
    assert answer_html(sentences).count("[1]") == 1
