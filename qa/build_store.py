"""Corpus -> the index in a PostgreSQL database (`qa index --store URL`).

The same cleaning, chunking, embedding and BM25 tokens as a local build (`qa.build`); what
differs is where the result goes. Each article is written in a transaction of its own, with its
passages, vectors and postings, so a reader never sees half an article and a killed build leaves
every article either as it was or as it is now: the next build picks up from there. Vectors are
reused by the hash of the embedded text, from the database itself. One build at a time: a second
one stops with a message (a PostgreSQL advisory lock).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .accents import AccentModel
from .build import (BuildReport, IndexParams, Prepared, Progress, document_hash, embed_missing, prepare,
                    preparation_of)
from .duplicates import NUM_PERM, signatures, stories
from .embed.encoder import DEFAULT_MODEL, Encoder, load_encoder, resolve_model
from .errors import CorpusError, ModelMismatchError, StoreError
from .index.postgres import (ACCENTS_KEY, as_array, connect, index_hint, manifest_json, schema, shown_url,
                             stored_manifest)
from .index.store import SENTENCE_DTYPE, IndexBusyError, Manifest
from .ingest import DEFAULT_MAX_BYTES, Skipped, read_corpus
from .tokens import bm25_tokens

_LOCK = 0x71615F696E646578  # the advisory lock of `qa index` on a database ("qa_index")
GROUP = 256  # articles embedded and written at a time: their vectors are held until written


def build_store(corpus: Path, url: str, model: str | None = None, rebuild: bool = False,
                params: IndexParams = IndexParams(), encoder: Encoder | None = None,
                progress: Progress | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> BuildReport:
    """Bring the index in the database at `url` up to date with `corpus`."""
    import psycopg

    started = time.perf_counter()
    with connect(url) as conn:
        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            raise StoreError(f"{shown_url(url)} là bản sao chỉ đọc: hãy lập chỉ mục trên máy chủ chính "
                             "(các bản sao nhận dữ liệu từ đó).")
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK,)).fetchone()[0]:
            raise IndexBusyError(f"Một lệnh qa index khác đang ghi vào {shown_url(url)}: hãy đợi nó xong rồi chạy lại.")
        try:
            return _build(conn, corpus, url, model, rebuild, params, encoder, progress, max_bytes, started)
        except psycopg.Error as exc:  # each article is its own transaction: those written stay whole
            raise StoreError(f"Cơ sở dữ liệu {shown_url(url)} từ chối việc lập chỉ mục: {str(exc).strip()}") from exc
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))


def _build(conn, corpus, url, model, rebuild, params, encoder, progress, max_bytes, started) -> BuildReport:
    docs, skipped = read_corpus(Path(corpus), max_bytes=max_bytes)
    if not docs:
        raise CorpusError(f"Không có bài viết nào đọc được trong {corpus}: không có gì để lập chỉ mục "
                          f"(chỉ mục trong {shown_url(url)} được giữ nguyên).")
    previous = stored_manifest(conn)
    if encoder is not None:
        model_spec, model_id = model or encoder.model_id, encoder.model_id
    else:
        model_spec = model if model is not None else (previous.model_spec if previous else DEFAULT_MODEL)
        model_id = resolve_model(model_spec).model_id
    if previous and previous.model_id != model_id and not rebuild:
        raise ModelMismatchError(f"Chỉ mục trong {shown_url(url)} được lập bằng mô hình {previous.model_id!r}, "
                                 f"không phải {model_id!r}. Hãy lập lại: {index_hint(url)} --rebuild --model {model_spec}")
    preparation = preparation_of(params)
    known_sources = ({} if rebuild or previous is None
                     else dict(conn.execute("SELECT doc_id, source_hash FROM qa_articles").fetchall()))
    sources = {doc.doc_id: document_hash(doc, preparation) for doc in docs}
    # Other parameters: every article prepared again (vectors are still reused by their text).
    redo = previous is not None and previous.params != json.loads(json.dumps(asdict(params)))
    todo = [doc for doc in docs if redo or known_sources.get(doc.doc_id) != sources[doc.doc_id]]
    removed = [d for d in known_sources if d not in sources]
    if previous and not rebuild and not todo and not removed:
        return BuildReport(previous.articles, previous.chunks, 0, 0, 0, 0, previous.chunks, tuple(skipped),
                           time.perf_counter() - started, up_to_date=True)
    if encoder is None:
        encoder = load_encoder(model_spec)
    dim = encoder.dim
    if rebuild or previous is None or previous.dim != dim:
        _create(conn, dim, drop=previous is not None)
        known_sources = {}
    from pgvector.psycopg import register_vector

    register_vector(conn)

    added = sum(1 for doc in todo if doc.doc_id not in known_sources)
    embedded = reused = 0
    prepared: list[tuple[Prepared, str]] = []
    for doc in todo:
        ready = prepare(doc, params)
        if ready is None:
            skipped.append(Skipped(doc.doc_id, "has no article text after cleaning"))
            if doc.doc_id in known_sources:
                removed.append(doc.doc_id)
            continue
        prepared.append((ready, sources[doc.doc_id]))
    total = _to_embed(conn, prepared)

    def group_progress(n: int, _: int) -> None:
        if progress:
            progress(embedded + n, total)

    # A cluster (qa.embed.ray_cluster) starts its actors, and loads the model in each, once a group.
    size = GROUP * 16 if hasattr(encoder, "stream") else GROUP
    for start in range(0, len(prepared), size):
        group = prepared[start:start + size]
        vectors = _reusable(conn, [k for ready, _ in group for k in ready.keys])
        missing = {}
        for ready, _ in group:
            for chunk, key in zip(ready.chunks, ready.keys):
                if key not in vectors and key not in missing:
                    missing[key] = (ready.article, chunk)
        made: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        def keep(keys, passages, sentences):
            made.update(zip(keys, zip(passages, sentences)))

        embed_missing(encoder, missing, params, group_progress, keep)
        embedded += len(missing)
        reused += sum(len(ready.keys) for ready, _ in group) - len(missing)
        vectors.update({k: (np.asarray(p, dtype=np.float32), np.asarray(s, dtype=SENTENCE_DTYPE).tobytes())
                        for k, (p, s) in made.items()})
        sigs = signatures([ready.article.text for ready, _ in group])
        for (ready, source_hash), sig in zip(group, sigs):
            _write_article(conn, ready, source_hash, sig, vectors)
    for doc_id in removed:
        with conn.transaction():
            _delete_article(conn, doc_id)

    _restory(conn)
    accents = AccentModel.learn(r[0] for r in conn.execute("SELECT title FROM qa_articles UNION ALL SELECT text FROM qa_chunks"))
    articles, chunks = conn.execute("SELECT (SELECT count(*) FROM qa_articles), chunks FROM qa_stats").fetchone()
    manifest = Manifest(model_id=encoder.model_id, model_spec=model_spec, dim=dim, params=asdict(params),
                        corpus_fingerprint="", articles=int(articles), chunks=int(chunks),
                        created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    with conn.transaction():
        conn.execute("INSERT INTO qa_blobs VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (ACCENTS_KEY, accents.to_bytes()))
        conn.execute("INSERT INTO qa_meta VALUES ('manifest', %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (manifest_json(manifest),))
    changed = len(prepared) - added
    return BuildReport(int(articles), int(chunks), added, changed, len(removed), embedded, reused, tuple(skipped),
                       time.perf_counter() - started, up_to_date=False)


def _create(conn, dim: int, drop: bool) -> None:
    with conn.transaction():
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        if drop:
            conn.execute("DROP TABLE IF EXISTS qa_postings, qa_terms, qa_stats, qa_chunks, qa_articles, qa_blobs, qa_meta")
        conn.execute(schema(dim))


def _to_embed(conn, prepared: list[tuple[Prepared, str]]) -> int:
    keys = {k for ready, _ in prepared for k in ready.keys}
    have = {r[0] for r in conn.execute("SELECT DISTINCT text_hash FROM qa_chunks WHERE text_hash = ANY(%s)", (list(keys),))}
    return len(keys - have)


def _reusable(conn, keys: list[str]) -> dict[str, tuple[np.ndarray, bytes]]:
    rows = conn.execute("SELECT DISTINCT ON (text_hash) text_hash, embedding, sentence_vectors FROM qa_chunks "
                        "WHERE text_hash = ANY(%s)", (list(set(keys)),)).fetchall()
    return {h: (as_array(e), bytes(s)) for h, e, s in rows}


def _write_article(conn, ready: Prepared, source_hash: str, signature: np.ndarray,
                   vectors: dict[str, tuple[np.ndarray, bytes]]) -> None:
    a = ready.article
    with conn.transaction():
        _delete_article(conn, a.doc_id)
        conn.execute("INSERT INTO qa_articles (doc_id, title, text, date, source, author, url, article_hash, "
                     "source_hash, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     (a.doc_id, a.title, a.text, a.date, a.source, a.author, a.url, ready.article_hash, source_hash,
                      np.asarray(signature, dtype=np.uint32).tobytes()))
        df: Counter[str] = Counter()
        total = 0
        postings = []
        for chunk, key in zip(ready.chunks, ready.keys):
            tokens = Counter(bm25_tokens(f"{a.title}\n{chunk.text}"))
            length = sum(tokens.values())
            embedding, sentences = vectors[key]
            chunk_id = conn.execute(
                "INSERT INTO qa_chunks (doc_id, start_offset, end_offset, text, sentences, text_hash, embedding, "
                "sentence_vectors, length) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (a.doc_id, chunk.start, chunk.end, chunk.text, json.dumps(chunk.sentences), key, embedding,
                 sentences, length)).fetchone()[0]
            postings += [(token, chunk_id, tf, length) for token, tf in tokens.items()]
            df.update(tokens.keys())
            total += length
        with conn.cursor().copy("COPY qa_postings (token, chunk_id, tf, length) FROM STDIN") as copy:
            for row in postings:
                copy.write_row(row)
        conn.execute("INSERT INTO qa_terms SELECT * FROM unnest(%s::text[], %s::int[]) "
                     "ON CONFLICT (token) DO UPDATE SET df = qa_terms.df + excluded.df",
                     (list(df), list(df.values())))
        conn.execute("UPDATE qa_stats SET chunks = chunks + %s, total_length = total_length + %s",
                     (len(ready.chunks), total))


def _delete_article(conn, doc_id: str) -> None:
    """An article's passages, postings and counts removed (inside the caller's transaction)."""
    conn.execute("""
        WITH gone AS (SELECT p.token, count(*) AS n FROM qa_postings p JOIN qa_chunks c ON c.id = p.chunk_id
                      WHERE c.doc_id = %s GROUP BY p.token)
        UPDATE qa_terms t SET df = t.df - gone.n FROM gone WHERE t.token = gone.token""", (doc_id,))
    conn.execute("""
        UPDATE qa_stats SET chunks = chunks - g.n, total_length = total_length - g.total
        FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS total FROM qa_chunks WHERE doc_id = %s) g""", (doc_id,))
    conn.execute("DELETE FROM qa_articles WHERE doc_id = %s", (doc_id,))


def _restory(conn) -> None:
    """Near-duplicate groups over every article: each article of a group points to its first."""
    rows = conn.execute("SELECT doc_id, signature FROM qa_articles ORDER BY doc_id").fetchall()
    doc_ids = [r[0] for r in rows]
    sigs = (np.stack([np.frombuffer(bytes(r[1]), dtype=np.uint32) for r in rows]) if rows
            else np.zeros((0, NUM_PERM), dtype=np.uint32))
    groups = stories(doc_ids, sigs)
    with conn.transaction():
        conn.execute("UPDATE qa_articles SET story = NULL WHERE story IS NOT NULL")
        for group in groups:
            conn.execute("UPDATE qa_articles SET story = %s WHERE doc_id = ANY(%s)", (group[0], list(group)))
