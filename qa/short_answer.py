"""The short answer itself ("hơn 42 triệu liều", "25/8/2021", "Bùi Thanh Sơn"), read from the cited sentence.

A question that asks for a figure, a date, a place or a name gets that span of the first answer
sentence: the first one of its kind that the question does not itself give. It is shown above the
sentence and marked inside it, so the reader sees it in its context; none is shown rather than a guess.
"""
from __future__ import annotations

import re

from . import segment
from .normalize import fold_diacritics
from .question import QuestionFacts, canonical_number
from .tokens import STOPWORDS
from .types import AnswerSentence, ShortAnswer

_MONTH_NAMES = ("January|February|March|April|May|June|July|August|September|October|November|December")
_YEAR = r"(?:1[89]|20)\d\d"
_DATE = re.compile(
    rf"\b(?:ngày\s+\d{{1,2}}\s+tháng\s+\d{{1,2}}(?:\s+năm\s+{_YEAR})?"
    rf"|(?:(?:ngày|sáng|trưa|chiều|tối|đêm|hôm)\s+)?\d{{1,2}}[/-]\d{{1,2}}(?:[/-]{_YEAR})?(?![\d/])"
    rf"|tháng\s+\d{{1,2}}(?:[/-]|\s+năm\s+){_YEAR}|tháng\s+\d{{1,2}}|(?:năm\s+)?{_YEAR}(?!\d)"
    rf"|(?:{_MONTH_NAMES})\s+\d{{1,2}}(?:,\s*{_YEAR})?|\d{{1,2}}\s+(?:{_MONTH_NAMES})(?:\s+{_YEAR})?"
    rf"|(?:{_MONTH_NAMES})\s+{_YEAR})\b")
_QUALIFIER = (r"(?:(?:hơn|gần|khoảng|trên|dưới|tới|đến|chừng|gần như|tổng cộng|tối đa|tối thiểu|more than|over|about"
              r"|nearly|almost|around|up to)\s+)?")
_SCALE = r"(?:\s+(?:nghìn tỷ|nghìn|ngàn|triệu|tỷ|tỉ|thousand|million|billion|trillion))?"
_UNIT = r"(?:\s*%|\s+(?:USD|EUR|VND|VNĐ|đồng|yên|euro|đô la|đôla|USD/tấn|km|kg|tấn|ha|m2|MW))?"
_FIGURE = re.compile(rf"{_QUALIFIER}(?:US\$|\$)?(?<![\w.,/])\d+(?:[.,]\d+)*(?:/\d+)?(?![\w/]){_SCALE}{_UNIT}", re.I)
# Not "ba" (also Mrs) nor "năm" (also year).
_NUMBER_WORD = re.compile(r"\b(?:hai|bốn|sáu|bảy|tám|chín|mười|hàng chục|hàng trăm|hàng nghìn|hàng triệu)"
                          r"(?:\s+(?:nghìn|triệu|tỷ))?\b", re.I)
_WORD = re.compile(r"\w+(?:[-.&']\w+)*")
_MARGIN = 1.0  # how far ahead of the next candidate the chosen span must score
_PLACE_BEFORE = frozenset("tại ở từ đến in at from".split())
# A title shortly before a name, folded: the name is likely a person's.
_TITLE = re.compile(r"\b(?:dai su|thu truong|bo truong|thu tuong|tong thong|chu tich|ngoai truong|tong bi thu|giam doc"
                    r"|tong giam doc|nguoi phat ngon|ong|ba|president|minister|ambassador|secretary|mr|ms|mrs)\b")


def short_of(facts: QuestionFacts, question: str, sentence: AnswerSentence) -> ShortAnswer | None:
    """The short answer of `question` in the first answer sentence, with its citation and offsets."""
    span = short_answer(facts, question, sentence.text)
    if span is None:
        return None
    start, end = span
    return ShortAnswer(sentence.text[start:end], sentence.citation, sentence.start + start, sentence.start + end)


def short_answer(facts: QuestionFacts, question: str, sentence: str) -> tuple[int, int] | None:
    """(start, end) of the short answer in `sentence`, or None when the question asks for none or
    the sentence holds none that the question does not already give."""
    if facts.expects == "number":
        return _figure(facts, question, sentence)
    if facts.expects == "date":
        return _new_date(question, sentence)
    if facts.expects in ("person", "place") and not facts.english:  # names the text translates: no check
        return _name(question, sentence, place=facts.expects == "place")
    return None


