"""Tests for answerability: the alias table, question facts, passage support, reasons, answer scoring."""
from __future__ import annotations

import pytest

import numpy as np

from qa.abstain import FEATURES, AbstainParams, Evidence, reason
from qa.answer import Extract, extract_answer
from qa.aliases import find_groups, groups, tokenize
from qa.evaluate import GoldQuestion, reliability
from qa.normalize import fold_diacritics
from qa.question import analyze, canonical_number, expected_answer, numbers_in
from qa.support import TextView, answers_kind, check, implied_years
from qa.types import Answer, AnswerSentence, Passage


def names_in(question: str) -> list[str]:
    return [m.group.name for m in find_groups(tokenize(question), fold_diacritics(question) == question)
            if m.group.is_name]


@pytest.mark.parametrize("question, expected", [
    ("Liên minh châu Âu hỗ trợ ASEAN bao nhiêu tiền?", ["Liên minh châu Âu", "ASEAN"]),
    ("How much did the US give to the EU?", ["Mỹ", "Liên minh châu Âu"]),
    ("eu ho tro asean bao nhieu", ["Liên minh châu Âu", "ASEAN"]),  # typed lazily, in lower case
    ("nhat ban ho tro bao nhieu", ["Nhật Bản"]),
    ("Tổng thống Mỹ thăm Hà Nội khi nào?", ["Mỹ", "Hà Nội"]),
    ("Còn Anh thì trừng phạt bao nhiêu quan chức?", ["Vương quốc Anh"]),  # "Anh" alone is the UK
    ("What did the European Parliament vote on the EU-UK deal?", ["Nghị viện châu Âu", "Liên minh châu Âu",
                                                                  "Vương quốc Anh"]),
])
def test_names_are_found_with_their_aliases(question, expected):
    assert names_in(question) == expected


@pytest.mark.parametrize("question", [
    "Who told us about it?",  # "us" and "who" are words, not the US and the WHO
    "Nguyễn Minh Đức là ai?",  # "Đức" ends a person's name: not Germany
    "nuoc nao dung thu nhat",  # "nhat" is "nhất" here: one-word names are not trusted without diacritics
    "lao dong phap luat",
    "Anh ấy đã gặp ai?",  # "Anh ấy" opening a question is "he", not the UK
    "Rừng Amazon gọi bằng tiếng Anh là gì?",  # a language, not the UK
])
def test_words_that_only_look_like_names(question):
    assert names_in(question) == []


@pytest.mark.parametrize("question, english, expected", [
    ("Vụ nổ ở khách sạn Serena tại Quetta, Pakistan làm bao nhiêu người thương vong?", False,
     ["Serena", "Quetta", "Pakistan"]),  # a comma parts two names
    ("Who did the Trump–Biden debate favour, according to Joe Biden's team?", True, ["Joe Biden"]),
    ("Ông Miguel Diaz-Canel được bầu tại đại hội lần thứ mấy?", False, ["Miguel Diaz Canel"]),  # a hyphen joins
    # "Air Force" is a term the table translates ("Không quân"), not a name to find as written.
    ("How many cylinders did the Air Force C-5M Super Galaxy carry?", True, ["Super Galaxy"]),
])
def test_names_outside_the_table_end_at_punctuation(question, english, expected):
    assert [n.label for n in analyze(question, english=english).names] == expected


def test_every_group_has_a_name_and_variants():
    table = groups()
    assert len(table) > 200
    assert all(g.name and g.variants for g in table)
    assert {g.kind for g in table} == {"country", "org", "place", "term"}


def test_question_facts():
    facts = analyze("Cuộc họp SOM ASEAN-Trung Quốc lần thứ 28 năm 2022 diễn ra ở đâu?", english=False)
    assert [n.label for n in facts.names] == ["ASEAN", "Trung Quốc", "SOM"]
    assert (facts.numbers, facts.ordinals) == (("2022",), ("28",))
    assert facts.expects == "place"
    english = analyze("How many doses did Jared Allen give Japan in 2021?", english=True)
    assert {n.label for n in english.names} == {"Nhật Bản", "Jared Allen"}
    assert english.expects == "number"
    assert english.numbers == ("2021",)


