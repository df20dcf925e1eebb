"""The index in PostgreSQL with pgvector: the search side (`PostgresStore`) and its schema.

For corpora and readers beyond one machine: several app servers read one database, or its
streaming replicas, while `qa index --store URL` writes to the primary (`qa.build_store`).

Tables (created by the first `qa index --store` in an empty database):
    qa_meta      key -> JSON: the manifest (model, dimension, parameters, format version, counts)
    qa_blobs     key -> bytes: the diacritics model
    qa_articles  one row an article: its fields, the hash of its source and of its cleaned text,
                 its near-duplicate signature and its story (the article that heads its group)
    qa_chunks    one row a passage: offsets, text, sentence spans, the hash its vectors are keyed
                 by, `embedding vector(dim)` under an HNSW index (inner product), the sentences'
                 vectors (float16 bytes), and its BM25 length
    qa_postings  token, passage, count: the BM25 postings, with the same tokens as the local index
    qa_terms     token -> how many passages have it;  qa_stats: passages and their total length
BM25 is computed at question time from these (Lucene's formula, as the local index does), so an
article's update changes every score exactly as a rebuild of the local index would.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict
import re
import threading
from collections import OrderedDict
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from ..accents import AccentModel
from ..errors import IndexLoadError
from ..types import Article, Chunk
from .store import FORMAT_VERSION, SENTENCE_DTYPE, Manifest

ACCENTS_KEY = "accents"
_CACHE = 4096  # passages and articles kept after being read: a question reads the same ones several times


def is_store_url(location: object) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


def index_hint(url: str) -> str:
    return f"python -m qa index --store {shown_url(url)}"


def schema(dim: int) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS qa_meta (key text PRIMARY KEY, value jsonb NOT NULL);
    CREATE TABLE IF NOT EXISTS qa_blobs (key text PRIMARY KEY, value bytea NOT NULL);
    CREATE TABLE IF NOT EXISTS qa_articles (
        doc_id text PRIMARY KEY, title text NOT NULL, text text NOT NULL, date text NOT NULL,
        source text NOT NULL, author text NOT NULL, url text NOT NULL,
        article_hash text NOT NULL, source_hash text NOT NULL, signature bytea, story text);
    CREATE INDEX IF NOT EXISTS qa_articles_story ON qa_articles (story) WHERE story IS NOT NULL;
    CREATE TABLE IF NOT EXISTS qa_chunks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        doc_id text NOT NULL REFERENCES qa_articles ON DELETE CASCADE,
        start_offset int NOT NULL, end_offset int NOT NULL, text text NOT NULL, sentences jsonb NOT NULL,
        text_hash text NOT NULL, embedding vector({dim}) NOT NULL, sentence_vectors bytea NOT NULL,
        length int NOT NULL);
    CREATE INDEX IF NOT EXISTS qa_chunks_doc ON qa_chunks (doc_id);
    CREATE INDEX IF NOT EXISTS qa_chunks_hash ON qa_chunks (text_hash);
    CREATE INDEX IF NOT EXISTS qa_chunks_embedding ON qa_chunks USING hnsw (embedding vector_ip_ops);
    CREATE TABLE IF NOT EXISTS qa_postings (
        token text NOT NULL, chunk_id bigint NOT NULL REFERENCES qa_chunks ON DELETE CASCADE,
        tf int NOT NULL, length int NOT NULL, PRIMARY KEY (token, chunk_id));
    CREATE INDEX IF NOT EXISTS qa_postings_chunk ON qa_postings (chunk_id);
    CREATE TABLE IF NOT EXISTS qa_terms (token text PRIMARY KEY, df int NOT NULL);
    CREATE TABLE IF NOT EXISTS qa_stats (
        id int PRIMARY KEY CHECK (id = 1), chunks bigint NOT NULL, total_length bigint NOT NULL);
    INSERT INTO qa_stats VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
    """


