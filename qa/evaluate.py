"""Retrieval and abstention metrics on gold questions (evidence strings or gold passage ids)."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .errors import QAError
from .normalize import normalize_query
from .retrieve import Retriever
from .types import Answer, Passage

if TYPE_CHECKING:
    from .engine import Engine


@dataclass(frozen=True)
class GoldQuestion:
    qid: str
    question: str
    kind: str
    evidence: tuple[str, ...] = ()  # a passage containing any of these answers the question
    gold_ids: tuple[str, ...] = ()  # or: a passage of one of these articles answers it
    history: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()  # gold answer strings (XQuAD); the answer sentences should contain one

    @property
    def answerable(self) -> bool:
        return bool(self.evidence or self.gold_ids)

    @property
    def checks_answer(self) -> bool:
        """Whether the answer sentences can be scored: there are strings to look for in them."""
        return bool(self.evidence or self.answers)

    def holds_answer(self, text: str) -> bool:
        """`text` contains an evidence string (or else a gold answer)."""
        text = normalize_query(text)
        return any(normalize_query(e) in text for e in (self.evidence or self.answers))

    def answer_hit(self, answer: Answer) -> bool:
        """The shown answer sentences contain an evidence string (or else a gold answer)."""
        return not answer.abstained and self.holds_answer(" ".join(s.text for s in answer.sentences))

    def right(self, answer: Answer) -> bool:
        """A shown answer is right when its sentences hold the answer (or, with only gold article
        ids to go by, when it cites one of those articles)."""
        if answer.abstained or not self.answerable:
            return False
        if self.checks_answer:
            return self.answer_hit(answer)
        cited = {s.citation for s in answer.sentences}
        return any(p.rank in cited and p.doc_id in self.gold_ids for p in answer.passages)

    def is_hit(self, passage: Passage) -> bool:
        if self.gold_ids and passage.doc_id in self.gold_ids:
            return True
        text = normalize_query(passage.text)
        return any(normalize_query(e) in text for e in self.evidence)


class QuestionsFileError(QAError):
    pass


def load_questions(path: Path) -> list[GoldQuestion]:
    """Read a JSONL file of gold questions; a bad line is an error that names it."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionsFileError(f"Cannot read the questions file {path}: {exc}") from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionsFileError(f"{where}: not JSON ({exc.msg}).") from exc
        question = row.get("question") if isinstance(row, dict) else None
        if not isinstance(question, str) or not any(ch.isalnum() for ch in question):
            raise QuestionsFileError(f'{where}: needs a JSON object with a non-empty "question" string.')
        lists = {}
        for field in ("evidence", "gold_passage_ids", "history", "answers"):
            value = row.get(field) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise QuestionsFileError(f'{where}: "{field}" must be a list of strings.')
            lists[field] = tuple(value)
        answerable = bool(lists["evidence"] or lists["gold_passage_ids"])
        out.append(GoldQuestion(
            qid=str(row.get("id", number)),
            question=question,
            kind=str(row.get("kind") or ("answerable" if answerable else "unanswerable")),
            evidence=lists["evidence"],
            gold_ids=lists["gold_passage_ids"],
            history=lists["history"],
            answers=lists["answers"],
        ))
    if not out:
        raise QuestionsFileError(f"The questions file {path} has no questions.")
    return out


@dataclass(frozen=True)
class Scores:
    answerable: int
    unanswerable: int
    recall: dict[int, float]  # k -> share of answerable questions with a hit in the top k
    mrr: float
    ndcg10: float
    abstain_answerable: float
    abstain_unanswerable: float
    answer_checked: int = 0  # answerable questions with strings to look for in the answer sentences
    answer_hit: float = 0.0  # share of those whose shown answer sentences contain one


# Confidence bins of the reliability table: shown answers in [low, high) against the share right.
BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    shown: int  # answers shown (not abstained) with a confidence in the bin
    right: int
    mean_confidence: float


def reliability(questions: Sequence[GoldQuestion], answers: Sequence[Answer]) -> tuple[Bin, ...]:
    """Shown answers by confidence, against how many were right: calibrated when they agree."""
    out = []
    for low, high in zip(BINS, BINS[1:]):
        inside = [(q, a) for q, a in zip(questions, answers) if not a.abstained and low <= a.confidence < high]
        mean = sum(a.confidence for _, a in inside) / len(inside) if inside else 0.0
        out.append(Bin(low, min(high, 1.0), len(inside), sum(q.right(a) for q, a in inside), mean))
    return tuple(out)


