"""Does a passage say what the question is about? Names, numbers and the kind of answer, checked.

A passage about US aid does not answer a question about EU aid however similar the two read to
the encoder. `check` looks up each name and number of the question in the cited passage (allowing
the table's aliases), then in the rest of its article, then in the corpus at all; `answers_kind`
tells whether a sentence holds the kind of answer asked for (a figure, a date, a place, a name).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .aliases import Token, Variant, find_groups, in_capitals, tokenize
from .dates import StatedDates, conflicts, stated_dates
from .question import Name, QuestionFacts, labelled_numbers, numbers_in, ordinals_in
from .tokens import FOLD_MARK


class TextView:
    """A text's tokens, indexed for looking up names and terms."""

    __slots__ = ("text", "tokens", "lower", "folded", "numbers", "implied_years", "ordinals", "_dates", "_labelled",
                 "_table_names")

    def __init__(self, text: str, implied_years: frozenset[str] = frozenset()):
        """`implied_years`: years the text stands for without stating them (see `implied_years`)."""
        self.text = text
        self.tokens: list[Token] = tokenize(text)
        self.lower: dict[str, list[int]] = {}
        self.folded: dict[str, list[int]] = {}
        for j, t in enumerate(self.tokens):
            self.lower.setdefault(t.lower, []).append(j)
            self.folded.setdefault(t.folded, []).append(j)
        self.numbers = frozenset(numbers_in(text))
        self.implied_years = implied_years
        self.ordinals = frozenset(ordinals_in(text))
        self._dates: StatedDates | None = None
        self._labelled: dict[str, set[str]] | None = None
        self._table_names: set[tuple[str, str]] | None = None

    @property
    def dates(self) -> StatedDates:
        if self._dates is None:
            self._dates = stated_dates(self.text)
        return self._dates

    @property
    def labelled(self) -> dict[str, set[str]]:
        """The numbers each word is followed by: {"quan": {"1"}} for "quận 1"."""
        if self._labelled is None:
            self._labelled = {}
            for word, number, _ in labelled_numbers(self.text):
                self._labelled.setdefault(word, set()).add(number)
        return self._labelled

    @property
    def table_names(self) -> set[tuple[str, str]]:
        """(kind, name) of each country and body of the table the text names."""
        if self._table_names is None:
            self._table_names = {(m.group.kind, m.group.name) for m in find_groups(self.tokens, folded=False)
                                 if m.group.kind in RIVAL_KINDS}
        return self._table_names

    def mentions(self, variants: Sequence[Variant], folded: bool = False) -> bool:
        """Whether any variant occurs: one word compared with its diacritics (unless the question
        had none), several words compared folded, so "Hoà Bình" meets "Hòa Bình"; capitals where
        the variant is written in capitals."""
        if any(True for _ in self._occurrences(variants, folded)):
            return True
        # A long name the question runs together ("Sở GD&ĐT Quảng Bình Đinh Quý Nhân") may be
        # split up in the text: all its words are enough.
        return any(len(v.folded) >= 3 and all(w in self.folded for w in v.folded) for v in variants)

    def covered(self, variants: Sequence[Variant], folded: bool = False) -> set[int]:
        """The token positions where the variants occur."""
        return {j for start, end in self._occurrences(variants, folded) for j in range(start, end)}

    def _occurrences(self, variants: Sequence[Variant], folded: bool):
        for v in variants:
            loose = folded or len(v.words) > 1
            words = v.folded if loose else v.words
            for j in (self.folded if loose else self.lower).get(words[0], ()):
                window = self.tokens[j:j + len(words)]
                if len(window) < len(words):
                    continue
                if tuple(t.folded if loose else t.lower for t in window) != words:
                    continue
                if v.caps and not in_capitals(window) or v.capital and not window[0].capitalized:
                    continue
                yield j, j + len(words)


