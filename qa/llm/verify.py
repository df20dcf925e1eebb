"""Each sentence a model wrote, checked against the passages it cites before it is shown.

A sentence is verified when it cites at least one passage, every number, amount, date and name it
states is in the passages it cites (names through the bilingual table's aliases, "Mỹ" = "Hoa Kỳ" =
"United States"; amounts by value, "42 triệu" = "42 million" = "42.000.000"), and, for a Vietnamese
sentence, enough of its content words are there too. A sentence that fails on its citations but
holds on another passage gets that passage's number instead. What this cannot catch: a claim built
from true facts put together wrongly ("A gave B" when the passage says "B gave A"), and an English
sentence's wording (only its names and numbers are checked against Vietnamese text).
"""
from __future__ import annotations

import re
from typing import Sequence

from ..normalize import fold_diacritics, normalize_query
from ..question import NUMBER_PATTERN, analyze, canonical_number, numbers_in
from ..support import TextView, folded_name, term_share
from ..types import GeneratedSentence, Passage

# Share of a Vietnamese sentence's content words that its passages must have: paraphrase keeps
# most of them, a sentence from elsewhere few.
MIN_TERM_SHARE = 0.4

_CITATION = re.compile(r"\[\s*(\d+(?:\s*[,;–-]\s*\d+)*)\s*\]")
_LEADING_CITATIONS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\])+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_ABBREVIATION = re.compile(r"\b(?:TP|Tp|Mr|Mrs|Ms|Dr|St|No|Jr|U\.S|e\.g|i\.e)\.$")
_SCALES = (("nghìn tỷ", 1e12), ("ngàn tỷ", 1e12), ("trillion", 1e12), ("nghìn", 1e3), ("ngàn", 1e3),
           ("thousand", 1e3), ("triệu", 1e6), ("million", 1e6), ("tỷ", 1e9), ("tỉ", 1e9), ("billion", 1e9))
# A number as questions and passages are read for them (qa.question), and the scale word after it.
_AMOUNT = re.compile(f"({NUMBER_PATTERN})" + r"(?:\s+(" + "|".join(s for s, _ in _SCALES) + r")\b)?", re.IGNORECASE)
# A reply, or a sentence of one, saying the passages do not answer.
_DECLINES = re.compile(
    r"không (?:trả lời|đề cập|nói|nêu|có thông tin|cung cấp thông tin|đủ thông tin|tìm thấy)|không biết"
    r"|do(?:es)? not (?:answer|mention|say|contain|provide)|don't know|do not know|cannot answer|can't answer"
    r"|no information|not (?:enough|sufficient) information", re.IGNORECASE)