def score(questions: Sequence[GoldQuestion], answers: Sequence[Answer], ks: Sequence[int] = (1, 5, 10)) -> Scores:
    ranks: list[int | None] = []
    abst_a = abst_u = 0
    checked = hits = 0
    for q, a in zip(questions, answers, strict=True):
        if not q.answerable:
            abst_u += a.abstained
            continue
        abst_a += a.abstained
        ranks.append(next((p.rank for p in a.passages if q.is_hit(p)), None))
        if q.checks_answer:
            checked += 1
            hits += q.answer_hit(a)
    n = len(ranks)
    n_u = len(questions) - n
    return Scores(
        answerable=n,
        unanswerable=n_u,
        recall={k: sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0 for k in ks},
        mrr=sum(1 / r for r in ranks if r) / n if n else 0.0,
        ndcg10=sum(1 / math.log2(r + 1) for r in ranks if r and r <= 10) / n if n else 0.0,
        abstain_answerable=abst_a / n if n else 0.0,
        abstain_unanswerable=abst_u / n_u if n_u else 0.0,
        answer_checked=checked,
        answer_hit=hits / checked if checked else 0.0,
    )


SYSTEMS = ("bm25", "dense", "hybrid")  # RetrievalParams.mode of each system compared
KS = (1, 5, 10)
SNIPPET_CHARS = 150


@dataclass(frozen=True)
class Miss:
    """An answerable question with no hit in the top k, or an unanswerable one answered anyway."""

    qid: str
    kind: str
    question: str
    answerable: bool
    abstained: bool
    top_doc_id: str  # the system's top passage ("" when it returned none)
    top_text: str  # its first SNIPPET_CHARS characters, whitespace collapsed


@dataclass(frozen=True)
class SystemReport:
    name: str
    scores: Scores
    by_kind: dict[str, Scores]  # in order of first appearance in the questions file
    seconds: float  # wall clock of its `ask` calls, summed
    misses: tuple[Miss, ...]
    reliability: tuple[Bin, ...] = ()

    @property
    def qps(self) -> float:
        asked = self.scores.answerable + self.scores.unanswerable
        return asked / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    top_k: int
    systems: tuple[SystemReport, ...]


def run_eval(engine: "Engine", questions: Sequence[GoldQuestion], systems: Sequence[str] = SYSTEMS,
             top_k: int = 10) -> EvalReport:
    """Ask every question of every system through one engine (one encoder, one index).

    A system is the engine with another `RetrievalParams.mode`; abstention is the engine's own
    decision applied to that system's ranking.
    """
    if top_k < max(KS):
        raise ValueError(f"top_k must be at least {max(KS)}: Recall@10 and nDCG@10 need 10 passages")
    if not questions:
        raise ValueError("no questions to evaluate")
    original = engine.retriever
    retrievers = [Retriever(original.store, replace(original.params, mode=name)) for name in systems]
    answers: list[list[Answer]] = [[] for _ in systems]
    seconds = [0.0] * len(systems)
    try:
        # Systems take turns on each question, in rotating order: the first asks in a process are slow
        # (kernels compiled per input shape, pages mapped in), and would otherwise all fall on one system.
        for i, q in enumerate(questions):
            for j in [(i + k) % len(systems) for k in range(len(systems))]:
                engine.retriever = retrievers[j]
                started = time.perf_counter()
                answers[j].append(engine.ask(q.question, top_k=top_k, history=q.history))
                seconds[j] += time.perf_counter() - started
    finally:
        engine.retriever = original
    reports = [_system_report(name, questions, answers[j], seconds[j]) for j, name in enumerate(systems)]
    n_answerable = sum(q.answerable for q in questions)
    return EvalReport(len(questions), n_answerable, len(questions) - n_answerable, top_k, tuple(reports))


def _system_report(name: str, questions: Sequence[GoldQuestion], answers: Sequence[Answer],
                   seconds: float) -> SystemReport:
    kinds: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        kinds.setdefault(q.kind, []).append(i)
    by_kind = {kind: score([questions[i] for i in ids], [answers[i] for i in ids], KS) for kind, ids in kinds.items()}
    misses = tuple(_miss(q, a) for q, a in zip(questions, answers)
                   if (q.answerable and not any(q.is_hit(p) for p in a.passages[:max(KS)]))
                   or (not q.answerable and not a.abstained))
    return SystemReport(name, score(questions, answers, KS), by_kind, seconds, misses,
                        reliability(questions, answers))


def _miss(q: GoldQuestion, a: Answer) -> Miss:
    top = a.passages[0] if a.passages else None
    text = " ".join(top.text.split())[:SNIPPET_CHARS] if top else ""
    return Miss(q.qid, q.kind, q.question, q.answerable, a.abstained, top.doc_id if top else "", text)


