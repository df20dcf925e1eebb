"""The bilingual table of names and news terms (`qa/data/aliases.tsv`), and matching it in text.

A question about "the EU" is answered by a passage naming "Liên minh châu Âu"; one about the US by a
passage naming "Hoa Kỳ". Matching works on word tokens: lower-cased with diacritics kept, or folded
for text typed without them. All-capital variants (US, UN, WHO) match only in capitals, so "us" and
"who" in an English sentence are not names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from .normalize import fold_diacritics, normalize_query

TABLE = Path(__file__).parent / "data" / "aliases.tsv"
NAME_KINDS = frozenset({"country", "org", "place"})
# Word tokens with their case kept: letters and digits, as in qa.tokens but without lower-casing.
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as written
    lower: str  # lower-cased, diacritics kept
    folded: str  # lower-cased, diacritics removed

    @property
    def capitalized(self) -> bool:
        return self.text[:1].isupper()

    @property
    def all_caps(self) -> bool:
        return len(self.text) >= 2 and self.text.isupper()


def tokenize(text: str) -> list[Token]:
    return [_token(word) for word in WORD.findall(normalize_query(text))]


@lru_cache(maxsize=1 << 16)
def _token(word: str) -> Token:
    # One object per word, not per occurrence: a whole article is thousands of tokens of a few hundred
    # words, and each new object is one more for the garbage collector to walk on a full collection.
    lower = word.lower()
    return Token(word, lower, fold_diacritics(lower))


# What may sit between two words of one name: a space, a hyphen ("Diaz-Canel"), an apostrophe ("O'Brien").
_JOINER = re.compile(r"\s+|-|'|’")


def parted(text: str) -> list[bool]:
    """For each token of `tokenize(text)`, whether punctuation parts it from the one before it
    ("Quetta, Pakistan", "Trump–Biden"): two names, not one."""
    text = normalize_query(text)
    out: list[bool] = []
    end = None
    for m in WORD.finditer(text):
        out.append(end is not None and not _JOINER.fullmatch(text[end:m.start()]))
        end = m.end()
    return out


@dataclass(frozen=True, slots=True)
class Variant:
    words: tuple[str, ...]  # lower-cased, diacritics kept
    folded: tuple[str, ...]
    caps: bool  # written in capitals: must be matched in capitals
    # A one-word name ("Anh", "Pháp", "Mỹ"): must be capitalized where it occurs, or "anh em",
    # "pháp luật", "mỹ phẩm" would name the UK, France, the US.
    capital: bool = False


@dataclass(frozen=True, slots=True)
class AliasGroup:
    kind: str  # country, org, place or term
    name: str  # the variant shown to users
    variants: tuple[Variant, ...]

    @property
    def is_name(self) -> bool:
        return self.kind in NAME_KINDS


def in_capitals(tokens: Sequence[Token]) -> bool:
    """Written in capitals (digits allowed): "US", "COVID 19"."""
    return all(t.all_caps or t.text.isdigit() for t in tokens)


def variant_of(tokens: Sequence[Token]) -> Variant:
    return Variant(tuple(t.lower for t in tokens), tuple(t.folded for t in tokens),
                   in_capitals(tokens) and any(t.all_caps for t in tokens))


def make_group(kind: str, variants: Sequence[str]) -> AliasGroup:
    out = []
    for tokens in (tokenize(v) for v in variants):
        if tokens:
            v = variant_of(tokens)
            out.append(replace(v, capital=True) if kind in NAME_KINDS and len(tokens) == 1 and not v.caps else v)
    return AliasGroup(kind, variants[0], tuple(out))


@lru_cache(maxsize=1)
def groups() -> tuple[AliasGroup, ...]:
    out = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, variants = line.split("\t")
        out.append(make_group(kind, variants.split("|")))
    return tuple(out)


@lru_cache(maxsize=1)
def _by_first_word() -> dict[str, list[tuple[AliasGroup, Variant]]]:
    """Variants keyed by their first folded word, longest first: the lookup for scanning a question."""
    index: dict[str, list[tuple[AliasGroup, Variant]]] = {}
    for group in groups():
        for variant in group.variants:
            index.setdefault(variant.folded[0], []).append((group, variant))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[1].folded))
    return index


@dataclass(frozen=True, slots=True)
class Match:
    group: AliasGroup
    start: int  # token span in the scanned text
    end: int


# Vietnamese one-syllable country names that are also common words once typed without diacritics
# ("nhat" is "nhất", "lao" is "lao động", "phap" is "pháp luật"): not names in unaccented text.
_AMBIGUOUS_FOLDED = frozenset("my nhat nga phap duc uc lao ao bi sec hue nam anh".split())
# One-word names that open a question as a pronoun: "Anh ấy ..." (he), not the UK.
_PRONOUNS = frozenset({"anh"})


def find_groups(tokens: Sequence[Token], folded: bool) -> list[Match]:
    """The table's groups named in a question, longest match first, left to right.

    `folded`: the question was typed without diacritics, so words are compared folded, and
    one-word Vietnamese names are not trusted. Otherwise words are compared with their
    diacritics, and a one-word name must be capitalized and not part of a longer capitalized
    name ("Đức" in "Nguyễn Minh Đức" is a person, not Germany).
    """
    lazy = not any(t.text != t.lower for t in tokens)  # typed all in lower case: "asean", "eu"
    matches: list[Match] = []
    i = 0
    while i < len(tokens):
        found = None
        for group, variant in _by_first_word().get(tokens[i].folded, ()):
            n = len(variant.folded)
            window = tokens[i:i + n]
            if len(window) < n or not _words_match(window, variant, folded, lazy):
                continue
            if n == 1 and not _single_word_ok(tokens, i, variant, folded):
                continue
            found = Match(group, i, i + n)
            break
        if found:
            matches.append(found)
            i = found.end
        else:
            i += 1
    return matches


# Capitalized names that are also English words: never names when typed in lower case.
_LOWERCASE_WORDS = frozenset("us who it is in an as at on no so".split())


def _words_match(window: Sequence[Token], variant: Variant, folded: bool, lazy: bool) -> bool:
    if variant.caps and not in_capitals(window):
        if not lazy or " ".join(variant.folded) in _LOWERCASE_WORDS:
            return False
    if folded:
        return tuple(t.folded for t in window) == variant.folded
    return tuple(t.lower for t in window) == variant.words


def _single_word_ok(tokens: Sequence[Token], i: int, variant: Variant, folded: bool) -> bool:
    token = tokens[i]
    if variant.caps:
        return True
    if folded and (variant.folded[0] in _AMBIGUOUS_FOLDED or variant.words != variant.folded):
        return False
    if not token.capitalized and not token.lower.isdigit():
        # An all-lowercase question gets the benefit of the doubt for unambiguous names ("japan").
        return not any(t.capitalized for t in tokens) and variant.folded[0] not in _AMBIGUOUS_FOLDED
    if i == 0 and token.lower in _PRONOUNS:
        return False
    if i > 0 and tokens[i - 1].folded == "tieng":  # "tiếng Anh" is a language
        return False
    # A capitalized word before it (not the question's first word) makes it part of a longer name.
    before = tokens[i - 1] if i > 1 else None
    return not (before and before.capitalized and not before.all_caps)


@lru_cache(maxsize=1)
def english_terms() -> dict[str, tuple[Variant, ...]]:
    """English word -> the Vietnamese variants of every group it belongs to (for English questions)."""
    out: dict[str, list[Variant]] = {}
    for group in groups():
        english = [v for v in group.variants if v.words == v.folded]
        vietnamese = [v for v in group.variants if v.words != v.folded] or list(group.variants)
        for v in english:
            if len(v.words) == 1:
                out.setdefault(v.words[0], []).extend(vietnamese + [v])
    return {k: tuple(v) for k, v in out.items()}
