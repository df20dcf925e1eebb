"""The question-answering engine: an opened index plus its encoder."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Collection, Sequence

import numpy as np

from .abstain import AbstainParams, Evidence, confidence, reason
from .answer import AnswerParams, Extract, extract_answer, format_answer
from .embed.encoder import Encoder, load_encoder, resolve_model
from .errors import ModelMismatchError, QuestionError
from .followup import contextualize
from .index.search_store import SearchStore
from .index.location import rebuild_hint_at, shown
from .index.postgres import is_store_url
from .index.store import load_index
from .normalize import normalize_query
from .question import QuestionFacts, analyze, expected_answer
from .periods import asked_period, asks_latest
from .rerank import RANK_FEATURES, Candidate, RerankParams, date_preference, features, order, scores, translated_tokens
from .retrieve import Hit, RetrievalParams, Retriever
from .short_answer import short_of
from .support import TextView, check, implied_years
from .types import Answer, Article, Passage

log = logging.getLogger(__name__)

# The encoder reads 512 tokens at most; longer questions are cut, not refused.
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Trace:
    """What an answer was decided from: the abstention's evidence and the candidate sentences."""

    evidence: Evidence
    extract: Extract
    # The reranked candidates in their fused order, with their RANK_FEATURES (for fitting the reranker).
    candidates: tuple[Passage, ...] = ()
    rank_features: np.ndarray = field(default_factory=lambda: np.zeros((0, len(RANK_FEATURES))))


