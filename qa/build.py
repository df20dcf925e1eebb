"""Corpus -> index: clean, chunk, embed only what is new, and write a snapshot."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .chunk import ChunkParams, chunk_article
from .clean import clean_document
from .duplicates import NUM_PERM, signatures, stories
from .embed.encoder import DEFAULT_MODEL, Encoder, load_encoder, resolve_model
from .errors import CorpusError, IndexLoadError
from .index.assemble import assemble_vectors
from .index.keywords import KeywordIndex
from .index.pending import PendingVectors
from .index.store import (IndexData, Manifest, StoredChunk, has_index, load_index,
                          remove_leftovers, save_index, writer_lock)
from .ingest import DEFAULT_MAX_BYTES, Skipped, read_corpus
from .memory import release_free_memory, trim
from .types import Article, Chunk, Document

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (passages embedded, passages to embed), after each batch


def rate_and_eta(done: int, total: int, seconds: float) -> tuple[float, float | None]:
    """Passages per second so far and the seconds left at that rate (None before any is done)."""
    if done <= 0 or seconds <= 0:
        return 0.0, None
    rate = done / seconds
    return rate, (total - done) / rate


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
    reused: int  # chunk vectors taken from the previous index or from an unfinished build
    skipped: tuple[Skipped, ...]
    seconds: float
    up_to_date: bool
    resumed: int = 0  # of `reused`: vectors an unfinished (killed) build had already made


def embedding_text(article: Article, chunk: Chunk, params: IndexParams) -> str:
    # Read from the article, not chunk.text: a build holds its chunks without their texts while embedding.
    passage = article.text[chunk.start:chunk.end]
    return f"{article.title}\n{passage}" if params.embed_title and article.title else passage


def _embedding_key(text: str, chunk: Chunk) -> str:
    """What a chunk's vectors depend on: the embedded text and where its sentences lie."""
    return _hash(text + "\0" + json.dumps(chunk.sentences))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _article_hash(article: Article) -> str:
    return _hash(json.dumps(asdict(article), ensure_ascii=False, sort_keys=True))


# Bumped whenever cleaning or chunking changes its output: an index built before then prepares
# every article again on its next build (chunks whose text did not change keep their vectors).
PREPARATION_VERSION = 4


def preparation_of(params: IndexParams) -> str:
    """What preparing an article depends on besides its document: this code's version, the parameters."""
    return json.dumps([PREPARATION_VERSION, asdict(params)], sort_keys=True)


def document_hash(doc: Document, preparation: str) -> str:
    """What the article prepared from `doc` depends on: the document, and how it is prepared."""
    return _hash(preparation + json.dumps(asdict(doc), ensure_ascii=False, sort_keys=True))


