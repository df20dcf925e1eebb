"""Days and months as news text writes them ("ngày 27/5", "27/5/2021", "sáng 1-4", "tháng 2/2017",
"May 27, 2021"), and whether a text states other ones than a question.

A question on Thailand's deaths of 27/5 is not answered by a passage on those of 27/4, and export
figures for "tháng 1/2017" do not answer a question on "tháng 2/2017"; the encoder reads these alike.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from .normalize import fold_diacritics

_YEAR = r"(?:19|20)\d\d"
_END = r"(?![\w/]|[.,-]\d)"
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH_NAME = "|".join(_MONTHS)
# With a year, "27/5/2021" or "27-5-2021" is a date anywhere; without one, "27/5" is a date only
# after a word that introduces one ("ngày", "sáng", "hôm", "("): "3/4 GB" or "thắng 3-1" is not.
_DAY_YEAR = re.compile(rf"(?<![\w/.,-])(\d{{1,2}})([/.-])(\d{{1,2}})\2({_YEAR}){_END}")
_DAY = re.compile(rf"(?:\b(?:ngay|sang|trua|chieu|toi|dem|hom|khuya|den|tu|vao|hoi|le|dip|on|by)\s+|\()(\d{{1,2}})[/-](\d{{1,2}}){_END}")
_DAY_EN = re.compile(rf"\b(?:({_MONTH_NAME})\s+(\d{{1,2}})(?:st|nd|rd|th)?|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
                     rf"({_MONTH_NAME}))\b(?:,?\s+({_YEAR})\b)?")
_MONTH_YEAR = re.compile(rf"\bthang\s+(\d{{1,2}})\s*(?:/|-|\bnam\b)\s*({_YEAR})\b|(?<![\w/.,-])(\d{{1,2}})/({_YEAR}){_END}"
                         rf"|\b({_MONTH_NAME}),?\s+(?:of\s+)?({_YEAR})\b")
_MONTH = re.compile(r"\bthang\s+(\d{1,2})\b(?![/-]\d)")
_ISO = re.compile(rf"\b({_YEAR})-(\d\d)-(\d\d)\b")
# A day's news is published that day or in the week after ("hôm qua", "tuần trước").
_REPORTED_WITHIN = 7


@dataclass(frozen=True)
class StatedDates:
    days: frozenset[tuple[int, int]]  # (day, month)
    months: frozenset[tuple[int, int]]  # (month, year), of the days with a year too
    bare_months: frozenset[int]  # "tháng 5" without a year, and the months of days without one
    published: dt.date | None = None  # an ISO date in the text: the article's own


def stated_dates(text: str) -> StatedDates:
    folded = fold_diacritics(text).lower()
    days: set[tuple[int, int]] = set()
    months: set[tuple[int, int]] = set()
    bare: set[int] = set()
    iso = _ISO.search(folded)
    published = _date(int(iso[1]), int(iso[2]), int(iso[3])) if iso else None
    folded = _ISO.sub(" ", folded)

    def day(d: int, m: int, year: int | None) -> None:
        if _date(year or 2000, m, d):  # 2000 is a leap year: 29/2 is a day
            days.add((d, m))
            if year:
                months.add((m, year))
            else:
                bare.add(m)

    for m in _DAY_YEAR.finditer(folded):
        day(int(m[1]), int(m[3]), int(m[4]))
    folded = _DAY_YEAR.sub(" ", folded)
    for m in _DAY_EN.finditer(folded):
        day(int(m[2] or m[3]), _MONTHS[m[1] or m[4]], int(m[5]) if m[5] else None)
    folded = _DAY_EN.sub(" ", folded)
    for m in _DAY.finditer(folded):
        day(int(m[1]), int(m[2]), None)
    folded = _DAY.sub(" ", folded)
    for m in _MONTH_YEAR.finditer(folded):
        month = _MONTHS[m[5]] if m[5] else int(m[1] or m[3])
        if 1 <= month <= 12:
            months.add((month, int(m[2] or m[4] or m[6])))
    folded = _MONTH_YEAR.sub(" ", folded)
    bare.update(int(m[1]) for m in _MONTH.finditer(folded) if 1 <= int(m[1]) <= 12)
    return StatedDates(frozenset(days), frozenset(months), frozenset(bare), published)


def conflicts(asked: StatedDates, text: StatedDates,
              article: Callable[[], StatedDates] | None = None) -> tuple[str, ...]:
    """The question's days and months that the text lacks while it gives others: other days (and
    it was not published in the week after the day asked), or other months of the same year. None
    when the text's `article` states a day or month asked: the passage may tell of that day."""
    out: list[str] = []
    if asked.days and text.days and not asked.days & text.days and not _reported(asked.days, text.published):
        out += [f"{d}/{m}" for d, m in sorted(asked.days)]
    asked_as_days = {m for _, m in asked.days}
    for month, year in sorted(asked.months):
        same_year = {m for m, y in text.months if y == year}
        if month not in asked_as_days and same_year and month not in same_year and month not in text.bare_months:
            out.append(f"tháng {month}/{year}")
    if out and article is not None:
        whole = article()
        if asked.days & whole.days or asked.months & whole.months:
            return ()
    return tuple(out)


def _reported(days: frozenset[tuple[int, int]], published: dt.date | None) -> bool:
    if published is None:
        return False
    for d, m in days:
        for year in (published.year, published.year - 1):
            asked = _date(year, m, d)
            if asked and 0 <= (published - asked).days <= _REPORTED_WITHIN:
                return True
    return False


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