@dataclass(frozen=True)
class Support:
    """How far a passage covers the question's names and numbers."""

    names: int  # names of the question that could be checked
    missing: tuple[str, ...]  # named nowhere in the passage's article
    outside: tuple[str, ...]  # named in the article but not in the passage
    unknown: tuple[str, ...]  # named nowhere in the corpus
    numbers: int
    numbers_missing: tuple[str, ...]  # editions absent from the passage, other numbers from the article
    terms: float  # share of the question's content words in the passage (translated for English)
    # Years and editions the passage lacks while it gives others: "2016" for a question on 2017.
    numbers_conflict: tuple[str, ...] = ()
    rare_missing: float = 0.0  # rarity (0-1) of the rarest question word the corpus has but the passage lacks
    # Countries and bodies of the question the passage lacks while it names another of the kind:
    # "Nhật Bản" asked, the passage on "Hoa Kỳ".
    names_conflict: tuple[str, ...] = ()


# The kinds of names whose swap makes a near miss: another country, another body.
RIVAL_KINDS = frozenset({"country", "org", "place"})

Known = Callable[[Sequence[str]], Sequence[str]]  # the corpus vocabulary: which BM25 tokens it has
Rarity = Callable[[str], float]  # a BM25 token's rarity among passages: 1 in one, 0 in all or none


def folded_name(name: Name, facts: QuestionFacts) -> bool:
    """Whether to look for a name without diacritics: only when the user typed it so. The table's
    names carry their own, and folded "Nhật" would meet "lớn nhất", "Mỹ" "mỹ phẩm"."""
    return facts.folded and not name.from_table


def known_in_corpus(name: Name, known: Known) -> bool:
    for v in name.variants:
        if len(v.folded) == 1:
            if known([v.words[0]]):
                return True
        else:
            pairs = [f"{FOLD_MARK}{a}_{b}" for a, b in zip(v.folded, v.folded[1:])]
            if len(known(pairs)) == len(pairs):
                return True
    return False


def check(facts: QuestionFacts, passage: TextView, article: Callable[[], TextView], known: Known,
          rarity: Rarity = lambda token: 0.0) -> Support:
    """`passage` covers the cited passage, its title and date; `article` gives the whole article on demand."""
    missing, outside, unknown = [], [], []
    checked = 0
    for name in facts.names:
        folded = folded_name(name, facts)
        if passage.mentions(name.variants, folded):
            checked += 1
            continue
        if article().mentions(name.variants, folded):
            checked += 1
            outside.append(name.label)
            continue
        if not known_in_corpus(name, known):
            if name.english:
                continue  # an English name the Vietnamese text may translate: cannot be checked
            checked += 1
            unknown.append(name.label)
            continue
        checked += 1
        missing.append(name.label)
    # An edition must be named in the passage itself; other numbers (a year, "RON 92") in the article.
    numbers_missing = tuple(n for n in facts.ordinals if n not in passage.ordinals) + tuple(
        n for n in facts.numbers if n not in passage.numbers and n not in article().numbers
        and n not in passage.implied_years)
    return Support(checked, tuple(missing), tuple(outside), tuple(unknown), len(facts.numbers) + len(facts.ordinals),
                   numbers_missing, term_share(facts, passage), numbers_conflict(facts, passage, article),
                   rare_missing(facts, passage, rarity), names_conflict(facts, passage, set(missing) | set(outside)))


def names_conflict(facts: QuestionFacts, passage: TextView, absent: set[str]) -> tuple[str, ...]:
    """The question's countries and bodies absent from the passage while it names another of the
    same kind that the question does not."""
    asked = {n.label for n in facts.names}
    rivals = {kind for kind, name in passage.table_names if name not in asked}
    return tuple(n.label for n in facts.names if n.label in absent and n.kind in rivals)


def numbers_conflict(facts: QuestionFacts, view: TextView,
                     article: Callable[[], TextView] | None = None) -> tuple[str, ...]:
    """The question's years, editions, days, months and numbered names ("Quận 3") that the text
    lacks while it gives others; days and months that its `article` gives elsewhere are no conflict."""
    years = stated_years(view.numbers)
    # Texts are read for numbered names and dates only when the question has some.
    labelled = tuple(written for word, number, written in facts.labelled
                     if view.labelled.get(word) and number not in view.labelled[word])
    dated = conflicts(facts.dates, view.dates, (lambda: article().dates) if article is not None else None) if (
        facts.dates.days or facts.dates.months) else ()
    return tuple(n for n in facts.ordinals if n not in view.ordinals and view.ordinals) + tuple(
        n for n in facts.numbers if _YEAR.fullmatch(n) and n not in years | view.implied_years and years
    ) + labelled + dated