def split_claims(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """(sentence without its [n] marks, the passages it cites) of each sentence of a reply."""
    pieces: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        for piece in _SENTENCE_END.split(line):
            lead = _LEADING_CITATIONS.match(piece)
            if lead and pieces:  # "... năm 2021. [1] Tiếp theo": the marks close the sentence before
                pieces[-1] += " " + lead.group()
                piece = piece[lead.end():].strip()
            if pieces and _ABBREVIATION.search(pieces[-1]) and piece:
                pieces[-1] += " " + piece
            elif piece:
                pieces.append(piece)
    out = []
    for piece in pieces:
        cited: list[int] = []
        for group in _CITATION.findall(piece):
            for part in re.split(r"\s*[,;]\s*", group):
                ends = re.split(r"\s*[–-]\s*", part)
                first, last = int(ends[0]), int(ends[-1])
                cited += range(first, last + 1) if 0 < last - first < 10 else [first, last]
        sentence = re.sub(r"\s+([.,;:!?…])", r"\1", re.sub(r"\s{2,}", " ", _CITATION.sub("", piece))).strip()
        if any(ch.isalnum() for ch in sentence):
            out.append((sentence, tuple(dict.fromkeys(cited))))
    return out


def declines(text: str) -> bool:
    """Whether a reply (or one of its sentences) says the passages do not answer."""
    return bool(_DECLINES.search(text))


def amounts(text: str) -> list[tuple[str, float, bool]]:
    """(number as written, value, whether a scale word gave the value) of each number in a text."""
    out = []
    for m in _AMOUNT.finditer(text):
        number = canonical_number(m.group(1))
        try:
            value = float(number)
        except ValueError:  # "1.2.3": a code, not an amount
            out.append((m.group(), float("nan"), False))
            continue
        scale = dict(_SCALES).get((m.group(2) or "").lower(), 1.0)
        out.append((m.group(), value * scale, m.group(2) is not None))
    return out


class Evidence:
    """The passages a reply may cite, each read once."""

    def __init__(self, passages: Sequence[Passage]):
        self.passages = {p.rank: p for p in passages}
        self._views: dict[int, TextView] = {}
        self._values: dict[int, set[float]] = {}

    def view(self, rank: int) -> TextView:
        if rank not in self._views:
            p = self.passages[rank]
            self._views[rank] = TextView(f"{p.title}\n{p.text}")
        return self._views[rank]

    def values(self, rank: int) -> set[float]:
        if rank not in self._values:
            self._values[rank] = {v for _, v, _ in amounts(self.view(rank).text) if v == v}
        return self._values[rank]


def check_sentence(sentence: str, cited: Sequence[int], evidence: Evidence) -> GeneratedSentence:
    """The sentence verified on the passages it cites, or on another one when they fail it."""
    facts_text = normalize_query(sentence)
    english = fold_diacritics(facts_text) == facts_text
    facts = analyze(facts_text, english)
    if not cited:  # an uncited sentence is not given a source: the model did not say where it came from
        return GeneratedSentence(sentence, (), False, ("không ghi nguồn",))
    valid = tuple(r for r in cited if r in evidence.passages)
    if not valid:
        problem = "nguồn " + "".join(f"[{r}]" for r in cited) + " không có trong các đoạn trích"
        return _corrected(sentence, facts, english, evidence, (problem,), tuple(cited))
    problems = _problems(sentence, facts, english, valid, evidence)
    if not problems:
        return GeneratedSentence(sentence, valid, True)
    return _corrected(sentence, facts, english, evidence, problems, valid)


def _corrected(sentence: str, facts, english: bool, evidence: Evidence, problems: tuple[str, ...],
               cited: tuple[int, ...] = ()) -> GeneratedSentence:
    for rank in evidence.passages:
        if rank not in cited and not _problems(sentence, facts, english, (rank,), evidence):
            was = "".join(f"[{r}]" for r in cited) or "không có"
            return GeneratedSentence(sentence, (rank,), True, (f"nguồn {was} được sửa thành [{rank}]",))
    return GeneratedSentence(sentence, cited, False, problems)


def _problems(sentence: str, facts, english: bool, ranks: Sequence[int], evidence: Evidence) -> tuple[str, ...]:
    where = "".join(f"[{r}]" for r in ranks)
    problems = []
    numbers = set().union(*(evidence.view(r).numbers for r in ranks))
    values = set().union(*(evidence.values(r) for r in ranks))
    for written, value, scaled in amounts(sentence):
        found = any(abs(value - v) <= 1e-6 * max(1.0, abs(v)) for v in values)
        if not found and not scaled:  # "8" of "25/8", "2.5" of "2.5%": as written
            found = canonical_number(written) in numbers
        if not found:
            problems.append(f"“{written}” không có trong {where}")
    for name in facts.names:
        if not any(evidence.view(r).mentions(name.variants, folded_name(name, facts)) for r in ranks):
            problems.append(f"“{name.label}” không có trong {where}")
    if not english and not facts.names and not numbers_in(sentence):
        share = max(term_share(facts, evidence.view(r)) for r in ranks)
        if share < MIN_TERM_SHARE:
            problems.append(f"nội dung không thấy trong {where}")
    return tuple(problems)
