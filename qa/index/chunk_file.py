"""A snapshot's chunks (chunks.jsonl), parsed line by line when asked for.

Parsing all 94,000 chunks of a 20,000-article index took half of a 6.6 s cold start, and kept every
passage's text resident, where a question reads a few dozen. A table beside the file
(chunk_rows.npz) gives each line's byte offset, its article's row and its first sentence's row:
opening reads the table alone. A snapshot saved before the table existed is scanned once and
given one.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
import weakref
import zipfile
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Collection, Iterator, Sequence

import numpy as np

from ..errors import IndexLoadError
from ..types import Chunk

CHUNKS_FILE = "chunks.jsonl"
TABLE_FILE = "chunk_rows.npz"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredChunk:
    chunk: Chunk
    text_hash: str  # hash of the embedded text: the key for reusing its vector


@dataclass(frozen=True)
class ChunkTable:
    offsets: np.ndarray  # n + 1 byte offsets: line i is offsets[i]:offsets[i + 1]
    article_rows: np.ndarray  # n: the chunk's article's row in articles.jsonl, -1 for none
    sentence_starts: np.ndarray  # n + 1: row of each chunk's first sentence in sentences.npy; last: their count

    def fits(self, size: int, articles: int) -> bool:
        """Whether the table can describe a chunks file of `size` bytes over `articles` articles."""
        n = len(self.article_rows)
        return (len(self.offsets) == len(self.sentence_starts) == n + 1 and self.offsets[0] == 0
                and self.offsets[-1] == size and self.sentence_starts[0] == 0
                and bool(np.all(np.diff(self.offsets) > 0)) and bool(np.all(np.diff(self.sentence_starts) >= 0))
                and (n == 0 or (int(self.article_rows.min()) >= -1 and int(self.article_rows.max()) < articles)))


class TableBuilder:
    """The table of a chunks file, one line at a time, as it is written or read."""

    def __init__(self, doc_ids: Sequence[str]):
        self._row_of = {doc_id: row for row, doc_id in enumerate(doc_ids)}
        self._offsets, self._articles, self._starts = [0], [], [0]

    def add(self, line_bytes: int, doc_id: str, sentences: int) -> None:
        self._offsets.append(self._offsets[-1] + line_bytes)
        self._articles.append(self._row_of.get(doc_id, -1))
        self._starts.append(self._starts[-1] + sentences)

    def table(self) -> ChunkTable:
        return ChunkTable(np.array(self._offsets, dtype=np.int64), np.array(self._articles, dtype=np.int32),
                          np.array(self._starts, dtype=np.int64))


def _chunk_line(stored: StoredChunk) -> str:
    row = {f.name: getattr(stored.chunk, f.name) for f in fields(stored.chunk)}  # shallow, unlike asdict()
    return json.dumps({**row, "hash": stored.text_hash}, ensure_ascii=False) + "\n"


def write_chunks(folder: Path, chunks: Iterator[StoredChunk], doc_ids: Sequence[str]) -> None:
    """chunks.jsonl and its table."""
    table = TableBuilder(doc_ids)
    with open(folder / CHUNKS_FILE, "wb") as f:
        for stored in chunks:
            line = _chunk_line(stored).encode("utf-8")
            f.write(line)
            table.add(len(line), stored.chunk.doc_id, len(stored.chunk.sentences))
    save_table(folder, table.table())


def save_table(folder: Path, table: ChunkTable) -> None:
    # Written aside and renamed: a reader sees the whole table or none.
    tmp = folder / f".{TABLE_FILE}.{uuid.uuid4().hex[:6]}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, offsets=table.offsets, article_rows=table.article_rows,
                     sentence_starts=table.sentence_starts)
        os.replace(tmp, folder / TABLE_FILE)
    finally:
        tmp.unlink(missing_ok=True)


def open_chunks(folder: Path, doc_ids: Sequence[str]) -> "ChunkFile":
    """The chunks of a snapshot; one whose table is missing or does not fit is scanned (and the
    table written for the next reader, when the folder can be written)."""
    path = folder / CHUNKS_FILE
    size = os.path.getsize(path)
    try:
        with np.load(folder / TABLE_FILE, allow_pickle=False) as saved:
            table = ChunkTable(saved["offsets"], saved["article_rows"], saved["sentence_starts"])
        if not table.fits(size, len(doc_ids)):
            raise ValueError("it does not fit chunks.jsonl")
    except FileNotFoundError:
        table = None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s unreadable (%s): reading chunks.jsonl whole instead", folder / TABLE_FILE, exc)
        table = None
    if table is None:
        table = scan_table(path, doc_ids)
        try:
            save_table(folder, table)
        except OSError as exc:
            log.info("cannot write %s (%s): it is rebuilt on each open", folder / TABLE_FILE, exc)
    return ChunkFile(path, table)


def scan_table(path: Path, doc_ids: Sequence[str]) -> ChunkTable:
    table = TableBuilder(doc_ids)
    with open(path, "rb") as f:
        for line in f:
            row = json.loads(line)
            table.add(len(line), row["doc_id"], len(row["sentences"]))
    return table.table()


class ChunkFile(Sequence[StoredChunk]):
    def __init__(self, path: Path, table: ChunkTable):
        self.path = Path(path)
        self.table = table
        # The open descriptor keeps the snapshot readable after a newer build removes its folder.
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        # A question reads the same passages several times (ranking, answer, citations).
        self._read = lru_cache(maxsize=512)(self._parse)

    def __len__(self) -> int:
        return len(self.table.article_rows)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk {row} out of range for {len(self)} chunks")
        return self._read(row)

    def __iter__(self) -> Iterator[StoredChunk]:
        """All chunks in order, read sequentially (a build takes them all)."""
        shared: dict = {}  # one object per repeated doc id and sentence span: tens of MB on a large index
        with open(self.path, "rb") as f:
            for line in f:
                yield _stored(json.loads(line), shared)

    def rows_of(self, article_rows: Collection[int]) -> list[int]:
        """Rows of the chunks of the articles at `article_rows` (their rows in articles.jsonl)."""
        return np.flatnonzero(np.isin(self.table.article_rows, list(article_rows))).tolist()

    def _parse(self, row: int) -> StoredChunk:
        start, end = int(self.table.offsets[row]), int(self.table.offsets[row + 1])
        try:
            return _stored(json.loads(os.pread(self._fd, end - start, start)), {})
        except (ValueError, KeyError, TypeError) as exc:  # the file changed after its table was written
            from .store import rebuild_hint

            index_dir = self.path.parent.parent
            raise IndexLoadError(f"Chỉ mục ở {index_dir} bị hỏng (dòng {row + 1} của {CHUNKS_FILE} không đọc được: "
                                 f"{exc}). {rebuild_hint(index_dir)}") from exc


def _stored(row: dict, shared: dict) -> StoredChunk:
    spans = tuple(shared.setdefault((s, e), (shared.setdefault(s, s), shared.setdefault(e, e)))
                  for s, e in row["sentences"])
    chunk = Chunk(row["chunk_id"], shared.setdefault(row["doc_id"], row["doc_id"]), row["start"], row["end"],
                  row["text"], spans)
    return StoredChunk(chunk, row["hash"])
