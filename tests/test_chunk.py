"""Tests for qa.chunk: offsets, sizes, coverage, overlap and paragraph rules."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.chunk import ChunkParams, chunk_article, sentence_spans
from qa.clean import clean_document
from qa.normalize import normalize_text
from qa.types import Article, Document

SEED_CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PARAGRAPH_START = re.compile(r"\n[ \t]*\n\s*(?=\S)")


def article(text: str) -> Article:
    return Article(doc_id="doc.txt", title="Tiêu đề", text=text)


def check_invariants(art: Article, params: ChunkParams, first_id: int = 0):
    """Everything chunk_article promises, asserted on one article; returns the chunks."""
    text = art.text
    chunks = chunk_article(art, params, first_id=first_id)
    if not text.strip():
        assert chunks == []
        return chunks
    assert chunks, "non-empty text gives at least one chunk"
    covered = bytearray(len(text))
    for i, c in enumerate(chunks):
        # Offsets point at the text they claim.
        assert c.text == text[c.start:c.end]
        assert c.doc_id == art.doc_id
        assert c.chunk_id == first_id + i
        assert 0 <= c.start < c.end <= len(text)
        # Size limit, and no blank edges.
        assert c.end - c.start <= params.max_chars
        assert c.text == c.text.strip()
        covered[c.start:c.end] = b"\x01" * (c.end - c.start)
    # Every non-space character is in some chunk.
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"characters not in any chunk at {missing[:10]}: {text[missing[0]:missing[0] + 20]!r}"
    for prev, nxt in zip(chunks, chunks[1:]):
        # Chunks move forward.
        assert nxt.start > prev.start
        assert nxt.end > prev.end
        if nxt.start < prev.end:
            # Overlap stays within the overlap budget.
            assert prev.end - nxt.start <= params.overlap_chars
        else:
            # No gap: only whitespace between consecutive chunks.
            assert not text[prev.end:nxt.start].strip()
    # A paragraph boundary closes a chunk once it holds min_chars: a chunk only runs past
    # a paragraph start while the text before that start is shorter than min_chars, or to take
    # in the article's short closing line (a byline).
    for c in chunks:
        for m in PARAGRAPH_START.finditer(text, c.start, c.end):
            p = m.end()
            if c.start < p < c.end:
                held = len(text[c.start:p].rstrip())
                closing = c is chunks[-1] and len(text[p:c.end]) < params.min_chars // 4 and "\n" not in text[p:c.end]
                assert held < params.min_chars or closing, (c, p, held)
    return chunks


# --- hand-made articles ----------------------------------------------------------------


def test_a_short_closing_line_joins_the_chunk_before_it():
    body = "Câu mở đầu của bài báo này khá dài. " * 10
    art = article(body.strip() + "\n\nPhương Nhi")
    chunks = check_invariants(art, ChunkParams())
    assert len(chunks) == 1 and chunks[0].text.endswith("Phương Nhi")
    # Unless the chunk would outgrow max_chars.
    assert [c.text for c in check_invariants(art, ChunkParams(max_chars=len(body)))][-1] == "Phương Nhi"


def test_empty_and_blank_articles_give_no_chunks():
    assert chunk_article(article("")) == []
    assert chunk_article(article("  \n\n  ")) == []


def test_short_article_is_one_chunk():
    text = "ASEAN và Hoa Kỳ họp tại Jakarta. Hai bên ghi nhận kết quả."
    (chunk,) = chunk_article(article(text))
    assert (chunk.start, chunk.end, chunk.text) == (0, len(text), text)


def test_first_id_numbers_chunks():
    text = normalize_text(" ".join(f"Câu số {i} nói về hợp tác ASEAN và đối tác." for i in range(60)))
    chunks = check_invariants(article(text), ChunkParams(), first_id=17)
    assert [c.chunk_id for c in chunks] == list(range(17, 17 + len(chunks)))


def test_consecutive_chunks_overlap_within_one_paragraph():
    sentences = [f"Câu thứ {i} nói về hợp tác kinh tế giữa ASEAN và các đối tác." for i in range(40)]
    text = " ".join(sentences)
    params = ChunkParams()
    chunks = check_invariants(article(text), params)
    assert len(chunks) >= 3
    for prev, nxt in zip(chunks, chunks[1:]):
        shared = prev.end - nxt.start
        assert 0 < shared <= params.overlap_chars, (prev.start, prev.end, nxt.start, nxt.end)
        # The overlap is whole sentences: the next chunk starts where a sentence starts.
        assert text[nxt.start:].startswith("Câu thứ ")


def test_chunks_are_sentence_aligned():
    sentences = [f"Câu thứ {i} bàn về biển Đông và an ninh khu vực." for i in range(50)]
    text = " ".join(sentences)
    starts = {text.index(s) for s in sentences}
    ends = {text.index(s) + len(s) for s in sentences}
    for c in check_invariants(article(text), ChunkParams()):
        assert c.start in starts and c.end in ends


def test_long_paragraphs_are_not_joined_across_the_blank_line():
    params = ChunkParams()
    para = " ".join(f"Đoạn {{n}} câu {i} về quan hệ đối tác chiến lược." for i in range(8))  # ~380 chars
    text = "\n\n".join(para.format(n=n) for n in range(4))
    chunks = check_invariants(article(text), params)
    assert len(chunks) == 4
    for c in chunks:
        assert "\n\n" not in c.text
        assert c.text.startswith("Đoạn ")


def test_short_paragraphs_are_merged_up_to_min_chars():
    paras = [f"Đoạn ngắn số {i}." for i in range(5)]
    text = "\n\n".join(paras)
    (chunk,) = check_invariants(article(text), ChunkParams())
    assert chunk.text == text


def test_sentence_longer_than_max_chars_is_cut_at_word_breaks():
    words = [f"từ{i}" for i in range(400)]
    text = " ".join(words) + "."
    params = ChunkParams(max_chars=100, overlap_chars=30, min_chars=50)
    chunks = check_invariants(article(text), params)
    assert len(chunks) > 10
    for c in chunks:
        # Cut at spaces: every chunk begins and ends with a whole word.
        assert c.start == 0 or text[c.start - 1] == " "
        assert c.end == len(text) or text[c.end] == " "


def test_word_longer_than_max_chars_is_cut_hard():
    text = "Mở đầu. " + "ư" * 2500 + " kết thúc."
    params = ChunkParams(max_chars=800, overlap_chars=200, min_chars=300)
    chunks = check_invariants(article(text), params)
    assert max(c.end - c.start for c in chunks) == 800


def test_line_breaks_end_sentences():
    text = "Dòng một không có dấu chấm\nDòng hai cũng vậy\nDòng ba."
    spans = sentence_spans(text)
    assert [text[s.start:s.end] for s in spans] == ["Dòng một không có dấu chấm", "Dòng hai cũng vậy", "Dòng ba."]


def test_sentence_spans_offsets_with_repeated_sentences():
    text = "Đúng vậy. Đúng vậy. Đúng vậy!\n  Đúng vậy."
    spans = sentence_spans(text)
    assert [(s.start, s.end) for s in spans] == [(0, 9), (10, 19), (20, 29), (32, 41)]


# --- seed articles ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SEED_CORPUS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_seed_articles_chunk_into_sane_sizes(path):
    art = clean_document(Document(path.name, path.read_text(encoding="utf-8"), "txt"))
    params = ChunkParams()
    chunks = check_invariants(art, params)
    assert 3 <= len(chunks) <= 20
    sizes = [c.end - c.start for c in chunks]
    # Only the last chunk of an article may be a short remainder.
    assert all(s >= 150 for s in sizes[:-1]), sizes
    assert sum(sizes) >= 0.9 * len(art.text.strip())


# --- property: generated Vietnamese-ish text ------------------------------------------

SYLLABLES = ["việt", "Nam", "hợp", "tác", "ở", "ý", "Đà", "Nẵng", "ASEAN", "quốc", "tế", "đối", "ngoại",
             "2020", "1.500", "Ông", "TP.", "A.", "ư", "Mỹ", "(Ảnh:", "TTXVN)", "–", "\"Hội", "nghị\""]
terminator = st.sampled_from([".", "?", "!", "...", "", ".\n", "?\n"])
# Ordinary sentences of syllables, and rarer very long "sentences" without any space.
short_sentence = st.builds(lambda words, end: " ".join(words) + end,
                           st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=40), terminator)
long_sentence = st.builds(lambda s, n, end: (s * n)[:1500] + end,
                          st.sampled_from(["ư", "ab", "Nẵng", "x."]), st.integers(50, 1500), terminator)
sentence = st.one_of(short_sentence, short_sentence, short_sentence, long_sentence)
paragraph = st.builds(lambda ss, sep: sep.join(ss), st.lists(sentence, min_size=1, max_size=10),
                      st.sampled_from([" ", " ", "\n"]))
raw_text = st.builds(lambda ps, sep: sep.join(ps), st.lists(paragraph, min_size=0, max_size=6),
                     st.sampled_from(["\n\n", "\n \n", "\n\n\n\n", "\n"]))


@st.composite
def chunk_params(draw):
    max_chars = draw(st.integers(20, 900))
    return ChunkParams(max_chars=max_chars, overlap_chars=draw(st.integers(0, max_chars)),
                       min_chars=draw(st.integers(0, max_chars)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_text, st.one_of(st.just(ChunkParams()), chunk_params()))
def test_chunk_invariants_on_generated_articles(raw, params):
    check_invariants(article(normalize_text(raw)), params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_text)
def test_chunk_offsets_hold_on_unnormalized_text(raw):
    # Even text that skipped normalization (double spaces, tabs) keeps exact offsets.
    text = raw.replace(" ", "  \t", 3)
    art = article(text)
    for c in chunk_article(art, ChunkParams(max_chars=120, overlap_chars=40, min_chars=60)):
        assert c.text == text[c.start:c.end]
        assert c.end - c.start <= 120


def test_sentence_splitter_only_sees_short_pieces_of_a_long_glued_line(monkeypatch):
    # underthesea's splitter is quadratic in a run without spaces; it must never get a long one.
    from qa import segment

    real = segment.sentences
    seen: list[int] = []

    def recording(text):
        seen.append(max((len(w) for w in text.split()), default=0))
        return real(text)

    monkeypatch.setattr(segment, "sentences", recording)
    text = "ab." * 4000  # 12,000 characters of glued text, e.g. a scraped page without spaces
    spans = sentence_spans(text)
    assert spans and spans[0].start == 0 and spans[-1].end == len(text)
    assert seen and max(seen) <= 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(raw_text, st.text(max_size=300)))
def test_sentence_spans_point_at_their_sentences(text):
    # Answer sentences and their highlights are cut from these offsets.
    spans = sentence_spans(text)
    covered = bytearray(len(text))
    for span in spans:
        piece = text[span.start:span.end]
        assert piece and piece == piece.strip()
        assert "\n" not in piece
        covered[span.start:span.end] = b"\x01" * (span.end - span.start)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