@dataclass(frozen=True)
class Prepared:
    """One article ready for the index: cleaned and chunked now, or taken as it was."""

    article: Article
    article_hash: str
    chunks: list[Chunk]  # chunk ids are renumbered when the index is assembled
    keys: list[str]  # embedding key of each chunk


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
            raise CorpusError(f"Không có bài viết nào đọc được trong {corpus}: không có gì để lập chỉ mục (chỉ mục hiện có được giữ nguyên).")
        if encoder is not None:
            model_spec, model_id = model or encoder.model_id, encoder.model_id
        else:
            model_spec = model if model is not None else (previous.manifest.model_spec if previous else DEFAULT_MODEL)
            model_id = resolve_model(model_spec).model_id
        params_dict = asdict(params)
        if previous and previous.manifest.model_id != model_id:
            previous = None  # vectors of another model: nothing to reuse
        # With other parameters every article is prepared again, but a chunk whose embedded text
        # is the same keeps its vector: the vectors are keyed by that text.
        preparation = preparation_of(params)
        source_hashes = {doc.doc_id: document_hash(doc, preparation) for doc in docs}
        kept = _unchanged_articles(previous, source_hashes)
        prepared: dict[str, Prepared] = {}
        for doc in docs:
            ready = kept.get(doc.doc_id) or prepare(doc, params)
            if ready is None:
                skipped.append(Skipped(doc.doc_id, "has no article text after cleaning"))
                del source_hashes[doc.doc_id]
                continue
            prepared[doc.doc_id] = ready
        del docs  # the raw pages: a large corpus holds them twice otherwise
        release_free_memory()
        hashes = {doc_id: p.article_hash for doc_id, p in prepared.items()}
        fingerprint = _hash(preparation + "\n" + "".join(f"{d}\0{h}\n" for d, h in sorted(hashes.items())))
        pending = PendingVectors(index_dir, model_id)
        if previous and previous.manifest.corpus_fingerprint == fingerprint:
            pending.clear()
            remove_leftovers(index_dir)
            return BuildReport(len(prepared), previous.manifest.chunks, 0, 0, 0, 0, previous.manifest.chunks,
                               tuple(skipped), time.perf_counter() - started, up_to_date=True)
        articles = {doc_id: p.article for doc_id, p in prepared.items()}
        # Made before the model is loaded, so that their peaks do not add to its.
        article_signatures = _signatures(articles, hashes, previous)
        article_stories = tuple(stories(list(articles), article_signatures))
        release_free_memory()  # the LSH tables (~160 MB on 20,000 articles), before the model loads
        if encoder is None:
            encoder = load_encoder(model_spec)
        old_hashes = previous.article_hashes if previous else {}
        added = sum(1 for d in hashes if d not in old_hashes)
        changed = sum(1 for d, h in hashes.items() if d in old_hashes and old_hashes[d] != h)
        removed = sum(1 for d in old_hashes if d not in hashes)

        chunks: list[Chunk] = []
        text_hashes: list[str] = []
        previous_rows = _rows_by_hash(previous) if previous else {}
        located = {} if rebuild else pending.load()  # batch file of each vector an unfinished build made
        resumed = {key for key in located if key not in previous_rows}
        todo: dict[str, tuple[Article, Chunk]] = {}
        for ready in prepared.values():
            for chunk, key in zip(ready.chunks, ready.keys):
                # Without its text until the vectors are made: a second copy of the corpus (~175 MB
                # for 20,000 articles) while the model is loaded; the text is its article's, sliced.
                chunks.append(replace(chunk, chunk_id=len(chunks), text=""))
                text_hashes.append(key)
                if key not in previous_rows and key not in located and key not in todo:
                    todo[key] = (ready.article, chunks[-1])  # identical texts are embedded once
        prepared = kept = None  # `chunks` and `articles` hold what is still needed
        if rebuild:
            pending.clear()
        located.update(embed_missing(encoder, todo, params, progress, pending.add))
        encoder_id, dim = encoder.model_id, encoder.dim
        del encoder  # a model loaded here is freed, and its memory given back, before what follows
        release_free_memory()
        todo = dict.fromkeys(todo)  # the texts are embedded: keep only which they were
        vectors, sentence_vectors = assemble_vectors(
            pending.staging(), text_hashes, [len(c.sentences) for c in chunks], dim, previous, previous_rows, located)
        previous = previous_rows = located = None  # the old snapshot's chunks and articles, freed
        chunks = [replace(c, text=articles[c.doc_id].text[c.start:c.end]) for c in chunks]
        release_free_memory()
        keywords = KeywordIndex.build((f"{articles[c.doc_id].title}\n{c.text}" for c in chunks),
                                      k1=params.bm25_k1, b=params.bm25_b)
        release_free_memory()  # what it built the postings from

        manifest = Manifest(
            model_id=encoder_id,
            model_spec=model_spec,
            dim=dim,
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
            source_hashes=source_hashes,
            chunks=[StoredChunk(c, h) for c, h in zip(chunks, text_hashes)],
            vectors=vectors,
            sentence_vectors=sentence_vectors,
            keywords=keywords,
            signatures=article_signatures,
            stories=article_stories,
        )
        save_index(index_dir, data)
        pending.clear()
    reused = sum(1 for h in text_hashes if h not in todo)
    return BuildReport(len(articles), len(chunks), added, changed, removed, len(todo), reused,
                       tuple(skipped), time.perf_counter() - started, up_to_date=False,
                       resumed=len(resumed & set(text_hashes)))


def prepare(doc: Document, params: IndexParams) -> Prepared | None:
    article = clean_document(doc)
    if not article.text.strip():
        return None
    chunks = chunk_article(article, params.chunking)
    keys = [_embedding_key(embedding_text(article, c, params), c) for c in chunks]
    return Prepared(article, _article_hash(article), chunks, keys)


