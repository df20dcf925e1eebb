"""Tune fusion weights and fit the abstention model on dev questions; prints the numbers.

Run: .venv/bin/python scripts/calibrate.py [--work .cache/eval]
Tuning data: shared/eval/seed_dev.jsonl + eval/dev_extra.jsonl on the seed corpus, and the
even-numbered XQuAD-vi articles; the odd-numbered articles are held out and only reported.
Unanswerable questions for abstention: XQuAD questions asked of the seed corpus, seed questions
asked of XQuAD, and the written unanswerable ones.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.build import build_index  # noqa: E402
from qa.embed.encoder import load_encoder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluate import GoldQuestion, load_questions  # noqa: E402
from qa.normalize import fold_diacritics  # noqa: E402
from qa.retrieve import RetrievalParams  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"


def xquad_questions() -> tuple[list[GoldQuestion], list[GoldQuestion]]:
    qs = load_questions(SHARED / "xquad_vi" / "questions.jsonl")
    tune = [q for q in qs if int(q.gold_ids[0].split("-")[1]) % 2 == 0]
    held = [q for q in qs if int(q.gold_ids[0].split("-")[1]) % 2 == 1]
    return tune, held


def unaccented(qs: list[GoldQuestion]) -> list[GoldQuestion]:
    return [replace(q, question=fold_diacritics(q.question), kind="unaccented") for q in qs]


def as_unanswerable(qs: list[GoldQuestion]) -> list[GoldQuestion]:
    return [replace(q, evidence=(), gold_ids=(), kind="unanswerable") for q in qs]


def dev_engines(work: Path) -> tuple[Engine, Engine]:
    """Engines on the seed corpus and on the XQuAD-vi passages, sharing one default encoder."""
    encoder = load_encoder(None)
    build_index(ROOT / "corpus", work / "seed", encoder=encoder)
    build_index(SHARED / "xquad_vi" / "passages.jsonl", work / "xquad", encoder=encoder)
    return Engine.open(work / "seed", encoder=encoder), Engine.open(work / "xquad", encoder=encoder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "eval")
    parser.add_argument("--skip-sweep", action="store_true", help="only fit the abstention model")
    args = parser.parse_args()
    seed, xquad = dev_engines(args.work)

    seed_dev = load_questions(SHARED / "seed_dev.jsonl") + load_questions(ROOT / "eval" / "dev_extra.jsonl")
    x_tune, x_held = xquad_questions()
    rng = np.random.default_rng(0)
    x_tune_sample = [x_tune[i] for i in rng.choice(len(x_tune), 250, replace=False)]
    sets = {
        "seed_dev": (seed, seed_dev),
        "xquad_tune": (xquad, x_tune_sample),
        "xquad_tune_unaccented": (xquad, unaccented(x_tune_sample[:100])),
        "unans_xquad_on_seed": (seed, as_unanswerable(x_tune_sample[:120])),
        "unans_seed_on_xquad": (xquad, as_unanswerable([q for q in seed_dev if q.answerable])),
    }

    if not args.skip_sweep:
        sweep(sets)
    calibrate(sets)


def sweep(sets) -> None:
    print("== fusion sweep (R@1 / MRR)")
    vectors = {name: engine.encoder.encode_queries([q.question for q in qs]) for name, (engine, qs) in sets.items()}
    grid = [RetrievalParams(dense_weight=1, keyword_weight=0), RetrievalParams(dense_weight=0, keyword_weight=1)]
    grid += [RetrievalParams(dense_weight=dw, keyword_weight=1 - dw, unaccented_dense_weight=uw)
             for dw in (0.4, 0.5, 0.6) for uw in (0.1, 0.2, 0.3)]
    for params in grid:
        row = []
        for name in ("seed_dev", "xquad_tune", "xquad_tune_unaccented"):
            engine, qs = sets[name]
            engine.retriever.params = params
            ranks = []
            for q, v in zip(qs, vectors[name]):
                if not q.answerable:
                    continue
                hits = engine.retriever.search(q.question, v, 10)
                texts = [engine._passage(i + 1, h) for i, h in enumerate(hits)]
                ranks.append(next((p.rank for p in texts if q.is_hit(p)), None))
            r1 = sum(r == 1 for r in ranks) / len(ranks)
            mrr = sum(1 / r for r in ranks if r) / len(ranks)
            row.append(f"{name} {r1:.3f}/{mrr:.3f}")
        print(f"dense {params.dense_weight} kw {params.keyword_weight} unaccented {params.unaccented_dense_weight}: "
              + "  ".join(row))
    for engine, _ in sets.values():
        engine.retriever.params = RetrievalParams()


def calibrate(sets) -> None:
    print("== abstention features")
    feats, labels, kinds, weights = [], [], [], []
    for name, (engine, qs) in sets.items():
        for q in qs:
            answer, ev = engine.ask_with_evidence(q.question)
            feats.append([ev.dense, ev.overlap, ev.sentence, ev.vietnamese, float(ev.unaccented)])
            labels.append(1.0 if q.answerable else 0.0)
            kinds.append(f"{name}:{q.kind}")
            # The seed questions are the product's own domain and its only English ones: count them more.
            weights.append(5.0 if name == "seed_dev" else 1.0)
        f = np.array(feats[-len(qs):])
        print(f"{name}: dense mean {f[:,0].mean():.3f} min {f[:,0].min():.3f} max {f[:,0].max():.3f} | "
              f"overlap mean {f[:,1].mean():.2f} | sentence mean {f[:,2].mean():.3f}")
    X, y = np.array(feats), np.array(labels)
    w = fit_logistic(X, y, np.array(weights))
    print("logistic weights (dense, overlap, sentence, vietnamese, unaccented, bias):",
          json.dumps([round(float(v), 2) for v in w]))
    z = X @ w[:-1] + w[-1]
    kinds_arr = np.array(kinds)
    for t in (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5):
        per_kind = {k: round(float(np.mean(z[kinds_arr == k] <= t)), 2) for k in sorted(set(kinds))}
        print(f"z>{t}: abstain answerable {np.mean(z[y == 1] <= t):.3f}, unanswerable {np.mean(z[y == 0] <= t):.3f}",
              per_kind)


def fit_logistic(X: np.ndarray, y: np.ndarray, weights: np.ndarray, steps: int = 20000, lr: float = 0.5) -> np.ndarray:
    """Plain gradient descent on standardized features, returned on the raw scale."""
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = (X - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    pos_weight = (y == 0).sum() / max(1, (y == 1).sum())  # balance the classes
    sample_w = np.where(y == 1, pos_weight, 1.0) * weights
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        g = (p - y) * sample_w
        w -= lr * (Z.T @ g) / len(y)
        b -= lr * g.mean()
    raw_w = w / sd
    return np.append(raw_w, b - (mu * raw_w).sum())


if __name__ == "__main__":
    main()
