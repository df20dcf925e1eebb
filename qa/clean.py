"""Raw scraped page -> Article: the text a reader reads, plus title/date/source/author.

Every input goes through `normalize_text` first. HTML is turned into text by
`qa.html_text`, Markdown is lightly stripped; then all get the same line-based cleaning:
cut the related-articles/footer tail, drop chrome and timestamp lines, take the title
line, drop repeated lines, take the byline and the lead's source prefix. JSONL records
are already clean of page chrome: they are normalized and lose their closing byline.

Choices:
- title: the first line if it looks like a heading (short menu-like lines may precede
  it); else the first sentence, cut at a clause break or word boundary near 120 chars.
  A mid-article subheading is never the title: it names a section, not the article.
- date: a timestamp line ("Cập nhật: 08:04, 13/03/2020") needs a time or a label; a bare
  date line is the site's "today" clock and is dropped unused. Else a dated lead
  ("Ngày 14/12/2016 tại ..."). No year, no date: a field is left empty rather than guessed.
- source/author: from a byline or an issuer's signature at the end ("Bộ Ngoại giao" under a
  press release), a "(MOFA) - " lead prefix, or "Thông cáo báo chí của Bộ Ngoại giao" in the
  title. Failing those, from photo credits, only when every credit names one staff
  photographer's outlet ("Ảnh: Dương Giang/TTXVN"): a bare "Ảnh: AFP" credits a picture bought
  from a wire, not the article. The prefix is removed from the lead (it is metadata, and
  answers quoting the lead should not start with it); the lead's date stays (it is the sentence).
- a fallback title skips photo captions: a page without a headline is named by its lead.
- repeated lines: exact repeats are dropped; near-repeats (glued words) are kept as is.
"""
from __future__ import annotations

import datetime
import re

from qa.html_text import html_to_text
from qa.normalize import fold_diacritics, normalize_query, normalize_text
from qa.types import Article, Document

_FORMATS = ("txt", "md", "html", "jsonl")

# --- dates -----------------------------------------------------------------
_DATE = (r"(?:(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})"  # 13/03/2020
         r"|(?P<d2>\d{1,2})\s+tháng\s+(?P<m2>\d{1,2}),?\s+năm\s+(?P<y2>\d{4})"  # 14 tháng 12 năm 2016
         r"|(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2}))")  # 2020-03-13
_TIME = r"\d{1,2}\s*[:h]\s*\d{2}(?:\s*:\s*\d{2})?(?:\s*(?:AM|PM|SA|CH)\b)?"
_WEEKDAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)"
_SEP = r"[\s,|–—-]*"
# A line that is only a publication stamp: "Cập nhật: 08:04, 13/03/2020 (GMT+7)",
# "Ngày 16/06/2022-14:15:00 PM", "Thứ năm, 13/3/2020, 08:04 (GMT+7)".
_DATELINE = re.compile(
    r"(?P<label>(?:cập nhật(?: lúc)?|ngày (?:đăng|cập nhật|xuất bản)|đăng (?:ngày|lúc)|thời gian(?: đăng)?"
    rf"|xuất bản|published|updated|posted)\s*:?)?{_SEP}(?:{_WEEKDAY}{_SEP})?(?:(?P<t1>{_TIME}){_SEP})?"
    rf"(?:ngày\s+)?{_DATE}{_SEP}(?:(?P<t2>{_TIME}){_SEP})?"
    r"(?:\(?\s*GMT\s*[+-]\s*\d{1,2}(?::?\d{2})?\s*\)?)?\s*", re.I)
# A date at the head of a line with no time or label, e.g. the site's "today" clock
# "Thứ hai, ngày 15 tháng 10 năm 2018": the scrape date, never the article's.
_DATE_PREFIX = re.compile(rf"{_SEP}(?:{_WEEKDAY}{_SEP})?(?:ngày\s+)?{_DATE}{_SEP}", re.I)
# The lead's own dateline: "Ngày 14/12/2016 tại Hà Nội", "Hà Nội, ngày 14/12/2016".
_LEAD_DATE = re.compile(rf"(?:[^\d,.;]{{0,40}},\s*)?ngày\s+{_DATE}", re.I)
_ISO = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")

# --- chrome: lines that are never article text, dropped wherever they are ----
_NAV_ITEM = (r"(?:skip ribbon commands|skip to (?:main )?content|trang chủ|đăng ký nhận tin|đăng ký|đăng nhập"
             r"|tìm kiếm nâng cao|tìm kiếm|ý kiến bạn đọc|liên kết website|liên hệ|english|tiếng việt|rss"
             r"|sơ đồ (?:trang|website)|sitemap|in trang|in bài|gửi mail|gửi email|gửi bài viết|chia sẻ"
             r"|bình luận|quay lại|về đầu trang|lên đầu trang|đầu trang|đánh giá|facebook|twitter|zalo"
             r"|print|share|menu)")
