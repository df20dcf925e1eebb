"""Extractive answers: the sentences of the retrieved passages that best answer the question."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .normalize import fold_diacritics
from .question import QuestionFacts
from .support import Support, TextView, answers_kind, term_share
from .tokens import STOPWORDS, syllables
from .types import AnswerSentence, Passage


@dataclass(frozen=True)
class AnswerParams:
    passages: int = 3  # the top passages that may supply answer sentences
    max_sentences: int = 3
    margin: float = 0.08  # a further sentence must score within this of the best one (3 at most)
    lexical_weight: float = 0.3
    kind_weight: float = 0.05  # the sentence holds the kind of answer asked for
    agreement_weight: float = 0.1  # its passage names the question's names and numbers


def content_words(text: str) -> set[str]:
    return {w for w in (fold_diacritics(s) for s in syllables(text)) if w not in STOPWORDS}


def overlap(query_words: set[str], text: str) -> float:
    """Share of the query's content words found in `text` (folded, so accents don't matter)."""
    if not query_words:
        return 0.0
    return len(query_words & content_words(text)) / len(query_words)


@dataclass(frozen=True)
class Extract:
    sentences: tuple[AnswerSentence, ...]
    best_cosine: float  # similarity of the best sentence to the question: evidence for abstention
    kind_found: bool  # the best sentence holds the kind of answer asked for (a figure, a date...)


def agreement(support: Support) -> float:
    """1 when the passage names every name and number of the question, less for each one it lacks
    (half for a name only elsewhere in its article)."""
    total = support.names + support.numbers
    if not total:
        return 1.0
    lacking = len(support.missing) + len(support.unknown) + len(support.numbers_missing) + 0.5 * len(support.outside)
    return 1.0 - lacking / total


def extract_answer(facts: QuestionFacts, query_vector: np.ndarray, passages: Sequence[Passage],
                   sentences: Sequence[tuple[Sequence[tuple[int, int]], np.ndarray]],
                   supports: Sequence[Support], params: AnswerParams = AnswerParams()) -> Extract:
    """Pick answer sentences; `sentences[i]` holds passage i's sentence spans (offsets into its
    text) and their vectors, made when the passage was indexed; `supports[i]` how far passage i
    covers the question's names and numbers.

    A sentence scores by its similarity to the question, the question's words it contains (as
    asked: in a follow-up they name what is new), whether it holds the kind of answer asked for,
    and whether its passage is about the same names and numbers.
    """
    candidates: list[AnswerSentence] = []
    vectors: list[np.ndarray] = []
    bonus: list[float] = []
    kinds: list[bool] = []
    for passage, (spans, span_vectors), support in zip(passages[: params.passages], sentences, supports):
        agree = agreement(support)
        for start, end in spans:
            text = passage.text[start:end]
            view = TextView(text)
            kind = answers_kind(facts.expects, view, text, facts)
            candidates.append(AnswerSentence(text, passage.rank, passage.start + start, passage.start + end))
            kinds.append(kind)
            bonus.append(params.lexical_weight * term_share(facts, view) + params.kind_weight * kind
                         + params.agreement_weight * agree)
        vectors.append(span_vectors)
    if not candidates:
        return Extract((), 0.0, False)
    cosines = np.concatenate(vectors) @ query_vector
    scores = cosines + np.array(bonus)
    order = np.argsort(-scores, kind="stable")
    best = scores[order[0]]
    chosen = [candidates[i] for i in order[: params.max_sentences] if scores[i] >= best - params.margin]
    return Extract(tuple(chosen), float(cosines[order[0]]), kinds[order[0]])


def format_answer(sentences: Sequence[AnswerSentence]) -> str:
    return " ".join(f"{s.text} [{s.citation}]" for s in sentences)
