"""Fit the answer-sentence model (qa/answer.py) on the dev questions; report it on dev and held out.

Run: .venv/bin/python scripts/fit_sentences.py [--work .cache/eval]
Every candidate sentence of the answerable dev questions is a row (qa.answer.SENTENCE_FEATURES),
labelled by whether it holds the question's evidence or gold answer. The report compares, per set,
how often the shown sentences hold the answer (abstention aside) with the fitted model at several
`keep` ratios against plain similarity, on dev and on held-out questions.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from calibrate import fit_logistic  # noqa: E402
from devsets import asked, engines  # noqa: E402
from qa.answer import SENTENCE_FEATURES  # noqa: E402


KEEPS = (0.2, 0.3, 0.5, 0.7)


def collect(part: str, engs) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(set name, features, labels) per answerable question whose answer can be checked."""
    out = []
    for name, q, _, trace in asked(part, engs):
        if not (q.answerable and q.checks_answer) or trace is None or not trace.extract.candidates:
            continue
        labels = np.array([q.holds_answer(c.text) for c in trace.extract.candidates], dtype=float)
        out.append((name, trace.extract.features, labels))
    return out


def hit_rate(rows, score, keep: float = 1.0, margin: float | None = None, max_sentences: int = 3) -> str:
    """Share of questions whose chosen sentences hold the answer, and the mean number shown: the
    best, plus those scoring >= keep * best (or, with `margin`, >= best - margin)."""
    hits, shown = [], []
    for _, X, y in rows:
        s = score(X)
        order = np.argsort(-s, kind="stable")[:max_sentences]
        floor = s[order[0]] - margin if margin is not None else keep * s[order[0]]
        chosen = [i for i in order if s[i] >= floor]
        hits.append(bool(y[chosen].any()))
        shown.append(len(chosen))
    return f"{np.mean(hits):.3f} ({np.mean(shown):.1f})"


def before(X):
    """The hand-set scoring this model replaced: similarity plus bonuses for terms, kind, agreement."""
    return X[:, 0] + 0.3 * X[:, 2] + 0.05 * X[:, 5] + 0.1 * X[:, 6]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "eval")
    args = parser.parse_args()
    engs = engines(args.work)
    dev, held = collect("dev", engs), collect("held", engs)
    X = np.concatenate([r[1] for r in dev])
    y = np.concatenate([r[2] for r in dev])
    w = fit_logistic(X, y)
    print(f"{len(dev)} dev questions, {len(y)} candidate sentences ({int(y.sum())} hold the answer)")
    print("weights (" + ", ".join(SENTENCE_FEATURES) + "), bias:")
    print(json.dumps([round(float(v), 3) for v in w]))

    def model(X):
        return 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))

    for part, rows in (("dev", dev), ("held", held)):
        print(f"\n{part}: share of questions whose shown sentences hold the answer (mean number shown)")
        print(f"{'set':28s} {'n':>4s} {'before':>11s} {'model, 1':>11s} " + " ".join(f"{f'keep {k}':>11s}" for k in KEEPS))
        for name in dict.fromkeys(r[0] for r in rows):
            sel = [r for r in rows if r[0] == name]
            print(f"{name:28s} {len(sel):4d} {hit_rate(sel, before, margin=0.08):>11s} "
                  f"{hit_rate(sel, model, max_sentences=1):>11s} " + " ".join(f"{hit_rate(sel, model, k):>11s}" for k in KEEPS))


if __name__ == "__main__":
    main()