# Menus, share bars and widgets made only of such items: "Quay lại Đầu trang In trang Gửi mail".
_NAV_LINE = re.compile(rf"(?:[\W_]*{_NAV_ITEM})+[\W_]*", re.I)
# Stray punctuation lines left by removed widgets: ".", "•", "./.".
_STRAY = re.compile(r"[\W_]*")
# Rating widget help text and contact lines: "(Di chuột vào ngôi sao để chọn điểm)", "Email: ...".
_WIDGET = re.compile(r"\(?(?:di chuột|click|nhấp|bấm) vào .{0,60}(?:chọn|đánh giá|bình chọn)"
                     r"|(?:e-?mail|hotline|điện thoại|fax)\s*:.{0,80}$", re.I)
# Breadcrumbs: "Thời sự › Đối ngoại", "Trang chủ » Tin tức".
_BREADCRUMB = re.compile(r"(?:[^›»>.!?]{1,40}\s[›»>]\s)+[^›»>.!?]{1,40}")
# Inline links to other articles inside the body: "Xem thêm: <tiêu đề khác>", "Xem thêm".
_INLINE_RELATED = re.compile(r"[>»\s]*(?:xem thêm\s*$|(?:xem thêm|đọc thêm|tin liên quan)\s*[:>»])", re.I)

# --- tail: everything from these lines on is not the article ----------------
# Related-article lists ("Đọc thêm", "Tin liên quan") and footers (copyright, counters).
_TAIL = re.compile(
    r"[•·*\s-]*(?:(?:đọc thêm|tin liên quan|bài liên quan|bài viết liên quan|tin cùng chuyên mục"
    r"|tin cùng chủ đề|tin khác|các tin khác|các tin đã đưa|tin đã đưa|tin mới nhất|tin nổi bật"
    r"|có thể bạn quan tâm|bạn có thể quan tâm|đọc nhiều nhất|xem nhiều nhất)\s*:?$"
    r"|quay lại đầu trang|về đầu trang|lên đầu trang|bản quyền\b|©|copyright\b|hiển thị tốt nhất|best viewed"
    r"|(?:tổng số )?lượt xem\s*:|giấy phép (?:số|xuất bản|hoạt động)|cơ quan chủ quản)", re.I)
# Topic/tag links closing a page: "Chủ đề Hội nhập Quốc tế", "Từ khóa: ASEAN".
_TOPIC = re.compile(r"(?:chủ đề|từ khóa|từ khoá|tags?|thẻ)(?P<colon>\s*:)?\s*(?P<rest>\S.{0,80})$", re.I)

# --- title, captions, bylines ---------------------------------------------
_TERMINAL = re.compile(r"[.:;,…]['\"”’)]*$")  # a sentence or a label, not a heading
_SENTENCE_END = re.compile(r"[.!?…]+['\"”’)]*\s+")
_CLAUSE_BREAK = re.compile(r"[;:](?=\s)|(?<!\d)\s[–—-]\s")  # where a long fallback title may be cut, not "11 – 17/5"
# Photo captions carry a credit: "(Ảnh: Đỗ Quyên/Vietnam+)", "Ảnh: Dương Giang/TTXVN", "(Nguồn THX/TTXVN)".
_CAPTION = re.compile(r"\b(?:ảnh|nguồn|photo)\s*:|\((?:ảnh|nguồn)\b|ảnh minh ho[ạa]", re.I)
# A caption line ends with its credit; group "credit" is what follows "Ảnh:" / "Nguồn".
_CAPTION_LINE = re.compile(r".*?[(\s]?(?:Ảnh|Nguồn|Photo)\s*:?\s+(?P<credit>[^():]{2,60}?)\)?\s*$", re.I)
# Press releases are signed by the issuing body: "Bộ Ngoại giao", "Văn phòng Chính phủ".
_ISSUER = r"(?:Bộ|Văn phòng|Ủy ban|Uỷ ban|Đại sứ quán|Tổng Lãnh sự quán|Phái đoàn|Cục|Tổng cục|Sở) [A-ZĐÂĂÊÔƠƯ][\w ]{1,40}"
_SIGNATURE = re.compile(_ISSUER)
_RELEASE = re.compile(r"Thông cáo(?: báo chí)?(?: chung)?\s+(?:của\s+|[-–—:]\s*)(?P<issuer>%s?)(?=\s+(?:về|nhân|tại)\b|\s*$)"
                      % _ISSUER, re.I)
