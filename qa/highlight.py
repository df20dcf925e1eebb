"""Safe HTML for article text: escape first, then insert <mark> tags by offsets.

Corpus text is never trusted as HTML: every piece of it goes through `html.escape`, and the only
tags in the output are the ones written here (`<mark>`, `<span>`, `<br>`, `<sup>`). Offsets always
point into the unescaped text, so escaping cannot shift them.

Three kinds of marking, outermost first, nested properly where they overlap:
- focus (`span.qa-focus`): the passage, when it is shown in place inside its whole article;
- support (`mark.qa-support`): the sentences the answer was built from;
- term (`mark.qa-term`, lighter): the question's content words.

A question typed without diacritics matches words diacritics-insensitively ("my cung cap" finds
"Mỹ cung cấp"); a question typed with them matches the same letters and marks, wherever the tone
mark sits ("hòa" finds "hoà", "Ủy" finds "Uỷ"), so "bản" does not light up every "bàn" and "ban"
of the article, nor "cung" every "cũng".
"""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Iterable, Sequence

from . import segment
from .answer import ends_run
from .normalize import fold_diacritics, normalize_query
from .tokens import STOPWORDS, SYLLABLE, syllables
from .types import Answer, AnswerSentence, GeneratedSentence, Passage, ShortAnswer

FOCUS_CLASS = "qa-focus"
SUPPORT_CLASS = "qa-support"
TERM_CLASS = "qa-term"
SHORT_CLASS = "qa-short"

Span = tuple[int, int]

# Follow-up openers ("Còn Nhật Bản thì sao?") carry no topic; neither do they deserve a mark.
_SKIP = STOPWORDS | {"con", "vay", "the", "ra", "nhu", "thi", "sao"}
# Marked words separated only by these join into one mark: "Nhật Bản", "ASEAN-Nhật Bản".
_JOINABLE_GAP = re.compile(r"[ \t\-–]+")

# Styles for the classes above; the UI adds them to the page once.
HIGHLIGHT_CSS = """
.qa-text { line-height: 1.65; overflow-wrap: anywhere; }
.qa-text mark.qa-support { background: #ffe08a; color: #1f1f1f; padding: 0 .1em; border-radius: 3px; }
.qa-text mark.qa-term { background: #fff4c7; color: inherit; border-bottom: 2px solid #e0a800;
  padding: 0; font-weight: 600; }
.qa-text mark.qa-support mark.qa-term { background: transparent; color: #1f1f1f; }
.qa-text mark.qa-short { background: #ffd24d; color: #1f1f1f; font-weight: 700; padding: 0 .1em; border-radius: 3px; }
.qa-short-answer { font-size: 1.25rem; margin-bottom: .25rem; }
.qa-text span.qa-focus { background: rgba(66, 133, 244, .10); border-left: 3px solid #4285f4;
  padding: .15em .3em; }
"""


def query_terms(question: str) -> frozenset[str]:
    """The question's content words, lower-cased as written (stop words left out). A question with
    diacritics is split into words, compounds kept whole ("cung cấp", "hợp tác"), so that the
    syllables of a compound are not marked wherever they stand alone ("cấp", "tác"); one typed
    without them is taken syllable by syllable, which is all that can be told."""
    text = normalize_query(question or "")
    if fold_diacritics(text) == text:
        words = syllables(text)
    else:
        words = [" ".join(syllables(w)) for w in segment.words(text)]
    return frozenset(w.lower() for w in words
                     if w and not all(fold_diacritics(s.lower()) in _SKIP for s in w.split()))


def _marks_key(word: str) -> tuple[str, str]:
    """The word's letters (đ kept) and its set of marks, wherever the tone mark sits: "hoà" == "hòa"."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    marks = "".join(sorted(ch for ch in decomposed if unicodedata.combining(ch)))
    return letters, marks


def _key(folded: bool):
    """How a text word is compared with a question word. A question typed without any marks
    matches folded forms; one typed with marks matches words with the same letters and marks
    (unmarked "cung" is then not "cũng")."""
    return (lambda word: fold_diacritics(word.lower())) if folded else _marks_key


def term_spans(text: str, terms: Iterable[str]) -> list[Span]:
    """Spans of `text` where a question word occurs whole (all syllables of a compound, in order;
    see the module docstring), adjacent ones joined."""
    terms = [t.lower() for t in terms]
    if not terms or not text:
        return []
    key = _key(all(fold_diacritics(t) == t for t in terms))
    phrases = sorted({tuple(key(s) for s in t.split()) for t in terms if t.split()}, key=len, reverse=True)
    words = list(SYLLABLE.finditer(text))
    keys = [key(w.group()) for w in words]
    spans: list[Span] = []
    i = 0
    while i < len(words):
        n = next((len(p) for p in phrases if tuple(keys[i:i + len(p)]) == p
                  and all(text[words[j].end():words[j + 1].start()] == " " for j in range(i, i + len(p) - 1))), 0)
        if not n:
            i += 1
            continue
        start, end = words[i].start(), words[i + n - 1].end()
        if spans and _JOINABLE_GAP.fullmatch(text, spans[-1][1], start):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        i += n
    return spans


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans clipped to [0, length], empty ones dropped, overlapping or touching ones merged."""
    clipped = sorted((max(0, a), min(length, b)) for a, b in spans)
    out: list[Span] = []
    for a, b in clipped:
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