class Engine:
    def __init__(self, store: SearchStore, encoder: Encoder, index_dir: Path | str,
                 retrieval: RetrievalParams = RetrievalParams(), answer: AnswerParams = AnswerParams(),
                 abstain: AbstainParams = AbstainParams(), rerank: RerankParams = RerankParams()):
        if encoder.model_id != store.manifest.model_id:
            raise ModelMismatchError(
                f"Chỉ mục ở {shown(index_dir)} được lập bằng mô hình {store.manifest.model_id!r}, không phải "
                f"{encoder.model_id!r}. Hãy mở nó mà không chỉ định mô hình, hoặc {rebuild_hint_at(index_dir)} --model ..."
            )
        self.store = store
        self.encoder = encoder
        self.index_dir = index_dir if is_store_url(index_dir) else Path(index_dir)
        self.retriever = Retriever(store, retrieval)
        self.answer_params = answer
        self.abstain_params = abstain
        self.rerank_params = rerank
        # Whole-article token views for name checks, a few dozen recent ones (shared by threads:
        # a lost race only repeats the work).
        self._article_views: dict[str, TextView] = {}
        self._years_of: dict[str, frozenset[str]] = {}

    @classmethod
    def open(cls, index_dir: Path | str = "embeddings", model: str | None = None,
             encoder: Encoder | None = None) -> "Engine":
        """Open an index folder, or a database given by its postgresql:// URL; the index's recorded
        model is used unless another is given (which must match)."""
        if is_store_url(index_dir):
            from .index.postgres import PostgresStore

            store = PostgresStore(str(index_dir))
        else:
            index_dir = Path(index_dir)
            store = load_index(index_dir)
        if encoder is None:
            if model is not None and resolve_model(model).model_id != store.manifest.model_id:
                raise ModelMismatchError(
                    f"Chỉ mục ở {shown(index_dir)} được lập bằng mô hình {store.manifest.model_id!r}, không phải "
                    f"{model!r}. Hãy mở nó không có --model, hoặc {rebuild_hint_at(index_dir)} --model {model}"
                )
            encoder = load_encoder(model if model is not None else store.manifest.model_spec)
        return cls(store, encoder, index_dir)

    def close(self) -> None:
        """Release what the index holds outside this process (a database's connections)."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    @property
    def articles(self) -> dict[str, Article]:
        return self.store.articles

    def ask(self, question: str, top_k: int = 5, history: Sequence[str] = (),
            doc_ids: Collection[str] | None = None) -> Answer:
        """Answer from the corpus alone; `doc_ids` narrows retrieval to those articles."""
        return self.ask_with_evidence(question, top_k, history, doc_ids)[0]

    def ask_with_evidence(self, question: str, top_k: int = 5, history: Sequence[str] = (),
                          doc_ids: Collection[str] | None = None) -> tuple[Answer, Trace | None]:
        """`ask`, plus what the answer was decided from (for fitting the models)."""
        asked = normalize_query(question or "")
        if not asked or not any(ch.isalnum() for ch in asked):
            raise QuestionError("Câu hỏi trống: hãy gõ một câu hỏi bằng tiếng Việt hoặc tiếng Anh.")
        asked = asked[:MAX_QUESTION_CHARS]
        # Typed without diacritics, the question is read with them restored (and shown so).
        unaccented = self.retriever.profile(asked).unaccented
        restored = self.store.accents.restore(asked) if unaccented else ""
        restored = restored if restored != asked else ""
        reading = restored or asked
        query = contextualize(reading, history)[: 2 * MAX_QUESTION_CHARS]
        vector = self.encoder.encode_queries([query])[0]
        allowed = None
        if doc_ids is not None:
            wanted = set(doc_ids)
            allowed = self.store.rows_of(wanted)
        profile = self.retriever.profile(query)
        facts = self._facts(asked, query if query != reading else "", english=profile.vietnamese < 0.5)
        hits, views, candidates, X = self._rank(query, vector, facts, max(1, top_k), allowed)
        if not hits:
            return Answer(asked, True, "", (), restored=restored), None
        passages = tuple(self._passage(rank, hit) for rank, hit in enumerate(hits, 1))
        top = hits[: self.answer_params.passages]
        sentences = [(self.store.chunk(h.chunk_index).sentences, self.store.sentences_of(h.chunk_index))
                     for h in top]
        supports = [check(facts, view, self._article_view(p.doc_id), self.store.known, self.store.rarity) for p, view in zip(passages, views[: len(top)])]
        extract = extract_answer(facts, vector, passages, sentences, supports, self.answer_params)
        cited = extract.sentences[0].citation - 1 if extract.sentences else 0
        evidence = Evidence.of(hits[0].dense, extract, supports[cited], facts, profile.vietnamese, unaccented)
        conf = confidence(evidence, self.abstain_params)
        trace = Trace(evidence, extract, candidates, X)
        if conf < self.abstain_params.threshold:
            return Answer(asked, True, "", passages, (), conf, reason(facts, supports, evidence), restored), trace
        return Answer(asked, False, format_answer(extract.sentences), passages, extract.sentences, conf,
                      short=short_of(facts, query, extract.sentences[0]) if extract.sentences else None,
                      restored=restored), trace

    @staticmethod
    def _facts(asked: str, conversation: str, english: bool) -> QuestionFacts:
        """The question's own names and numbers; a follow-up ("Còn Nhật Bản thì sao?") takes the
        kind of answer from `conversation` (the question put in context, "" for a standalone one)
        when it does not say, but not its names: the new name replaces the old one."""
        facts = analyze(asked, english)
        if conversation and not facts.expects:
            facts = replace(facts, expects=expected_answer(conversation))
        return facts

    def _rank(self, query: str, vector: np.ndarray, facts: QuestionFacts, top_k: int,
              allowed: list[int] | None) -> tuple[list[Hit], list[TextView], tuple[Passage, ...], np.ndarray]:
        """The top_k hits and their views, one copy per story; with the fused candidates and their
        features when reranked (the hybrid system; `qa eval`'s baselines rank by one side alone)."""
        reranked = self.retriever.params.mode == "hybrid"
        hits = self.retriever.search(query, vector, max(top_k, self.rerank_params.pool) if reranked else top_k, allowed)
        views = [self._view(hit) for hit in hits]
        candidates, X = (), np.zeros((0, len(RANK_FEATURES)))
        if reranked and hits:
            candidates = tuple(self._passage(rank, hit) for rank, hit in enumerate(hits, 1))
            hits, views, X = self._rerank(hits, views, facts, vector, query)
        hits, views = self._one_copy_per_story(hits, views)
        return hits[:top_k], views[:top_k], candidates, X

    def _rerank(self, hits: list[Hit], views: list[TextView], facts: QuestionFacts, vector: np.ndarray, query: str):
        """The hits reordered by the reranker and the question's period, their score its score;
        their views; the features."""
        rows = np.array([h.chunk_index for h in hits])
        tokens = translated_tokens(facts)
        translated = self.store.keyword_scores(tokens, rows) if tokens else np.zeros(len(hits))
        candidates = [Candidate(h.dense, h.keyword, h.score, self.store.sentences_of(h.chunk_index), view)
                      for h, view in zip(hits, views)]
        X = features(facts, vector, candidates, translated, self.store.rarity)
        dates = [self.store.articles[self.store.chunk(h.chunk_index).doc_id].date for h in hits]
        preference = date_preference(dates, asked_period(query), asks_latest(query), self.rerank_params)
        total = scores(X, self.rerank_params, preference)
        best = order(total)
        return ([replace(hits[i], score=float(total[i])) for i in best], [views[i] for i in best], X)

    def _one_copy_per_story(self, hits: list[Hit], views: list[TextView]) -> tuple[list[Hit], list[TextView]]:
        """Passages of an article whose story another article already shows (a syndicated copy,
        an updated version) are dropped: that article's passages list it as `also_in`."""
        shown: dict[tuple[str, ...], str] = {}
        kept = []
        for hit, view in zip(hits, views):
            doc_id = self.store.chunk(hit.chunk_index).doc_id
            story = self.store.story_of.get(doc_id)
            if story is not None and shown.setdefault(story, doc_id) != doc_id:
                continue
            kept.append((hit, view))
        return [h for h, _ in kept], [v for _, v in kept]

    def _view(self, hit: Hit) -> TextView:
        chunk = self.store.chunk(hit.chunk_index)
        article = self.store.articles[chunk.doc_id]
        return TextView(f"{article.title}\n{article.date}\n{chunk.text}", self._implied_years(chunk.doc_id))

    def _implied_years(self, doc_id: str) -> frozenset[str]:
        years = self._years_of.get(doc_id)
        if years is None:
            article = self.store.articles[doc_id]
            years = implied_years(article.date, f"{article.title}\n{article.text}")
            self._years_of[doc_id] = years  # a few years per article: kept for every article asked about
        return years

    def _article_view(self, doc_id: str):
        def view() -> TextView:
            cached = self._article_views.get(doc_id)
            if cached is None:
                article = self.store.articles[doc_id]
                cached = TextView(f"{article.title}\n{article.date}\n{article.text}", self._implied_years(doc_id))
                if len(self._article_views) >= 64:
                    self._article_views.pop(next(iter(self._article_views)))
                self._article_views[doc_id] = cached
            return cached
        return view

    def _passage(self, rank: int, hit: Hit) -> Passage:
        chunk = self.store.chunk(hit.chunk_index)
        article = self.store.articles[chunk.doc_id]
        also_in = tuple(d for d in self.store.story_of.get(chunk.doc_id, ()) if d != chunk.doc_id)
        return Passage(rank, chunk.doc_id, article.title, article.date, article.source, chunk.text,
                       chunk.start, chunk.end, round(hit.score, 4), also_in)