def test_dates_and_editions_in_questions():
    facts = analyze("Dịp 30/4 - 1/5/2021, cuộc họp lần thứ 9 (the 10th) tháng 10/2013 đón 1.000 khách?", english=False)
    assert facts.numbers == ("2021", "2013", "1000")  # the day and month of a date are context
    assert facts.ordinals == ("9", "10")
    near_miss = check(facts, TextView("Cuộc họp lần thứ 8 năm 2021, 2013, 1.000 khách, lần thứ 10."),
                      lambda: TextView(""), always_known)
    assert near_miss.numbers_missing == ("9",)


def test_a_passage_giving_other_years_or_editions_conflicts():
    facts = analyze("Cuộc họp lần thứ 9 năm 2017 do ai chủ trì?", english=False)
    other = check(facts, TextView("Ngày 14/12/2016, cuộc họp lần thứ 8 do Bộ Ngoại giao chủ trì."),
                  lambda: TextView("năm 2017, lần thứ 9"), always_known)
    assert other.numbers_conflict == ("9", "2017")
    silent = check(facts, TextView("Cuộc họp do Bộ Ngoại giao chủ trì."), lambda: TextView("2017"), always_known)
    assert silent.numbers_conflict == ()


def test_the_rarest_missing_word_is_measured():
    facts = analyze("Khu kinh tế Vũng Áng thu hút bao nhiêu dự án?", english=False)
    rarity = {"~vung": 0.7, "~ang": 0.8, "~khu": 0.2}.get
    passage = TextView("Khu kinh tế Nghi Sơn đã thu hút 65 dự án.")
    assert check(facts, passage, lambda: passage, always_known, lambda t: rarity(t, 0.0)).rare_missing == 0.8
    same = TextView("Khu kinh tế Vũng Áng đã thu hút 65 dự án.")
    assert check(facts, same, lambda: same, always_known, lambda t: rarity(t, 0.0)).rare_missing == 0.0


def test_the_answer_sentence_holds_the_words_and_the_figure():
    facts = analyze("Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?", english=False)
    text = "Quan hệ hai bên phát triển tốt đẹp. Mỹ đã cung cấp hơn 42 triệu liều vaccine cho ASEAN."
    spans = [(0, 35), (36, len(text))]
    query = np.array([1.0, 0.0])
    vectors = np.array([[0.86, np.sqrt(1 - 0.86 ** 2)], [0.84, np.sqrt(1 - 0.84 ** 2)]])
    passage = Passage(1, "a.txt", "T", "", "", text, 0, len(text), 1.0)
    support = check(facts, TextView(text), lambda: TextView(text), always_known)
    extract = extract_answer(facts, query, [passage], [(spans, vectors)], [support])
    assert [s.text for s in extract.sentences] == [text[36:]]  # the other one is far less likely
    assert extract.kind_found and 0.0 < extract.best_probability < 1.0
    assert extract.features.shape == (2, len(extract.features[0])) and len(extract.candidates) == 2


def test_numbers_glued_to_names_are_not_numbers():
    assert numbers_in("COVID-19 và G20 năm 2021, giai đoạn 2016-2020, 1.000 người, 2,5%") == \
        ["2021", "2016", "2020", "1000", "2.5"]
    assert canonical_number("1,000,000") == canonical_number("1.000.000") == "1000000"


@pytest.mark.parametrize("question, kind", [
    ("Mỹ cung cấp bao nhiêu liều vaccine?", "number"),
    ("my cung cap bao nhieu lieu", "number"),
    ("Có mấy nước tham gia?", "number"),
    ("Khi nào văn phòng CDC khai trương?", "date"),
    ("In what year was the fund set up?", "date"),
    ("Cuộc họp diễn ra ở đâu?", "place"),
    ("Who chaired the meeting?", "person"),
    ("Cơ quan nào thực hiện dự án?", "person"),
    ("Quan hệ hai nước phát triển thế nào?", ""),
])
def test_expected_answer(question, kind):
    assert expected_answer(question) == kind


def never_known(tokens):
    return []


def always_known(tokens):
    return list(tokens)


