"""The index folder: versioned snapshots swapped in atomically, a manifest, and a writer lock.

Layout of an index folder (default `embeddings/`):
    CURRENT             name of the live snapshot, replaced atomically
    .lock               held by the one `qa index` writing here
    v-<time>-<id>/      manifest.json, articles.jsonl, chunks.jsonl, vectors.npy, sentences.npy,
                        dense.faiss, bm25/, and optional (older snapshots lack them): accents.json.gz,
                        minhash.npy (each article's near-duplicate signature), stories.json (the
                        groups of articles that are one story), chunk_rows.npz (where each chunk's
                        line is, qa.index.chunk_file)
A build writes a new snapshot beside the live one and only then repoints CURRENT, so a
reader (or a build killed at any moment) always finds a complete index.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from itertools import chain
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..accents import AccentModel
from ..errors import IndexLoadError, QAError
from ..types import Article, Chunk
from .chunk_file import ChunkFile, StoredChunk, open_chunks, write_chunks
from .dense import build_dense, load_dense, save_dense
from .keywords import KeywordIndex
from .rows import RowFile

FORMAT_VERSION = 2  # 2: chunks carry sentence spans, sentences.npy holds their vectors
CURRENT = "CURRENT"
ACCENTS_FILE = "accents.json.gz"
SIGNATURES_FILE = "minhash.npy"
STORIES_FILE = "stories.json"
# Sentence vectors only rank a passage's sentences against the question: half precision is plenty.
SENTENCE_DTYPE = np.float16


log = logging.getLogger(__name__)


class IndexBusyError(QAError):
    pass


@dataclass(frozen=True)
class Manifest:
    model_id: str
    model_spec: str
    dim: int
    params: dict
    corpus_fingerprint: str
    articles: int
    chunks: int
    created: str
    format_version: int = FORMAT_VERSION
    normalization: str = "NFC, invisible characters removed, whitespace collapsed"
    extra: dict = field(default_factory=dict)


@dataclass
class IndexData:
    """Everything a snapshot holds, in memory."""

    manifest: Manifest
    articles: dict[str, Article]
    article_hashes: dict[str, str]  # of the cleaned article
    source_hashes: dict[str, str]  # of the document it was cleaned from
    chunks: Sequence[StoredChunk]  # a list in a build; a loaded snapshot's are read on demand (ChunkFile)
    vectors: np.ndarray | RowFile  # read on demand once loaded
    sentence_vectors: np.ndarray | RowFile  # one row per sentence of each chunk, in chunk order
    keywords: KeywordIndex | None  # None in a snapshot loaded for a build (`load_index`)
    dense: object = None  # faiss.Index; built on save when absent
    folder: Path | None = None  # the snapshot it was loaded from
    accent_model: AccentModel | None = None  # see `accents`
    signatures: np.ndarray | None = None  # near-duplicate signature of each article, in `articles` order
    stories: tuple[tuple[str, ...], ...] = ()  # groups of doc ids that are one story (qa.duplicates)

    def __post_init__(self):
        # Row of each chunk's first sentence in `sentence_vectors`; the last entry is their count.
        if isinstance(self.chunks, ChunkFile):
            self.sentence_starts = self.chunks.table.sentence_starts
        else:
            counts = [len(stored.chunk.sentences) for stored in self.chunks]
            self.sentence_starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        self.story_of = {doc_id: group for group in self.stories for doc_id in group}
        self._last_keywords: tuple[tuple[str, ...], np.ndarray] | None = None

    @property
    def accents(self) -> AccentModel:
        """The model that restores diacritics, read on first use: most questions have them. A
        snapshot saved before it existed, or whose copy is unreadable, learns it from its chunks."""
        if self.accent_model is None:
            path = self.folder / ACCENTS_FILE if self.folder is not None else None
            try:
                self.accent_model = AccentModel.load(path) if path is not None and path.exists() else None
            except (OSError, ValueError, KeyError, EOFError) as exc:
                log.warning("cannot read %s (%s): learning the diacritics model from the passages", path, exc)
            if self.accent_model is None:
                self.accent_model = AccentModel.learn(chain((a.title for a in self.articles.values()),
                                                            (s.chunk.text for s in self.chunks)))
        return self.accent_model

    def sentences_of(self, chunk_index: int) -> np.ndarray:
        """The vectors of the sentences of chunk `chunk_index`, as float32."""
        start, end = self.sentence_starts[chunk_index], self.sentence_starts[chunk_index + 1]
        return np.asarray(self.sentence_vectors[start:end], dtype=np.float32)

    # The search side (qa.index.search_store.SearchStore), over the snapshot in memory.

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    def chunk(self, row: int) -> Chunk:
        return self.chunks[row].chunk

    def rows_of(self, doc_ids: set[str]) -> list[int]:
        if isinstance(self.chunks, ChunkFile):
            return self.chunks.rows_of(row for row, doc_id in enumerate(self.articles) if doc_id in doc_ids)
        return [i for i, s in enumerate(self.chunks) if s.chunk.doc_id in doc_ids]

    def vectors_of(self, rows) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def nearest(self, vector: np.ndarray, k: int) -> np.ndarray:
        _, ids = self.dense.search(vector[None, :].astype(np.float32), k)
        return ids[0][ids[0] >= 0]

    def keyword_top(self, tokens, k: int, rows: np.ndarray | None = None) -> np.ndarray:
        scores = self._keyword_all(tokens)
        if rows is not None:
            return rows[np.argsort(-scores[rows])[:k]]
        n = len(scores)
        return np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)

    def keyword_scores(self, tokens, rows: np.ndarray) -> np.ndarray:
        return self._keyword_all(tokens)[rows]

    def known(self, tokens) -> list[str]:
        return self.keywords.known(tokens)

    def rarity(self, token: str) -> float:
        return self.keywords.rarity(token)

    def _keyword_all(self, tokens) -> np.ndarray:
        """Every passage's score; the last query's kept, as its top and its candidates' scores are
        asked in turn (one tuple assignment: threads sharing the index see a whole pair)."""
        key = tuple(tokens)
        last = self._last_keywords
        if last is not None and last[0] == key:
            return last[1]
        scores = self.keywords.scores(key)
        self._last_keywords = (key, scores)
        return scores


def rebuild_hint(index_dir: Path) -> str:
    return f"Hãy lập lại chỉ mục: python -m qa index --index {index_dir} --rebuild"


def has_index(index_dir: Path) -> bool:
    return (Path(index_dir) / CURRENT).is_file()


def snapshot_path(index_dir: Path) -> Path:
    index_dir = Path(index_dir)
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexLoadError(
            f"Chưa có chỉ mục ở {index_dir}. Hãy lập chỉ mục: python -m qa index --index {index_dir}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexLoadError(f"Không đọc được chỉ mục ở {index_dir}: {exc}. {rebuild_hint(index_dir)}") from exc
    folder = index_dir / name
    if not name.startswith("v-") or "/" in name or not folder.is_dir():
        raise IndexLoadError(f"Chỉ mục ở {index_dir} trỏ tới bản chụp {name!r} không tồn tại. {rebuild_hint(index_dir)}")
    return folder


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the live snapshot of `index_dir`."""
    return _snapshot_manifest(snapshot_path(index_dir), Path(index_dir))