_YEAR = re.compile(r"(?:19|20)\d\d")


def stated_years(numbers: Iterable[str]) -> set[str]:
    """The years among a text's numbers (`numbers_in`)."""
    return {n for n in numbers if _YEAR.fullmatch(n)}


def implied_years(date: str, text: str) -> frozenset[str]:
    """The years an undated news article is likely from: the latest it mentions, or the next (news
    reports last year's figures). A question on "tháng 7/2017" is not held against an undated
    article of July that cites 2016; one on 2015 or 2019 still is."""
    if date:
        return frozenset()
    years = stated_years(numbers_in(text))
    if not years:
        return frozenset()
    latest = max(map(int, years))
    return frozenset({str(latest), str(latest + 1)})


def rare_missing(facts: QuestionFacts, view: TextView, rarity: Rarity) -> float:
    """How rare the rarest of the question's words is that the corpus has and the passage lacks: a
    passage on "Khu kinh tế Nghi Sơn" lacks the rare "Vũng Áng" of the question, not just "khu"."""
    rarest = 0.0
    for forms in facts.terms:
        if view.mentions(forms, facts.folded):
            continue
        rarest = max([rarest] + [rarity(FOLD_MARK + w) for v in forms[:1] for w in v.folded])
    return rarest


def names_found(facts: QuestionFacts, view: TextView) -> int:
    """How many of the question's names the text mentions (allowing the table's aliases)."""
    return sum(view.mentions(n.variants, folded_name(n, facts)) for n in facts.names)


def numbers_found(facts: QuestionFacts, view: TextView) -> int:
    """How many of the question's numbers and editions the text gives."""
    return sum(n in view.numbers for n in facts.numbers) + sum(n in view.ordinals for n in facts.ordinals)


def term_share(facts: QuestionFacts, view: TextView) -> float:
    if not facts.terms:
        return 0.0
    return sum(view.mentions(forms, facts.folded) for forms in facts.terms) / len(facts.terms)


_NUMBER_WORDS = frozenset("""hai ba bốn tư sáu bảy tám chín mười mươi chục trăm nghìn ngàn vạn triệu tỷ tỉ nửa
    hàng two three four five six seven eight nine ten dozen dozens hundred hundreds thousand thousands million
    millions billion billions half""".split())
_DATE = re.compile(r"\b(?:1[89]|20)\d\d\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b(?:tháng|ngày|năm|quý|thế kỷ) \d+(?:/\d+)*|\b(?:January|February|"
                   r"March|April|May|June|July|August|September|October|November|December)\b|\bthứ (?:Hai|Ba|Tư|Năm|Sáu|Bảy)\b"
                   r"|\bChủ nhật\b|\b(?:hôm qua|hôm nay|sáng|chiều|tối) (?:nay|qua|\d)")
_PLACE_BEFORE = frozenset("tại ở từ đến in at from to".split())


def answers_kind(expects: str, sentence: TextView, text: str, facts: QuestionFacts) -> bool:
    """Whether the sentence holds the kind of answer the question asks for ("" asks for none)."""
    if not expects:
        return True
    if expects == "number":  # a figure: not the question's own numbers, nor a date
        figures = set(numbers_in(_DATE.sub(" ", text))) - set(facts.numbers) - set(facts.ordinals)
        return bool(figures) or any(t.lower in _NUMBER_WORDS for t in sentence.tokens)
    if expects == "date":
        for m in _DATE.finditer(text):
            stated = numbers_in(m.group())
            if not stated or any(n not in facts.numbers for n in stated):
                return True
        return False
    # A place or a name that the question itself gives is not an answer.
    given = (set().union(*(sentence.covered(n.variants, folded_name(n, facts)) for n in facts.names))
             if facts.names else set())
    toks = sentence.tokens
    if expects == "place":
        return any(toks[j].lower in _PLACE_BEFORE and toks[j + 1].capitalized and j + 1 not in given
                   for j in range(len(toks) - 1))
    # person or body: a capitalized name of two words or more, or an acronym, that the question does not give
    for j, t in enumerate(toks):
        if j in given or j == 0:
            continue
        if t.all_caps:
            return True
        if t.capitalized and j + 1 < len(toks) and toks[j + 1].capitalized and j + 1 not in given:
            return True
    return False
