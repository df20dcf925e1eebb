"""Readable text of an HTML page, with the stdlib `html.parser` only."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NamedTuple

# Elements whose content is never article text: code, page chrome, widgets.
_SKIP = frozenset({
    "script", "style", "noscript", "template", "svg", "iframe", "object", "canvas",
    "nav", "header", "footer", "aside", "form", "select", "button",
})
# Elements that end a paragraph; their text becomes its own block.
_PARAGRAPH = frozenset({
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "dl", "table", "figure", "figcaption", "blockquote", "pre", "address",
    "hr", "header", "center", "details", "summary",
})
# Elements that only end a line inside a paragraph.
_LINE = frozenset({"br", "li", "tr", "dt", "dd", "caption"})
_CELL = frozenset({"td", "th"})
# Elements without an end tag: they must never open a skipped region.
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "source", "wbr", "area", "col"})
# Metadata that states when the article was published.
_DATE_META = frozenset({"article:published_time", "datepublished", "pubdate", "date"})
# A <title> often ends with the site: "Tiêu đề | VnExpress", "Tiêu đề - Báo Quốc tế".
_TITLE_PARTS = re.compile(r"\s+[|–—-]\s+")
_SITE_NAME = re.compile(r"\.\w{2,4}\b|^(?:Báo|Tạp chí|Cổng|Đài)\b|^[A-Z]\w*[A-Z+]\w*\+?$")
# Declarations and marked sections ("<![if ...]>") that can make html.parser give up.
_DECLARATION = re.compile(r"<!(?!--)[^>]*>?")
_WHITESPACE = re.compile(r"\s+")


class HtmlText(NamedTuple):
    text: str
    title: str  # first <h1>, else <title> without the site name
    date: str  # raw value of a published-time meta tag, unparsed


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self.date = ""
        self._skip_tag = ""  # tag of the skipped element we are inside, if any
        self._skip_depth = 0
        self._article = 0  # depth of <article>: a <header> inside it is the article's own
        self._in = {"title": False, "h1": False, "pre": False}
        self._h1_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag:
            self._skip_depth += tag == self._skip_tag
            return
        attr = {k: (v or "") for k, v in attrs}
        if tag == "meta":
            key = (attr.get("property") or attr.get("name") or attr.get("itemprop") or "").lower()
            if key in _DATE_META and not self.date:
                self.date = attr.get("content", "")
            return
        style = attr.get("style", "").replace(" ", "")
        hidden = "hidden" in attr or attr.get("aria-hidden") == "true" or "display:none" in style
        if tag not in _VOID and (hidden or (tag in _SKIP and not (tag == "header" and self._article))):
            self._skip_tag, self._skip_depth = tag, 1
            return
        self._article += tag == "article"
        if tag in self._in:
            self._in[tag] = True
        self._break(tag, start=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip_tag:
            self._break(tag, start=True)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if not self._skip_depth:
                    self._skip_tag = ""
            return
        self._article -= tag == "article" and self._article > 0
        if tag in self._in:
            self._in[tag] = False
            self._h1_done |= tag == "h1" and bool("".join(self.h1).strip())
        self._break(tag, start=False)

    def handle_data(self, data: str) -> None:
        if self._skip_tag:
            return
        if not self._in["pre"]:
            data = _WHITESPACE.sub(" ", data)
        if self._in["title"]:
            self.title.append(data)
            return
        if self._in["h1"] and not self._h1_done:
            self.h1.append(data)
        self.parts.append(data)

    def _break(self, tag: str, start: bool) -> None:
        if tag in _PARAGRAPH:
            self.parts.append("\n\n")
        elif tag in _LINE and start:  # "<li>a</li><li>b</li>": one line each, same paragraph
            self.parts.append("\n")
        elif tag in _CELL:
            self.parts.append(" ")


def _page_title(extractor: _Extractor) -> str:
    h1 = " ".join("".join(extractor.h1).split())
    if h1:
        return h1
    title = " ".join("".join(extractor.title).split())
    seps = list(_TITLE_PARTS.finditer(title))
    if seps:
        suffix = title[seps[-1].end():]
        if len(suffix.split()) <= 4 and _SITE_NAME.search(suffix):
            title = title[: seps[-1].start()]
    return title


def html_to_text(html: str) -> HtmlText:
    """Text of the page with block elements as line breaks; code and chrome dropped."""
    extractor = _Extractor()
    try:
        extractor.feed(html)
        extractor.close()
    except AssertionError:  # html.parser rejects some malformed "<!...>" declarations
        extractor = _Extractor()
        extractor.feed(_DECLARATION.sub(" ", html))
        extractor.close()
    return HtmlText("".join(extractor.parts), _page_title(extractor), extractor.date.strip())
