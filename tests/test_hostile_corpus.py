"""Bad files in a corpus, end to end: each is skipped with a warning naming it and the reason, or
decoded, normalized and then found by an ordinary query; everything else is indexed."""
from __future__ import annotations

import os
import random
import shutil
import unicodedata
from pathlib import Path

import pytest
from conftest import SEED_CORPUS, FakeEncoder
from test_ingest import PNG, to_cp1258

from qa import cli
from qa.build import build_index
from qa.chunk import ChunkParams
from qa.engine import Engine

MAX_BYTES = 2_000_000
LONG_LINE = 1_000_000
# One made-up fact per readable odd file, so a query can only be answered from that file.
ODD_ARTICLES = {
    "nfd.txt": "Hợp tác Mê Kông\n\nĐoàn khảo sát sông Mê Kông đã đo mực nước tại Viêng Chăn trong mùa khô.",
    "cp1258.txt": "Hợp tác nghề cá\n\nNgư dân Quảng Ngãi nhận được hai mươi tàu cá vỏ thép từ quỹ hợp tác.",
    "utf16.txt": "Hội chợ Côn Minh\n\nDoanh nghiệp Lào Cai ký hợp đồng xuất khẩu quế hồi tại hội chợ Côn Minh.",
    "invisible.txt": "Ngoại giao văn hóa\n\nĐại sứ quán tổ chức tuần phim Xin\u00adga\u00adpo tại Hu\u200bế và "
                     "Hả\ufeffi Phòng với sự tham gia của nghệ sĩ Na U\u200by.",
}
QUERIES = {
    "nfd.txt": "đo mực nước sông Mê Kông tại Viêng Chăn",
    "cp1258.txt": "ngư dân Quảng Ngãi nhận tàu cá vỏ thép",
    "utf16.txt": "doanh nghiệp Lào Cai xuất khẩu quế hồi",
    "invisible.txt": "tuần phim Xingapo tại Huế và Hải Phòng nghệ sĩ Na Uy",
    "page.html": "Bộ trưởng Ngoại giao các nước Đông Á họp tại Seoul về an ninh lương thực",
}
PAGE = """<html><head><title>Tin | Báo</title><style>body { color: red }</style>
<script>document.write("mã độc"); fetch("https://evil.example")</script></head><body>
<nav><a href="/">Trang chủ</a> <a href="/the-gioi">Thế giới</a></nav>
<article><h1>Hội nghị Đông Á</h1><p>Bộ trưởng Ngoại giao các nước Đông Á họp tại Seoul về an ninh lương thực.</p>
<script>var tracking = "theo dõi người đọc";</script></article>
<footer>Bản quyền thuộc về Báo. Liên hệ quảng cáo.</footer></body></html>"""
SKIPPED = {
    "empty.txt": "is empty",
    "blank.md": "is empty",
    "image.txt": "is not text (binary content)",
    "noise.html": "is not text (binary content)",
    "latin1.txt": "is not text in a known encoding",
    "huge.txt": "3,000,000 bytes is over the 2,000,000-byte limit",
    "locked.txt": "cannot be read (Permission denied)",
    "code-only.html": "has no article text after cleaning",
}


