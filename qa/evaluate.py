"""Retrieval and abstention metrics on gold questions (evidence strings or gold passage ids)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .normalize import normalize_query
from .types import Answer, Passage


@dataclass(frozen=True)
class GoldQuestion:
    qid: str
    question: str
    kind: str
    evidence: tuple[str, ...] = ()  # a passage containing any of these answers the question
    gold_ids: tuple[str, ...] = ()  # or: a passage of one of these articles answers it
    history: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.evidence or self.gold_ids)

    def is_hit(self, passage: Passage) -> bool:
        if self.gold_ids and passage.doc_id in self.gold_ids:
            return True
        text = normalize_query(passage.text)
        return any(normalize_query(e) in text for e in self.evidence)


def load_questions(path: Path) -> list[GoldQuestion]:
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        out.append(GoldQuestion(
            qid=str(row.get("id", number)),
            question=row["question"],
            kind=row.get("kind") or ("answerable" if row.get("gold_passage_ids") or row.get("evidence") else "unanswerable"),
            evidence=tuple(row.get("evidence") or ()),
            gold_ids=tuple(row.get("gold_passage_ids") or ()),
            history=tuple(row.get("history") or ()),
        ))
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


def score(questions: Sequence[GoldQuestion], answers: Sequence[Answer], ks: Sequence[int] = (1, 5, 10)) -> Scores:
    ranks: list[int | None] = []
    abst_a = abst_u = 0
    for q, a in zip(questions, answers, strict=True):
        if not q.answerable:
            abst_u += a.abstained
            continue
        abst_a += a.abstained
        ranks.append(next((p.rank for p in a.passages if q.is_hit(p)), None))
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
    )

