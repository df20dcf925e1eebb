"""Extractive answers: the sentences of the retrieved passages that best answer the question."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .normalize import normalize_query
from .question import QuestionFacts
from .support import Support, TextView, answers_kind, names_found, numbers_found, term_share
from .types import AnswerSentence, Passage

# What a candidate sentence is scored on (see `extract_answer`).
SENTENCE_FEATURES = (
    "cosine",  # similarity of the sentence to the question
    "cosine_gap",  # how far below the most similar candidate (0 for it)
    "terms",  # share of the question's content words in the sentence
    "terms_gap",  # how far below the candidate with the most of them
    "names",  # share of the question's names and numbers the sentence itself has
    "kind",  # it holds the kind of answer asked for (a figure, a date, a place, a name)
    "agreement",  # its passage names the question's names and numbers
    "passage_gap",  # its passage's retrieval score below the top passage's
    "first",  # it opens its passage
    "after_terms",  # share of the question's words in the sentence before it: answers often follow
    "length",  # log of its length in characters
    "english_cosine",  # cosine again for an English question, where the words cannot match
    "unaccented_gap",  # cosine_gap again for Vietnamese without diacritics, which the encoder reads poorly
)


@dataclass(frozen=True)
class AnswerParams:
    passages: int = 3  # the top passages that may supply answer sentences
    max_sentences: int = 3
    # A further sentence is shown when its probability of holding the answer is at least this
    # share of the best one's.
    keep: float = 0.3
    # Logistic model over SENTENCE_FEATURES, fitted by scripts/fit_sentences.py on dev questions
    # (label: the sentence holds the gold answer); weights in that order, then the bias.
    weights: tuple[float, ...] = (-0.246, 59.126, 2.491, 3.135, 0.052, 0.717, 0.39, 0.062, -0.104, -0.657, -0.004,
                                   0.284, 0.073)
    bias: float = -1.993


@dataclass(frozen=True)
class Extract:
    sentences: tuple[AnswerSentence, ...]
    best_cosine: float  # similarity of the best sentence to the question: evidence for abstention
    kind_found: bool  # the best sentence holds the kind of answer asked for (a figure, a date...)
    best_probability: float = 0.0  # the sentence model's probability that the best sentence answers
    # Every candidate and its features, for fitting the sentence model.
    candidates: tuple[AnswerSentence, ...] = ()
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, len(SENTENCE_FEATURES))))


def agreement(support: Support) -> float:
    """1 when the passage names every name and number of the question, less for each one it lacks
    (half for a name only elsewhere in its article)."""
    total = support.names + support.numbers
    if not total:
        return 1.0
    lacking = len(support.missing) + len(support.unknown) + len(support.numbers_missing) + 0.5 * len(support.outside)
    return 1.0 - lacking / total


def names_share(facts: QuestionFacts, view: TextView) -> float:
    total = len(facts.names) + len(facts.numbers) + len(facts.ordinals)
    if not total:
        return 0.0
    return (names_found(facts, view) + numbers_found(facts, view)) / total


def extract_answer(facts: QuestionFacts, query_vector: np.ndarray, passages: Sequence[Passage],
                   sentences: Sequence[tuple[Sequence[tuple[int, int]], np.ndarray]],
                   supports: Sequence[Support], params: AnswerParams = AnswerParams()) -> Extract:
    """Pick answer sentences; `sentences[i]` holds passage i's sentence spans (offsets into its
    text) and their vectors, made when the passage was indexed; `supports[i]` how far passage i
    covers the question's names and numbers.

    A similarity to the question alone often picks the sentence that restates the question rather
    than the one that answers it: a fitted model weighs it with the question's words and names in
    the sentence and the one before, the kind of answer it holds and its passage's agreement.
    """
    candidates: list[AnswerSentence] = []
    rows: list[list[float]] = []
    vectors: list[np.ndarray] = []
    top_score = passages[0].score if passages else 0.0
    for passage, (spans, span_vectors), support in zip(passages[: params.passages], sentences, supports):
        agree = agreement(support)
        previous_terms = 0.0
        for position, (start, end) in enumerate(spans):
            text = passage.text[start:end]
            view = TextView(text)
            kind = answers_kind(facts.expects, view, text, facts)
            terms = term_share(facts, view)
            candidates.append(AnswerSentence(text, passage.rank, passage.start + start, passage.start + end))
            rows.append([0.0, 0.0, terms, 0.0, names_share(facts, view), float(kind), agree,
                         passage.score - top_score, float(position == 0), previous_terms,
                         math.log(1 + len(text)), 0.0, 0.0])
            previous_terms = terms
        vectors.append(span_vectors)
    if not candidates:
        return Extract((), 0.0, False)
    cosines = np.concatenate(vectors) @ query_vector
    X = np.array(rows)
    X[:, 0] = cosines
    X[:, 1] = cosines - cosines.max()
    X[:, 3] = X[:, 2] - X[:, 2].max()
    X[:, 11] = cosines if facts.english else 0.0
    X[:, 12] = X[:, 1] if facts.folded and not facts.english else 0.0
    z = np.clip(X @ np.array(params.weights) + params.bias, -50, 50)
    probability = 1 / (1 + np.exp(-z))
    order = np.argsort(-probability, kind="stable")
    best = probability[order[0]]
    chosen: list[AnswerSentence] = []
    for i in order:  # overlapping passages hold the same sentence: it is shown once
        if len(chosen) == params.max_sentences or probability[i] < params.keep * best:
            break
        if all(normalize_query(c.text) != normalize_query(candidates[i].text) for c in chosen):
            chosen.append(candidates[i])
    return Extract(tuple(chosen), float(cosines[order[0]]), bool(X[order[0], 5]), float(best), tuple(candidates), X)


def ends_run(sentences: Sequence[AnswerSentence], i: int) -> bool:
    """Whether sentence i is the last of a run from one passage: its [n] follows it, once per run."""
    return i + 1 == len(sentences) or sentences[i + 1].citation != sentences[i].citation


def format_answer(sentences: Sequence[AnswerSentence]) -> str:
    """The sentences with one [n] after each run of sentences from passage n."""
    return " ".join(f"{s.text} [{s.citation}]" if ends_run(sentences, i) else s.text for i, s in enumerate(sentences))
