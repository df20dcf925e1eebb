"""Tests for qa.ingest: reading a corpus folder or JSONL file, and what is skipped (with why)."""
from __future__ import annotations

import json
import os
import random
import threading
import unicodedata
from pathlib import Path

import pytest
from conftest import SEED_CORPUS

from qa.errors import CorpusError
from qa.ingest import read_corpus

ARTICLE = "Hội nghị ASEAN\n\nCác bộ trưởng ngoại giao ASEAN họp tại Hà Nội ngày 4/4/2020."
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def by_id(docs):
    return {d.doc_id: d for d in docs}


def reasons(skipped):
    return {s.name: s.reason for s in skipped}


# --- folders -------------------------------------------------------------------------


def test_folder_is_read_recursively_with_relative_posix_ids(tmp_path):
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "tin" / "2020" / "b.txt", "Bài hai về Nhật Bản.")
    write(tmp_path / "tin" / "c.md", "# Tiêu đề\n\nBài ba.")
    docs, skipped = read_corpus(tmp_path)
    assert sorted(by_id(docs)) == ["a.txt", "tin/2020/b.txt", "tin/c.md"]
    assert skipped == []
    assert by_id(docs)["a.txt"].raw == ARTICLE
    assert by_id(docs)["tin/2020/b.txt"].fmt == "txt"
    assert by_id(docs)["tin/c.md"].fmt == "md"


def test_suffix_filter_and_formats(tmp_path):
    for name in ["a.txt", "b.TXT", "c.md", "d.markdown", "e.html", "f.HTM"]:
        write(tmp_path / name, f"<p>Nội dung {name}</p>")
    for name in ["g.json", "h.doc", "i.odt", "README", "j.txt.bak", "k.csv"]:
        write(tmp_path / name, "Không phải bài báo")
    docs, skipped = read_corpus(tmp_path)
    formats = {d.doc_id: d.fmt for d in docs}
    assert formats == {"a.txt": "txt", "b.TXT": "txt", "c.md": "md", "d.markdown": "md",
                       "e.html": "html", "f.HTM": "html"}
    # Other files are not articles: ignored (not reported as skipped).
    assert skipped == []


def test_hidden_files_and_folders_are_ignored(tmp_path):
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / ".draft.txt", ARTICLE)
    write(tmp_path / ".git" / "notes.txt", ARTICLE)
    docs, skipped = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["a.txt"]
    assert skipped == []


def test_documents_come_in_sorted_order(tmp_path):
    for name in ["c.txt", "a.txt", "b/z.txt", "b/a.txt"]:
        write(tmp_path / name, ARTICLE)
    docs, _ = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["a.txt", "b/a.txt", "b/z.txt", "c.txt"]


def test_empty_and_whitespace_only_files_are_skipped(tmp_path):
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "blank.md", " \n\n\t \n")
    write(tmp_path / "ok.txt", ARTICLE)
    docs, skipped = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["ok.txt"]
    assert reasons(skipped) == {"empty.txt": "is empty", "blank.md": "is empty"}


def test_binary_files_are_skipped(tmp_path):
    write(tmp_path / "image.txt", PNG)
    write(tmp_path / "noise.txt", random.Random(0).randbytes(4096))
    write(tmp_path / "nul.html", "văn bản\x00có NUL".encode("utf-8"))
    write(tmp_path / "ok.txt", ARTICLE)
    docs, skipped = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["ok.txt"]
    why = reasons(skipped)
    assert why == dict.fromkeys(["image.txt", "noise.txt", "nul.html"], "is not text (binary content)")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_decoded(tmp_path, encoding):
    data = ARTICLE.encode(encoding)
    if encoding != "utf-16":  # the codec without a suffix writes the BOM itself
        data = "\ufeff".encode(encoding) + data
    write(tmp_path / "a.txt", data)
    docs, skipped = read_corpus(tmp_path)
    assert skipped == []
    assert docs[0].raw == ARTICLE


