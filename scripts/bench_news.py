"""The 20,000 real news articles with the seed articles mixed in: build, then ask.

Run: .venv/bin/python scripts/bench_news.py [--work .cache/news20k] [--questions 300] [--keep-build]
Builds (or resumes, or finds up to date) the index of ../shared/news-corpus/ plus corpus/ with
`python -m qa index` in a child process, timed with its peak memory; then, in a fresh process,
asks the seed questions (hit@1 and hit@5 of the right seed passage among 94,000 passages) and
a few hundred questions for latency (p50, p95, warm) and resident memory after 100 of them.
Writes docs/benchmarks-news.json and renders docs/benchmarks.md again with it. `--keep-build` asks
the index already built in --work again and keeps the build's numbers (and date) from that file: a
change to the question side need not wait two hours for a build.
Needs ../shared (it says so when absent).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import dev_corpus  # noqa: E402

SHARED = ROOT.parent / "shared"
REPORT = ROOT / "docs" / "benchmarks-news.json"


def build(work: Path) -> dict:
    corpus, index = work / "corpus", work / "index"
    if not corpus.exists():
        dev_corpus.write(corpus, size=20000)
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", _BUILD, str(corpus), str(index)], capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"the build failed:\n{run.stderr[-2000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


_BUILD = """
import json, resource, sys, threading, time
from qa.build import build_index

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

# Resident memory sampled twice a second, by phase: where a build's peak is matters more than its value.
phase, peaks, embed_times = ["prepare"], {}, []
def sample():
    while True:
        peaks[phase[0]] = max(peaks.get(phase[0], 0), rss_mb())
        time.sleep(0.5)
threading.Thread(target=sample, daemon=True).start()

def progress(done, total):
    if done == 0 or not embed_times:
        phase[0] = "embed"
        embed_times.append(time.perf_counter())
    if done >= total:
        embed_times.append(time.perf_counter())
        phase[0] = "assemble and save"

r = build_index(sys.argv[1], sys.argv[2], progress=progress)
embed_s = embed_times[-1] - embed_times[0] if len(embed_times) > 1 else None
print(json.dumps({"articles": r.articles, "chunks": r.chunks, "embedded": r.embedded, "reused": r.reused,
                  "resumed": r.resumed, "seconds": round(r.seconds, 1), "up_to_date": r.up_to_date,
                  "passages_per_s": round(r.embedded / r.seconds, 1) if r.embedded else None,
                  "embedding_s": round(embed_s, 1) if embed_s else None,
                  "embedding_passages_per_s": round(r.embedded / embed_s, 1) if embed_s and r.embedded else None,
                  "peak_rss_mb_by_phase": peaks,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def ask(work: Path, n_questions: int) -> dict:
    from qa.engine import Engine
    from qa.evaluate import load_questions

    started = time.perf_counter()
    engine = Engine.open(work / "index")
    opened = time.perf_counter() - started
    seed = [q for q in load_questions(ROOT / "tests" / "data" / "seed_dev.jsonl")
            + load_questions(ROOT / "eval" / "dev" / "seed.jsonl") if q.answerable]
    ranks = []
    for q in seed:
        answer = engine.ask(q.question, top_k=5, history=q.history)
        ranks.append(next((p.rank for p in answer.passages if q.is_hit(p)), None))
    xquad = [json.loads(line)["question"] for line in (SHARED / "eval" / "xquad_vi" / "questions.jsonl").open()]
    questions = ([q.question for q in seed] + xquad)[:n_questions]
    for q in questions[:10]:
        engine.ask(q)  # warm-up
    times, rss_after_100 = [], None
    for i, q in enumerate(questions, 1):
        t = time.perf_counter()
        engine.ask(q)
        times.append((time.perf_counter() - t) * 1000)
        if i == 100:
            rss_after_100 = _rss_mb()
    times.sort()
    return {
        "open_s": round(opened, 2),
        "seed_questions": len(seed),
        "seed_hit@1": round(sum(r == 1 for r in ranks) / len(ranks), 3),
        "seed_hit@5": round(sum(r is not None for r in ranks) / len(ranks), 3),
        "questions_timed": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "rss_after_100_mb": rss_after_100,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def cold_start(work: Path, runs: int = 5) -> dict:
    """`python -m qa ask` from process start to printed answer (median of `runs`), on the seed index
    and on the 20,000-article one."""
    seed = work / "seed-index"
    subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(ROOT / "corpus"), "--index", str(seed)],
                   check=True, capture_output=True)
    out = {}
    for name, index in (("seed", seed), ("news20k", work / "index")):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "qa", "ask", "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?",
                            "--index", str(index)], check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        out[f"{name}_s"] = round(statistics.median(times), 2)
    return out


def _rss_mb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return -1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "news20k")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--keep-build", action="store_true")
    args = parser.parse_args()
    if not (SHARED / "news-corpus" / "articles.jsonl").exists():
        sys.exit(f"This benchmark needs {SHARED}/news-corpus/articles.jsonl, which is absent.")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if args.keep_build:
        kept = json.loads(REPORT.read_text(encoding="utf-8")) if REPORT.exists() else {}
        if "build" not in kept or not (args.work / "index" / "CURRENT").exists():
            sys.exit(f"--keep-build needs a build recorded in {REPORT} and its index in {args.work / 'index'}.")
        result = {"date": kept["date"], "build": kept["build"], "asked": now}
    else:
        result = {"date": now, "build": build(args.work)}
        print(json.dumps({"build": result["build"]}), flush=True)
    result["ask"] = ask(args.work, args.questions)
    print(json.dumps({"ask": result["ask"]}), flush=True)
    result["cold_start"] = cold_start(args.work)
    print(json.dumps({"cold_start": result["cold_start"]}))
    write_report(result)


def write_report(result: dict) -> None:
    """docs/benchmarks-news.json, and docs/benchmarks.md rendered again with it."""
    docs = REPORT.parent
    REPORT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    try:
        import bench_report
    except ImportError as exc:  # matplotlib: the bench extra
        print(f"docs/benchmarks-news.json written; docs/benchmarks.md not rendered ({exc}): run `make bench`.")
        return
    bench_report.write_report(json.loads((docs / "benchmarks.json").read_text(encoding="utf-8")), docs, "benchmarks")
    print("docs/benchmarks-news.json and docs/benchmarks.md written")


if __name__ == "__main__":
    main()