def connect(url: str):
    """One autocommit connection; a clear error when the database cannot be reached."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise IndexLoadError(f"Không kết nối được cơ sở dữ liệu {shown_url(url)}: {str(exc).strip()}. "
                             "Hãy kiểm tra địa chỉ, cổng, người dùng và máy chủ PostgreSQL.") from None


def connect_pool(url: str, max_size: int = 8):
    """A pool of autocommit connections with pgvector's types, for reading."""
    from pgvector.psycopg import register_vector
    from psycopg_pool import ConnectionPool

    with connect(url) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None:
            raise IndexLoadError(
                f"Cơ sở dữ liệu {shown_url(url)} chưa có phần mở rộng pgvector. Hãy cài pgvector, rồi lập chỉ mục: "
                f"{index_hint(url)} (lệnh này tạo phần mở rộng khi được phép).")

    def configure(conn) -> None:
        register_vector(conn)
        # The HNSW search looks at this many candidates: enough for the 100 the retriever asks for.
        conn.execute("SET hnsw.ef_search = 200")

    return ConnectionPool(url, min_size=1, max_size=max_size, kwargs={"autocommit": True},
                          configure=configure, open=True)


def stored_manifest(conn) -> Manifest | None:
    """The manifest of the index in the database, None before the first build."""
    if conn.execute("SELECT to_regclass('qa_meta')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT value FROM qa_meta WHERE key = 'manifest'").fetchone()
    return Manifest(**row[0]) if row else None


def read_manifest(conn, url: str) -> Manifest:
    manifest = stored_manifest(conn)
    if manifest is None:
        raise IndexLoadError(f"Chưa có chỉ mục trong cơ sở dữ liệu {shown_url(url)}. Hãy lập chỉ mục: {index_hint(url)}")
    if manifest.format_version != FORMAT_VERSION:
        raise IndexLoadError(
            f"Chỉ mục trong {shown_url(url)} có định dạng {manifest.format_version}, phiên bản này đọc định dạng "
            f"{FORMAT_VERSION}. Hãy lập lại chỉ mục: {index_hint(url)} --rebuild")
    return manifest


_BM25 = """
    WITH q AS (SELECT token, count(*) AS n FROM unnest(%(tokens)s::text[]) AS token GROUP BY token),
         s AS (SELECT chunks::float8 AS n_docs, total_length::float8 / greatest(chunks, 1) AS avg FROM qa_stats)
    SELECT p.chunk_id, sum(q.n * ln(1 + (s.n_docs - t.df + 0.5) / (t.df + 0.5))
                           * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.length / s.avg))) AS score
    FROM q JOIN qa_terms t USING (token) JOIN qa_postings p USING (token) CROSS JOIN s
    {where}
    GROUP BY p.chunk_id
"""


