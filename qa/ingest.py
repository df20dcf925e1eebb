"""Read a corpus (a folder of .txt/.md/.html/.pdf/.docx files, or a .jsonl file) into Documents."""
from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .errors import CorpusError
from .pdf_docx import SUFFIXES as DOCUMENT_SUFFIXES
from .pdf_docx import UnreadableDocument, read_document
from .types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_CORPUS_FILES = ".txt/.md/.html/.pdf/.docx"


@dataclass(frozen=True)
class Skipped:
    """A corpus entry that was not read, and why."""

    name: str
    reason: str


def read_corpus(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Document], list[Skipped]]:
    """All readable documents under `path`, plus the entries skipped with a reason."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"Corpus not found: {path}. Give a folder of {_CORPUS_FILES} files or a .jsonl file.")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    if path.is_dir():
        entries = _read_files(path, article_files(path), max_bytes)
    elif path.suffix.lower() == ".jsonl":
        entries = _read_jsonl(path)
    elif is_article_file(path):
        entries = _read_files(path.parent, [path], max_bytes)  # a single article
    else:
        raise CorpusError(f"Cannot read {path} as a corpus: give a folder, a .jsonl file or a {_CORPUS_FILES} file.")
    for entry in entries:
        (docs if isinstance(entry, Document) else skipped).append(entry)
    for s in skipped:
        log.warning("skipped %s: %s", s.name, s.reason)
    return docs, skipped


def _read_files(root: Path, files: Iterable[Path], max_bytes: int) -> Iterator[Document | Skipped]:
    for file in files:
        suffix = file.suffix.lower()
        fmt = TEXT_SUFFIXES.get(suffix)
        name = file.relative_to(root).as_posix()
        try:
            size = file.stat().st_size
            if size > max_bytes:
                yield Skipped(name, f"{size:,} bytes is over the {max_bytes:,}-byte limit")
                continue
            data = file.read_bytes()
        except OSError as exc:
            yield Skipped(name, f"cannot be read ({exc.strerror or exc})")
            continue
        if fmt is None:
            yield _document(name, data, suffix)
            continue
        text = _decode(data)
        if text is None:
            yield Skipped(name, _undecodable(data))
        elif not text.strip():
            yield Skipped(name, "is empty")
        else:
            yield Document(doc_id=name, raw=text, fmt=fmt)


_UNREADABLE = {
    "scanned": "is a scanned PDF (page images without a text layer): run OCR on it (e.g. ocrmypdf) and add the result",
    "encrypted": "is password-protected: save an unprotected copy and add that",
    "broken": "is not a readable {kind} file ({detail})",
}


def _document(name: str, data: bytes, suffix: str) -> Document | Skipped:
    """A PDF or DOCX file as a plain-text Document; its title from the file's properties, if any."""
    try:
        found = read_document(data, suffix)
    except UnreadableDocument as exc:
        return Skipped(name, _UNREADABLE[exc.kind].format(kind=suffix[1:].upper(), detail=exc.detail))
    if not found.text.strip():
        return Skipped(name, "is empty")
    return Document(doc_id=name, raw=found.text, fmt="txt", title=found.title)


def is_article_file(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES or path.suffix.lower() in DOCUMENT_SUFFIXES


def article_files(folder: Path) -> Iterator[Path]:
    """The files under `folder` that the indexer reads as articles, sorted; hidden ones left out."""
    return (path for path in _walk(folder, set()) if is_article_file(path))


def _walk(folder: Path, seen: set[Path]) -> Iterator[Path]:
    """Files under `folder`, sorted, following symlinks but never into a loop."""
    try:
        real = folder.resolve()
    except (OSError, RuntimeError):
        return
    if real in seen:
        return
    seen.add(real)
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk(child, seen)
        elif child.is_file():
            yield child


def _decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1258 Vietnamese when that can be
    told reliably; None when it is not text (or its encoding cannot be told)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _decode_cp1258(data)
    if "\x00" in text:
        return None
    return text


# Letters of the Vietnamese alphabet beyond ASCII, precomposed (NFC).
_VIETNAMESE_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
# Letters that Western 8-bit text (Latin-1, Windows-1252) never produces: with one of them,
# Windows-1258 is Vietnamese rather than a guess.
_ONLY_VIETNAMESE = frozenset(_VIETNAMESE_LETTERS - set(bytes(range(0xC0, 0x100)).decode("latin-1")))
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")
# A UTF-8 multi-byte sequence; in bytes that are not UTF-8 as a whole it means mixed encodings
# (UTF-8 read as Windows-1258 looks Vietnamese: "à" becomes "Ă\xa0"). Windows-1258's tone marks
# (0xCC, 0xD2, 0xDE, 0xEC, 0xF2) are not taken as lead bytes: one before a no-break space or a
# quote mark is ordinary Vietnamese.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xcb\xcd-\xd1\xd3-\xdd\xdf][\x80-\xbf]|[\xe0-\xeb\xed-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0\xf1\xf3\xf4][\x80-\xbf]{3}")
# In Vietnamese, roughly one letter in five carries a mark; a tenth leaves room for names and English.
_MIN_VIETNAMESE_SHARE = 0.1


def _decode_cp1258(data: bytes) -> str | None:
    """Windows-1258 text that reads as Vietnamese, in NFC; None when that is not clear.

    Windows-1258 writes tone marks as combining characters after the vowel. Bytes it leaves
    undefined, control characters, UTF-8 sequences, a mark that does not compose with the letter
    before it, or a letter outside the Vietnamese alphabet mean another encoding or binary data.
    """
    if _UTF8_SEQUENCE.search(data):
        return None
    try:
        raw = data.decode("cp1258")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in raw):
        return None
    text = unicodedata.normalize("NFC", raw)
    letters = [ch for ch in text if ch.isalpha()]
    marked = [ch for ch in letters if not ch.isascii()]
    if any(unicodedata.combining(ch) for ch in text) or any(ch not in _VIETNAMESE_LETTERS for ch in marked):
        return None
    if not any(ch in _ONLY_VIETNAMESE for ch in marked) or len(marked) < _MIN_VIETNAMESE_SHARE * len(letters):
        return None
    return text


def _undecodable(data: bytes) -> str:
    """Why bytes that `_decode` refused were skipped."""
    if any((b < 0x20 or b == 0x7F) and b not in b"\t\n\r\f" for b in data):
        return "is not text (binary content)"
    return ("is not text in a known encoding (not UTF-8, UTF-16 with a BOM, or recognisably Vietnamese "
            "Windows-1258): save it as UTF-8")


def _read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"Cannot read {path}: {exc}. A .jsonl corpus must be UTF-8.") from exc
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skipped(where, f"is not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            yield Skipped(where, 'needs an object with a non-empty "text"')
            continue
        raw_id = obj.get("id")
        doc_id = f"{path.stem}-{number}" if raw_id is None or raw_id == "" else str(raw_id)
        if doc_id in seen:
            yield Skipped(where, f'repeats id "{doc_id}"')
            continue
        seen.add(doc_id)
        yield Document(
            doc_id=doc_id,
            raw=obj["text"],
            fmt="jsonl",
            title=str(obj.get("title") or ""),
            date=str(obj.get("date") or ""),
            url=str(obj.get("url") or ""),
            source=str(obj.get("source") or ""),
        )
