"""Corpus -> index: clean, chunk, embed only what is new, and write a snapshot."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .chunk import ChunkParams, chunk_article
from .clean import clean_document
from .embed.encoder import DEFAULT_MODEL, Encoder, load_encoder, resolve_model
from .errors import CorpusError, IndexLoadError
from .index.keywords import KeywordIndex
from .index.store import IndexData, Manifest, StoredChunk, has_index, load_index, save_index, writer_lock
from .ingest import DEFAULT_MAX_BYTES, Skipped, read_corpus
from .types import Article, Chunk

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexParams:
    chunking: ChunkParams = ChunkParams()
    # The title gives each passage its article's topic; it is embedded, never part of the passage text.
    embed_title: bool = True
    # Lower than the usual 1.5/0.75: passages are short and one mention of a rare name should count.
    bm25_k1: float = 0.9
    bm25_b: float = 0.4


@dataclass(frozen=True)
class BuildReport:
    articles: int
    chunks: int
    added: int
    changed: int
    removed: int
    embedded: int  # chunk texts sent to the encoder
    reused: int  # chunk vectors taken from the previous index
    skipped: tuple[Skipped, ...]
    seconds: float
    up_to_date: bool


def embedding_text(article: Article, chunk: Chunk, params: IndexParams) -> str:
    return f"{article.title}\n{chunk.text}" if params.embed_title and article.title else chunk.text


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _article_hash(article: Article) -> str:
    return _hash(json.dumps(asdict(article), ensure_ascii=False, sort_keys=True))


def build_index(
    corpus: Path,
    index_dir: Path,
    model: str | None = None,
    rebuild: bool = False,
    params: IndexParams = IndexParams(),
    encoder: Encoder | None = None,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> BuildReport:
    """Bring the index in `index_dir` up to date with `corpus`; unchanged chunks keep their vectors."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with writer_lock(index_dir):
        previous = None if rebuild else _previous(index_dir)
        docs, skipped = read_corpus(Path(corpus), max_bytes=max_bytes)
        if not docs:
            raise CorpusError(f"No readable articles in {corpus}: nothing to index (the existing index is kept).")
        articles = {}
        for doc in docs:
            article = clean_document(doc)
            if article.text.strip():
                articles[article.doc_id] = article
            else:
                skipped.append(Skipped(doc.doc_id, "has no article text after cleaning"))
        hashes = {doc_id: _article_hash(a) for doc_id, a in articles.items()}
        fingerprint = _hash("".join(f"{d}\0{h}\n" for d, h in sorted(hashes.items())))

        if encoder is not None:
            model_spec, model_id = model or encoder.model_id, encoder.model_id
        else:
            model_spec = model if model is not None else (previous.manifest.model_spec if previous else DEFAULT_MODEL)
            model_id = resolve_model(model_spec).model_id
        params_dict = asdict(params)
        if previous and (previous.manifest.model_id != model_id or previous.manifest.params != params_dict):
            previous = None  # vectors of another model or chunking: nothing to reuse
        if previous and previous.manifest.corpus_fingerprint == fingerprint:
            return BuildReport(len(articles), previous.manifest.chunks, 0, 0, 0, 0, previous.manifest.chunks,
                               tuple(skipped), time.perf_counter() - started, up_to_date=True)
        if encoder is None:
            encoder = load_encoder(model_spec)
        old_hashes = previous.article_hashes if previous else {}
        added = sum(1 for d in hashes if d not in old_hashes)
        changed = sum(1 for d, h in hashes.items() if d in old_hashes and old_hashes[d] != h)
        removed = sum(1 for d in old_hashes if d not in hashes)

        chunks: list[Chunk] = []
        texts: list[str] = []
        for article in articles.values():
            for chunk in chunk_article(article, params.chunking, first_id=len(chunks)):
                chunks.append(chunk)
                texts.append(embedding_text(article, chunk, params))
        text_hashes = [_hash(t) for t in texts]

        known = _vectors_by_hash(previous) if previous else {}
        todo = {h: t for h, t in zip(text_hashes, texts) if h not in known}  # identical texts embedded once
        new_vectors = _embed(encoder, list(todo.values()), progress)
        known.update(zip(todo.keys(), new_vectors))
        vectors = (np.stack([known[h] for h in text_hashes]) if chunks
                   else np.zeros((0, encoder.dim), dtype=np.float32)).astype(np.float32)

        manifest = Manifest(
            model_id=encoder.model_id,
            model_spec=model_spec,
            dim=encoder.dim,
            params=params_dict,
            corpus_fingerprint=fingerprint,
            articles=len(articles),
            chunks=len(chunks),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        data = IndexData(
            manifest=manifest,
            articles=articles,
            article_hashes=hashes,
            chunks=[StoredChunk(c, h) for c, h in zip(chunks, text_hashes)],
            vectors=vectors,
            keywords=KeywordIndex.build([f"{articles[c.doc_id].title}\n{c.text}" for c in chunks],
                                        k1=params.bm25_k1, b=params.bm25_b),
        )
        save_index(index_dir, data)
    reused = sum(1 for h in text_hashes if h not in todo)
    return BuildReport(len(articles), len(chunks), added, changed, removed, len(todo), reused,
                       tuple(skipped), time.perf_counter() - started, up_to_date=False)


def _previous(index_dir: Path) -> IndexData | None:
    if not has_index(index_dir):
        return None
    try:
        return load_index(index_dir)
    except IndexLoadError as exc:
        log.warning("previous index not reusable, embedding everything again: %s", exc)
        return None


def _vectors_by_hash(data: IndexData) -> dict[str, np.ndarray]:
    return {stored.text_hash: data.vectors[i] for i, stored in enumerate(data.chunks)}


def _embed(encoder: Encoder, texts: list[str], progress: Progress | None, batch: int = 64) -> list[np.ndarray]:
    # Longest first, in batches of similar length: padding is wasted work.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: list[np.ndarray] = [np.empty(0)] * len(texts)
    if progress:
        progress(0, len(texts))
    for start in range(0, len(order), batch):
        ids = order[start:start + batch]
        for i, vector in zip(ids, encoder.encode_passages([texts[i] for i in ids])):
            out[i] = vector
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return out
