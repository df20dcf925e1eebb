"""Add uploaded files to the corpus folder, then bring the index up to date.

An upload is checked before anything is written: an allowed type (the corpus formats, plus
.jsonl), a size limit, UTF-8 text (or a PDF with a text layer, or a DOCX), and some article text
once cleaned. Its name is reduced to a
safe one (no folders, no hidden files, ASCII letters, digits, ".", "-" and "_"), and an existing
file is never overwritten: the same bytes again are "already there", other bytes are refused.

The corpus is a folder of .txt/.md/.html/.pdf/.docx files, so a .jsonl upload is split: each record becomes
`<id>.txt` with its title as the first line (and its date and source in lines the cleaner reads
back: "Ngày đăng: dd/mm/yyyy" under the title, "Theo <source>" at the end).

Messages are in Vietnamese: they are shown to the person who uploaded the file.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .build import BuildReport, Progress
from .clean import clean_document
from .embed.encoder import Encoder
from .errors import QAError
from .index.location import build_at, manifest_at
from .ingest import DEFAULT_MAX_BYTES, TEXT_SUFFIXES
from .normalize import fold_diacritics, normalize_query
from .pdf_docx import SUFFIXES as DOCUMENT_SUFFIXES
from .pdf_docx import UnreadableDocument, read_document
from .types import Document

ALLOWED_SUFFIXES: tuple[str, ...] = tuple(sorted(set(TEXT_SUFFIXES) | set(DOCUMENT_SUFFIXES) | {".jsonl"}))
_UNREADABLE = {
    "scanned": "Tệp PDF là ảnh quét, không có lớp chữ: hãy nhận dạng chữ (OCR, ví dụ bằng ocrmypdf) rồi tải "
               "lên bản có chữ.",
    "encrypted": "Tệp được đặt mật khẩu: hãy lưu một bản không có mật khẩu rồi tải lên.",
    "broken": "Tệp {kind} bị hỏng hoặc không đúng định dạng {kind}: không đọc được nội dung.",
}
MAX_NAME_CHARS = 80


class UploadError(QAError):
    """An upload that cannot be added; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class SavedUpload:
    upload: str  # the name the file was uploaded under
    written: tuple[str, ...] = ()  # corpus files created (names relative to the corpus folder)
    unchanged: tuple[str, ...] = ()  # identical files the corpus already had
    skipped: tuple[str, ...] = ()  # JSONL records left out, each with its reason


@dataclass(frozen=True)
class AddResult:
    saved: tuple[SavedUpload, ...]
    errors: tuple[tuple[str, str], ...]  # (upload name, message) of the uploads refused
    report: BuildReport | None  # None when nothing new was written, or the update failed
    build_error: str = ""  # why the index update failed; the files stay in the corpus

    @property
    def written(self) -> list[str]:
        return [name for s in self.saved for name in s.written]


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _suffix(name: str) -> str:
    base = _basename(name)
    return base[base.rfind("."):].lower() if "." in base.lstrip(".") else ""


def _basename(name: str) -> str:
    return re.split(r"[\\/]", name.strip())[-1]