# An outlet named by its web address: "Theo dantri.com.vn".
_DOMAIN = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:vn|com|net|org|info)(?:\.vn)?")
_THEO = re.compile(r"(?:Theo|Nguồn)\s*:?\s+(?P<source>%s|[^.;:!?]{2,60}?)\s*\.?" % _DOMAIN.pattern)  # "Theo TTXVN"
_CLOSERS = (".", "!", "?", "…", "”", '"')  # a line ending like this finishes a sentence
# "HẢI NGỌC (Vietnam+)", "Minh Anh/TTXVN": an author name with the outlet.
_NAME_OUTLET = re.compile(r"(?P<author>[^()/]{3,50}?)\s*(?:\((?P<src>[^()]{2,40})\)|/\s*(?P<src2>[^()/\s][^()]{1,40}))")
# Outlets in bylines: acronyms and brands (TTXVN, Vietnam+, VnExpress, TTXVN/Vietnam+, Chinhphu.vn).
_OUTLET = re.compile(r"\(?(?:[A-Z][\w.+]*(?:[A-Z+]|\.vn|\.com)\w*\+?|(?:Báo|Tạp chí|Đài|Cổng)\s[\w ]{2,30})"
                     r"(?:\s*/\s*[A-Z][\w.+]*)*\)?$")
# Source stated before the lead: "(MOFA) - ", "HÀ NỘI (TTXVN) - ".
_LEAD_SOURCE = re.compile(r"(?P<place>[^()]{0,30}?)\s*\((?P<source>[^()\s][^()]{1,30})\)\s*[-–—]+\s*")


# --- markdown (each pattern stops at its own delimiter, so it stays linear) --
_MD_REFDEF = re.compile(r"\[[^\[\]]+\]:\s*\S")  # "[1]: https://..." link definitions
_MD_QUOTE = re.compile(r"^>\s?")  # blockquote marker
_MD_BULLET = re.compile(r"^[*+]\s+")  # "* item" -> "- item", so "*" is not read as emphasis
_MD_IMAGE = re.compile(r"!\[[^\[\]]*\]\([^()]*\)")  # images: the reader sees a picture, not alt text
_MD_LINK = re.compile(r"\[([^\[\]]+)\](?:\([^()]*\)|\[[^\[\]]*\])")  # [text](url), [text][ref] -> text
_MD_AUTOLINK = re.compile(r"<(https?://[^<>\s]+)>")
_MD_STARS = re.compile(r"(\*{1,3})(?=[^*\s])([^*]+?)(?<=\S)\1")  # *em*, **strong**
_MD_CODE = re.compile(r"(`+|~~)([^`~]+?)\1")  # `code`, ~~strike~~
_MD_UNDERSCORES = re.compile(r"(?<!\w)(_{1,3})(?=[^_\s])([^_]+?)(?<=\S)\1(?!\w)")  # _em_, not snake_case
_MD_HEADING = re.compile(r"#{1,6}\s+(.*?)(?:\s+#+)?\s*$")


def clean_document(doc: Document) -> Article:
    """Clean one raw document into an Article (see the module docstring)."""
    if doc.fmt not in _FORMATS:
        raise ValueError(f"unknown document format {doc.fmt!r}; expected one of {_FORMATS}")
    text = normalize_text(doc.raw)
    title, date, source, url = (normalize_query(v) for v in (doc.title, doc.date, doc.source, doc.url))
    if doc.fmt == "jsonl":
        # Records come clean of page chrome, but crawls keep the closing byline ("Theo baomoi.com"),
        # which would otherwise become a passage of its own.
        author, byline_source, kept = _take_byline(text.split("\n"))
        return Article(doc.doc_id, title, normalize_text("\n".join(kept)), _iso_date(date),
                       source or byline_source, author, url)
    hint_date = ""
    if doc.fmt == "html":
        page = html_to_text(text)
        text, hint_date = normalize_text(page.text), _iso_date(page.date)
        title = title or normalize_query(page.title)
    elif doc.fmt == "md":
        text, md_title = _strip_markdown(text)
        title = title or md_title
    art = _clean_lines(text.split("\n"), title)
    return Article(doc.doc_id, art["title"], art["text"], _iso_date(date) or hint_date or art["date"],
                   source or art["source"], art["author"], url)