class PostgresStore:
    """The search side over a database (qa.index.search_store.SearchStore); rows are passage ids.

    Safe to share between threads: each call takes a connection from the pool."""

    def __init__(self, url: str, pool_size: int = 8, exact_postings: int = 100_000,
                 candidate_postings: int = 40_000, candidates: int = 1_000):
        self.url = url
        # Beyond `exact_postings` postings for a question's tokens, its keyword top is taken among the
        # `candidates` passages best on its rarer tokens (those whose postings fit `candidate_postings`),
        # scored exactly on all its tokens: summing every posting of common syllables ("của", "năm")
        # took 2.4 s a question on 94,000 passages.
        self.exact_postings = exact_postings
        self.candidate_postings = candidate_postings
        self.candidates = candidates
        self._pool = connect_pool(url, max_size=pool_size)
        try:
            with self._pool.connection() as conn:
                self._manifest = read_manifest(conn, url)
        except BaseException:
            self._pool.close()
            raise
        self._k1 = float(self._manifest.params["bm25_k1"])
        self._b = float(self._manifest.params["bm25_b"])
        self._chunks = _Recent(_CACHE)
        self._rarities = _Recent(_CACHE)
        self._accents: AccentModel | None = None
        self.articles = _Articles(self)
        self.story_of = _Stories(self)

    def close(self) -> None:
        self._pool.close()

    def _query(self, sql: str, params=None) -> list[tuple]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def accents(self) -> AccentModel:
        if self._accents is None:
            rows = self._query("SELECT value FROM qa_blobs WHERE key = %s", (ACCENTS_KEY,))
            self._accents = (AccentModel.from_bytes(bytes(rows[0][0])) if rows
                             else AccentModel.learn(r[0] for r in self._query("SELECT text FROM qa_chunks")))
        return self._accents

    @property
    def chunk_count(self) -> int:
        return int(self._query("SELECT chunks FROM qa_stats")[0][0])

    def _cached(self, row: int) -> tuple[Chunk, np.ndarray]:
        return self._chunks.get(int(row), self._read_chunk)

    def _read_chunk(self, row: int) -> tuple[Chunk, np.ndarray]:
        found = self._query("SELECT id, doc_id, start_offset, end_offset, text, sentences, sentence_vectors "
                            "FROM qa_chunks WHERE id = %s", (row,))
        if not found:
            raise KeyError(row)
        rid, doc_id, start, end, text, sentences, blob = found[0]
        spans = tuple(tuple(s) for s in sentences)
        vectors = np.frombuffer(bytes(blob), dtype=SENTENCE_DTYPE).reshape(len(spans), self._manifest.dim)
        return Chunk(rid, doc_id, start, end, text, spans), vectors.astype(np.float32)

    def chunk(self, row: int) -> Chunk:
        return self._cached(row)[0]

    def sentences_of(self, row: int) -> np.ndarray:
        return self._cached(row)[1]

    def rows_of(self, doc_ids: set[str]) -> list[int]:
        return [r[0] for r in self._query("SELECT id FROM qa_chunks WHERE doc_id = ANY(%s) ORDER BY id", (list(doc_ids),))]

    def vectors_of(self, rows) -> np.ndarray:
        ids = [int(r) for r in rows]
        if not ids:
            return np.zeros((0, self._manifest.dim), dtype=np.float32)
        found = dict(self._query("SELECT id, embedding FROM qa_chunks WHERE id = ANY(%s)", (ids,)))
        return np.stack([as_array(found[i]) for i in ids])

    def nearest(self, vector: np.ndarray, k: int) -> np.ndarray:
        rows = self._query("SELECT id FROM qa_chunks ORDER BY embedding <#> %s LIMIT %s",
                           (np.asarray(vector, dtype=np.float32), int(k)))
        return np.array([r[0] for r in rows], dtype=np.int64)

    def _bm25(self, tokens: Sequence[str], rows, limit: int | None) -> list[tuple[int, float]]:
        where = "WHERE p.chunk_id = ANY(%(rows)s)" if rows is not None else ""
        sql = _BM25.format(where=where) + (" ORDER BY score DESC, p.chunk_id LIMIT %(limit)s" if limit else "")
        return self._query(sql, {"tokens": list(tokens), "k1": self._k1, "b": self._b, "limit": limit,
                                 "rows": [int(r) for r in rows] if rows is not None else None})

    def keyword_top(self, tokens, k: int, rows: np.ndarray | None = None) -> np.ndarray:
        found = [r for r, _ in (self._bm25(tokens, rows, k) if rows is not None else self._pruned_top(tokens, k))]
        if len(found) < k:  # passages without a question token score 0; they fill the pool, as locally
            if rows is None:
                rest = [r[0] for r in self._query("SELECT id FROM qa_chunks WHERE id <> ALL(%s) ORDER BY id LIMIT %s",
                                                  (found, k - len(found)))]
            else:
                taken = set(found)
                rest = [int(r) for r in rows if int(r) not in taken][: k - len(found)]
            found += rest
        return np.array(found, dtype=np.int64)

    def _pruned_top(self, tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The top `k` by BM25: exact when the question's postings are few; else the exact scores of
        the passages best on its rarest tokens, which a passage holding none of them rarely beats
        (`scripts/bench_store.py` measures how often it does)."""
        if not tokens:
            return []
        df = dict(self._query("SELECT token, df FROM qa_terms WHERE token = ANY(%s) AND df > 0", (sorted(set(tokens)),)))
        if sum(df.values()) <= self.exact_postings:
            return self._bm25(tokens, None, k)
        rare, read = set(), 0
        for token in sorted(df, key=lambda t: (df[t], t)):
            if rare and read + df[token] > self.candidate_postings:
                break
            rare.add(token)
            read += df[token]
        candidates = [r for r, _ in self._bm25([t for t in tokens if t in rare], None, max(k, self.candidates))]
        return self._bm25(tokens, candidates, k)

    def keyword_scores(self, tokens, rows: np.ndarray) -> np.ndarray:
        scores = dict(self._bm25(tokens, rows, None))
        return np.array([scores.get(int(r), 0.0) for r in rows], dtype=np.float32)

    def known(self, tokens) -> list[str]:
        have = {r[0] for r in self._query("SELECT token FROM qa_terms WHERE token = ANY(%s) AND df > 0", (list(tokens),))}
        return [t for t in tokens if t in have]

    def rarity(self, token: str) -> float:
        # Asked for the same tokens passage after passage: one round trip each, kept. The app reopens
        # its engine (a new store) on a new index version; a long-lived store keeps its first reading.
        return self._rarities.get(token, self._read_rarity)

    def _read_rarity(self, token: str) -> float:
        found = self._query("SELECT t.df, s.chunks FROM qa_terms t, qa_stats s WHERE t.token = %s AND t.df > 0", (token,))
        if not found or found[0][1] < 2:
            return 0.0
        df, n = found[0]
        return math.log(n / max(1, df)) / math.log(n)


class _Recent:
    """The last `size` values read, by key; shared by threads (a value read twice in a race is
    only read twice)."""

    def __init__(self, size: int):
        self._size = size
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, read: Callable):
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = read(key)  # outside the lock: a database round trip
        with self._lock:
            self._values[key] = value
            if len(self._values) > self._size:
                self._values.popitem(last=False)
        return value


class _Articles(Mapping[str, Article]):
    """The articles, read by id on demand (a few recent ones kept); iterating reads them all."""

    _FIELDS = "doc_id, title, text, date, source, author, url"

    def __init__(self, store: PostgresStore):
        self._store = store
        self._cache = _Recent(_CACHE // 8)

    def __getitem__(self, doc_id: str) -> Article:
        return self._cache.get(doc_id, self._read)

    def _read(self, doc_id: str) -> Article:
        rows = self._store._query(f"SELECT {self._FIELDS} FROM qa_articles WHERE doc_id = %s", (doc_id,))
        if not rows:
            raise KeyError(doc_id)
        return _article(rows[0])

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._store._query("SELECT doc_id FROM qa_articles ORDER BY doc_id")])

    def __len__(self) -> int:
        return int(self._store._query("SELECT count(*) FROM qa_articles")[0][0])

    def values(self):
        return [_article(r) for r in self._store._query(f"SELECT {self._FIELDS} FROM qa_articles ORDER BY doc_id")]

    def items(self):
        return [(a.doc_id, a) for a in self.values()]


class _Stories(Mapping[str, tuple[str, ...]]):
    """doc id -> the articles of its story, for articles that have copies."""

    def __init__(self, store: PostgresStore):
        self._store = store

    def __getitem__(self, doc_id: str) -> tuple[str, ...]:
        rows = self._store._query("SELECT doc_id FROM qa_articles WHERE story = "
                                  "(SELECT story FROM qa_articles WHERE doc_id = %s) ORDER BY doc_id", (doc_id,))
        if len(rows) < 2:
            raise KeyError(doc_id)
        return tuple(r[0] for r in rows)

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._store._query("SELECT doc_id FROM qa_articles WHERE story IS NOT NULL")])

    def __len__(self) -> int:
        return int(self._store._query("SELECT count(*) FROM qa_articles WHERE story IS NOT NULL")[0][0])


def _article(row: tuple) -> Article:
    doc_id, title, text, date, source, author, url = row
    return Article(doc_id, title, text, date, source, author, url)


def as_array(vector) -> np.ndarray:
    """A `vector` column's value (pgvector's Vector) as float32."""
    return np.asarray(vector.to_numpy(), dtype=np.float32)


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(asdict(manifest), ensure_ascii=False)
