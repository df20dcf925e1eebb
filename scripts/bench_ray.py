"""A two-node Ray build against a local build of the same 2,000 real news articles, in one run.

Run: .venv/bin/python scripts/bench_ray.py [--articles 2000]
Both embed with the default model from scratch: locally (torch on this machine's cores) and with
`--ray` on a local two-node cluster (tests/ray_nodes.py, one CPU each, so the same two cores).
Prints the wall time and passages/s of each and how far the two indexes differ (chunk ids, the
largest difference between vectors). Needs ../shared/news-corpus (it says so when absent).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

import dev_corpus  # noqa: E402
from qa.build import build_index  # noqa: E402
from qa.embed.encoder import load_encoder  # noqa: E402
from qa.embed.ray_cluster import RayEncoder  # noqa: E402
from qa.index.store import load_index  # noqa: E402
from ray_nodes import ray_cluster  # noqa: E402

SHARED = ROOT.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    if not (SHARED / "news-corpus").exists():
        sys.exit(f"{SHARED / 'news-corpus'} is absent: this benchmark needs the real news articles.")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        corpus = work / "corpus"
        dev_corpus.write(corpus, size=args.articles)
        result = {}
        started = time.perf_counter()
        local = build_index(corpus, work / "local", encoder=load_encoder(None), model="default")
        result["local"] = {"seconds": round(time.perf_counter() - started, 1), "passages": local.embedded,
                           "passages_per_s": round(local.embedded / (time.perf_counter() - started), 1)}
        print(result, flush=True)
        with ray_cluster() as address:
            started = time.perf_counter()
            remote = build_index(corpus, work / "ray", encoder=RayEncoder(address, "default"), model="default")
            seconds = time.perf_counter() - started
        result["ray, 2 nodes x 1 CPU"] = {"seconds": round(seconds, 1), "passages": remote.embedded,
                                          "passages_per_s": round(remote.embedded / seconds, 1)}
        a, b = load_index(work / "local"), load_index(work / "ray")
        result["same chunks (ids, offsets, texts)"] = [s.chunk for s in a.chunks] == [s.chunk for s in b.chunks]
        result["largest vector difference"] = float(np.abs(np.asarray(a.vectors) - np.asarray(b.vectors)).max())
        result["largest sentence vector difference"] = float(np.abs(
            np.asarray(a.sentence_vectors, dtype=np.float32) - np.asarray(b.sentence_vectors, dtype=np.float32)).max())
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