def _clean_lines(lines: list[str], title: str) -> dict[str, str]:
    lines = _cut_tail(lines)
    date, kept = "", []
    for line in lines:
        stamp = _dateline(line)
        if stamp is not None:
            date = date or stamp
        elif not line or not _is_chrome(line):
            kept.append(line)
    title, explicit, kept = _take_title(kept, title)
    if explicit:  # repeats of the title, including the accent-less URL slug line
        kept = [line for line in kept if _fold_key(line) != _fold_key(title)]
    kept = _dedupe(kept)
    author, source, kept = _take_byline(kept)
    lead_source, lead_date, kept = _take_lead(kept)
    text = normalize_text("\n".join(kept))
    release = _RELEASE.search(title)
    return {"title": title or _first_sentence(text), "text": text, "date": date or lead_date,
            "source": source or lead_source or (release["issuer"] if release else "") or _credited_outlet(kept),
            "author": author}


def _cut_tail(lines: list[str]) -> list[str]:
    """Drop everything from the first related-articles or footer line after the body began."""
    body_seen = False
    for i, line in enumerate(lines):
        if body_seen and len(line) <= 160 and not line.endswith((".", "!", "?")):
            topic = _TOPIC.match(line)
            if _TAIL.match(line) or (topic and (topic["colon"] or topic["rest"][0].isupper())):
                return lines[:i]
        body_seen = body_seen or (len(line.split()) >= 12 and line.endswith((".", "!", "?", "…")))
    return lines


def _dateline(line: str) -> str | None:
    """ISO date ("" if invalid) when the line is only a labelled or timed stamp, else None."""
    m = _DATELINE.fullmatch(line) if line and len(line) <= 80 else None
    if not m or not (m["label"] or m["t1"] or m["t2"]):
        return None
    return _match_iso(m)


def _is_chrome(line: str) -> bool:
    if (_STRAY.fullmatch(line) or _NAV_LINE.fullmatch(line) or _WIDGET.match(line) or _INLINE_RELATED.match(line)
            or (len(line) <= 100 and _BREADCRUMB.fullmatch(line))):
        return True
    m = _DATE_PREFIX.match(line)  # a bare date, alone or in a menu line
    return bool(m) and (m.end() == len(line) or bool(_NAV_LINE.fullmatch(line[m.end():])))


def _take_title(lines: list[str], title: str) -> tuple[str, bool, list[str]]:
    """Find the title line near the top: (title, is_explicit, lines without it and what precedes it).

    With a known title (md heading, html h1, Document.title) look for that line; otherwise
    the first line must look like a heading. Only short menu-like lines may precede it.
    """
    key = _fold_key(title)
    for i, line in enumerate(lines[:40]):
        if not line:
            continue
        if (key and _fold_key(line) == key) or (not key and _heading_like(line) and any(lines[i + 1:])):
            return line, True, lines[i + 1:]
        if len(line.split()) > 5 or _TERMINAL.search(line):
            break  # the body has started: no title line in this text
    return title, bool(title), lines


def _heading_like(line: str) -> bool:
    return (3 <= len(line.split()) <= 35 and 10 <= len(line) <= 200
            and not _TERMINAL.search(line) and not _CAPTION.search(line))


def _dedupe(lines: list[str]) -> list[str]:
    """Drop a line equal to the previous one (captions, teaser titles) or to any earlier long line."""
    seen: set[str] = set()
    out: list[str] = []
    previous = ""
    for line in lines:
        if line and (line == previous or line in seen):
            continue
        if line:
            previous = line
            if len(line) >= 30:
                seen.add(line)
        out.append(line)
    return out


def _take_byline(lines: list[str]) -> tuple[str, str, list[str]]:
    """Strip byline lines at the end: "Theo TTXVN", "HẢI NGỌC (Vietnam+)", "Hữu Chiến" + "TTXVN/Vietnam+".

    Read bottom-up; stop at the first line that is not a byline. A name alone is taken as
    the author only under an outlet line or right after a finished sentence.
    """
    author = source = ""
    body = list(lines)
    for _ in range(3):
        while body and not body[-1]:
            body.pop()
        content = [line for line in body if line]
        if len(content) < 2 or len(content[-1]) > 60:
            break
        last, after_sentence = content[-1], content[-2].endswith(_CLOSERS)
        theo, named = _THEO.fullmatch(last), _NAME_OUTLET.fullmatch(last)
        outlet = named and (named["src"] or named["src2"])
        if theo and not source and (theo["source"][0].isupper() or _DOMAIN.fullmatch(theo["source"])) \
                and len(theo["source"].split()) <= 6:
            source = theo["source"]
        elif outlet and not (author or source) and _is_name(named["author"]) and _OUTLET.fullmatch(outlet):
            author, source = named["author"], outlet
        elif not (author or source) and _OUTLET.fullmatch(last):
            source = last.strip("()")
        elif not (author or source) and after_sentence and _SIGNATURE.fullmatch(last):
            source = last
        elif not author and _is_name(last) and (source or after_sentence):
            author = last
        else:
            break
        body.pop()
    return author, source.strip(), body