def test_support_finds_names_in_passage_article_or_nowhere():
    facts = analyze("Liên minh châu Âu và Nhật Bản hỗ trợ ASEAN bao nhiêu năm 2021?", english=False)
    passage = TextView("EU công bố hỗ trợ ASEAN 20 triệu euro trong năm 2021.")
    article = TextView("Tiêu đề. EU công bố hỗ trợ ASEAN. Nhật Bản cũng tham gia.")
    s = check(facts, passage, lambda: article, always_known)
    assert (s.names, s.missing, s.outside, s.unknown) == (3, (), ("Nhật Bản",), ())
    assert s.numbers_missing == ()
    s = check(facts, TextView("Hoa Kỳ hỗ trợ ASEAN năm 2020."), lambda: TextView("Hoa Kỳ"), always_known)
    assert s.missing == ("Liên minh châu Âu", "Nhật Bản") and s.numbers_missing == ("2021",)
    s = check(facts, TextView("Hoa Kỳ hỗ trợ ASEAN."), lambda: TextView(""), never_known)
    assert s.unknown == ("Liên minh châu Âu", "Nhật Bản")


def test_english_names_outside_the_table_are_not_held_against_a_passage():
    # "Panthers" may be written as is or translated: when the corpus never has it, it is not checked.
    facts = analyze("How many points did the Panthers give up?", english=True)
    s = check(facts, TextView("Đội phòng thủ chỉ để thua 308 điểm."), lambda: TextView(""), never_known)
    assert (s.names, s.unknown, s.missing) == (0, (), ())


@pytest.mark.parametrize("question, english", [
    ("fdi cua nhat ban vao asean nam 2020 dat bao nhieu", False),  # typed without diacritics
    ("How much did Japan invest in ASEAN in 2020?", True),
])
def test_table_names_keep_their_diacritics_when_the_question_has_none(question, english):
    # "Nhật" (Japan) folds to "nhat" like "nhất" (most): the passage's "lớn nhất" does not name Japan.
    facts = analyze(question, english=english)
    wrong = TextView("Hoa Kỳ là nhà đầu tư lớn nhất của ASEAN năm 2020.")
    assert check(facts, wrong, lambda: wrong, always_known).missing == ("Nhật Bản",)
    right = TextView("Nhật Bản đầu tư 12 tỷ USD vào ASEAN năm 2020.")
    assert check(facts, right, lambda: right, always_known).missing == ()


def test_one_word_names_are_capitalized_in_the_passage():
    # "Anh", "Pháp" are the UK and France only when capitalized: "anh em", "pháp luật" are not.
    facts = analyze("Thủ tướng Anh và Pháp ký thỏa thuận gì?", english=False)
    assert [n.label for n in facts.names] == ["Vương quốc Anh", "Pháp"]
    wrong = TextView("Các anh em tìm hiểu pháp luật về thỏa thuận.")
    assert check(facts, wrong, lambda: wrong, always_known).missing == ("Vương quốc Anh", "Pháp")
    right = TextView("Thỏa thuận giữa Anh và Pháp về hải quân.")
    assert check(facts, right, lambda: right, always_known).missing == ()


def test_an_undated_article_stands_for_the_year_after_the_latest_it_cites():
    facts = analyze("Diễn đàn ở Berlin tháng 7/2017 trao bao nhiêu văn bản?", english=False)
    text = "Chiều 6/7, diễn đàn ở Berlin trao 28 văn bản. Kim ngạch năm 2016 đạt 9 tỷ USD."
    assert implied_years("", text) == {"2016", "2017"} and implied_years("2017-07-07", text) == frozenset()
    undated = TextView(text, implied_years("", text))
    s = check(facts, undated, lambda: undated, always_known)
    assert (s.numbers_missing, s.numbers_conflict) == ((), ())
    # Stated, the years count as before: a 2016 article gives no 2017; another year still conflicts.
    s = check(facts, TextView(text), lambda: TextView(text), always_known)
    assert (s.numbers_missing, s.numbers_conflict) == (("2017",), ("2017",))
    later = analyze("Diễn đàn ở Berlin tháng 7/2019 trao bao nhiêu văn bản?", english=False)
    assert check(later, undated, lambda: undated, always_known).numbers_conflict == ("2019",)


def test_the_answerability_weights_match_the_features():
    assert len(AbstainParams().weights) == len(FEATURES)
    with pytest.raises(ValueError, match="calibrate"):
        AbstainParams(weights=AbstainParams().weights[:-1])