_OPEN = {FOCUS_CLASS: f'<span class="{FOCUS_CLASS}">', SUPPORT_CLASS: f'<mark class="{SUPPORT_CLASS}">',
         TERM_CLASS: f'<mark class="{TERM_CLASS}">'}
_CLOSE = {FOCUS_CLASS: "</span>", SUPPORT_CLASS: "</mark>", TERM_CLASS: "</mark>"}


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("\n", "<br>")


def render_marked(text: str, focus: Sequence[Span] = (), support: Sequence[Span] = (),
                  terms: Sequence[Span] = ()) -> str:
    """Escaped `text` with the three kinds of spans marked, properly nested; newlines become <br>."""
    layers = [(cls, merge_spans(spans, len(text)))
              for cls, spans in ((FOCUS_CLASS, focus), (SUPPORT_CLASS, support), (TERM_CLASS, terms))]
    cuts = sorted({0, len(text)} | {x for _, spans in layers for span in spans for x in span})
    out: list[str] = []
    is_open = [False] * len(layers)
    cursors = [0] * len(layers)
    for a, b in zip(cuts, cuts[1:]):
        wanted = []
        for i, (_, spans) in enumerate(layers):
            while cursors[i] < len(spans) and spans[cursors[i]][1] <= a:
                cursors[i] += 1
            wanted.append(cursors[i] < len(spans) and spans[cursors[i]][0] <= a)
        first = next((i for i in range(len(layers)) if wanted[i] != is_open[i]), None)
        if first is not None:
            for i in reversed(range(first, len(layers))):  # close inner layers before outer ones
                if is_open[i]:
                    out.append(_CLOSE[layers[i][0]])
                    is_open[i] = False
            for i in range(first, len(layers)):
                if wanted[i]:
                    out.append(_OPEN[layers[i][0]])
                    is_open[i] = True
        out.append(_escape(text[a:b]))
    out.extend(_CLOSE[layers[i][0]] for i in reversed(range(len(layers))) if is_open[i])
    return "".join(out)


def wrap(body: str, css_class: str = "qa-text") -> str:
    return f'<div class="{css_class}">{body}</div>'


# --- Answer-level helpers ----------------------------------------------------------------------

def supporting_spans(answer: Answer, doc_id: str) -> list[Span]:
    """Article offsets of the answer's sentences that come from article `doc_id`."""
    by_rank = {p.rank: p for p in answer.passages}
    return [(s.start, s.end) for s in answer.sentences
            if s.citation in by_rank and by_rank[s.citation].doc_id == doc_id]


def passage_html(passage: Passage, answer: Answer, question: str | None = None) -> str:
    """The passage's text with the supporting sentences and the question's words marked."""
    text = passage.text
    support = [(a - passage.start, b - passage.start) for a, b in supporting_spans(answer, passage.doc_id)]
    terms = term_spans(text, query_terms(question if question is not None else answer.question))
    return wrap(render_marked(text, support=support, terms=terms))


def article_html(article_text: str, passage: Passage, answer: Answer, question: str | None = None) -> str:
    """The whole article with `passage` shown in place, supporting sentences and question words marked."""
    terms = term_spans(article_text, query_terms(question if question is not None else answer.question))
    return wrap(render_marked(article_text, focus=[(passage.start, passage.end)],
                              support=supporting_spans(answer, passage.doc_id), terms=terms))


def source_anchor(key: str) -> str:
    """The id of a source card, which the answer's [n] links to."""
    return f"qa-source-{re.sub(r'[^A-Za-z0-9_-]', '-', key)}"


def _cite(citation: int, anchor: str | None) -> str:
    marker = f"[{citation}]"
    if anchor is not None:
        marker = f'<a href="#{source_anchor(f"{anchor}-{citation}")}">{marker}</a>'
    return f'<sup class="qa-cite">{marker}</sup>'


def answer_html(sentences: Sequence[AnswerSentence], short: ShortAnswer | None = None,
                anchor: str | None = None) -> str:
    """The extractive answer, each sentence escaped; one [n] after each run of sentences from
    source n, linked to its card (`anchor`-n) when `anchor` is given; the short answer marked."""
    parts = []
    for i, s in enumerate(sentences):
        marks = []
        if short is not None and i == 0 and s.start <= short.start < short.end <= s.end:
            marks = [(short.start - s.start, short.end - s.start)]
        body = render_marked(s.text, support=marks).replace(f'class="{SUPPORT_CLASS}"', f'class="{SHORT_CLASS}"')
        parts.append(f"{body} {_cite(s.citation, anchor)}" if ends_run(sentences, i) else body)
    return wrap(" ".join(parts), "qa-text qa-answer")


def generated_html(sentences: Sequence[GeneratedSentence], anchor: str | None = None) -> str:
    """A model's verified sentences, each escaped and followed by its [n] marks, linked as above."""
    parts = [f"{_escape(s.text)} " + "".join(_cite(c, anchor) for c in s.citations) for s in sentences]
    return wrap(" ".join(parts), "qa-text qa-answer")


def short_html(short: ShortAnswer, anchor: str | None = None) -> str:
    """The short answer on its own line, cited."""
    return wrap(f"<strong>{_escape(short.text)}</strong> {_cite(short.citation, anchor)}", "qa-text qa-short-answer")
