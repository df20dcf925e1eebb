"""qa.filters: outlet and date filters turned into Engine.ask's doc_ids."""
from __future__ import annotations

import datetime as dt

from qa.filters import (UNKNOWN_OUTLET, ArticleFilter, Page, all_outlets, date_bounds, doc_ids, format_date, page,
                        search, select, undated)
from qa.types import Article

ARTICLES = {a.doc_id: a for a in (
    Article("a", "ASEAN – Hoa Kỳ", "x", "", "TTXVN"),
    Article("b", "ASEAN – Nhật Bản", "x", "2020-03-13", "Vietnam+"),
    Article("c", "ASEAN – Trung Quốc", "x", "2022-06-16", "TTXVN/Vietnam+"),
    Article("d", "Họp liên ngành", "x", "2016-12-14", "MOFA"),
    Article("e", "Không nguồn", "x", "", ""),
)}


def test_outlets_are_split_and_the_unknown_one_comes_last():
    assert all_outlets(ARTICLES.values()) == ["MOFA", "TTXVN", "Vietnam+", UNKNOWN_OUTLET]


def test_no_filter_means_no_doc_ids():
    assert doc_ids(ARTICLES, ArticleFilter()) is None


def test_outlet_filter_matches_any_part_of_a_joint_byline():
    assert doc_ids(ARTICLES, ArticleFilter(frozenset({"Vietnam+"}))) == ["b", "c"]
    assert doc_ids(ARTICLES, ArticleFilter(frozenset({UNKNOWN_OUTLET}))) == ["e"]


def test_date_filter_is_inclusive_and_keeps_undated_articles_unless_told_not_to():
    flt = ArticleFilter(date_from=dt.date(2016, 12, 14), date_to=dt.date(2020, 3, 13))
    assert doc_ids(ARTICLES, flt) == ["a", "b", "d", "e"]
    dated_only = ArticleFilter(date_from=dt.date(2016, 12, 14), date_to=dt.date(2020, 3, 13), keep_undated=False)
    assert doc_ids(ARTICLES, dated_only) == ["b", "d"]
    assert doc_ids(ARTICLES, ArticleFilter(date_from=dt.date(2021, 1, 1), keep_undated=False)) == ["c"]
    assert doc_ids(ARTICLES, ArticleFilter(frozenset({"MOFA"}), date_from=dt.date(2021, 1, 1))) == []
    assert undated(ARTICLES.values()) == 2


def test_select_lists_newest_first_and_bounds():
    assert [a.doc_id for a in select(ARTICLES, ArticleFilter())] == ["c", "b", "d", "a", "e"]
    assert date_bounds(ARTICLES.values()) == (dt.date(2016, 12, 14), dt.date(2022, 6, 16))
    assert date_bounds([ARTICLES["a"]]) is None


def test_format_date():
    assert format_date("2022-06-16") == "16/06/2022"
    assert format_date("") == "" and format_date("không rõ") == ""


def test_search_by_title_or_outlet_with_or_without_diacritics():
    articles = [Article("a", "Hà Nội đón đoàn ASEAN", "", "2020-01-01", "vnexpress.net"),
                Article("b", "Hà Giang mưa lớn", "", "", "TTXVN"),
                Article("c", "Hội nghị ở Jakarta", "", "", "Vietnam+")]
    assert [a.doc_id for a in search(articles, "ha noi")] == ["a"]
    assert [a.doc_id for a in search(articles, "Hà")] == ["a", "b"]
    assert [a.doc_id for a in search(articles, "hà nội asean")] == ["a"]
    assert [a.doc_id for a in search(articles, "ttxvn")] == ["b"]
    assert [a.doc_id for a in search(articles, "  ")] == ["a", "b", "c"]
    assert search(articles, "Hải Phòng") == []


def test_pages_of_a_long_list():
    items = [Article(str(i), f"Bài {i}", "") for i in range(53)]
    first = page(items, 1, 25)
    assert (len(first.items), first.number, first.pages, first.first) == (25, 1, 3, 1)
    last = page(items, 3, 25)
    assert ([a.doc_id for a in last.items], last.first) == (["50", "51", "52"], 51)
    assert page(items, 99, 25).number == 3 and page(items, 0, 25).number == 1
    assert page([], 1, 25) == Page([], 1, 1, 0)
