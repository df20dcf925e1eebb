"""Tests for qa.normalize and qa.tokens: one normalization for corpus and queries, Vietnamese tokens."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.normalize import fold_diacritics, normalize_query, normalize_text
from qa.tokens import FOLD_MARK, bm25_tokens, folded, syllables

# --- normalize_text -------------------------------------------------------------------


def test_nfd_and_nfc_inputs_normalize_to_the_same_nfc_text():
    nfc = unicodedata.normalize("NFC", "Thủ tướng Phạm Minh Chính thăm Đà Nẵng")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc  # the input really is decomposed
    assert normalize_text(nfd) == normalize_text(nfc) == nfc
    assert unicodedata.is_normalized("NFC", normalize_text(nfd))


def test_nfd_query_matches_nfc_query():
    q = "Mỹ cung cấp bao nhiêu liều vaccine?"
    assert normalize_query(unicodedata.normalize("NFD", q)) == q


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\ufeff", "\u200c", "\u200d", "\u2060"])
def test_invisible_characters_inside_words_are_removed(invisible):
    text = f"Hợp{invisible}tác Việt{invisible}Nam"
    assert normalize_text(text) == "Hợptác ViệtNam"


def test_invisible_character_between_base_and_combining_mark_still_composes():
    # "e" + ZWSP + combining acute: once the ZWSP is gone the mark belongs to the "e".
    assert normalize_text("Vi\u1ec7t ca\u200b\u0301") == "Việt cá"


def test_bom_at_start_is_removed():
    assert normalize_text("\ufeffASEAN") == "ASEAN"


def test_spaces_tabs_and_unicode_spaces_collapse_to_one_space():
    text = "Hà   Nội\t\tvà\u00a0\u00a0Huế\u2003\u3000Đà Nẵng"
    assert normalize_text(text) == "Hà Nội và Huế Đà Nẵng"


def test_lines_are_stripped_and_line_breaks_kept():
    assert normalize_text("  dòng một  \n   dòng hai \t") == "dòng một\ndòng hai"


def test_paragraph_breaks_are_kept_and_blank_runs_collapse_to_one_blank_line():
    text = "Đoạn một.\n\n\n\n   \n\t\nĐoạn hai.\nDòng tiếp."
    assert normalize_text(text) == "Đoạn một.\n\nĐoạn hai.\nDòng tiếp."


@pytest.mark.parametrize("sep", ["\r\n", "\r", "\u2028", "\u2029", "\x85"])
def test_other_line_separators_become_newlines(sep):
    assert normalize_text(f"một{sep}hai") == "một\nhai"


def test_control_characters_are_dropped():
    assert normalize_text("A\x00S\x07E\x1bA\x7fN\x9f") == "ASEAN"


def test_leading_and_trailing_blank_lines_removed():
    assert normalize_text("\n\n  \n Tin tức \n\n\n") == "Tin tức"


def test_normalize_query_is_one_line():
    assert normalize_query("  Ai là\n\nThủ tướng?\r\n ") == "Ai là Thủ tướng?"


# --- fold_diacritics -----------------------------------------------------------------


def test_fold_diacritics_d_with_stroke_is_folded_explicitly():
    # đ/Đ have no canonical decomposition: NFD alone would keep them.
    assert unicodedata.normalize("NFD", "đ") == "đ"
    assert fold_diacritics("đ") == "d"
    assert fold_diacritics("Đ") == "D"
    assert fold_diacritics("Đà Nẵng") == "Da Nang"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mỹ", "My"),
        ("Nhật Bản", "Nhat Ban"),
        ("Việt Nam", "Viet Nam"),
        ("Hàn Quốc", "Han Quoc"),
        ("ở ý ưu ơn", "o y uu on"),
        ("NGOẠI GIAO", "NGOAI GIAO"),
        ("ASEAN 2020", "ASEAN 2020"),
    ],
)
def test_fold_diacritics(text, expected):
    assert fold_diacritics(text) == expected


def test_fold_diacritics_accepts_nfd_input():
    assert fold_diacritics(unicodedata.normalize("NFD", "Mỹ Đình")) == "My Dinh"


# --- tokens --------------------------------------------------------------------------


def test_syllables_keep_one_letter_words():
    assert syllables("Tôi ở Hà Nội, ý kiến của bạn?") == ["tôi", "ở", "hà", "nội", "ý", "kiến", "của", "bạn"]


def test_syllables_split_on_punctuation_and_hyphen_and_keep_numbers():
    assert syllables("ASEAN-Hoa Kỳ (2016-2020): 5 lĩnh vực") == [
        "asean", "hoa", "kỳ", "2016", "2020", "5", "lĩnh", "vực"]


def test_syllables_drop_underscores_and_emoji():
    assert syllables("a_b 😀 c") == ["a", "b", "c"]


def test_folded_syllables():
    assert folded("Mỹ cung cấp") == ["my", "cung", "cap"]


def test_bm25_tokens_emit_folded_twins_and_folded_pairs():
    tokens = bm25_tokens("Mỹ cung cấp")
    assert tokens == [
        "mỹ", FOLD_MARK + "my",
        "cung", FOLD_MARK + "cung",
        "cấp", FOLD_MARK + "cap",
        FOLD_MARK + "my_cung", FOLD_MARK + "cung_cap",
    ]


def test_unaccented_query_meets_accented_text_through_folded_tokens():
    accented = set(bm25_tokens("Mỹ cung cấp vaccine"))
    plain = set(bm25_tokens("my cung cap vaccine"))
    shared = {t for t in accented & plain if t.startswith(FOLD_MARK)}
    assert {"~my", "~cung", "~cap", "~my_cung", "~cung_cap", "~cap_vaccine"} <= shared
    assert "mỹ" in accented and "mỹ" not in plain


def test_bm25_tokens_of_empty_text():
    assert bm25_tokens("") == []
    assert bm25_tokens("?!. ,") == []


def test_bm25_tokens_single_syllable_has_no_pairs():
    assert bm25_tokens("Ý") == ["ý", "~y"]


# --- properties ----------------------------------------------------------------------

VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵĐÂ"
NASTY = (
    " \t\n\r\x0b\x0c\x85\u2028\u2029\u00a0\u2003\u3000"  # spaces and line separators
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"  # invisible
    "\x00\x01\x1b\x7f\x9f"  # control
    "\u0300\u0301\u0303\u0309\u0323\u0302\u031b"  # combining marks
)
text_strategy = st.one_of(
    st.text(alphabet=st.sampled_from(VIET + NASTY + ".,?!"), max_size=200),
    st.text(max_size=200),
)


@settings(max_examples=300, deadline=None)
@given(text_strategy)
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=300, deadline=None)
@given(text_strategy)
def test_normalize_text_output_is_nfc_without_controls_or_invisibles(text):
    out = normalize_text(text)
    assert unicodedata.is_normalized("NFC", out)
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in out)
    assert not any(ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e" for ch in out)
    assert "\n\n\n" not in out
    assert "  " not in out
    assert out == out.strip()
    for line in out.split("\n"):
        assert line == line.strip()


@settings(max_examples=200, deadline=None)
@given(text_strategy)
def test_normalize_query_is_a_single_line_and_idempotent(text):
    q = normalize_query(text)
    assert "\n" not in q
    assert normalize_query(q) == q


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(VIET + " "), max_size=80))
def test_fold_diacritics_leaves_only_ascii_for_vietnamese_letters(text):
    out = fold_diacritics(text)
    assert out.isascii()
    assert len(out) == len(text)  # one letter for one letter
    assert fold_diacritics(out) == out


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(VIET + " .,?-"), max_size=80))
def test_bm25_tokens_structure(text):
    text = normalize_text(text)
    syls = syllables(text)
    tokens = bm25_tokens(text)
    assert len(tokens) == 2 * len(syls) + max(0, len(syls) - 1)
    assert tokens[0:2 * len(syls):2] == syls
    assert all(t.startswith(FOLD_MARK) for t in tokens[1:2 * len(syls):2])


def test_keyword_index_scores_match_bm25s_own_builder():
    import bm25s
    import numpy as np

    from qa.index.keywords import KeywordIndex
    from qa.tokens import bm25_tokens

    rng = np.random.default_rng(0)
    words = ["hợp", "tác", "ASEAN", "Nhật", "Bản", "kinh", "tế", "Mỹ", "vaccine", "và", "các", "nước"]
    texts = [" ".join(rng.choice(words, int(rng.integers(1, 30)))) for _ in range(60)]
    ours = KeywordIndex.build(texts, k1=0.9, b=0.4)
    reference = bm25s.BM25(k1=0.9, b=0.4)
    reference.index([bm25_tokens(t) for t in texts], show_progress=False)
    for query in ("hợp tác ASEAN", "nhat ban", "vaccine Mỹ và các nước", "kinh"):
        tokens = [t for t in bm25_tokens(query) if t in reference.vocab_dict]
        assert np.allclose(ours.scores(bm25_tokens(query)), reference.get_scores(tokens), rtol=2e-3, atol=1e-3)
