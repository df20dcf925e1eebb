"""Tests for qa.clean: the seed corpus, each input format, and properties on arbitrary input."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.clean import clean_document
from qa.types import Article, Document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ZERO_WIDTH = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"


def seed_raw(prefix: str) -> str:
    (path,) = CORPUS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def seed(prefix: str) -> Article:
    return clean_document(Document(f"{prefix}.txt", seed_raw(prefix), "txt"))


SEEDS = ["000", "001", "002", "003", "004"]

EXPECTED = {
    # prefix: (title, date, source, author)
    "000": ("ASEAN và Hoa Kỳ cam kết tăng cường quan hệ đối tác chiến lược", "", "TTXVN", ""),
    "001": ("ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược", "2020-03-13", "Vietnam+", "HẢI NGỌC"),
    "003": ("ASEAN và Trung Quốc cam kết tăng cường quan hệ đối tác", "2022-06-16", "TTXVN/Vietnam+", "Hữu Chiến"),
    "004": ("(Video) Thứ trưởng Ngoại giao Nguyễn Quốc Dũng họp liên ngành các cơ quan tham gia hợp tác Asean",
            "2016-12-14", "MOFA", ""),
}

KEY_SENTENCES = {
    "000": ["cuộc họp lần thứ 8 Ủy ban hợp tác chung (JCC) ASEAN-Hoa Kỳ đã diễn ra tại Jakarta",
            "Đại sứ, Trưởng Phái đoàn các nước tham gia cuộc họp. (Ảnh: Đỗ Quyên/Vietnam+)",
            "Theo phóng viên TTXVN tại Indonesia, tại cuộc họp",
            "nâng cấp quan hệ ASEAN-Mỹ lên Đối tác chiến lược."],
    "001": ["Ngày 12/3, tại trụ sở Ban Thư ký ASEAN tại Jakarta",
            "với 71/75 dòng hành động đã được triển khai",
            "ứng phó biến đổi khí hậu…"],
    "002": ["Ảnh: Dương Giang/TTXVN",
            "Thủ tướng Phạm Minh Chính sẽ dẫn đầu Đoàn đại biểu Việt Nam",
            "Thúc đẩy hơn nữa quan hệ ASEAN – Hoa Kỳ",
            "vào ngày 25/8/2021."],
    "003": ["Hiệp hội các quốc gia Đông Nam Á (ASEAN) và Trung Quốc đã tái khẳng định",
            "(Nguồn THX/TTXVN)",
            "lạm dụng ma túy bất hợp pháp, tội phạm mạng./."],
    "004": ["Ngày 14/12/2016 tại Hà Nội, Bộ Ngoại giao",
            "+ Tích cực tham gia và tổ chức các hoạt động kỷ niệm 50 năm thành lập ASEAN"],
}

BOILERPLATE = [
    "Skip Ribbon", "Skip to main content", "Đọc thêm", "Ngôi nhà pin", "Chủ đề Hội nhập", "Tổng số lượt xem",
    "Quay lại Đầu trang", "Bản quyền", "Copyright", "Email:", "Hiển thị tốt nhất", "Đánh giá", "Di chuột",
    "asean va hoa ky cam ket", "Trang chủ", "Tìm kiếm", "Thứ hai, ngày 15 tháng 10", "Cập nhật:",
    "Ngày 16/06/2022-14:15:00", "(MOFA) -", "Hữu Chiến", "HẢI NGỌC", "Theo TTXVN", "•",
]


# --- the seed corpus -----------------------------------------------------------

@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_seed_metadata(prefix: str) -> None:
    article = seed(prefix)
    assert (article.title, article.date, article.source, article.author) == EXPECTED[prefix]
    assert article.title not in article.text  # the title line moved to Article.title


def test_seed_002_without_headline_is_named_by_its_lead_not_its_caption() -> None:
    article = seed("002")
    # whole: the sentence fits, and a date range "11 – 17/5" is no clause break
    assert article.title == ("Nhân dịp này, Thủ tướng Phạm Minh Chính sẽ dẫn đầu Đoàn đại biểu Việt Nam thăm làm "
                             "việc tại Hoa Kỳ và Liên hợp quốc từ ngày 11 – 17/5/2022")
    # the staff photographer's credit "Ảnh: Dương Giang/TTXVN" names the outlet; the trip's dates are
    # not the publication date
    assert (article.date, article.source, article.author) == ("", "TTXVN", "")
    assert article.text.startswith("Tại sân bay quốc tế Nội Bài")  # the caption stays as text


@pytest.mark.parametrize("prefix", SEEDS)
def test_seed_boilerplate_removed(prefix: str) -> None:
    text = seed(prefix).text
    for junk in BOILERPLATE:
        assert junk not in text, junk
    assert all(line.strip(" .•") for line in text.split("\n") if line)  # no stray "." / "•" lines


@pytest.mark.parametrize("prefix", SEEDS)
def test_seed_key_sentences_kept(prefix: str) -> None:
    text = seed(prefix).text
    for sentence in KEY_SENTENCES[prefix]:
        assert text.count(sentence) == 1, sentence


@pytest.mark.parametrize("prefix", SEEDS)
def test_seed_paragraph_layout(prefix: str) -> None:
    text = seed(prefix).text
    assert text == text.strip() and "\n\n\n" not in text
    assert all(line == line.strip() for line in text.split("\n"))
    assert text.count("\n\n") >= 5


def test_duplicated_caption_kept_once() -> None:
    text = seed("001").text
    assert text.count("Đại diện các nước trong Ủy ban hợp tác chung ASEAN-Nhật Bản (AJJCC).") == 1


def test_repeated_lead_with_glued_words_is_kept_as_is() -> None:
    text = seed("003").text
    assert text.startswith("Trong cam kết, Trung Quốc tái khẳng định ủng hộ xây dựng Cộng đồng ASEAN và")
    assert text.count("ủng hộ xây dựngCộng đồng ASEANvà vai trò") == 1  # not repaired, not dropped


def test_seed_004_lead_prefix_and_date() -> None:
    article = seed("004")
    assert article.text.startswith("Ngày 14/12/2016 tại Hà Nội")
    assert "2018" not in article.date  # the page's today-clock header is never the article date


@pytest.mark.parametrize("prefix", SEEDS)
def test_nfd_input_gives_same_article(prefix: str) -> None:
    raw = seed_raw(prefix)
    nfd = unicodedata.normalize("NFD", raw).replace("ASEAN", "AS\u200bEAN")
    assert clean_document(Document(f"{prefix}.txt", nfd, "txt")) == seed(prefix)


@pytest.mark.parametrize("prefix", SEEDS)
def test_cleaning_a_clean_article_is_stable(prefix: str) -> None:
    article = seed(prefix)
    raw = article.text if prefix == "002" else f"{article.title}\n\n{article.text}"
    again = clean_document(Document(article.doc_id, raw, "txt"))
    assert (again.title, again.text) == (article.title, article.text)


# --- general rules on other page layouts ------------------------------------------

def test_other_layout_dateline_inline_related_and_tail() -> None:
    raw = "\n".join([
        "Thời sự › Đối ngoại",
        "Việt Nam và Lào ký kết thỏa thuận hợp tác mới",
        "Thứ năm, 13/3/2020, 08:04 (GMT+7)",
        "Hai nước đã ký kết thỏa thuận hợp tác trong lĩnh vực giáo dục, y tế và giao thông vận tải.",
        "",
        "Xem thêm: Lào mở đường cao tốc đầu tiên",
        "",
        "Chủ đề năm nay là hợp tác vì phát triển bền vững, theo Bộ Ngoại giao hai nước.",
        "",
        "Minh Anh",
        "",
        "Tin liên quan",
        "Lào mở đường cao tốc đầu tiên",
    ])
    article = clean_document(Document("v.txt", raw, "txt"))
    assert article.title == "Việt Nam và Lào ký kết thỏa thuận hợp tác mới"
    assert (article.date, article.author, article.source) == ("2020-03-13", "Minh Anh", "")
    assert article.text == (
        "Hai nước đã ký kết thỏa thuận hợp tác trong lĩnh vực giáo dục, y tế và giao thông vận tải.\n\n"
        "Chủ đề năm nay là hợp tác vì phát triển bền vững, theo Bộ Ngoại giao hai nước.")


def test_date_without_year_and_spelled_out_lead_date() -> None:
    body = "Bộ Ngoại giao tổ chức họp báo thường kỳ về tình hình khu vực và quốc tế trong tuần."
    no_year = clean_document(Document("a.txt", f"Họp báo thường kỳ Bộ Ngoại giao\n\nNgày 4/4, {body}", "txt"))
    assert no_year.date == ""
    spelled = clean_document(Document(
        "b.txt", f"Họp báo thường kỳ Bộ Ngoại giao\n\nHÀ NỘI (TTXVN) - Ngày 14 tháng 12 năm 2016, {body}", "txt"))
    assert (spelled.date, spelled.source) == ("2016-12-14", "TTXVN")
    assert spelled.text.startswith("Ngày 14 tháng 12 năm 2016, Bộ Ngoại giao")


BODY = "Hai bên nhất trí tăng cường hợp tác kinh tế, thương mại và đầu tư trong thời gian tới."


@pytest.mark.parametrize("captions, source", [
    (["Hai bộ trưởng hội đàm. Ảnh: Dương Giang/TTXVN", "Toàn cảnh hội đàm. (Ảnh: Lâm Khánh/TTXVN)"], "TTXVN"),
    (["Hai bộ trưởng hội đàm. Ảnh: AFP"], ""),  # a wire picture, not the article's outlet
    (["Hai bộ trưởng hội đàm. (Nguồn THX/TTXVN)"], ""),
    (["Hai bộ trưởng hội đàm. Ảnh: Dương Giang/TTXVN", "Toàn cảnh. Ảnh: Reuters"], ""),
    (["Hai bộ trưởng hội đàm. Ảnh: Dương Giang/TTXVN", "Toàn cảnh. Ảnh: Văn Điệp/VNA"], ""),  # they disagree
])
def test_outlet_from_photo_credits_only_when_every_credit_names_it(captions: list[str], source: str) -> None:
    raw = "\n\n".join(["Việt Nam và Lào hội đàm cấp Bộ trưởng", captions[0], BODY, *captions[1:], BODY + " Hết."])
    assert clean_document(Document("c.txt", raw, "txt")).source == source


def test_byline_outranks_photo_credit() -> None:
    raw = "\n\n".join(["Việt Nam và Lào hội đàm cấp Bộ trưởng", "Hội đàm. Ảnh: Dương Giang/TTXVN", BODY,
                        "HẢI NGỌC (Vietnam+)"])
    article = clean_document(Document("c.txt", raw, "txt"))
    assert (article.source, article.author) == ("Vietnam+", "HẢI NGỌC")


def test_press_release_issuer_from_signature_or_title() -> None:
    signed = clean_document(Document("s.txt", "\n\n".join(
        ["Thông cáo báo chí về Hội nghị Bộ trưởng Ngoại giao ASEAN", "Hà Nội, ngày 2/8/2021", BODY, "Bộ Ngoại giao"]),
        "txt"))
    assert (signed.source, signed.date) == ("Bộ Ngoại giao", "2021-08-02")
    assert not signed.text.endswith("Bộ Ngoại giao")
    titled = clean_document(Document("t.txt", "\n\n".join(
        ["Thông cáo báo chí của Bộ Ngoại giao về chuyến thăm của Thủ tướng Lào", BODY]), "txt"))
    assert titled.source == "Bộ Ngoại giao"
    # a sentence that ends the article is not a signature
    unsigned = clean_document(Document("u.txt", "\n\n".join(["Việt Nam và Lào hội đàm cấp Bộ trưởng", BODY,
                                                               "Bộ Ngoại giao hai nước sẽ họp lại vào năm sau."]), "txt"))
    assert unsigned.source == ""


# --- other formats -------------------------------------------------------------

HTML = """<!DOCTYPE html><html><head><title>ASEAN họp bàn hợp tác | VnExpress</title>
<meta property="article:published_time" content="2023-05-09T10:00:00+07:00">
<style>.lead { color: red }</style><script>alert(1)</script></head>
<body><header class="site"><h1>Logo báo</h1></header><nav><a href="/">Trang chủ</a> <a href="/tg">Thế giới</a></nav>
<article><header><h1>ASEAN họp bàn hợp tác&nbsp;kinh tế</h1><span>Thứ ba, 9/5/2023, 10:00 (GMT+7)</span></header>
<p>Ngày 9/5, các bộ trưởng ASEAN đã họp tại Jakarta &amp; thống nhất tăng cường hợp tác.</p>
<figure><img src="a.jpg"><figcaption>Các bộ trưởng chụp ảnh chung. Ảnh: TTXVN</figcaption></figure>
<p>Hội nghị nhấn mạnh vai trò trung tâm<br>của ASEAN trong khu vực.</p>
<ul><li>Kết nối</li><li>Chuyển đổi số</li></ul></article>
<aside><h3>Tin liên quan</h3><p>Bài khác về ASEAN</p></aside>
<footer>© Copyright VnExpress. Email: x@vnexpress.net</footer>
<noscript>Bật JavaScript</noscript><svg><text>svgtext</text></svg><form><input> Tìm</form>
</body></html>"""


def test_html_document() -> None:
    article = clean_document(Document("a.html", HTML, "html"))
    assert article.title == "ASEAN họp bàn hợp tác kinh tế"
    assert article.date == "2023-05-09"
    assert article.text == (
        "Ngày 9/5, các bộ trưởng ASEAN đã họp tại Jakarta & thống nhất tăng cường hợp tác.\n\n"
        "Các bộ trưởng chụp ảnh chung. Ảnh: TTXVN\n\n"
        "Hội nghị nhấn mạnh vai trò trung tâm\ncủa ASEAN trong khu vực.\n\n"
        "Kết nối\nChuyển đổi số")
    dropped = ("alert", "color", "Logo", "GMT", "Trang chủ", "Thế giới", "Copyright", "JavaScript", "svgtext", "Tìm",
               "Bài khác")
    for code in dropped:
        assert code not in article.text


def test_html_title_tag_without_h1_drops_site_name() -> None:
    html = "<title>Hợp tác ASEAN – Nhật Bản - Báo Quốc tế</title><p>ASEAN và Nhật Bản đã họp tại Jakarta.</p>"
    article = clean_document(Document("b.html", html, "html"))
    assert (article.title, article.text) == ("Hợp tác ASEAN – Nhật Bản", "ASEAN và Nhật Bản đã họp tại Jakarta.")


def test_markdown_document() -> None:
    md = ("# Hợp tác **ASEAN** – Hoa Kỳ\n\n"
          "Hai bên [cam kết](https://example.vn/a) tăng cường *hợp tác* trong __nhiều__ lĩnh vực, theo snake_case.\n\n"
          "## Kinh tế\n\n![ảnh](x.png)\n* Thương mại\n* Đầu tư\n\n> Trích dẫn phát biểu.\n\n[1]: https://example.vn\n")
    article = clean_document(Document("a.md", md, "md"))
    assert article.title == "Hợp tác ASEAN – Hoa Kỳ"
    assert article.text == (
        "Hai bên cam kết tăng cường hợp tác trong nhiều lĩnh vực, theo snake_case.\n\n"
        "Kinh tế\n\n- Thương mại\n- Đầu tư\n\nTrích dẫn phát biểu.")


def test_jsonl_document_is_normalized() -> None:
    doc = Document("j1", "  Đọc thêm\u200b  về ASEAN\n\n\n\nĐoạn 2 ", "jsonl", title=" Tiêu\nđề ",
                   date="2020-03-13T08:00:00Z", url=" https://x.vn/a ", source=" TTXVN ")
    assert clean_document(doc) == Article("j1", "Tiêu đề", "Đọc thêm về ASEAN\n\nĐoạn 2", "2020-03-13", "TTXVN",
                                          "", "https://x.vn/a")
    for bad in ("13/03/2020", "2020-02-30", "hôm qua"):
        assert clean_document(Document("j2", "x", "jsonl", date=bad)).date == ""


def test_jsonl_document_loses_its_closing_byline() -> None:
    body = "Hai bên ký kết nhiều văn kiện.\n\nThu Loan (từ Tokyo)"
    crawled = clean_document(Document("j3", body + "\n\nTheo baomoi.com", "jsonl"))
    assert (crawled.text, crawled.source) == (body, "baomoi.com")
    # The record's own source wins; a sentence starting with "Theo" is not a byline.
    assert clean_document(Document("j4", "A.\n\nTheo dantri.com.vn", "jsonl", source="dantri")).source == "dantri"
    assert clean_document(Document("j5", "A.\nTheo tôi, đó là điều tốt", "jsonl")).text == "A.\nTheo tôi, đó là điều tốt"


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ValueError):
        clean_document(Document("x.pdf", "text", "pdf"))


# --- properties ------------------------------------------------------------------

TOKENS = [
    "<p>", "</p>", "<div>", "<br>", "<script>", "</script>", "<style>", "<nav>", "</nav>", "<h1>", "</h1>",
    "<title>", "<!--", "-->", "<![", "]]>", "<!DOCTYPE", "&amp;", "&#8203;", "&nbsp;", "<", ">", "#", "##", "*", "_",
    "[a](b)", "![x](y)", "`", "\n", "\n\n", " ", "\u200b", "\ufeff", "e\u0301", "Đ", "ngày 14/12/2016", "Thứ hai, ",
    "08:04", "Cập nhật: ", "(MOFA) - ", "Theo TTXVN", "Đọc thêm", "Chủ đề ", "©", ".", "•", "ASEAN và Hoa Kỳ",
    "Hội nghị đã nhấn mạnh sự cần thiết tăng cường hợp tác nhằm giải quyết các thách thức khu vực.",
]
page_text = st.one_of(st.text(), st.lists(st.sampled_from(TOKENS) | st.text(max_size=5), max_size=40).map("".join))


@settings(max_examples=150, deadline=None)
@given(raw=page_text, fmt=st.sampled_from(["txt", "md", "html", "jsonl"]))
def test_never_raises_and_output_is_normalized(raw: str, fmt: str) -> None:
    article = clean_document(Document("p", raw, fmt))
    for value in (article.text, article.title, article.source, article.author):
        assert unicodedata.is_normalized("NFC", value)
        assert not any(ch in value for ch in ZERO_WIDTH)
    assert "\n\n\n" not in article.text and article.text == article.text.strip()
    assert article.date == "" or (len(article.date) == 10 and article.date[4] == "-")
    assert clean_document(Document("p", raw, fmt)) == article  # deterministic


@settings(max_examples=100, deadline=None)
@given(raw=page_text)
def test_jsonl_cleaning_is_idempotent(raw: str) -> None:
    once = clean_document(Document("p", raw, "jsonl"))
    assert clean_document(Document("p", once.text, "jsonl")).text == once.text


@settings(max_examples=100, deadline=None)
@given(raw=page_text)
def test_nfd_and_nfc_inputs_agree(raw: str) -> None:
    for fmt in ("txt", "html"):
        nfc = clean_document(Document("p", unicodedata.normalize("NFC", raw), fmt))
        assert clean_document(Document("p", unicodedata.normalize("NFD", raw), fmt)) == nfc
