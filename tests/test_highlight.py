"""qa.highlight: corpus text is escaped before any mark is inserted, and marks land on the offsets."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from hypothesis import given, strategies as st

from qa.highlight import (_JOINABLE_GAP, SUPPORT_CLASS, TERM_CLASS, answer_html, article_html, merge_spans,
                          passage_html, query_terms, render_marked, term_spans)
from qa.tokens import SYLLABLE
from qa.types import Answer, AnswerSentence, Passage

ALLOWED_TAGS = {"mark", "span", "br", "div", "sup"}


class _Tags(HTMLParser):
    """Collects tags and checks they nest properly."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, list[str]]] = []  # open tags, each with the text inside it
        self.tags: list[str] = []
        self.closed: list[tuple[str, str]] = []  # (class, text) of each closed element
        self.balanced = True

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, _ in attrs:
            assert name == "class", f"unexpected attribute {name}"
        if tag == "br":
            self.handle_data("\n")
        else:
            self.stack.append((tag, [dict(attrs).get("class") or ""]))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            self.balanced = False
            return
        _, parts = self.stack.pop()
        self.closed.append((parts[0], "".join(parts[1:])))

    def handle_data(self, data):
        for _, parts in self.stack:
            parts.append(data)


def parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


def plain(markup: str) -> str:
    """The text a browser shows, with <br> back to newlines."""
    return html.unescape(re.sub(r"<(?!br>)[^>]+>", "", markup).replace("<br>", "\n"))


def marked(markup: str, cls: str) -> list[str]:
    """The text of each element of class `cls`, in the order they close."""
    return [text for c, text in parse(markup).closed if c == cls]


ATTACK = 'Tin <img src=x onerror=alert(1)> và <script>alert("x")</script> & "trích dẫn" \'đơn\''


def test_corpus_markup_is_escaped_never_interpreted():
    out = render_marked(ATTACK, support=[(0, len(ATTACK))], terms=term_spans(ATTACK, {"img", "script"}))
    tags = parse(out)
    assert set(tags.tags) <= ALLOWED_TAGS  # no <img>, no <script>: they are text
    assert "<img" not in out and "<script" not in out
    assert "src=x onerror=alert(1)&gt;" in out and "&lt;/" in out
    assert marked(out, TERM_CLASS) == ["img", "script", "script"]
    assert plain(out) == ATTACK
    assert render_marked(ATTACK) == html.escape(ATTACK)


def test_support_and_terms_are_marked_at_offsets():
    text = "Hoa Kỳ cung cấp 42 triệu liều vaccine. Nhật Bản hỗ trợ 85 triệu USD."
    start = text.index("Nhật")
    out = render_marked(text, support=[(start, len(text))], terms=term_spans(text, query_terms("Nhật Bản hỗ trợ bao nhiêu?")))
    assert marked(out, SUPPORT_CLASS)[0].startswith("Nhật Bản hỗ trợ 85 triệu USD.")
    assert marked(out, TERM_CLASS) == ["Nhật Bản hỗ trợ"]  # adjacent words join into one mark
    assert parse(out).balanced
    assert plain(out) == text


def test_query_words_match_without_diacritics_but_not_other_words():
    text = "Mỹ và Nhật Bản. Ban Thư ký bàn bạc. Uỷ ban hoà bình."
    assert [text[a:b] for a, b in term_spans(text, query_terms("my nhat ban"))] == ["Mỹ", "Nhật Bản", "Ban", "bàn", "ban"]
    # Typed with marks: the same marks only, wherever the tone mark sits ("Ủy"/"Uỷ", "hòa"/"hoà").
    assert [text[a:b] for a, b in term_spans(text, query_terms("Nhật Bản Ủy hòa"))] == ["Nhật Bản", "Uỷ", "hoà"]
    # In an accented question an unmarked word is that word: "cung" is not "cũng".
    other = "Mỹ cũng cung cấp vaccine."
    assert [other[a:b] for a, b in term_spans(other, query_terms("Mỹ cung cấp vaccine"))] == ["Mỹ", "cung cấp vaccine"]


def test_stop_words_and_follow_up_openers_are_not_marked():
    assert query_terms("Còn Nhật Bản thì sao?") == {"nhật bản"}
    assert "bao" not in query_terms("Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?")