def _is_name(text: str) -> bool:
    """Personal names: capitalised words, possibly several joined by "-", "," or "và"."""
    words = [w for w in re.split(r"\s*(?:,|–|-|\bvà\b)\s*|\s+", text) if w]
    return (2 <= len(words) <= 8 and len(text) <= 50 and not _OUTLET.fullmatch(text)
            and all(w[0].isupper() and w.replace(".", "").isalpha() for w in words))


def _caption(line: str) -> re.Match[str] | None:
    """The line as a photo caption ending with its credit (group "credit"), or None."""
    return _CAPTION_LINE.fullmatch(line) if _CAPTION.search(line) else None


def _credited_outlet(lines: list[str]) -> str:
    """The outlet of the staff photographer every photo credit names ("Ảnh: Dương Giang/TTXVN"), else ""."""
    outlets = set()
    for line in lines:
        m = _caption(line)
        if not m:
            continue
        *photographer, outlet = m["credit"].split("/")
        outlet = outlet.strip()
        if not photographer or not _is_name(photographer[-1].strip()) or not _OUTLET.fullmatch(outlet):
            return ""  # a wire picture, or a credit read in no known form: the outlet is not known
        outlets.add(outlet)
    return outlets.pop() if len(outlets) == 1 else ""


def _take_lead(lines: list[str]) -> tuple[str, str, list[str]]:
    """Source prefix ("(MOFA) - ", removed) and date ("Ngày 14/12/2016", kept) of the lead."""
    for i, line in enumerate(lines):
        if not line or _CAPTION.search(line):
            continue
        source = ""
        m = _LEAD_SOURCE.match(line)
        if m and (not m["place"] or m["place"].isupper()) and _OUTLET.fullmatch(m["source"]):
            source, line = m["source"].strip(), line[m.end():]
            lines = lines[:i] + [line] + lines[i + 1:]
        date = _LEAD_DATE.match(line)
        return source, _match_iso(date) if date else "", lines
    return "", "", lines


def _strip_markdown(text: str) -> tuple[str, str]:
    """Light Markdown removal; the first heading is returned as the title and left out of the text."""
    title, out = "", []
    for line in text.split("\n"):
        if _MD_REFDEF.match(line):
            continue
        line = _MD_BULLET.sub("- ", _MD_QUOTE.sub("", line))
        line = _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", line))
        line = _MD_AUTOLINK.sub(r"\1", line)
        for emphasis in (_MD_STARS, _MD_CODE, _MD_UNDERSCORES):
            line = emphasis.sub(r"\2", line)
        heading = _MD_HEADING.match(line)
        if heading:
            line = heading[1]
            if not title and line:
                title = line
                continue
        out.append(line)
    return normalize_text("\n".join(out)), normalize_query(title)


def _first_sentence(text: str, limit: int = 120) -> str:
    """Fallback title: the first sentence that is not a photo caption; one longer than 1.25 *
    `limit` characters is cut at a clause break, else at a word boundary before `limit`, marked "…"."""
    first = next((line for line in text.split("\n") if line and not _caption(line)), "")
    end = _SENTENCE_END.search(first)
    sentence = (first[:end.start()] if end else first).rstrip(" .")
    if len(sentence) <= limit * 5 // 4:
        return sentence
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(sentence, limit // 2, limit * 5 // 4)]
    if breaks:
        return sentence[:breaks[-1]]
    return sentence[:limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:–-") + "…"


def _fold_key(text: str) -> str:
    """Comparison key ignoring accents, case and punctuation: matches the title to its URL slug."""
    return " ".join(re.findall(r"[^\W_]+", fold_diacritics(text).lower()))


def _match_iso(m: re.Match[str]) -> str:
    day, month, year = m["d"] or m["d2"] or m["d3"], m["m"] or m["m2"] or m["m3"], m["y"] or m["y2"] or m["y3"]
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except (TypeError, ValueError):
        return ""


def _iso_date(value: str) -> str:
    """"YYYY-MM-DD..." -> "YYYY-MM-DD" when it is a real date, else ""."""
    m = _ISO.match(value)
    if not m:
        return ""
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return ""
