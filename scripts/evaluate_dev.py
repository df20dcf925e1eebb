"""Print the quality numbers quoted in the README, on the dev and the held-out questions.

Run: .venv/bin/python scripts/evaluate_dev.py [--part held|dev|both] [--work .cache/eval] [--misses]
Per set: passage R@1/R@5, the share of answerable questions whose answer sentences hold the answer,
abstention on answerable and unanswerable questions, ms per question; then abstention per kind and
the reliability table (confidence against accuracy of shown answers) over all sets of the part.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from devsets import engines, question_sets  # noqa: E402
from qa.evaluate import reliability, score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("held", "dev", "both"), default="both")
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "eval")
    parser.add_argument("--misses", action="store_true", help="list wrong answers and wrong abstentions")
    args = parser.parse_args()
    engs = engines(args.work)
    for part in (("dev", "held") if args.part == "both" else (args.part,)):
        report(part, engs, args.misses)


def report(part: str, engs, show_misses: bool) -> None:
    print(f"\n== {part} questions")
    print(f"{'set':28s} {'n':>9s} {'R@1':>6s} {'R@5':>6s} {'ans.hit':>7s} {'abst.ans':>8s} {'abst.unans':>10s} {'ms p50':>7s}")
    everything, kinds = [], {}
    for name, engine_name, qs in question_sets(part):
        engine = engs[engine_name]
        answers, ms = [], []
        for q in qs:
            started = time.perf_counter()
            answers.append(engine.ask(q.question, top_k=10, history=q.history))
            ms.append((time.perf_counter() - started) * 1000)
        s = score(qs, answers)
        everything += list(zip(qs, answers))
        for q, a in zip(qs, answers):
            kinds.setdefault(q.kind, []).append((q, a))
        cell = (lambda v, n: f"{v:.3f}" if n else "—")
        print(f"{name:28s} {s.answerable:4d}+{s.unanswerable:<4d} {cell(s.recall[1], s.answerable):>6s} "
              f"{cell(s.recall[5], s.answerable):>6s} {cell(s.answer_hit, s.answer_checked):>7s} "
              f"{cell(s.abstain_answerable, s.answerable):>8s} {cell(s.abstain_unanswerable, s.unanswerable):>10s} "
              f"{statistics.median(ms):7.1f}")
        if show_misses:
            for q, a in zip(qs, answers):
                if q.answerable and not q.right(a):
                    what = f"abstained ({a.reason})" if a.abstained else "wrong: " + (a.sentences[0].text[:120] if a.sentences else "")
                    print(f"    MISS {q.qid} [{q.kind}] {q.question} -> {what}")
                elif not q.answerable and not a.abstained:
                    print(f"    ANSWERED {q.qid} [{q.kind}] {a.confidence:.2f} {q.question} -> {a.sentences[0].text[:120]}")
    print("\nabstained, by kind (all sets of the part):")
    for kind, pairs in sorted(kinds.items()):
        print(f"  {kind:24s} n={len(pairs):4d} abstained {sum(a.abstained for _, a in pairs) / len(pairs):.3f}")
    qs, answers = zip(*everything)
    print("\nreliability: confidence bin, shown, right, mean confidence, accuracy")
    for b in reliability(qs, answers):
        if b.shown:
            print(f"  {b.low:.2f}-{b.high:.2f} {b.shown:5d} {b.right:5d} {b.mean_confidence:6.3f} {b.right / b.shown:6.3f}")


if __name__ == "__main__":
    main()