def write_hostile_corpus(root: Path, long_line: bool = True) -> Path:
    """The seed articles plus every kind of odd and bad file the issue lists; returns the folder."""
    shutil.copytree(SEED_CORPUS, root)
    (root / "nfd.txt").write_text(unicodedata.normalize("NFD", ODD_ARTICLES["nfd.txt"]), encoding="utf-8")
    (root / "cp1258.txt").write_bytes(to_cp1258(ODD_ARTICLES["cp1258.txt"]))
    (root / "utf16.txt").write_text(ODD_ARTICLES["utf16.txt"], encoding="utf-16")
    (root / "invisible.txt").write_text("\ufeff" + ODD_ARTICLES["invisible.txt"], encoding="utf-8")
    (root / "page.html").write_text(PAGE, encoding="utf-8")
    if long_line:  # a million characters of sentences without a single line break
        sentence = "Hội nghị ASEAN bàn về hợp tác kinh tế số {} tại Hà Nội. "
        line = "".join(sentence.format(n % 7) for n in range(LONG_LINE // 40))[:LONG_LINE]
        (root / "long-line.txt").write_text(line, encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.md").write_text(" \n\t\n", encoding="utf-8")
    (root / "image.txt").write_bytes(PNG)
    (root / "noise.html").write_bytes(random.Random(0).randbytes(5000))
    (root / "latin1.txt").write_bytes("Café crème brûlée à Zürich".encode("latin-1"))
    (root / "huge.txt").write_bytes(b"ASEAN " * 500_000)
    (root / "locked.txt").write_text("Bài không đọc được.", encoding="utf-8")
    (root / "code-only.html").write_text("<script>alert(1)</script><style>p{}</style><nav>Menu</nav>", encoding="utf-8")
    (root / "loop").mkdir()
    os.symlink(root, root / "loop" / "back")  # a symlink loop: loop/back -> corpus -> loop -> ...
    return root


def make_locked_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads files whatever their mode, so reading locked.txt fails the way a locked file does."""
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


@pytest.fixture
def locked_is_unreadable(monkeypatch) -> None:
    make_locked_unreadable(monkeypatch)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(build report, engine) for the hostile corpus; one build serves the tests that only read it."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = write_hostile_corpus(root / "corpus")
    with pytest.MonkeyPatch.context() as mp:
        make_locked_unreadable(mp)
        report = build_index(corpus, root / "index", encoder=FakeEncoder(), max_bytes=MAX_BYTES)
    return report, Engine.open(root / "index", encoder=FakeEncoder())


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_indexed(built):
    report, engine = built
    reasons = {s.name: s.reason for s in report.skipped}
    assert sorted(reasons) == sorted(SKIPPED)
    for name, reason in SKIPPED.items():
        assert reasons[name].startswith(reason), (name, reasons[name])
    assert sorted(engine.articles) == sorted([p.name for p in SEED_CORPUS.glob("*.txt")]
                                             + list(ODD_ARTICLES) + ["page.html", "long-line.txt"])
    for article in engine.articles.values():
        assert unicodedata.is_normalized("NFC", article.text)
        assert not any(ch in article.text for ch in "\u200b\u00ad\ufeff")


def test_odd_files_are_found_by_ordinary_queries(built):
    _, engine = built
    for name, query in QUERIES.items():
        answer = engine.ask(query, top_k=3)
        assert answer.passages[0].doc_id == name, (name, [p.doc_id for p in answer.passages])
    assert "Xingapo tại Huế và Hải Phòng" in engine.articles["invisible.txt"].text
    assert "Na Uy" in engine.articles["invisible.txt"].text
    assert engine.articles["nfd.txt"].text == ODD_ARTICLES["nfd.txt"].split("\n\n", 1)[1]
    page = engine.articles["page.html"]  # the paragraph kept; scripts, style, menu and footer dropped
    assert (page.title, page.text) == ("Hội nghị Đông Á", QUERIES["page.html"] + ".")


def test_a_million_character_line_is_chunked_with_exact_offsets(built):
    report, engine = built
    data = engine.store
    text = data.articles["long-line.txt"].text
    assert len(text) > 0.99 * LONG_LINE and "\n" not in text
    chunks = [s.chunk for s in data.chunks if s.chunk.doc_id == "long-line.txt"]
    assert len(chunks) > LONG_LINE // ChunkParams().max_chars
    assert all(c.text == text[c.start:c.end] and len(c.text) <= ChunkParams().max_chars for c in chunks)
    assert chunks[-1].end == len(text)
    # Its sentences repeat, so do its chunks: identical chunk texts are embedded once.
    assert report.embedded < report.chunks - 0.9 * len(chunks)


def test_cli_warns_about_each_bad_file_exits_zero_and_strict_fails(tmp_path, locked_is_unreadable, fake_model,
                                                                   capsys):
    hostile = write_hostile_corpus(tmp_path / "corpus", long_line=False)
    (hostile / "huge.txt").write_bytes(b"ASEAN " * 1_000_000)  # over the CLI's 5 MB default
    index_dir = tmp_path / "index"
    assert cli.main(["index", "--corpus", str(hostile), "--index", str(index_dir)]) == 0
    out, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if line.startswith("warning: skipped ")]
    assert len(warnings) == len(SKIPPED)
    for name, reason in SKIPPED.items():
        if name != "huge.txt":
            assert any(w.startswith(f"warning: skipped {name}: {reason}") for w in warnings), name
    assert "warning: skipped huge.txt: 6,000,000 bytes is over the 5,242,880-byte limit" in err
    assert "Traceback" not in err
    assert f"Index {index_dir} written: {5 + len(ODD_ARTICLES) + 1} articles" in out

    assert cli.main(["index", "--corpus", str(hostile), "--index", str(index_dir), "--strict"]) == 1
    out, err = capsys.readouterr()
    assert "up to date" in out and err.count("warning: skipped ") == len(SKIPPED)