def report_json(report: EvalReport, misses: bool = False) -> dict:
    """A stable, JSON-ready summary; a metric that does not apply (no such questions) is None."""
    return {
        "questions": report.questions,
        "answerable": report.answerable,
        "unanswerable": report.unanswerable,
        "top_k": report.top_k,
        "systems": {s.name: _system_json(s, misses) for s in report.systems},
    }


def _system_json(s: SystemReport, misses: bool) -> dict:
    out = {**_scores_json(s.scores), "qps": round(s.qps, 2),
           "by_kind": {kind: {"questions": k.answerable + k.unanswerable, **_scores_json(k)}
                       for kind, k in s.by_kind.items()},
           "reliability": [{"low": b.low, "high": b.high, "shown": b.shown, "right": b.right,
                            "mean_confidence": round(b.mean_confidence, 4)} for b in s.reliability]}
    if misses:
        out["misses"] = [asdict(m) for m in s.misses]
    return out


def _scores_json(s: Scores) -> dict:
    def rate(value: float, applies: int) -> float | None:
        return round(value, 4) if applies else None

    return {
        **{f"recall@{k}": rate(v, s.answerable) for k, v in s.recall.items()},
        "mrr": rate(s.mrr, s.answerable),
        "ndcg@10": rate(s.ndcg10, s.answerable),
        "abstain_answerable": rate(s.abstain_answerable, s.answerable),
        "abstain_unanswerable": rate(s.abstain_unanswerable, s.unanswerable),
        "answer_hit": rate(s.answer_hit, s.answer_checked),
    }


def render_report(report: EvalReport, misses: bool = False) -> str:
    """The report as text tables for a terminal: systems side by side."""
    names = [s.name for s in report.systems]
    lines = [
        f"{report.questions} questions ({report.answerable} answerable, {report.unanswerable} unanswerable), "
        f"top {report.top_k} passages each.",
        "Abstention: the engine's own decision, applied to each system's ranking.",
        "",
        f"{'':24s}" + "".join(f"{n:>9s}" for n in names),
    ]
    rows = [("Recall@1", "recall@1"), ("Recall@5", "recall@5"), ("Recall@10", "recall@10"), ("MRR", "mrr"),
            ("nDCG@10", "ndcg@10"), ("answer sentences hold it", "answer_hit"),
            ("abstained (answerable)", "abstain_answerable"),
            ("abstained (unanswerable)", "abstain_unanswerable")]
    overall = [_scores_json(s.scores) for s in report.systems]
    for label, key in rows:
        lines.append(f"{label:24s}" + "".join(f"{_cell(o[key]):>9s}" for o in overall))
    lines.append(f"{'questions/s':24s}" + "".join(f"{s.qps:9.1f}" for s in report.systems))

    lines += ["", "By kind: R@1 R@5 MRR, then the share of the kind's questions abstained on."]
    lines.append(f"{'kind':16s}{'n':>5s}" + "".join(f"  {n:>23s}" for n in names))
    for kind, first in report.systems[0].by_kind.items():
        cells = []
        for s in report.systems:
            k = s.by_kind[kind]
            asked = k.answerable + k.unanswerable
            abstained = (k.abstain_answerable * k.answerable + k.abstain_unanswerable * k.unanswerable) / asked
            j = _scores_json(k)
            cells.append(" ".join(_cell(j[key]) for key in ("recall@1", "recall@5", "mrr")) + f" {abstained:5.3f}")
        n = first.answerable + first.unanswerable
        lines.append(f"{kind[:16]:16s}{n:5d}" + "".join(f"  {c:>23s}" for c in cells))

    hybrid = next((s for s in report.systems if s.name == "hybrid"), report.systems[-1])
    lines += ["", f"Reliability ({hybrid.name}): shown answers by confidence, and the share of them that are right.",
              f"{'confidence':>12s}{'shown':>7s}{'right':>7s}{'mean conf.':>12s}{'accuracy':>10s}"]
    for b in hybrid.reliability:
        accuracy = f"{b.right / b.shown:10.3f}" if b.shown else f"{'—':>10s}"
        lines.append(f"{b.low:5.2f}–{b.high:<6.2f}{b.shown:7d}{b.right:7d}{b.mean_confidence:12.3f}{accuracy}")

    if misses:
        for s in report.systems:
            lines += ["", f"Misses of {s.name}: {len(s.misses)} (answerable with no hit in the top {max(KS)}, "
                          f"unanswerable answered)"]
            for m in s.misses:
                what = ("no hit" + (", abstained" if m.abstained else "")) if m.answerable else "answered"
                lines.append(f"- {m.qid} [{m.kind}] {what}: {m.question}")
                lines.append(f"    top: {m.top_doc_id or '(none)'}: {m.top_text}")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "    —" if value is None else f"{value:5.3f}"