def check_upload(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The upload's text, or UploadError saying what is wrong with its type, size or encoding."""
    suffix = _suffix(name)
    if suffix not in ALLOWED_SUFFIXES:
        kind = f"“{suffix}”" if suffix else "không có phần mở rộng"
        raise UploadError(f"Định dạng tệp không được hỗ trợ ({kind}). Chỉ nhận {', '.join(ALLOWED_SUFFIXES)}.")
    if not data:
        raise UploadError("Tệp rỗng.")
    if len(data) > max_bytes:
        raise UploadError(f"Tệp quá lớn ({_size(len(data))}); giới hạn là {_size(max_bytes)}.")
    if suffix in DOCUMENT_SUFFIXES:
        try:
            found = read_document(data, suffix)
        except UnreadableDocument as exc:
            raise UploadError(_UNREADABLE[exc.kind].format(kind=suffix[1:].upper())) from None
        return f"{found.title}\n\n{found.text}" if found.title else found.text
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError("Tệp không phải văn bản UTF-8. Hãy lưu lại với mã hóa UTF-8 rồi tải lên.") from None
    if "\x00" in text:
        raise UploadError("Tệp chứa dữ liệu nhị phân, không phải văn bản.")
    if not text.strip():
        raise UploadError("Tệp không có nội dung.")
    return text


def safe_name(name: str, suffix: str | None = None) -> str:
    """A file name that stays inside the corpus folder: 'Tin ../../x.TXT' -> 'x.txt'."""
    base = _basename(name)
    suffix = (suffix if suffix is not None else _suffix(base)).lower()
    stem = base[: len(base) - len(suffix)] if suffix and base.lower().endswith(suffix) else base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", fold_diacritics(stem)).strip("._-")[:MAX_NAME_CHARS].strip("._-")
    if not stem:
        raise UploadError(f"Tên tệp “{name}” không dùng được: hãy đặt tên có chữ hoặc số.")
    return stem + suffix


def _has_article_text(text: str, fmt: str) -> bool:
    try:
        return bool(clean_document(Document(doc_id="upload", raw=text, fmt=fmt)).text.strip())
    except Exception:  # the cleaner failing on odd input means the indexer would fail too
        return False


def _place(corpus: Path, name: str, data: bytes) -> bool:
    """Write `data` to corpus/name without ever replacing a file: True if written, False if the
    identical file was there; UploadError when another file has that name."""
    target = corpus / name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UploadError(f"Không ghi được “{name}”: tên này đã được dùng trong kho.")
    if target.exists():
        if target.read_bytes() == data:
            return False
        raise UploadError(f"Kho đã có tệp “{name}” với nội dung khác. Đổi tên tệp nếu đây là bài mới.")
    # A hidden temporary file (the indexer skips dot files), then a link: atomic, and never over a file.
    tmp = corpus / f".upload-{uuid.uuid4().hex}"
    try:
        tmp.write_bytes(data)
        os.link(tmp, target)
    except FileExistsError:
        if target.read_bytes() == data:
            return False
        raise UploadError(f"Kho đã có tệp “{name}” với nội dung khác. Đổi tên tệp nếu đây là bài mới.") from None
    except OSError as exc:
        raise UploadError(f"Không ghi được “{name}” vào kho: {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _corpus_folder(corpus: Path) -> Path:
    corpus = Path(corpus)
    if corpus.exists() and not corpus.is_dir():
        raise UploadError(f"Kho bài viết {corpus} là một tệp, không phải thư mục: không thêm tệp vào được.")
    corpus.mkdir(parents=True, exist_ok=True)
    return corpus


def save_upload(name: str, data: bytes, corpus: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> SavedUpload:
    """Check one upload and add it to the corpus folder (a .jsonl one as one .txt per record)."""
    text = check_upload(name, data, max_bytes)
    suffix = _suffix(name)
    folder = _corpus_folder(corpus)
    if suffix == ".jsonl":
        return _save_jsonl(name, text, folder)
    target = safe_name(name, suffix)
    if not _has_article_text(text, TEXT_SUFFIXES.get(suffix, "txt")):
        raise UploadError("Không tìm thấy nội dung bài viết trong tệp (sau khi bỏ menu, quảng cáo, chân trang).")
    written = _place(folder, target, data)
    return SavedUpload(name, written=(target,) if written else (), unchanged=() if written else (target,))


def record_text(title: str, text: str, date: str = "", source: str = "") -> str:
    """A JSONL record as a .txt article the cleaner reads back with the same title, date and source."""
    lines = [normalize_query(title).rstrip(" .:;,")] if title.strip() else []
    day = _iso_day(date)
    if day:
        lines.append(f"Ngày đăng: {day.strftime('%d/%m/%Y')}")
    lines += ["", text.strip()]
    source = normalize_query(source)
    if source:
        lines += ["", f"Theo {source}"]
    return "\n".join(lines).strip() + "\n"


def _iso_day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10]) if value.strip() else None
    except ValueError:
        return None


def _save_jsonl(name: str, text: str, corpus: Path) -> SavedUpload:
    stem = safe_name(name, ".jsonl")[: -len(".jsonl")]
    written: list[str] = []
    unchanged: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()
    records = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        records += 1
        where = f"dòng {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append(f"{where}: không phải JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            skipped.append(f'{where}: cần một đối tượng có trường "text" không rỗng')
            continue
        record_id = str(obj.get("id") or f"{stem}-{number}")
        try:  # the whole id names the file: "a/b" -> "a_b.txt", never a folder
            target = safe_name(re.sub(r"[\\/]", "_", record_id), ".txt")
        except UploadError:
            target = safe_name(f"{stem}-{number}", ".txt")
        if target in seen:
            skipped.append(f"{where}: trùng id “{record_id}”")
            continue
        seen.add(target)
        article = record_text(str(obj.get("title") or ""), obj["text"], str(obj.get("date") or ""),
                              str(obj.get("source") or ""))
        if not _has_article_text(article, "txt"):
            skipped.append(f"{where}: không có nội dung bài viết")
            continue
        try:
            (written if _place(corpus, target, article.encode("utf-8")) else unchanged).append(target)
        except UploadError as exc:
            skipped.append(f"{where}: {exc}")
    if not records:
        raise UploadError("Tệp .jsonl không có bản ghi nào.")
    if not written and not unchanged:
        raise UploadError("Không thêm được bản ghi nào: " + "; ".join(skipped[:3]) + ("; …" if len(skipped) > 3 else ""))
    return SavedUpload(name, tuple(written), tuple(unchanged), tuple(skipped))


def recorded_spec(index_dir: Path | str, encoder: Encoder) -> str | None:
    """The model spec the index records for this encoder's model ("default" for the bundled one):
    `build_index` given only an encoder would record the model id as the spec instead."""
    try:
        manifest = manifest_at(index_dir)
    except QAError:
        return None
    return manifest.model_spec if manifest and manifest.model_id == encoder.model_id else None


def add_uploads(files: Iterable[tuple[str, bytes]], corpus: Path, index_dir: Path | str,
                encoder: Encoder | None = None, model: str | None = None,
                progress: Progress | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> AddResult:
    """Save each (name, bytes) upload into `corpus`, then update the index in `index_dir` when
    anything new was written. Unchanged articles keep their vectors; pass the running engine's
    `encoder` (and its manifest's `model` spec) so the model is not loaded a second time."""
    saved: list[SavedUpload] = []
    errors: list[tuple[str, str]] = []
    for name, data in files:
        try:
            saved.append(save_upload(name, data, Path(corpus), max_bytes))
        except UploadError as exc:
            errors.append((name, str(exc)))
    if not any(s.written for s in saved):
        return AddResult(tuple(saved), tuple(errors), None)
    if model is None and encoder is not None:
        model = recorded_spec(index_dir, encoder)
    try:
        report = build_at(Path(corpus), index_dir, model=model, encoder=encoder, progress=progress,
                          max_bytes=max_bytes)
    except QAError as exc:
        return AddResult(tuple(saved), tuple(errors), None, build_error=str(exc))
    return AddResult(tuple(saved), tuple(errors), report)
