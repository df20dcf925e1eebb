"""The period a question asks about ("năm 2017", "tháng 5/2022", "in 2013") or whether it asks for
the latest news ("mới nhất", "gần đây", "latest"), read with or without diacritics.

News is published when it happens: an article dated in the period asked about is more likely the
one that answers. Retrieval prefers such articles (`qa.rerank.date_preference`) but never drops
the others, and undated articles rank between the articles of the period and those outside it.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from .normalize import fold_diacritics


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


_MONTHS = {name: i for i, name in enumerate(calendar.month_name) if name}
_MONTH_WORDS = "|".join(_MONTHS)
_YEAR = r"(?:19|20)\d\d"
# A day: "ngày 12/4/2021", "12/4/2021", "12-4-2021".
_DAY = re.compile(rf"\b(\d{{1,2}})[/.-](\d{{1,2}})[/.-]({_YEAR})\b")
# A month: "tháng 5/2022", "tháng 5 năm 2022", "5/2022", "May 2022".
_MONTH = re.compile(rf"\bthang (\d{{1,2}})(?:/| nam )({_YEAR})\b|(?<![\d/.-])(\d{{1,2}})/({_YEAR})\b"
                    rf"|\b({_MONTH_WORDS}),? ({_YEAR})\b", re.I)
_YEARS = re.compile(rf"(?<![\d/.,-])({_YEAR})(?:\s*[-–]\s*({_YEAR}))?(?![\d/.,])")
_LATEST = re.compile(r"\b(?:moi nhat|gan day|gan nhat|hien nay|hien tai|latest|recent|recently|most recent"
                     r"|currently|now)\b")
# A day's news appears that day and in the week after.
_AFTER_A_DAY = dt.timedelta(days=7)


def asked_period(question: str) -> Period | None:
    """The span of the dates the question names: a day (and the week after), a month, years."""
    text = fold_diacritics(question).lower()
    spans: list[Period] = []
    for m in _DAY.finditer(text):
        day = _date(int(m[3]), int(m[2]), int(m[1]))
        if day:
            spans.append(Period(day, day + _AFTER_A_DAY))
    text = _DAY.sub(" ", text)
    for m in _MONTH.finditer(text):
        if m[5]:
            month, year = _MONTHS[m[5].capitalize()], int(m[6])
        else:
            month, year = int(m[1] or m[3]), int(m[2] or m[4])
        if 1 <= month <= 12:
            spans.append(Period(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])))
    text = _MONTH.sub(" ", text)
    for m in _YEARS.finditer(text):
        first, last = int(m[1]), int(m[2] or m[1])
        if first <= last:
            spans.append(Period(dt.date(first, 1, 1), dt.date(last, 12, 31)))
    if not spans:
        return None
    return Period(min(s.start for s in spans), max(s.end for s in spans))


def asks_latest(question: str) -> bool:
    return bool(_LATEST.search(fold_diacritics(question).lower()))


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
