"""Press releases as PDF and DOCX: read in a corpus folder and as uploads; scans and broken files refused."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import make_docx
from pypdf import PdfReader, PdfWriter

from qa.build import build_index
from qa.clean import clean_document
from qa.engine import Engine
from qa.ingest import read_corpus
from qa.pdf_docx import UnreadableDocument, read_document, reflow
from qa.upload import UploadError, add_uploads, check_upload

PRESS = Path(__file__).parent / "data" / "press"
PDF = (PRESS / "thong-cao.pdf").read_bytes()  # made by scripts/make_press_fixtures.py
SCAN = (PRESS / "ban-quet.pdf").read_bytes()


def test_a_pdf_reads_as_its_paragraphs_with_its_title():
    found = read_document(PDF, ".pdf")
    assert found.title == "Thông cáo báo chí về Hội nghị Bộ trưởng Ngoại giao ASEAN lần thứ 54"
    # The PDF wraps this sentence over two lines at the margin: it comes back whole.
    assert ("Bộ trưởng Ngoại giao Bùi Thanh Sơn dẫn đầu Đoàn Việt Nam tham dự Hội nghị Bộ trưởng Ngoại giao ASEAN "
            "lần thứ 54 theo hình thức trực tuyến, dưới sự chủ trì của Brunei.") in found.text.split("\n")[2]
    assert "Hà Nội, ngày 2/8/2021" in found.text.split("\n")  # a short line stays a line


def test_reflow_joins_margin_wraps_and_lower_case_continuations_only():
    page = "Tiêu đề ngắn\nMột câu dài được in ra và bị ngắt dòng ở lề phải của trang\ngiấy nên phải nối lại.\nHết."
    assert reflow(page).split("\n") == [
        "Tiêu đề ngắn", "Một câu dài được in ra và bị ngắt dòng ở lề phải của trang giấy nên phải nối lại.", "Hết."]


def test_a_scanned_pdf_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(UnreadableDocument) as err:
        read_document(SCAN, ".pdf")
    assert err.value.kind == "scanned"
    (tmp_path / "scan.pdf").write_bytes(SCAN)
    docs, skipped = read_corpus(tmp_path)
    assert docs == [] and "scanned PDF" in skipped[0].reason and "OCR" in skipped[0].reason
    with pytest.raises(UploadError, match="ảnh quét.*OCR"):
        check_upload("scan.pdf", SCAN)


def test_broken_and_password_protected_files_say_so(tmp_path):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(PDF)))
    writer.encrypt(user_password="mat-khau", algorithm="RC4-128")
    locked = io.BytesIO()
    writer.write(locked)
    files = {"locked.pdf": locked.getvalue(), "broken.pdf": b"%PDF-1.7 not really", "broken.docx": b"PK\x03\x04 junk"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    _, skipped = read_corpus(tmp_path)
    reasons = {s.name: s.reason for s in skipped}
    assert "password-protected" in reasons["locked.pdf"]
    assert reasons["broken.pdf"].startswith("is not a readable PDF file")
    assert reasons["broken.docx"].startswith("is not a readable DOCX file")
    with pytest.raises(UploadError, match="mật khẩu"):
        check_upload("locked.pdf", files["locked.pdf"])
    with pytest.raises(UploadError, match="Tệp DOCX bị hỏng"):
        check_upload("x.docx", files["broken.docx"])


def test_a_docx_reads_with_its_title_paragraphs_and_tables(tmp_path):
    (tmp_path / "tuyen-bo.docx").write_bytes(make_docx())
    docs, skipped = read_corpus(tmp_path)
    assert skipped == []
    article = clean_document(docs[0])
    assert article.title == "Tuyên bố chung Việt Nam - Nhật Bản"
    assert article.date == "2023-11-24"
    assert "đào tạo 1.000 kỹ sư bán dẫn" in article.text and "Vốn ODA | 500 tỷ yên" in article.text


def test_pdf_and_docx_uploads_are_indexed_and_answer(corpus, tmp_path, fake_encoder):
    index = tmp_path / "index"
    build_index(corpus, index, encoder=fake_encoder)
    result = add_uploads([("Thông cáo.pdf", PDF), ("tuyen bo.docx", make_docx()), ("scan.pdf", SCAN)],
                         corpus, index, encoder=fake_encoder)
    assert result.written == ["Thong_cao.pdf", "tuyen_bo.docx"]
    assert [name for name, _ in result.errors] == ["scan.pdf"]
    assert (corpus / "Thong_cao.pdf").read_bytes() == PDF  # the file as uploaded, read like the rest
    engine = Engine.open(index, encoder=fake_encoder)
    assert engine.articles["Thong_cao.pdf"].date == "2021-08-02"
    answer = engine.ask("Ai được bổ nhiệm làm Đặc phái viên của Chủ tịch ASEAN về Myanmar?")
    assert answer.passages[0].doc_id == "Thong_cao.pdf"