def _figure(facts: QuestionFacts, question: str, sentence: str) -> tuple[int, int] | None:
    """The figure that best fits: in the unit the question asks in ("bao nhiêu kỹ sư"), a measure
    (with a scale, a currency or %), near the question's words; not a date, rank or given number."""
    dates = [m.span() for m in _DATE.finditer(sentence) if _valid_date(m.group())]
    given = set(facts.numbers) | set(facts.ordinals)
    unit = _asked_unit(question)
    near = _content_words(question)
    scored: list[tuple[float, tuple[int, int]]] = []
    matches = [(m.start(), m.end(), m.group()) for m in _FIGURE.finditer(sentence)]
    matches += [(m.start(), m.end(), m.group()) for m in _NUMBER_WORD.finditer(sentence)]
    for start, end, text in sorted(matches):
        digits = re.search(r"\d+(?:[.,/]\d+)*", text)
        at = start + (digits.start() if digits else 0)
        if any(s <= at < e for s, e in dates) or (digits and canonical_number(digits.group()) in given):
            continue
        if re.search(r"(?:thứ|hạng|số)\s+$", sentence[max(0, start - 6):start], re.I):
            continue  # a rank or a number in a name, not a quantity
        with_unit = _with_unit(unit, sentence, end)
        window = set(_fold(sentence[max(0, start - 50):end + 50]).split())
        score = (2.0 * (with_unit > end) + 1.0 * (text != (digits.group() if digits else text))
                 + 0.5 * len(near & window))
        scored.append((score, (start, with_unit)))
    return _clear_winner(scored)


def _valid_date(text: str) -> bool:
    """"25/8" is a date, "71/75" is a share."""
    m = re.search(r"(\d{1,2})[/-](\d{1,2})", text)
    return not m or (1 <= int(m[1]) <= 31 and 1 <= int(m[2]) <= 12)


def _asked_unit(question: str) -> str:
    """The word after "bao nhiêu" / "mấy" ("kỹ sư", "liều"), folded; "" when none."""
    words = segment.words(question)
    for i, w in enumerate(words[:-1]):
        if _fold(w) in ("bao nhieu", "may") and words[i + 1][:1].isalpha():
            return _fold(words[i + 1])
    return ""


def _content_words(question: str) -> set[str]:
    return {w for w in _fold(question).split() if len(w) > 1 and w not in STOPWORDS and not w.isdigit()}


def _with_unit(unit: str, sentence: str, end: int) -> int:
    """Extend a figure by the unit the question asks in ("300" -> "300 kỹ sư"), when it follows."""
    if unit:
        m = re.match(rf"\s+{re.escape(unit)}\b", _fold(sentence[end:]))
        if m:
            return end + m.end()
    return end


def _new_date(question: str, sentence: str) -> tuple[int, int] | None:
    """The first date in the sentence that the question does not itself give."""
    asked = _fold(question)
    for m in _DATE.finditer(sentence):
        digits = re.findall(r"\d+", m.group())
        if digits and all(re.search(rf"(?<!\d){d}(?!\d)", asked) for d in digits):
            continue  # the question's own date
        return m.span()
    return None


def _name(question: str, sentence: str, place: bool) -> tuple[int, int] | None:
    """The run of capitalized words the question does not give that best fits: for a place, one
    after "tại", "ở", "in"; for a person or body, one after a title ("Đại sứ", "Thứ trưởng") or of
    two words or more, near the question's words. One capitalized word counts only as an acronym."""
    asked = _fold(question)
    near = _content_words(question)
    tokens = list(_WORD.finditer(sentence))
    runs: list[list[int]] = []
    for i, t in enumerate(tokens):
        if not t.group()[0].isupper():
            continue
        if runs and runs[-1][-1] == i - 1 and sentence[tokens[i - 1].end():t.start()] == " ":
            runs[-1].append(i)
        else:
            runs.append([i])
    scored: list[tuple[float, tuple[int, int]]] = []
    for run in runs:
        if run[0] == 0 and not tokens[0].group().isupper():  # a sentence starts with a capital anyway
            run = run[1:]
        if not run or (len(run) == 1 and not (tokens[run[0]].group().isupper() and len(tokens[run[0]].group()) >= 2)):
            continue
        start, end = tokens[run[0]].start(), tokens[run[-1]].end()
        if _fold(sentence[start:end]) in asked:
            continue
        before = _fold(sentence[max(0, start - 40):start])
        if place:
            if not run[0] or tokens[run[0] - 1].group().lower() not in _PLACE_BEFORE:
                continue
            score = 1.0
        else:
            # Vietnamese names of people capitalize every syllable ("Nguyễn Quốc Dũng"); bodies
            # often do not ("Bộ Ngoại giao"), so a long run after a title is most likely the person.
            score = 2.0 * bool(_TITLE.search(before)) + 1.0 * (len(run) >= 2) + 1.0 * (len(run) >= 3)
        window = set(_fold(sentence[max(0, start - 60):end + 60]).split())
        score += 0.25 * len(near & window)
        if score > 0:
            scored.append((score, (start, end)))
    return _clear_winner(scored)


def _clear_winner(scored: list[tuple[float, tuple[int, int]]]) -> tuple[int, int] | None:
    """The best span when it is the only one or clearly ahead; None when two are close: the
    sentence is then shown without a short answer rather than with a guess."""
    if not scored:
        return None
    ranked = sorted(scored, key=lambda x: -x[0])
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < _MARGIN:
        return None
    return ranked[0][1]


def _fold(text: str) -> str:
    """Lower-cased and without diacritics, character for character (offsets are kept)."""
    return "".join(fold_diacritics(c) or c for c in text.lower())