def test_utf8_bom_is_dropped(tmp_path):
    write(tmp_path / "a.txt", b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"))
    docs, _ = read_corpus(tmp_path)
    assert docs[0].raw == ARTICLE


def test_utf16_without_bom_is_not_taken_as_text(tmp_path):
    write(tmp_path / "a.txt", ARTICLE.encode("utf-16-le"))
    docs, skipped = read_corpus(tmp_path)
    assert docs == []
    assert "not text" in reasons(skipped)["a.txt"]


def to_cp1258(text: str) -> bytes:
    """Text as a Windows-1258 editor saves it: vowel letters precomposed, tone marks combining."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", ch)
        vowel = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in "\u0306\u0302\u031b"))
        out += (vowel + "".join(m for m in marks if m not in "\u0306\u0302\u031b")).encode("cp1258")
    return bytes(out)


@pytest.mark.parametrize("path", sorted(SEED_CORPUS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_windows_1258_vietnamese_is_decoded_to_nfc(tmp_path, path):
    original = path.read_text(encoding="utf-8")
    data = to_cp1258(original)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    write(tmp_path / "a.txt", data)
    docs, skipped = read_corpus(tmp_path)
    assert skipped == []
    assert docs[0].raw == unicodedata.normalize("NFC", original)


def test_windows_1258_short_text_with_tone_marks(tmp_path):
    write(tmp_path / "a.txt", to_cp1258(ARTICLE))
    assert to_cp1258("ộ") == b"\xf4\xf2"  # o with circumflex, then the combining dot below
    docs, _ = read_corpus(tmp_path)
    assert docs[0].raw == ARTICLE


@pytest.mark.parametrize("data", [
    "Café crème brûlée, naïve façade à Zürich".encode("latin-1"),  # Western European: ë, ç, ü, û
    "Straße in München".encode("cp1252"),
    "Hội nghị ASEAN".encode("cp1258", errors="replace") + b" \xe0\xe1",  # "H?i ngh?": too little to tell
    "Hà Nội, ".encode("utf-8") + to_cp1258("Hà Nội"),  # mixed encodings in one file
    "Tin tức".encode("utf-8") + b" \xff",  # UTF-8 with one stray byte
    to_cp1258("ASEAN Regional Forum, Jakarta, Indonesia and Đà Nẵng"),  # mostly English: below the share
    b"Ha\xccN\xf2i",  # tone marks after consonants: not Vietnamese
    b"Vi\xea\xf2t Nam \x81",  # a byte Windows-1258 leaves undefined
], ids=["latin1", "cp1252", "replaced", "mixed", "stray", "english", "bad-marks", "undefined"])
def test_legacy_8bit_text_that_cannot_be_told_is_skipped_not_garbled(tmp_path, data):
    write(tmp_path / "a.txt", data)
    docs, skipped = read_corpus(tmp_path)
    assert docs == []
    reason = reasons(skipped)["a.txt"]
    assert reason.startswith("is not text in a known encoding") and "save it as UTF-8" in reason


def test_file_over_max_bytes_is_skipped_with_its_size(tmp_path):
    big = write(tmp_path / "big.txt", "ASEAN " * 1000)
    write(tmp_path / "small.txt", ARTICLE)
    size = big.stat().st_size
    docs, skipped = read_corpus(tmp_path, max_bytes=5000)
    assert [d.doc_id for d in docs] == ["small.txt"]
    reason = reasons(skipped)["big.txt"]
    assert f"{size:,}" in reason  # 6,000
    assert "5,000" in reason
    # At the limit exactly, the file is read.
    docs, skipped = read_corpus(tmp_path, max_bytes=size)
    assert sorted(d.doc_id for d in docs) == ["big.txt", "small.txt"]


def test_symlink_loop_does_not_hang(tmp_path):
    root = tmp_path / "corpus"
    write(root / "a.txt", ARTICLE)
    write(root / "sub" / "b.txt", ARTICLE)
    os.symlink(root, root / "sub" / "loop")  # sub/loop -> corpus -> sub -> loop ...
    os.symlink(root / "sub", root / "sub" / "self")
    result: dict = {}

    def run():
        result["value"] = read_corpus(root)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "read_corpus hangs on a symlink loop"
    docs, skipped = result["value"]
    assert sorted(d.doc_id for d in docs) == ["a.txt", "sub/b.txt"]


def test_symlinked_folder_outside_the_corpus_is_followed(tmp_path):
    outside = tmp_path / "elsewhere"
    write(outside / "x.txt", ARTICLE)
    root = tmp_path / "corpus"
    write(root / "a.txt", ARTICLE)
    os.symlink(outside, root / "linked")
    docs, _ = read_corpus(root)
    assert sorted(d.doc_id for d in docs) == ["a.txt", "linked/x.txt"]


def test_broken_symlink_is_ignored(tmp_path):
    write(tmp_path / "a.txt", ARTICLE)
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    docs, _ = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["a.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file_is_skipped(tmp_path):
    f = write(tmp_path / "locked.txt", ARTICLE)
    f.chmod(0)
    try:
        docs, skipped = read_corpus(tmp_path)
    finally:
        f.chmod(0o644)
    assert docs == []
    assert "cannot be read" in reasons(skipped)["locked.txt"]


def test_empty_folder_gives_nothing(tmp_path):
    assert read_corpus(tmp_path) == ([], [])


def test_missing_corpus_raises_corpus_error(tmp_path):
    missing = tmp_path / "no-such-corpus"
    with pytest.raises(CorpusError) as info:
        read_corpus(missing)
    assert str(missing) in str(info.value)


# --- JSONL ---------------------------------------------------------------------------


def jsonl(path: Path, rows: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    return write(path, "\n".join(lines) + "\n")


def test_jsonl_fields(tmp_path):
    path = jsonl(tmp_path / "news.jsonl", [
        {"id": "vn-1", "title": "ASEAN họp", "text": "Nội dung một.", "date": "2020-03-13",
         "source": "TTXVN", "url": "https://example.vn/1"},
        {"text": "Nội dung hai, không có id."},
        {"id": 42, "title": None, "text": "Id là số."},
    ])
    docs, skipped = read_corpus(path)
    assert skipped == []
    first, second, third = docs
    assert (first.doc_id, first.title, first.raw, first.date, first.source, first.url, first.fmt) == (
        "vn-1", "ASEAN họp", "Nội dung một.", "2020-03-13", "TTXVN", "https://example.vn/1", "jsonl")
    assert second.doc_id == "news-2"  # file stem and line number
    assert (second.title, second.date, second.source) == ("", "", "")
    assert third.doc_id == "42"
    assert third.title == ""


def test_jsonl_bad_lines_are_skipped_with_a_reason(tmp_path):
    path = jsonl(tmp_path / "news.jsonl", [
        {"id": "a", "text": "Bài hợp lệ."},
        "{not json",
        "",
        "[1, 2, 3]",
        {"id": "b"},
        {"id": "c", "text": "   "},
        {"id": "d", "text": 5},
        '"chỉ là chuỗi"',
        {"id": "e", "text": "Bài hợp lệ thứ hai."},
    ])
    docs, skipped = read_corpus(path)
    assert [d.doc_id for d in docs] == ["a", "e"]
    why = reasons(skipped)
    assert set(why) == {"news.jsonl:2", "news.jsonl:4", "news.jsonl:5", "news.jsonl:6", "news.jsonl:7",
                        "news.jsonl:8"}
    assert why["news.jsonl:2"].startswith("is not JSON")
    assert all('non-empty "text"' in why[k] for k in why if k != "news.jsonl:2")


def test_jsonl_duplicate_ids_keep_the_first(tmp_path):
    path = jsonl(tmp_path / "news.jsonl", [
        {"id": "x", "text": "Bản đầu."},
        {"id": "y", "text": "Bài khác."},
        {"id": "x", "text": "Bản sau."},
    ])
    docs, skipped = read_corpus(path)
    assert [(d.doc_id, d.raw) for d in docs] == [("x", "Bản đầu."), ("y", "Bài khác.")]
    assert reasons(skipped) == {"news.jsonl:3": 'repeats id "x"'}


def test_jsonl_with_bom_and_crlf(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + '{"id": "a", "text": "Một."}\r\n{"id": "b", "text": "Hai."}\r\n'.encode())
    docs, skipped = read_corpus(path)
    assert [d.doc_id for d in docs] == ["a", "b"]
    assert skipped == []


def test_jsonl_that_is_not_utf8_raises_corpus_error(tmp_path):
    path = write(tmp_path / "news.jsonl", '{"id": "a", "text": "Một."}'.encode("utf-16"))
    with pytest.raises(CorpusError) as info:
        read_corpus(path)
    assert "news.jsonl" in str(info.value)
    assert "UTF-8" in str(info.value)


def test_empty_jsonl_gives_nothing(tmp_path):
    path = write(tmp_path / "news.jsonl", "\n\n")
    assert read_corpus(path) == ([], [])


def test_jsonl_id_zero_is_kept(tmp_path):
    path = jsonl(tmp_path / "news.jsonl", [{"id": 0, "text": "Bài số không."}, {"id": 1, "text": "Bài số một."}])
    docs, _ = read_corpus(path)
    assert [d.doc_id for d in docs] == ["0", "1"]


def test_a_single_article_file_is_a_corpus_of_one(tmp_path):
    article = tmp_path / "bai.txt"
    article.write_text("Tiêu đề\n\nNội dung bài viết về ASEAN.", encoding="utf-8")
    docs, skipped = read_corpus(article)
    assert [d.doc_id for d in docs] == ["bai.txt"] and docs[0].fmt == "txt" and not skipped


def test_an_unsupported_single_file_is_refused(tmp_path):
    other = tmp_path / "bai.doc"
    other.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CorpusError, match="folder"):
        read_corpus(other)
