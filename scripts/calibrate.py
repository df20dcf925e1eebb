"""Fit the answerability model (qa/abstain.py) on the dev half of the dev questions; prints the numbers.

Run: .venv/bin/python scripts/calibrate.py [--work .cache/eval]
Each question is asked with abstention off; its evidence (qa.abstain.Evidence) is the input and
whether the shown answer would be right (qa.evaluate.GoldQuestion.right) the label, so the fitted
probability is the confidence users see. Held-out questions are never used here
(scripts/evaluate_dev.py reports them).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from devsets import asked, engines  # noqa: E402
from qa.abstain import FEATURES  # noqa: E402


def collect(part: str, work: Path):
    """Features, labels (right answer), answerable flags and set names of one part's questions."""
    X, y, answerable, names, kinds = [], [], [], [], []
    for name, q, answer, trace in asked(part, engines(work)):
        X.append(trace.evidence.features() if trace else (0.0,) * len(FEATURES))
        y.append(float(q.right(answer)) if trace else 0.0)
        answerable.append(q.answerable)
        names.append(name)
        kinds.append(q.kind)
    return np.array(X), np.array(y), np.array(answerable), np.array(names), np.array(kinds)


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 30000, lr: float = 0.5) -> np.ndarray:
    """Plain gradient descent on standardized features (unweighted, so probabilities stay calibrated),
    returned on the raw scale: weights then bias."""
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = (X - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        g = p - y
        w -= lr * ((Z.T @ g) / len(y) + l2 * w)
        b -= lr * g.mean()
    raw = w / sd
    return np.append(raw, b - (mu * raw).sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "eval")
    args = parser.parse_args()
    X, y, answerable, names, kinds = collect("dev", args.work)
    print(f"{len(y)} dev questions: {answerable.sum()} answerable ({int(y.sum())} answered right with "
          f"abstention off), {(~answerable).sum()} unanswerable")
    w = fit_logistic(X, y)
    print("weights (" + ", ".join(FEATURES) + "), bias:")
    print(json.dumps([round(float(v), 3) for v in w]))
    p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
    print("\nthreshold: abstained on answerable / unanswerable; precision of shown answers")
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        shown = p >= t
        print(f"{t:.1f}: {np.mean(~shown[answerable]):.3f} / {np.mean(~shown[~answerable]):.3f}; "
              f"{y[shown].mean() if shown.any() else 0:.3f} of {shown.sum()}")
    for t in (0.3, 0.5):
        print(f"\nper set and kind at {t} (abstained share):")
        for key in sorted(set(zip(names, kinds))):
            sel = (names == key[0]) & (kinds == key[1])
            print(f"  {key[0]:28s} {key[1]:24s} n={sel.sum():4d} abstained {np.mean(p[sel] < t):.3f}")


if __name__ == "__main__":
    main()
