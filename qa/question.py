"""What a question is about and what kind of answer it asks for.

The encoder scores "EU aid to ASEAN" and "US aid to ASEAN" almost alike; what tells them apart is
the names, numbers and years the question states. This module reads those off the question, in
Vietnamese (with or without diacritics) or English, so that `qa.support` can check them against a
passage.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .aliases import Match, Token, Variant, english_terms, find_groups, parted, tokenize, variant_of
from .dates import StatedDates, stated_dates
from .normalize import fold_diacritics, normalize_query
from .tokens import STOPWORDS

# Capitalized words that start or shape a question rather than name something.
_NOT_NAMES = frozenset(w for w in """
    what when where which who whom whose why how is are was were do does did can could will would
    should has have had the a an in on at of for to by from and or with during after before since
    i you we they he she it this that these those there january february march april may june july
    august september october november december monday tuesday wednesday thursday friday saturday sunday
    còn vậy thế và nhưng theo tại ở trong khi năm ngày tháng ai gì nào sao bao
""".split())

# Numbers as written: digits with separators, not glued to a word ("COVID-19", "G20" are names).
NUMBER_PATTERN = r"(?<![\w.,])(?<![^\W\d_]-)\d+(?:[.,]\d+)*"
_NUMBER = re.compile(NUMBER_PATTERN)
_THOUSANDS = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
# Day and month of a date ("30/4", "30/4/2021", "tháng 10/2013"): the question's context, which a
# passage often leaves to its article's date; the year stays.
_DAY_MONTH = re.compile(r"(?<![\w/])\d{1,2}/\d{1,2}(?=/\d{2,4}\b|(?![\w/]))|(?<![\w/])\d{1,2}/(?=\d{4}\b)")
# Ordinals ("lần thứ 28", "khóa 14", "28th"): an edition must be the same edition.
_ORDINAL = re.compile(r"\b(?:thứ|khóa|khoá|kỳ|thu|khoa|ky)\s+(\d+)\b|\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)

# A number that completes a name ("Quận 3", "Vsmart Star 4", "Boeing 737", "HR 51"): another number
# after the same word is another thing. Capitalized words and these lower-case ones; not time words.
_LABELLED = re.compile(r"(?<![\w.,/-])([^\W\d_]+)\s+(\d+)(?![\w/]|[.,]\d)")
_LABEL_WORDS = frozenset("quan phuong huyen xa dieu khoan chuong tang".split())
_UNIT_WORDS = frozenset("""nam ngay thang quy tuan gio phut giay lan thu khoa ky tuoi top so trong khoang hon gan
    tren duoi voi la co va cua tu den in on at of for about over under than by from to and the after before since
    year years day days month months week weeks""".split())

# The kind of answer asked for, matched on the folded, lower-cased question.
_EXPECTS = (
    ("number", re.compile(r"\b(bao nhieu|how (many|much)|what (percentage|proportion|share|number|amount)"
                          r"|ty le|so luong|so tien)\b")),
    ("date", re.compile(r"\b(khi nao|bao gio|(nam|ngay|thang|thoi diem|thoi gian|luc|dip) nao|when|"
                        r"(what|which) (year|date|day|month|time)|how long ago)\b")),
    ("place", re.compile(r"\b(o dau|tai dau|(noi|dia diem|thanh pho|tinh) nao|where|(what|which) "
                         r"(city|place|venue|province|location))\b")),
    ("person", re.compile(r"\b(ai|who|whom|whose|(co quan|to chuc|cong ty|nuoc|quoc gia|ben|nguoi|doanh nghiep)"
                          r" nao|(which|what) (organi[sz]ation|agency|body|company|country|countries|firm"
                          r"|person|team|group))\b")),
)
# "mấy" asks for a number; folded it is also "máy" (machine), so only with diacritics.
_MAY = re.compile(r"\bmấy\b")


@dataclass(frozen=True, slots=True)
class Name:
    """A name the question is about: a country, body, person, place, programme or acronym."""

    label: str  # as shown in a reason: the table's name, or the words as written
    variants: tuple[Variant, ...]
    from_table: bool  # in the bilingual table, so its other-language forms are known
    english: bool  # a name in an English question outside the table: the passage may translate it
    kind: str = ""  # the table's kind (country, org, place); "" outside the table


@dataclass(frozen=True)
class QuestionFacts:
    names: tuple[Name, ...]
    numbers: tuple[str, ...]  # canonical: "1000", "2.5", "2021"; not the day and month of a date
    ordinals: tuple[str, ...]  # editions and ranks: "lần thứ 28", "28th" -> "28"
    expects: str  # "number", "date", "place", "person", or "" when it does not say
    english: bool  # written without diacritics and mostly in English words
    folded: bool  # written without diacritics
    terms: tuple[tuple[Variant, ...], ...]  # the question's content words, each with its forms in the text
    dates: StatedDates = stated_dates("")  # the days and months it names
    # Numbers completing a name: ("quan", "3", "Quận 3") for "Quận 3".
    labelled: tuple[tuple[str, str, str], ...] = ()


def canonical_number(text: str) -> str:
    if _THOUSANDS.match(text):
        return re.sub(r"[.,]", "", text)
    return text.replace(",", ".")


def numbers_in(text: str) -> list[str]:
    return [canonical_number(m) for m in _NUMBER.findall(text)]


def ordinals_in(text: str) -> list[str]:
    return [a or b for a, b in _ORDINAL.findall(text)]


def labelled_numbers(text: str, question: bool = False) -> list[tuple[str, str, str]]:
    """(folded word, number, as written) for each "word number" pair; in a question only those of a
    name (a capitalized word past the first, or a word such as "quận"), in a text any."""
    out = []
    for m in _LABELLED.finditer(normalize_query(text)):
        word = fold_diacritics(m[1].lower())
        if word in _UNIT_WORDS or word in _NOT_NAMES:
            continue
        if question and word not in _LABEL_WORDS and not (m[1][:1].isupper() and m.start() > 0):
            continue
        out.append((word, m[2], m.group()))
    return out


def _question_numbers(question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(plain numbers, ordinals) of a question; day and month of dates left out."""
    ordinals = ordinals_in(question)
    rest = _ORDINAL.sub(" ", _DAY_MONTH.sub(" ", question))
    return tuple(dict.fromkeys(numbers_in(rest))), tuple(dict.fromkeys(ordinals))


