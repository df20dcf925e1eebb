"""qa.upload: checked, safely named uploads; .jsonl split into articles; incremental indexing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.build import build_index
from qa.clean import clean_document
from qa.engine import Engine
from qa.index.store import read_manifest
from qa.ingest import read_corpus
from qa.types import Document
from qa.upload import (ALLOWED_SUFFIXES, UploadError, add_uploads, check_upload, record_text, safe_name,
                       save_upload)

ARTICLE = """Việt Nam và Australia ký kết thỏa thuận hợp tác nông nghiệp

Ngày 12/5/2023 tại Hà Nội, Bộ Nông nghiệp Việt Nam và Australia đã ký thỏa thuận hợp tác về nông nghiệp công nghệ cao.
Theo thỏa thuận, Australia sẽ hỗ trợ 15 triệu đô la Australia để đào tạo 300 kỹ sư nông nghiệp Việt Nam trong 5 năm.
Hai bên cũng thống nhất mở rộng xuất khẩu trái cây và thủy sản sang thị trường của nhau.
"""


def test_allowed_types_are_the_corpus_formats_and_jsonl():
    assert set(ALLOWED_SUFFIXES) == {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl"}
    assert check_upload("bai.TXT", "Xin chào".encode()) == "Xin chào"
    for name in ("a.doc", "a.odt", "Makefile", "a.txt.exe"):
        with pytest.raises(UploadError, match="Định dạng tệp không được hỗ trợ"):
            check_upload(name, b"text")


def test_size_encoding_and_content_are_checked():
    with pytest.raises(UploadError, match="quá lớn"):
        check_upload("a.txt", b"x" * 2001, max_bytes=2000)
    with pytest.raises(UploadError, match="UTF-8"):
        check_upload("a.txt", "Thông cáo báo chí".encode("utf-16-le"))
    with pytest.raises(UploadError, match="nhị phân"):
        check_upload("a.txt", b"abc\x00def")
    with pytest.raises(UploadError, match="rỗng"):
        check_upload("a.txt", b"")
    with pytest.raises(UploadError, match="không có nội dung"):
        check_upload("a.txt", b"  \n ")
    assert check_upload("a.txt", "\ufeffcó BOM".encode()) == "có BOM"


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\win.ini.md", "win.ini.md"),
    ("/abs/path/Bài viết mới (1).TXT", "Bai_viet_moi_1.txt"),
    (".hidden.txt", "hidden.txt"),
    ("Đà Nẵng – tin tức.html", "Da_Nang_tin_tuc.html"),
])
def test_safe_names_stay_in_the_folder(name, expected):
    assert safe_name(name) == expected


def test_a_name_without_letters_is_refused():
    with pytest.raises(UploadError, match="Tên tệp"):
        safe_name("../???.txt")
    with pytest.raises(UploadError, match="Tên tệp"):
        safe_name("..")


def test_save_upload_writes_into_the_corpus_and_never_overwrites(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    saved = save_upload("../x/Úc nông nghiệp.txt", ARTICLE.encode(), corpus)
    assert saved.written == ("Uc_nong_nghiep.txt",)
    assert (corpus / "Uc_nong_nghiep.txt").read_text(encoding="utf-8") == ARTICLE
    assert not (tmp_path / "x").exists()
    again = save_upload("Úc nông nghiệp.txt", ARTICLE.encode(), corpus)
    assert again.written == () and again.unchanged == ("Uc_nong_nghiep.txt",)
    with pytest.raises(UploadError, match="nội dung khác"):
        save_upload("Úc nông nghiệp.txt", (ARTICLE + "Thêm.").encode(), corpus)
    assert (corpus / "Uc_nong_nghiep.txt").read_text(encoding="utf-8") == ARTICLE
    assert sorted(p.name for p in corpus.iterdir()) == ["Uc_nong_nghiep.txt"]  # no temporary left


def test_a_symlink_is_never_written_through(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    (corpus / "a.txt").symlink_to(outside)
    with pytest.raises(UploadError):
        save_upload("a.txt", ARTICLE.encode(), corpus)
    assert outside.read_text(encoding="utf-8") == "secret"


def test_a_file_with_no_article_text_is_refused(tmp_path):
    with pytest.raises(UploadError, match="nội dung bài viết"):
        save_upload("menu.html", b"<html><body><nav>Trang ch\xe1\xbb\xa7</nav></body></html>", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_corpus_that_is_a_file_cannot_take_uploads(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("", encoding="utf-8")
    with pytest.raises(UploadError, match="không phải thư mục"):
        save_upload("a.txt", ARTICLE.encode(), corpus)


def test_record_text_reads_back_with_its_title_date_and_source():
    text = record_text("Việt Nam và Australia hợp tác nông nghiệp", ARTICLE.split("\n", 2)[2], "2023-05-12", "TTXVN")
    article = clean_document(Document("r.txt", text, "txt"))
    assert article.title == "Việt Nam và Australia hợp tác nông nghiệp"
    assert article.date == "2023-05-12"
    assert article.source == "TTXVN"
    assert article.text.startswith("Ngày 12/5/2023 tại Hà Nội")
    assert "Theo TTXVN" not in article.text


def test_jsonl_becomes_one_txt_per_record(tmp_path):
    rows = [
        {"id": "vn-au/1", "title": "Việt Nam và Australia hợp tác nông nghiệp", "date": "2023-05-12",
         "source": "Vietnam+", "text": ARTICLE.split("\n", 2)[2]},
        {"id": "../escape", "title": "Bài thứ hai", "text": "Hai nước ký kết biên bản ghi nhớ về giáo dục đại học."},
        {"id": "vn-au/1", "title": "Trùng", "text": "Trùng id."},
        {"title": "Không có text"},
        "not an object",
    ]
    data = ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n").encode()
    saved = save_upload("tin mới.jsonl", data, tmp_path)
    assert saved.written == ("vn-au_1.txt", "escape.txt")
    assert len(saved.skipped) == 4 and saved.skipped[0].startswith("dòng 3: trùng id")
    first = (tmp_path / "vn-au_1.txt").read_text(encoding="utf-8")
    assert first.splitlines()[0] == "Việt Nam và Australia hợp tác nông nghiệp"
    docs, skipped = read_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["escape.txt", "vn-au_1.txt"] and not skipped
    assert clean_document(docs[1]).source == "Vietnam+"


def test_jsonl_with_nothing_usable_is_refused(tmp_path):
    with pytest.raises(UploadError, match="Không thêm được"):
        save_upload("x.jsonl", b'{"id": "a"}\nnot json\n', tmp_path)
    with pytest.raises(UploadError, match="không có nội dung"):
        save_upload("x.jsonl", b"\n \n", tmp_path)


def test_add_uploads_indexes_only_the_new_article(corpus, tmp_path, fake_encoder):
    index = tmp_path / "index"
    first = build_index(corpus, index, encoder=fake_encoder, model="fake-spec")
    before = read_manifest(index)
    files = [("nong-nghiep.txt", ARTICLE.encode()), ("virus.exe", b"MZ"), ("bad.txt", b"\xff\xfe\xfa")]
    seen: list[tuple[int, int]] = []
    result = add_uploads(files, corpus, index, encoder=fake_encoder, progress=lambda d, t: seen.append((d, t)))
    assert result.written == ["nong-nghiep.txt"]
    assert [name for name, _ in result.errors] == ["virus.exe", "bad.txt"]
    report = result.report
    assert report is not None and report.added == 1 and report.changed == 0
    assert report.reused == first.chunks and report.embedded == report.chunks - first.chunks
    assert seen[-1] == (report.embedded, report.embedded)
    after = read_manifest(index)
    assert after.articles == before.articles + 1
    assert after.model_spec == "fake-spec"  # the recorded spec is kept, not replaced by the model id
    engine = Engine.open(index, encoder=fake_encoder)
    answer = engine.ask("Australia hỗ trợ đào tạo bao nhiêu kỹ sư nông nghiệp?")
    assert answer.passages[0].doc_id == "nong-nghiep.txt"


def test_add_uploads_with_nothing_new_does_not_rebuild(corpus, tmp_path, fake_encoder):
    index = tmp_path / "index"
    build_index(corpus, index, encoder=fake_encoder)
    existing = sorted(p.name for p in corpus.iterdir())[0]
    calls = len(fake_encoder.calls)
    result = add_uploads([(existing, (corpus / existing).read_bytes())], corpus, index, encoder=fake_encoder)
    assert result.report is None and result.saved[0].unchanged == (existing,)
    assert len(fake_encoder.calls) == calls


def test_a_failed_index_update_is_reported_and_the_file_kept(corpus, tmp_path, fake_encoder):
    index = tmp_path / "index"
    build_index(corpus, index, encoder=fake_encoder)
    from qa.index.store import writer_lock

    with writer_lock(index):  # another writer is busy
        result = add_uploads([("nong-nghiep.txt", ARTICLE.encode())], corpus, index, encoder=fake_encoder)
    assert result.report is None and "Một lệnh `qa index` khác" in result.build_error
    assert (Path(corpus) / "nong-nghiep.txt").exists()
