"""Fit the reranker (qa/rerank.py) on the dev questions; prints the weights and R@1 before and after.

Run: .venv/bin/python scripts/fit_rerank.py [--work .cache/eval] [--report-held]
Each answerable question's fused candidates (RerankParams.pool) are scored by a linear model over
RANK_FEATURES; the fit maximizes the softmax probability of the candidates that answer it
(listwise logistic loss). Held-out questions are never fitted on; --report-held prints their R@1.
Fit the reranker first, then scripts/fit_sentences.py and scripts/calibrate.py, whose inputs it changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from devsets import asked, engines, xquad  # noqa: E402
from qa.rerank import RANK_FEATURES  # noqa: E402


def collect(part: str, engs) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Per answerable question: its candidates' features, which of them answer it, its set name.
    Our own questions, and every XQuAD question of the part (not a sample: ranking needs many)."""
    X, y, names = [], [], []

    def add(name, q, trace):
        if q.answerable and trace is not None and len(trace.candidates):
            X.append(trace.rank_features)
            y.append(np.array([q.is_hit(p) for p in trace.candidates], dtype=float))
            names.append(name)

    for name, q, _answer, trace in asked(part, engs):
        if not name.startswith("XQuAD"):
            add(name, q, trace)
    for lang in ("vi", "en", "unaccented"):
        for q in xquad(part, lang):
            add(f"XQuAD {lang} (all)", q, engs["xquad"].ask_with_evidence(q.question, top_k=10)[1])
    return X, y, names


def fit_listwise(X: list[np.ndarray], y: list[np.ndarray], l2: float = 1e-3, steps: int = 3000,
                 lr: float = 0.5) -> np.ndarray:
    """Weights maximizing the mean log of the softmax mass on each question's answering candidates."""
    keep = [i for i, labels in enumerate(y) if 0 < labels.sum()]
    width = max(len(X[i]) for i in keep)
    F = X[keep[0]].shape[1]
    Z = np.zeros((len(keep), width, F))
    mask = np.zeros((len(keep), width), dtype=bool)
    target = np.zeros((len(keep), width))
    for row, i in enumerate(keep):
        n = len(X[i])
        Z[row, :n], mask[row, :n], target[row, :n] = X[i], True, y[i] / y[i].sum()
    flat = Z[mask]
    mu, sd = flat.mean(0), flat.std(0) + 1e-9
    Zs = np.where(mask[..., None], (Z - mu) / sd, 0.0)
    w = np.zeros(F)
    for _ in range(steps):
        s = np.where(mask, Zs @ w, -np.inf)
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = np.einsum("qr,qrf->f", p - target, Zs) / len(keep) + l2 * w
        w -= lr * grad
    return w / sd  # the standardizing shift adds a constant per question: it does not change the order


def recall_at_1(X: list[np.ndarray], y: list[np.ndarray], w: np.ndarray) -> float:
    return float(np.mean([labels[np.argsort(-(x @ w), kind="stable")[0]] for x, labels in zip(X, y)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "eval")
    parser.add_argument("--report-held", action="store_true")
    args = parser.parse_args()
    engs = engines(args.work)
    X, y, names = collect("dev", engs)
    w = fit_listwise(X, y)
    w = w / abs(w[0])  # the fused score keeps weight 1, so the scores read on its scale
    print(f"{len(y)} answerable dev questions, {sum(int(v.sum() > 0) for v in y)} with an answering candidate")
    print("weights (" + ", ".join(RANK_FEATURES) + "):")
    print(json.dumps([round(float(v), 3) for v in w]))
    fused = np.eye(len(RANK_FEATURES))[0]
    parts = [("dev", X, y, names)]
    if args.report_held:
        parts.append(("held", *collect("held", engs)))
    for part, Xp, yp, np_names in parts:
        print(f"\n{part}: R@1 fused -> reranked")
        for name in dict.fromkeys(np_names):
            sel = [i for i, n in enumerate(np_names) if n == name]
            print(f"  {name:28s} n={len(sel):4d} {recall_at_1([Xp[i] for i in sel], [yp[i] for i in sel], fused):.3f}"
                  f" -> {recall_at_1([Xp[i] for i in sel], [yp[i] for i in sel], w):.3f}")


if __name__ == "__main__":
    main()
