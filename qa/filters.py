"""Narrow retrieval to some articles: by outlet and by publication date.

The result is the `doc_ids` argument of `Engine.ask`: None means "no filter", an empty list means
"no article matches" (the engine then finds nothing).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .normalize import fold_diacritics, normalize_query
from .types import Article

# An article with no stated outlet is listed under this name.
UNKNOWN_OUTLET = "(không rõ nguồn)"
# "TTXVN/Vietnam+" is reported by both outlets: each part is an outlet of its own.
_OUTLET_SPLIT = re.compile(r"\s*/\s*")


def article_outlets(article: Article) -> tuple[str, ...]:
    parts = tuple(p for p in _OUTLET_SPLIT.split(article.source.strip()) if p)
    return parts or (UNKNOWN_OUTLET,)


def parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def article_date(article: Article) -> dt.date | None:
    return parse_date(article.date)


def all_outlets(articles: Iterable[Article]) -> list[str]:
    """Every outlet named in the articles, sorted case-insensitively, the unknown one last."""
    names = {name for a in articles for name in article_outlets(a)}
    return sorted(names - {UNKNOWN_OUTLET}, key=str.casefold) + ([UNKNOWN_OUTLET] if UNKNOWN_OUTLET in names else [])


def date_bounds(articles: Iterable[Article]) -> tuple[dt.date, dt.date] | None:
    dates = [d for d in (article_date(a) for a in articles) if d is not None]
    return (min(dates), max(dates)) if dates else None


@dataclass(frozen=True)
class ArticleFilter:
    outlets: frozenset[str] = frozenset()  # empty: any outlet
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    # An undated article cannot be placed in a date range: it is kept unless the user says otherwise,
    # so that a date range never silently drops articles.
    keep_undated: bool = True

    @property
    def active(self) -> bool:
        return bool(self.outlets) or self.date_from is not None or self.date_to is not None

    def accepts(self, article: Article) -> bool:
        if self.outlets and not self.outlets.intersection(article_outlets(article)):
            return False
        if self.date_from is None and self.date_to is None:
            return True
        day = article_date(article)
        if day is None:
            return self.keep_undated
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)


def undated(articles: Iterable[Article]) -> int:
    return sum(article_date(a) is None for a in articles)


def select(articles: Mapping[str, Article], flt: ArticleFilter) -> list[Article]:
    """The articles the filter accepts, newest first (undated ones last, then by title)."""
    kept = [a for a in articles.values() if flt.accepts(a)]
    return sorted(kept, key=lambda a: (article_date(a) is None, -(article_date(a) or dt.date.min).toordinal(),
                                       a.title.casefold()))


def search(articles: Sequence[Article], text: str) -> list[Article]:
    """The articles whose title, outlet or file contains every word of `text`, diacritics ignored
    when `text` has none ("ha noi" finds "Hà Nội")."""
    words = normalize_query(text).lower().split()
    if not words:
        return list(articles)
    folded = fold_diacritics(" ".join(words)) == " ".join(words)

    def haystack(a: Article) -> str:
        both = f"{a.title} {a.source} {a.doc_id}".lower()
        return fold_diacritics(both) if folded else both

    return [a for a in articles if all(w in haystack(a) for w in words)]


@dataclass(frozen=True)
class Page:
    items: list[Article]
    number: int  # 1-based, clamped to the pages there are
    pages: int  # at least 1
    first: int  # 1-based position of items[0] among all (0 when there are none)


def page(items: Sequence[Article], number: int, size: int) -> Page:
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return Page(list(items[start:start + size]), number, pages, start + 1 if items else 0)


def doc_ids(articles: Mapping[str, Article], flt: ArticleFilter) -> list[str] | None:
    """`Engine.ask`'s doc_ids for this filter: None when it filters nothing out."""
    if not flt.active:
        return None
    return [doc_id for doc_id, a in articles.items() if flt.accepts(a)]


def format_date(value: str) -> str:
    """ISO "2022-06-16" -> "16/06/2022", the way Vietnamese readers write dates; "" stays ""."""
    day = parse_date(value)
    return day.strftime("%d/%m/%Y") if day else ""