def expected_answer(question: str) -> str:
    lowered = normalize_query(question).lower()
    folded = fold_diacritics(lowered)
    for kind, pattern in _EXPECTS:
        if pattern.search(folded):
            return kind
    return "number" if _MAY.search(lowered) else ""


def analyze(question: str, english: bool) -> QuestionFacts:
    """The facts of a question; `english` comes from the retriever's language profile."""
    tokens = tokenize(question)
    folded = fold_diacritics(question) == question
    matches = find_groups(tokens, folded)
    taken = {i for m in matches if m.group.is_name for i in range(m.start, m.end)}
    matched = {i for m in matches for i in range(m.start, m.end)}
    names = [Name(m.group.name, m.group.variants, True, False, m.group.kind) for m in matches if m.group.is_name]
    names += _acronyms(tokens, taken | matched, english)
    taken |= {i for i, t in enumerate(tokens) if t.all_caps}
    if english:  # "Air Force" is a term the table translates, not a name to find as written
        taken |= matched
    names += _capitalized_names(tokens, parted(question), taken, english)
    unique: dict[str, Name] = {}
    for name in names:
        unique.setdefault(name.label, name)
    numbers, ordinals = _question_numbers(normalize_query(question))
    return QuestionFacts(
        names=tuple(unique.values()),
        numbers=numbers,
        ordinals=ordinals,
        expects=expected_answer(question),
        english=english,
        folded=folded,
        terms=_terms(tokens, matches, english),
        dates=stated_dates(question),
        labelled=tuple(dict.fromkeys(labelled_numbers(question, question=True))),
    )


def _acronyms(tokens: list[Token], taken: set[int], english: bool) -> list[Name]:
    """Acronyms outside the table ("JCC", "MPAC"); in an English question one may stand for words
    the Vietnamese text writes out ("TV"), so it is checked only where the corpus has it."""
    return [Name(t.text, (variant_of([t]),), False, english)
            for i, t in enumerate(tokens)
            if i not in taken and t.all_caps and t.text[0].isalpha() and t.lower not in _NOT_NAMES]  # not "5M"


def _capitalized_names(tokens: list[Token], breaks: list[bool], taken: set[int], english: bool) -> list[Name]:
    """Runs of capitalized words outside the table: "Nguyễn Quốc Dũng", "Jared Allen", "Sunnylands".
    A run ends at punctuation (`breaks`: "Quetta, Pakistan" are two names) and sheds a last single
    letter, the start of a model number ("Air Force C-5M")."""
    runs: list[list[Token]] = []
    current: list[Token] = []
    for i, t in enumerate(tokens):
        name_like = i not in taken and t.capitalized and t.lower not in _NOT_NAMES and not (i == 0 and not english)
        if current and (breaks[i] or not name_like):
            runs.append(current)
            current = []
        if name_like:
            current.append(t)
    if current:
        runs.append(current)
    out = []
    for run in runs:
        if len(run) > 1 and len(run[-1].text) == 1:
            run = run[:-1]
        if len(run) == 1:
            word = run[0]
            # One capitalized Vietnamese syllable is too often a title word ("Quỹ", "Hội nghị");
            # a foreign name has no diacritics and some length ("Sunnylands", "Pfizer"). In an
            # English question one capitalized word is as often a translated common noun ("Plan").
            if english or len(word.text) < 4 or word.lower != word.folded:
                continue
        label = " ".join(t.text for t in run)
        out.append(Name(label, (variant_of(run),), False, english))
    return out


def _terms(tokens: list[Token], matches: list[Match], english: bool) -> tuple[tuple[Variant, ...], ...]:
    """Content words, each as the forms it may take in Vietnamese text (itself, and for an English
    word its translations from the table)."""
    out: list[tuple[Variant, ...]] = []
    for m in matches:
        out.append(m.group.variants)
    covered = {i for m in matches for i in range(m.start, m.end)}
    lookup = english_terms() if english else {}
    for i, t in enumerate(tokens):
        if i in covered or t.folded in STOPWORDS:
            continue
        out.append((variant_of([t]),) + lookup.get(t.lower, ()))
    return tuple(out)
