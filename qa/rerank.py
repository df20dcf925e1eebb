"""Rerank the fused candidates with what each passage says about the question.

Fusion ranks by a passage's mean vector and its BM25 score. A passage answering a one-sentence
question may read far from it on average, and a look-alike article (another edition, another
country) can outscore the right one on shared words. A linear model over the candidates, fitted
on dev questions (`scripts/fit_rerank.py`), weighs the fusion with the passage's best sentence,
the question's names, numbers and words found in it, and for English questions BM25 over the
question's words translated by the bilingual table. The question's period, or its asking for the
latest news, then adds to the score by the article's date (`date_preference`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .filters import parse_date
from .periods import Period
from .question import QuestionFacts
from .support import TextView, names_found, numbers_conflict, numbers_found, rare_missing, term_share
from .tokens import bm25_tokens

RANK_FEATURES = (
    "fused",  # the fusion score (z-scores of cosine and BM25, weighted for the query's language)
    "dense_gap",  # cosine of the passage below the best candidate's
    "sentence_gap",  # cosine of its best sentence below the best candidate's best sentence
    "keyword",  # its BM25 score as a share of the best candidate's
    "translated",  # English question: BM25 of its words put into Vietnamese, as a share of the best
    "names",  # share of the question's names the passage (with its title) lacks
    "numbers",  # share of the question's numbers and editions it lacks
    "conflict",  # it gives other years or editions than the question's and not the question's
    "terms",  # share of the question's content words it has
    "rare_missing",  # rarity of the rarest question word it lacks that the corpus has
    "english_sentence_gap",  # sentence_gap again for English, where words cannot match
)
COLUMN = {name: i for i, name in enumerate(RANK_FEATURES)}


@dataclass(frozen=True)
class RerankParams:
    pool: int = 20  # fused candidates reranked
    # Set by hand (no dev question asks for the latest news): what a question's period, or its asking
    # for the latest, adds to the score (see `date_preference`); a fused z-score is of that order.
    period_weight: float = 1.0
    recency_weight: float = 1.0
    # Fitted by scripts/fit_rerank.py (listwise logistic on 2,064 dev questions); in RANK_FEATURES
    # order, scaled so the fused score keeps weight 1. Held-out R@1: news 0.688 -> 0.750, English
    # XQuAD 0.787 -> 0.808, Vietnamese XQuAD 0.969 -> 0.964.
    weights: tuple[float, ...] = (1.0, 87.447, -10.577, 1.355, 2.147, -0.53, -1.068, -0.058, 2.081, -0.254, 83.632)


@dataclass(frozen=True)
class Candidate:
    dense: float  # cosine of the passage
    keyword: float  # BM25 score
    fused: float
    sentences: np.ndarray  # its sentence vectors
    view: TextView  # its title, date and text


def translated_tokens(facts: QuestionFacts) -> list[str]:
    """BM25 tokens of an English question's words in their Vietnamese forms from the table."""
    if not facts.english:
        return []
    words: list[str] = []
    for forms in facts.terms:
        words += [" ".join(v.words) for v in forms[1:] if v.words != v.folded]
    for name in facts.names:
        words += [" ".join(v.words) for v in name.variants if v.words != v.folded]
    return [t for w in dict.fromkeys(words) for t in bm25_tokens(w)]


def features(facts: QuestionFacts, query_vector: np.ndarray, candidates: Sequence[Candidate],
             translated: np.ndarray, rarity: Callable[[str], float]) -> np.ndarray:
    """One row of RANK_FEATURES per candidate; `translated` their scores for `translated_tokens`."""
    n = len(candidates)
    X = np.zeros((n, len(RANK_FEATURES)))
    if not n:
        return X
    dense = np.array([c.dense for c in candidates])
    best_sentence = np.array([float((c.sentences @ query_vector).max()) if len(c.sentences) else c.dense
                              for c in candidates])
    keyword = np.array([c.keyword for c in candidates])
    asked = len(facts.numbers) + len(facts.ordinals)
    X[:, COLUMN["fused"]] = [c.fused for c in candidates]
    X[:, COLUMN["dense_gap"]] = dense - dense.max()
    X[:, COLUMN["sentence_gap"]] = best_sentence - best_sentence.max()
    X[:, COLUMN["keyword"]] = keyword / keyword.max() if keyword.max() > 0 else 0.0
    X[:, COLUMN["translated"]] = translated / translated.max() if translated.size and translated.max() > 0 else 0.0
    for i, c in enumerate(candidates):
        view = c.view
        if facts.names:
            X[i, COLUMN["names"]] = (len(facts.names) - names_found(facts, view)) / len(facts.names)
        if asked:
            X[i, COLUMN["numbers"]] = (asked - numbers_found(facts, view)) / asked
        X[i, COLUMN["conflict"]] = float(bool(numbers_conflict(facts, view)))
        X[i, COLUMN["terms"]] = term_share(facts, view)
        X[i, COLUMN["rare_missing"]] = rare_missing(facts, view, rarity)
    if facts.english:
        X[:, COLUMN["english_sentence_gap"]] = X[:, COLUMN["sentence_gap"]]
    return X


def scores(X: np.ndarray, params: RerankParams, preference: np.ndarray | None = None) -> np.ndarray:
    """Each candidate's score: the model's, plus what its date adds (see `date_preference`)."""
    total = X @ np.array(params.weights)
    return total if preference is None else total + preference


def order(scores: np.ndarray) -> np.ndarray:
    """Candidate indices, best first (ties keep the fused order)."""
    return np.argsort(-scores, kind="stable")


def date_preference(dates: Sequence[str], period: Period | None, latest: bool, params: RerankParams) -> np.ndarray:
    """What each candidate's publication date adds: half the period weight inside the period asked
    about, minus half outside it; for the latest news, from minus half the recency weight for the
    oldest dated candidate to plus half for the newest. An undated article gets 0: it is never
    dropped, only ranked after the dated ones that match."""
    days = [parse_date(d) for d in dates]
    bonus = np.zeros(len(days))
    if period is not None:
        bonus += [0.0 if day is None else (0.5 if day in period else -0.5) * params.period_weight for day in days]
    dated = [day.toordinal() for day in days if day is not None]
    if latest and dated and max(dated) > min(dated):
        low, span = min(dated), max(dated) - min(dated)
        bonus += [0.0 if day is None else ((day.toordinal() - low) / span - 0.5) * params.recency_weight
                  for day in days]
    return bonus
