"""Extractive answers: the sentences of the retrieved passages that best answer the question."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .normalize import fold_diacritics
from .tokens import syllables
from .types import AnswerSentence, Passage

# Words that carry the question's form, not its topic; they must not count as overlap.
STOPWORDS = frozenset(fold_diacritics(w) for w in """
    là gì nào ai đâu sao bao nhiêu mấy khi thế nào như được có không của và các những một với cho
    trong tại về từ đến theo đã sẽ đang này đó hay hoặc thì mà nhằm để bởi do vì nên năm ngày tháng
    the a an of to in on at for by with and or is are was were be been what which who whom when where
    why how many much does did do that this these those from as it its their there
""".split())


@dataclass(frozen=True)
class AnswerParams:
    passages: int = 3  # the top passages that may supply answer sentences
    max_sentences: int = 3
    margin: float = 0.04  # a further sentence must score within this of the best one
    lexical_weight: float = 0.3


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


def extract_answer(question: str, query_vector: np.ndarray, passages: Sequence[Passage],
                   sentences: Sequence[tuple[Sequence[tuple[int, int]], np.ndarray]],
                   params: AnswerParams = AnswerParams()) -> Extract:
    """Pick answer sentences; `sentences[i]` holds passage i's sentence spans (offsets into its
    text) and their vectors, made when the passage was indexed."""
    candidates: list[AnswerSentence] = []
    vectors: list[np.ndarray] = []
    for passage, (spans, span_vectors) in zip(passages[: params.passages], sentences):
        for start, end in spans:
            candidates.append(AnswerSentence(passage.text[start:end], passage.rank,
                                             passage.start + start, passage.start + end))
        vectors.append(span_vectors)
    if not candidates:
        return Extract((), 0.0)
    # The words of the question as asked: in a follow-up ("Còn Nhật Bản thì sao?") they name what
    # is new, while the vector also carries the earlier question's topic.
    words = content_words(question)
    cosines = np.concatenate(vectors) @ query_vector
    scores = cosines + params.lexical_weight * np.array([overlap(words, c.text) for c in candidates])
    order = np.argsort(-scores, kind="stable")
    best = scores[order[0]]
    chosen = [candidates[i] for i in order[: params.max_sentences] if scores[i] >= best - params.margin]
    return Extract(tuple(chosen), float(cosines[order[0]]))


def format_answer(sentences: Sequence[AnswerSentence]) -> str:
    return " ".join(f"{s.text} [{s.citation}]" for s in sentences)
