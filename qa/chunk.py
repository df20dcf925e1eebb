"""Split a cleaned article into overlapping, sentence-aligned chunks with offsets."""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import segment
from .types import Article, Chunk

_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", re.S)
_LINE = re.compile(r"[^\n]+")
_WORD_BREAK = re.compile(r"\s+")


@dataclass(frozen=True)
class ChunkParams:
    # ~800 characters of Vietnamese is ~250 XLM-R tokens: well under e5's 512 even with the title.
    max_chars: int = 800
    overlap_chars: int = 200
    # A paragraph boundary closes a chunk once it holds this much text.
    min_chars: int = 300


@dataclass(frozen=True)
class Span:
    start: int
    end: int


# underthesea's sent_tokenize is quadratic in a long run without spaces (it walks back over the
# run at every dot): longer lines are cut into pieces of at most _MAX_LINE characters at
# whitespace, and runs without whitespace longer than _MAX_RUN are cut hard, before it sees them.
_MAX_LINE = 2000
_MAX_RUN = 200
_LONG_RUN = re.compile(r"\S{%d,}" % (_MAX_RUN + 1))


def sentence_spans(text: str) -> list[Span]:
    """Sentences of `text` as offsets; never crosses a line break."""
    spans: list[Span] = []
    for line in _LINE.finditer(text):
        for base, body in _line_pieces(line.start(), line.group()):
            cursor = 0
            for sentence in segment.sentences(body):
                sentence = sentence.strip()
                found = body.find(sentence, cursor) if sentence else -1
                if found < 0:
                    continue
                spans.append(Span(base + found, base + found + len(sentence)))
                cursor = found + len(sentence)
            if not spans or spans[-1].end <= base:
                # The tokenizer lost the piece (rare); keep it whole rather than drop text.
                stripped = body.strip()
                if stripped:
                    lead = len(body) - len(body.lstrip())
                    spans.append(Span(base + lead, base + lead + len(stripped)))
    return spans


def _line_pieces(base: int, body: str) -> list[tuple[int, str]]:
    """`body` (starting at offset `base`) cut into pieces of at most _MAX_LINE characters, at the
    last whitespace of each window when there is one, else hard; runs without whitespace longer
    than _MAX_RUN are cut hard into pieces of _MAX_RUN characters."""
    pieces: list[tuple[int, str]] = []
    start, n = 0, len(body)
    while start < n:
        limit = start + _MAX_LINE
        run = _LONG_RUN.search(body, start, limit + _MAX_RUN + 1)
        if run and run.start() < limit:
            cut = run.start() if run.start() > start else start + _MAX_RUN
        elif n > limit:
            cut = max((m.start() for m in _WORD_BREAK.finditer(body, start + 1, limit)), default=-1)
            if cut <= start:
                cut = limit
        else:
            cut = n
        pieces.append((base + start, body[start:cut]))
        start = cut
    return pieces


def _split_long(span: Span, text: str, max_chars: int) -> list[Span]:
    """Cut a sentence longer than max_chars at word breaks."""
    pieces: list[Span] = []
    start = span.start
    while span.end - start > max_chars:
        limit = start + max_chars
        cut = max((m.start() for m in _WORD_BREAK.finditer(text, start, limit)), default=-1)
        if cut <= start:
            cut = limit
        pieces.append(Span(start, cut))
        start = cut
        while start < span.end and text[start].isspace():
            start += 1
    if start < span.end:
        pieces.append(Span(start, span.end))
    return pieces


def chunk_article(article: Article, params: ChunkParams = ChunkParams(), first_id: int = 0) -> list[Chunk]:
    text = article.text
    units: list[tuple[Span, bool]] = []  # (sentence, starts a paragraph)
    for para in _PARAGRAPH.finditer(text):
        sentences = sentence_spans(para.group())
        for i, s in enumerate(sentences):
            shifted = Span(para.start() + s.start, para.start() + s.end)
            for j, piece in enumerate(_split_long(shifted, text, params.max_chars)):
                units.append((piece, i == 0 and j == 0))

    groups: list[list[Span]] = []
    current: list[Span] = []
    for span, new_paragraph in units:
        size = current[-1].end - current[0].start if current else 0
        at_paragraph = new_paragraph and size >= params.min_chars
        if current and (at_paragraph or span.end - current[0].start > params.max_chars):
            groups.append(current)
            current = [] if at_paragraph else _overlap(current, span, params)
        current.append(span)
    if current:
        # A closing line too short to stand alone (a byline, a signature) joins the chunk before it.
        short = len(current) == 1 and current[0].end - current[0].start < params.min_chars // 4
        if short and groups and current[0].end - groups[-1][0].start <= params.max_chars:
            groups[-1] = groups[-1] + current
        else:
            groups.append(current)

    return [
        Chunk(chunk_id=first_id + i, doc_id=article.doc_id, start=g[0].start, end=g[-1].end,
              text=text[g[0].start:g[-1].end],
              sentences=tuple((s.start - g[0].start, s.end - g[0].start) for s in g))
        for i, g in enumerate(groups)
    ]


def _overlap(previous: list[Span], following: Span, params: ChunkParams) -> list[Span]:
    """Trailing sentences of the previous chunk that fit the overlap and the size limit."""
    kept: list[Span] = []
    for span in reversed(previous[1:]):
        if previous[-1].end - span.start > params.overlap_chars:
            break
        if following.end - span.start > params.max_chars:
            break
        kept.insert(0, span)
    return kept
