"""The first screen's facts about a corpus, and examples the corpus is checked to answer."""
from __future__ import annotations

from qa.overview import answered_examples, overview
from qa.types import Answer, Article


def test_overview_counts_outlets_dates_and_names():
    articles = [
        Article("a", "ASEAN và Nhật Bản hợp tác", "x", "2021-05-02", "TTXVN"),
        Article("b", "Mỹ hỗ trợ ASEAN", "x", "2019-01-03", "TTXVN/Vietnam+"),
        Article("c", "Tin trong nước", "x", "", ""),
    ]
    facts = overview(articles)
    assert facts.articles == 3 and facts.undated == 1
    assert facts.first == "2019-01-03" and facts.last == "2021-05-02"
    assert facts.outlets[0] == ("TTXVN", 2) and facts.outlet_count == 2
    assert facts.names[0] == "ASEAN" and set(facts.names) == {"ASEAN", "Nhật Bản", "Mỹ"}


def test_only_examples_the_corpus_answers_are_offered():
    def ask(question: str) -> Answer:
        answered = question.startswith("có")
        return Answer(question, not answered, "", (), confidence=0.9 if answered else 0.2)

    assert answered_examples(["có 1", "không", "có 2", "có 3"], ask, limit=2) == ["có 1", "có 2"]
