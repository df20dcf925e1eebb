import datetime as dt

from qa.dates import conflicts, stated_dates
from qa.question import analyze
from qa.support import TextView, check


def test_days_and_months_as_news_writes_them():
    text = stated_dates("Sáng 1-4, ngày 27/5/2021, hôm 3/6 (12/7), tháng 2/2017, tháng 5 năm 2022, on May 19, 2013")
    assert text.days == {(1, 4), (27, 5), (3, 6), (12, 7), (19, 5)}
    assert text.months == {(5, 2021), (2, 2017), (5, 2022), (5, 2013)}
    assert text.bare_months == {4, 6, 7}


def test_fractions_scores_and_sizes_are_not_dates():
    assert stated_dates("RAM 3/4 GB, thắng 3-1, 1/3 dân số, COVID-19").days == frozenset()


def test_the_article_date_is_read_from_its_iso_form():
    assert stated_dates("Tiêu đề\n2021-04-27\nBài").published == dt.date(2021, 4, 27)


def test_another_day_conflicts_unless_published_within_the_week_after():
    asked = stated_dates("ngay 27/5/2021")
    assert conflicts(asked, stated_dates("2021-04-27\nBộ Y tế ngày 27/4 thông báo")) == ("27/5",)
    assert conflicts(asked, stated_dates("2021-05-28\nTrước đó, ngày 20/5, ...")) == ()  # "hôm qua" is 27/5
    assert conflicts(asked, stated_dates("Bộ Y tế thông báo")) == ()  # says no day: cannot tell


def test_another_month_of_the_same_year_conflicts():
    asked = stated_dates("tháng 2/2017")
    assert conflicts(asked, stated_dates("xuất khẩu tháng 1/2017 đạt")) == ("tháng 2/2017",)
    assert conflicts(asked, stated_dates("tháng 1/2017 và tháng 2")) == ()
    assert conflicts(asked, stated_dates("tháng 1/2016")) == ()  # another year: the year check's business


def test_the_article_stating_the_day_elsewhere_is_no_conflict():
    asked = stated_dates("ngày 12/4/2021")
    assert conflicts(asked, stated_dates("ngày 27/4"), lambda: stated_dates("kỳ điều chỉnh ngày 12/4")) == ()


def test_a_numbered_name_must_be_the_same_number():
    facts = analyze("Quận 3 TP.HCM ra mắt dịch vụ gì? Vsmart Star 4 giá bao nhiêu?", english=False)
    assert [(w, n) for w, n, _ in facts.labelled] == [("quan", "3"), ("star", "4")]
    other = check(facts, TextView("UBND quận 1 ra mắt dịch vụ; Vsmart Star 4 có pin 5.000 mAh."),
                  lambda: TextView(""), lambda tokens: tokens)
    assert other.numbers_conflict == ("Quận 3",)
    same = check(facts, TextView("Quận 1 và quận 3 ra mắt dịch vụ."), lambda: TextView(""), lambda tokens: tokens)
    assert same.numbers_conflict == ()


def test_times_and_months_are_not_numbered_names():
    facts = analyze("Trong năm 2017, on April 30, lần 2, Top 10 nước nào?", english=True)
    assert facts.labelled == ()
