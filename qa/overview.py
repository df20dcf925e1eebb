"""What a corpus covers, for the first screen: how many articles, from which outlets and dates, on
which countries and bodies; and example questions that the corpus is checked to answer.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .aliases import find_groups, tokenize
from .filters import UNKNOWN_OUTLET, article_outlets, parse_date
from .types import Answer, Article


@dataclass(frozen=True)
class Overview:
    articles: int
    outlets: tuple[tuple[str, int], ...]  # the most frequent, with their article counts
    outlet_count: int
    first: str  # ISO date of the oldest dated article, "" when none is dated
    last: str
    undated: int
    names: tuple[str, ...]  # the countries and bodies most titles name


def overview(articles: Iterable[Article], top: int = 5) -> Overview:
    outlets: Counter[str] = Counter()
    names: Counter[str] = Counter()
    dates: list[str] = []
    total = 0
    for article in articles:
        total += 1
        outlets.update(o for o in article_outlets(article) if o != UNKNOWN_OUTLET)
        day = parse_date(article.date)
        if day:
            dates.append(day.isoformat())
        tokens = tokenize(article.title)
        names.update({m.group.name for m in find_groups(tokens, False) if m.group.is_name})
    return Overview(total, tuple(outlets.most_common(top)), len(outlets), min(dates, default=""),
                    max(dates, default=""), total - len(dates), tuple(n for n, _ in names.most_common(top)))


def answered_examples(candidates: Sequence[str], ask: Callable[[str], Answer], limit: int = 4,
                      confidence: float = 0.7) -> list[str]:
    """The candidate questions the corpus answers with at least `confidence`, in order: an example
    that the tool then declines would teach a new user the wrong thing."""
    out = []
    for question in candidates:
        answer = ask(question)
        if not answer.abstained and answer.confidence >= confidence:
            out.append(question)
            if len(out) == limit:
                break
    return out
