"""Answers and conversations as Markdown, each claim with its source."""
from __future__ import annotations

from qa.export import answer_markdown, conversation_markdown, md_text
from qa.types import Answer, AnswerSentence, Article, Generated, GeneratedSentence, Passage, ShortAnswer

ARTICLE = Article("tin/my.html", "Mỹ *hỗ trợ* ASEAN", "Mỹ đã cung cấp hơn 42 triệu liều vaccine.", "2021-10-27",
                  "TTXVN", url="https://example.vn/my")
PASSAGES = (
    Passage(1, "tin/my.html", ARTICLE.title, "2021-10-27", "TTXVN", ARTICLE.text, 0, 41, 0.9),
    Passage(2, "khac.txt", "Bài khác", "", "", "Không liên quan.", 0, 16, 0.5),
)
SENTENCE = AnswerSentence(ARTICLE.text, 1, 0, 41)


def test_an_answer_carries_its_cited_sources_only():
    answer = Answer("Mỹ cung cấp bao nhiêu liều?", False, "", PASSAGES, (SENTENCE,), 0.934,
                    short=ShortAnswer("hơn 42 triệu liều", 1, 15, 32))
    text = answer_markdown(answer, {ARTICLE.doc_id: ARTICLE})
    assert "**Trả lời ngắn:** hơn 42 triệu liều [1]" in text
    assert "**Đáp:** Mỹ đã cung cấp hơn 42 triệu liều vaccine. [1]" in text
    assert "Độ tin cậy: 93%." in text
    assert ("- [1] Mỹ \\*hỗ trợ\\* ASEAN. TTXVN, 27/10/2021. <https://example.vn/my> (tệp `tin/my.html`)"
            in text)
    assert "Bài khác" not in text  # not cited


def test_a_declined_question_says_why():
    answer = Answer("EU hỗ trợ bao nhiêu?", True, "", PASSAGES, (), 0.2, "Không đoạn nào nói về “EU”.")
    text = answer_markdown(answer, {})
    assert "**Đáp:** Kho bài viết không trả lời câu hỏi này. Không đoạn nào nói về “EU”." in text
    assert "[1]" not in text


def test_a_conversation_numbers_its_turns():
    answer = Answer("Hỏi?", False, "", PASSAGES, (SENTENCE,), 0.9)
    text = conversation_markdown([("Mỹ hỗ trợ gì?", answer, None), ("?", None, None)], {})
    assert text.startswith("# Hỏi đáp từ kho bài viết\n")
    assert "## 1. Mỹ hỗ trợ gì?" in text and "## 2. ?" in text and "Không xử lý được câu hỏi này." in text


def test_corpus_text_is_taken_literally():
    assert md_text("# Tiêu đề [x](y) *a* _b_ <c>") == "\\# Tiêu đề \\[x\\](y) \\*a\\* \\_b\\_ \\<c\\>"


def test_a_generated_answer_is_copied_with_its_verified_sentences_only():
    answer = Answer("Hỏi?", False, "", PASSAGES, (SENTENCE,), 0.9)
    generated = Generated("ok", "qwen", (GeneratedSentence("Câu đúng.", (2,), True),
                                         GeneratedSentence("Câu sai.", (1,), False, ("“5” không có trong [1]",))))
    text = answer_markdown(answer, {}, generated)
    assert "**Đáp** (do mô hình qwen viết, từng câu đã đối chiếu với nguồn): Câu đúng. [2]" in text
    assert "Câu sai" not in text
    assert "- [2]" in text and "- [1]" not in text  # only the sources the shown sentences cite