def test_a_passage_on_another_country_conflicts():
    # Japan asked, the passage on the US: a near miss, unlike a passage that only lacks Japan.
    facts = analyze("How many vaccine doses had Japan provided to ASEAN by the end of 2021?", english=True)
    us = TextView("Đến cuối năm 2021, Hoa Kỳ đã cung cấp hơn 42 triệu liều vaccine cho ASEAN.")
    article = TextView("Nhật Bản cũng hỗ trợ ASEAN. " + us.text)
    assert check(facts, us, lambda: article, always_known).names_conflict == ("Nhật Bản",)
    plain = TextView("Đến cuối năm 2021, hơn 42 triệu liều vaccine đã đến ASEAN.")
    assert check(facts, plain, lambda: article, always_known).names_conflict == ()
    us_asked = analyze("How many vaccine doses had the US provided to ASEAN by the end of 2021?", english=True)
    assert check(us_asked, us, lambda: us, always_known).names_conflict == ()


def test_accents_written_the_old_way_still_match():
    facts = analyze("Tỉnh Hòa Bình nhận bao nhiêu tiền?", english=False)
    assert "Hòa Bình" in [n.label for n in facts.names]
    s = check(facts, TextView("Tỉnh Hoà Bình nhận 5 tỷ đồng."), lambda: TextView(""), always_known)
    assert s.missing == ()


def test_english_terms_are_looked_up_in_vietnamese():
    facts = analyze("How many vaccine doses did the US provide?", english=True)
    s = check(facts, TextView("Hoa Kỳ đã cung cấp hơn 42 triệu liều vắc xin."), lambda: TextView(""), always_known)
    assert s.terms >= 0.75


@pytest.mark.parametrize("expects, sentence, found", [
    ("number", "Hoa Kỳ đã cung cấp hơn 42 triệu liều vaccine.", True),
    ("number", "Hoa Kỳ đã cung cấp vaccine cho ASEAN năm 2021.", False),  # 2021 is the question's own
    ("date", "Văn phòng khai trương ngày 25/8/2021.", True),
    ("date", "Văn phòng khai trương tại Hà Nội.", False),
    ("place", "Cuộc họp diễn ra tại Jakarta.", True),
    ("person", "Cuộc họp do Thứ trưởng Nguyễn Quốc Dũng chủ trì.", True),
    ("person", "Cuộc họp diễn ra tốt đẹp.", False),
])
def test_answers_kind(expects, sentence, found):
    facts = analyze("Mỹ cung cấp vaccine cho ASEAN năm 2021 khi nào?", english=False)
    assert answers_kind(expects, TextView(sentence), sentence, facts) is found


def test_reason_names_only_what_no_passage_has():
    facts = analyze("Liên minh châu Âu hỗ trợ ASEAN bao nhiêu tiền?", english=False)
    article = lambda: TextView("")  # noqa: E731
    no_eu = check(facts, TextView("Hoa Kỳ hỗ trợ ASEAN 200 triệu USD."), article, always_known)
    with_eu = check(facts, TextView("EU hỗ trợ ASEAN."), article, always_known)
    evidence = Evidence.of(0.8, Extract((), 0.8, True), no_eu, facts, 1.0, False)
    assert "Liên minh châu Âu" in reason(facts, [no_eu, no_eu], evidence)
    assert "Liên minh châu Âu" not in reason(facts, [no_eu, with_eu], evidence)
    unknown = check(facts, TextView("Hoa Kỳ hỗ trợ ASEAN."), article, never_known)
    assert reason(facts, [unknown], evidence).startswith("Kho bài viết không có bài nào nhắc đến")


def _answer(text: str, confidence: float, abstained: bool = False) -> Answer:
    passage = Passage(1, "a.txt", "T", "", "", text, 0, len(text), 1.0)
    return Answer("q", abstained, text, (passage,), (AnswerSentence(text, 1, 0, len(text)),), confidence)


def test_answer_hit_and_reliability():
    q = GoldQuestion("1", "q", "vi", evidence=("42 triệu liều",))
    right = _answer("Hoa Kỳ cung cấp hơn 42 triệu liều.", 0.93)
    wrong = _answer("Nhật Bản tài trợ 85 triệu USD.", 0.97)
    assert q.answer_hit(right) and q.right(right)
    assert not q.answer_hit(wrong)
    assert not q.right(_answer("Hoa Kỳ cung cấp hơn 42 triệu liều.", 0.2, abstained=True))
    unanswerable = GoldQuestion("2", "q", "near-miss")
    bins = {(b.low, b.high): b for b in reliability([q, q, unanswerable], [right, wrong, right])}
    assert (bins[(0.9, 0.95)].shown, bins[(0.9, 0.95)].right) == (2, 1)  # an unanswerable answered is wrong
    assert (bins[(0.95, 1.0)].shown, bins[(0.95, 1.0)].right) == (1, 0)