def _snapshot_manifest(folder: Path, index_dir: Path) -> Manifest:
    try:
        raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise IndexLoadError(
                f"Tệp mô tả (manifest) của chỉ mục ở {index_dir} không phải một đối tượng JSON. {rebuild_hint(index_dir)}"
            )
        if raw.get("format_version") != FORMAT_VERSION:
            raise IndexLoadError(
                f"Chỉ mục ở {index_dir} có định dạng (format version) {raw.get('format_version')}, phiên bản qa "
                f"này đọc định dạng {FORMAT_VERSION}. {rebuild_hint(index_dir)}"
            )
        return Manifest(**raw)
    except IndexLoadError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise IndexLoadError(f"Tệp mô tả (manifest) của chỉ mục ở {index_dir} không đọc được ({exc}). {rebuild_hint(index_dir)}") from exc


def load_index(index_dir: Path, searchable: bool = True) -> IndexData:
    """The current snapshot; `searchable=False` leaves out the dense and keyword indexes, which a
    build makes anew (it reuses the vectors, read on demand, and the chunks, read whole)."""
    index_dir = Path(index_dir)
    # Resolve CURRENT once: a build swapping snapshots meanwhile cannot mix two of them.
    folder = snapshot_path(index_dir)
    manifest = _snapshot_manifest(folder, index_dir)
    try:
        articles, hashes, sources = {}, {}, {}
        for row in _read_jsonl(folder / "articles.jsonl"):
            hashes[row["doc_id"]] = row.pop("hash")
            sources[row["doc_id"]] = row.pop("source_hash")
            articles[row["doc_id"]] = Article(**row)
        on_demand = open_chunks(folder, list(articles))
        chunks = on_demand if searchable else list(on_demand)  # a build reads them all, more than once
        vectors = RowFile(folder / "vectors.npy")
        sentence_vectors = RowFile(folder / "sentences.npy")
        dense = load_dense(folder / "dense.faiss") if searchable else None
        keywords = KeywordIndex.load(folder / "bm25") if searchable else None
        # Mapped, not read: only the next build uses them, and an engine never does.
        signatures = (np.load(folder / SIGNATURES_FILE, mmap_mode="r") if (folder / SIGNATURES_FILE).exists()
                      else None)
        if signatures is not None and len(signatures) != len(articles):
            signatures = None  # the next build computes them again
        stories = (tuple(tuple(g) for g in json.loads((folder / STORIES_FILE).read_text(encoding="utf-8")))
                   if (folder / STORIES_FILE).exists() else ())
        counts = (len(chunks), vectors.shape[0] if vectors.ndim == 2 else -1, manifest.chunks) + (
            (dense.ntotal,) if dense is not None else ())
        consistent = (len(set(counts)) == 1 and len(articles) == manifest.articles
                      and vectors.ndim == 2 and vectors.shape[1] == manifest.dim
                      and sentence_vectors.shape == (int(on_demand.table.sentence_starts[-1]), manifest.dim))
    except Exception as exc:  # any failure to read a snapshot means: damaged (EOFError, pickle, faiss...)
        raise IndexLoadError(f"Chỉ mục ở {index_dir} bị hỏng ({exc}). {rebuild_hint(index_dir)}") from exc
    if not consistent:
        raise IndexLoadError(f"Chỉ mục ở {index_dir} không nhất quán (số lượng {counts}). {rebuild_hint(index_dir)}")
    return IndexData(manifest, articles, hashes, sources, chunks, vectors, sentence_vectors, keywords, dense, folder,
                     signatures=signatures, stories=stories)


