"""Read a corpus (a folder of .txt/.md/.html files, or a .jsonl file) into Documents."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .errors import CorpusError
from .types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Skipped:
    """A corpus entry that was not read, and why."""

    name: str
    reason: str


def read_corpus(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Document], list[Skipped]]:
    """All readable documents under `path`, plus the entries skipped with a reason."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"Corpus not found: {path}. Give a folder of .txt/.md/.html files or a .jsonl file.")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    if path.is_dir():
        entries = _read_files(path, _walk(path, set()), max_bytes)
    elif path.suffix.lower() == ".jsonl":
        entries = _read_jsonl(path)
    elif path.suffix.lower() in TEXT_SUFFIXES:
        entries = _read_files(path.parent, [path], max_bytes)  # a single article
    else:
        raise CorpusError(f"Cannot read {path} as a corpus: give a folder, a .jsonl file or a .txt/.md/.html file.")
    for entry in entries:
        (docs if isinstance(entry, Document) else skipped).append(entry)
    for s in skipped:
        log.warning("skipped %s: %s", s.name, s.reason)
    return docs, skipped


def _read_files(root: Path, files: Iterable[Path], max_bytes: int) -> Iterator[Document | Skipped]:
    for file in files:
        fmt = TEXT_SUFFIXES.get(file.suffix.lower())
        if fmt is None:
            continue
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
        text = _decode(data)
        if text is None:
            yield Skipped(name, "is not text (binary content or an unknown encoding)")
        elif not text.strip():
            yield Skipped(name, "is empty")
        else:
            yield Document(doc_id=name, raw=text, fmt=fmt)


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
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; None when it is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return text


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
