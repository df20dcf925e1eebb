"""What answering a question needs from an index, whichever backend holds it.

The engine, the retriever and the app read an index only through this interface, so that the
local snapshot folder (`qa.index.store.IndexData`, the embedded default) and a database backend
serve the same answers. Rows number the passages (chunks) from 0; a backend keeps them stable
while it is open.
"""
from __future__ import annotations

from typing import Mapping, Protocol, Sequence

import numpy as np

from ..accents import AccentModel
from ..types import Article, Chunk


class SearchStore(Protocol):
    @property
    def manifest(self): ...  # qa.index.store.Manifest: the model, parameters and counts it was built with

    @property
    def articles(self) -> Mapping[str, Article]: ...

    @property
    def story_of(self) -> Mapping[str, tuple[str, ...]]: ...  # doc id -> the articles of its story

    @property
    def accents(self) -> AccentModel: ...  # restores diacritics of questions typed without them

    @property
    def chunk_count(self) -> int: ...

    def chunk(self, row: int) -> Chunk: ...

    def rows_of(self, doc_ids: set[str]) -> list[int]: ...

    def vectors_of(self, rows: Sequence[int] | np.ndarray) -> np.ndarray: ...  # float32, one row each

    def sentences_of(self, row: int) -> np.ndarray: ...  # the vectors of the passage's sentences

    def nearest(self, vector: np.ndarray, k: int) -> np.ndarray: ...  # rows, most similar first

    def keyword_top(self, tokens: Sequence[str], k: int, rows: np.ndarray | None = None) -> np.ndarray:
        """The k rows (of `rows`, or of all) with the highest BM25 scores for `tokens`."""

    def keyword_scores(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """BM25 scores of `rows` for `tokens` (a token asked twice counts twice)."""

    def known(self, tokens: Sequence[str]) -> list[str]: ...  # the tokens some passage has

    def rarity(self, token: str) -> float: ...  # log(N / df) / log(N): 1 in one passage, 0 in all or none