def save_index(index_dir: Path, data: IndexData) -> Path:
    """Write a new snapshot and make it current; the previous one stays live until the swap.

    The previous snapshot is kept for one more generation, so a reader that resolved CURRENT
    just before the swap can still finish loading it; older ones are removed.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = _live_name(index_dir)
    tmp = index_dir / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    final = pointer = None
    try:
        _write_snapshot(tmp, data)
        final = index_dir / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        pointer = index_dir / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
        pointer.write_text(final.name, encoding="utf-8")
        os.replace(pointer, index_dir / CURRENT)
        pointer = None
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if pointer is not None:
            try:
                pointer.unlink()
            except OSError:
                pass
        if final is not None and _live_name(index_dir) != final.name:
            shutil.rmtree(final, ignore_errors=True)
        raise
    _remove_stale(index_dir, keep={final.name, previous})
    return final


def remove_leftovers(index_dir: Path) -> None:
    """Delete what a killed build left behind: temporary folders, and snapshots other than the live
    one and the newest other (kept for a reader that resolved CURRENT just before a swap)."""
    index_dir = Path(index_dir)
    live = _live_name(index_dir)
    others = sorted((p.name for p in index_dir.iterdir() if p.name.startswith("v-") and p.name != live),
                    key=lambda name: (index_dir / name).stat().st_mtime)
    _remove_stale(index_dir, keep={live, *others[-1:]})


def _live_name(index_dir: Path) -> str:
    """The snapshot CURRENT names, or "" when there is none yet (or it cannot be read)."""
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _write_snapshot(folder: Path, data: IndexData) -> None:
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as f:
        for doc_id, article in data.articles.items():
            row = {**_fields(article), "hash": data.article_hashes[doc_id], "source_hash": data.source_hashes[doc_id]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    write_chunks(folder, iter(data.chunks), list(data.articles))
    _save_rows(folder / "vectors.npy", data.vectors, np.float32)
    _save_rows(folder / "sentences.npy", data.sentence_vectors, SENTENCE_DTYPE)
    save_dense(data.dense if data.dense is not None else build_dense(data.vectors), folder / "dense.faiss")
    data.keywords.save(folder / "bm25")
    data.accents.save(folder / ACCENTS_FILE)
    if data.signatures is not None:
        np.save(folder / SIGNATURES_FILE, data.signatures, allow_pickle=False)
    (folder / STORIES_FILE).write_text(json.dumps([list(g) for g in data.stories], ensure_ascii=False), encoding="utf-8")
    # The manifest goes last: a snapshot with a manifest is a complete one.
    (folder / "manifest.json").write_text(json.dumps(asdict(data.manifest), ensure_ascii=False, indent=2), encoding="utf-8")
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _save_rows(path: Path, rows: np.ndarray | RowFile, dtype: type) -> None:
    if isinstance(rows, RowFile) and rows.dtype == dtype:
        shutil.copyfile(rows.path, path)  # assembled on disk by the build: copied, never read whole
    else:
        np.save(path, np.asarray(rows, dtype=dtype), allow_pickle=False)


def _fields(record) -> dict:
    # Shallow, unlike asdict(), which deep-copies every field: a third of a large save.
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(index_dir: Path, keep: set[str]) -> None:
    for child in index_dir.iterdir():
        if child.name in keep:
            continue
        if child.name.startswith(("v-", ".tmp-")):
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(f".{CURRENT}."):
            try:
                child.unlink()
            except OSError:
                pass


def _read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive right to update `index_dir`; a second writer is told, not queued silently."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(
                f"Một lệnh `qa index` khác đang cập nhật {index_dir}. Hãy chờ nó xong rồi chạy lại lệnh."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