def test_a_compound_is_marked_whole_never_its_syllables_alone():
    text = "Hội nghị cấp cao bàn về hợp tác; Mỹ cung cấp vaccine, tác động lớn."
    spans = term_spans(text, query_terms("Mỹ cung cấp bao nhiêu vaccine cho hợp tác?"))
    assert [text[a:b] for a, b in spans] == ["hợp tác", "Mỹ cung cấp vaccine"]


def test_newlines_become_breaks_inside_marks():
    text = "Dòng một.\n\nDòng hai."
    out = render_marked(text, support=[(0, len(text))])
    assert out == f'<mark class="{SUPPORT_CLASS}">Dòng một.<br><br>Dòng hai.</mark>'


def test_merge_spans_clips_and_merges():
    assert merge_spans([(5, 9), (-3, 2), (8, 12), (20, 30), (15, 15)], 25) == [(0, 2), (5, 12), (20, 25)]


def _answer() -> tuple[str, Answer]:
    article = "Đoạn đầu. Mỹ cung cấp 42 triệu liều vaccine <b>cho</b> ASEAN. Đoạn sau."
    start = article.index("Mỹ")
    end = article.index("Đoạn sau") - 1
    passage = Passage(1, "a.txt", "Tiêu đề", "2022-06-16", "TTXVN", article[10:end], 10, end, 2.5)
    sentence = AnswerSentence(article[start:end], 1, start, end)
    return article, Answer("Mỹ cung cấp bao nhiêu vaccine?", False, f"{sentence.text} [1]", (passage,), (sentence,), 0.9)


def test_passage_and_article_views():
    article, answer = _answer()
    passage = answer.passages[0]
    shown = passage_html(passage, answer)
    assert marked(shown, SUPPORT_CLASS) == [answer.sentences[0].text]
    assert "&lt;b&gt;cho&lt;/b&gt;" in shown
    whole = article_html(article, passage, answer)
    assert '<span class="qa-focus">' in whole and plain(whole) == article
    assert parse(whole).balanced
    assert answer_html(answer.sentences).count("[1]") == 1


@given(st.text(alphabet=st.sampled_from(list("ab <>&\"'\nMỹ")), max_size=40),
       st.lists(st.tuples(st.integers(-5, 45), st.integers(-5, 45)), max_size=4),
       st.lists(st.tuples(st.integers(-5, 45), st.integers(-5, 45)), max_size=4),
       st.lists(st.tuples(st.integers(-5, 45), st.integers(-5, 45)), max_size=4))
def test_any_spans_give_balanced_safe_markup_with_the_same_text(text, focus, support, terms):
    out = render_marked(text, focus=focus, support=support, terms=terms)
    tags = parse(out)
    assert tags.balanced and not tags.stack
    assert set(tags.tags) <= ALLOWED_TAGS
    assert plain(out) == text


WORDS = ["Mỹ", "my", "MỸ", "cung", "cũng", "cấp", "ASEAN", "hoà", "hòa", "Nhật", "Bản", "ở", "2020"]


@given(text=st.lists(st.sampled_from(WORDS + [" ", "-", " – ", ", ", "\n", "<b>", "\u0301"]), max_size=30).map("".join),
       terms=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
def test_term_spans_cover_whole_matching_words_and_nothing_else(text, terms):
    spans = term_spans(text, terms)
    words = [(m.start(), m.end(), m.group()) for m in SYLLABLE.finditer(text)]
    marked = {(a, b) for a, b, _ in words if any(s <= a and b <= e for s, e in spans)}
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(prev[1] < nxt[0] for prev, nxt in zip(spans, spans[1:]))
    for s, e in spans:
        # A span starts and ends on word edges and holds only matching words and joinable gaps.
        inside = [(a, b) for a, b, _ in words if s <= a and b <= e]
        assert inside and inside[0][0] == s and inside[-1][1] == e
        assert all(_JOINABLE_GAP.fullmatch(text, x[1], y[0]) for x, y in zip(inside, inside[1:]))
    # A word is marked in context exactly when it is marked on its own: spans never cut or stretch words.
    assert marked == {(a, b) for a, b, _ in words if term_spans(text[a:b], terms) == [(0, b - a)]}
