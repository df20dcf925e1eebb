"""Print the quality numbers quoted in the README: seed dev questions and held-out XQuAD-vi.

Run: .venv/bin/python scripts/evaluate_dev.py [--work .cache/eval]
XQuAD: odd-numbered articles are held out from tuning (scripts/calibrate.py tunes on the even ones).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from calibrate import SHARED, as_unanswerable, dev_engines, unaccented, xquad_questions  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluate import load_questions, score  # noqa: E402


def report(name: str, engine: Engine, questions) -> None:
    started = time.perf_counter()
    answers = [engine.ask(q.question, top_k=10, history=q.history) for q in questions]
    per_q = (time.perf_counter() - started) / max(1, len(questions)) * 1000
    s = score(questions, answers)
    print(f"{name:34s} n={s.answerable:4d}+{s.unanswerable:<4d} R@1 {s.recall[1]:.3f}  R@5 {s.recall[5]:.3f}  "
          f"MRR {s.mrr:.3f}  abstain ans {s.abstain_answerable:.3f} unans {s.abstain_unanswerable:.3f}  "
          f"{per_q:.0f} ms/q")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "eval")
    args = parser.parse_args()
    seed, xquad = dev_engines(args.work)
    seed_dev = load_questions(SHARED / "seed_dev.jsonl")
    extra = load_questions(ROOT / "eval" / "dev_extra.jsonl")
    _, held = xquad_questions()
    report("seed_dev.jsonl", seed, seed_dev)
    report("eval/dev_extra.jsonl", seed, extra)
    report("XQuAD-vi held out", xquad, held)
    report("XQuAD-vi held out, unaccented", xquad, unaccented(held))
    report("XQuAD held out asked of the seeds", seed, as_unanswerable(held[:200]))


if __name__ == "__main__":
    main()