def _signatures(articles: dict[str, Article], hashes: dict[str, str], previous: IndexData | None) -> np.ndarray:
    """Each article's near-duplicate signature, in `articles` order; unchanged articles keep theirs."""
    known: dict[str, np.ndarray] = {}
    if previous is not None and previous.signatures is not None:
        known = dict(zip((previous.article_hashes[d] for d in previous.articles), previous.signatures))
    missing = [d for d in articles if hashes[d] not in known]
    known.update(zip((hashes[d] for d in missing), signatures([articles[d].text for d in missing])))
    return (np.stack([known[hashes[d]] for d in articles]) if articles
            else np.zeros((0, NUM_PERM), dtype=np.uint32))


def _unchanged_articles(previous: IndexData | None, source_hashes: dict[str, str]) -> dict[str, Prepared]:
    """Articles whose source is byte-for-byte what the previous index read: they are taken as
    cleaned and chunked then, so adding one article to a large corpus does not redo the rest."""
    if previous is None:
        return {}
    by_doc: dict[str, list[StoredChunk]] = {}
    for stored in previous.chunks:
        by_doc.setdefault(stored.chunk.doc_id, []).append(stored)
    kept = {}
    for doc_id, source_hash in source_hashes.items():
        if previous.source_hashes.get(doc_id) == source_hash:
            stored = by_doc.get(doc_id, [])
            kept[doc_id] = Prepared(previous.articles[doc_id], previous.article_hashes[doc_id],
                                     [s.chunk for s in stored], [s.text_hash for s in stored])
    return kept


def _previous(index_dir: Path) -> IndexData | None:
    if not has_index(index_dir):
        return None
    try:
        return load_index(index_dir, searchable=False)
    except IndexLoadError as exc:
        log.warning("previous index not reusable, embedding everything again: %s", exc)
        return None


def _rows_by_hash(data: IndexData) -> dict[str, int]:
    """The row of each embedded text's vectors in a snapshot."""
    return {stored.text_hash: i for i, stored in enumerate(data.chunks)}


def _embedding_input(article: Article, chunk: Chunk, params: IndexParams) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The text the encoder sees for a chunk, and its sentences' spans in that text."""
    text = embedding_text(article, chunk, params)
    shift = len(text) - (chunk.end - chunk.start)  # the title embedded before the chunk
    return text, tuple((s + shift, e + shift) for s, e in chunk.sentences)


def embed_missing(encoder: Encoder, items: dict[str, tuple[Article, Chunk]], params: IndexParams,
           progress: Progress | None, save: Callable[[list[str], list, list], Path],
           batch: int = 64) -> dict[str, Path]:
    """Embeds each key's chunk (texts made a batch at a time: all at once they are a copy of the
    corpus) and hands each batch to `save` as soon as it is made, so a killed build loses one batch
    at most; returns the file `save` put each key's vectors in."""
    keys = list(items)
    # Longest first, in batches of similar length: padding is wasted work.
    keys.sort(key=lambda k: -len(embedding_text(*items[k], params)))
    out: dict[str, Path] = {}
    if progress:
        progress(0, len(keys))
    if hasattr(encoder, "stream"):  # a cluster (qa.embed.ray_cluster): one job, results in order
        results = encoder.stream([_embedding_input(*items[k], params) for k in keys])
        for start in range(0, len(keys), batch):
            ids = keys[start:start + batch]
            passages, sentences = zip(*(next(results) for _ in ids))
            out.update(dict.fromkeys(ids, save(ids, list(passages), list(sentences))))
            if progress:
                progress(min(start + batch, len(keys)), len(keys))
        return out
    for start in range(0, len(keys), batch):
        ids = keys[start:start + batch]
        texts, spans = zip(*(_embedding_input(*items[k], params) for k in ids))
        passages, sentences = encoder.encode_passages_and_spans(list(texts), list(spans))
        out.update(dict.fromkeys(ids, save(ids, list(passages), list(sentences))))
        trim()  # the batch's activations, freed: else the heaps keep them, fragmented
        if progress:
            progress(min(start + batch, len(keys)), len(keys))
    return out
