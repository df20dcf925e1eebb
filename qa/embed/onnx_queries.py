"""The default model's questions through ONNX Runtime: an answer without importing torch.

Importing sentence-transformers (torch, transformers, scikit-learn) and loading the model took 6 of
the 6.2 s from `python -m qa ask` to its answer. The default model is exported once to ONNX beside
its sentence-transformers folder (`onnx/model.onnx`, ~8 s, with torch); questions are then encoded by
ONNX Runtime and the `tokenizers` library (~1.5 s to load, ~0.5 GB resident, vectors within 1e-6 of
torch's). Passages,
which only an index build or an upload embeds, still go through sentence-transformers, loaded on
first use: one model, two runtimes, the same vectors.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from .encoder import E5_PROMPTS, ModelRef, SentenceTransformerEncoder

log = logging.getLogger(__name__)

ONNX_FILE = Path("onnx") / "model.onnx"
MAX_TOKENS = 512


def export_onnx(folder: Path) -> Path:
    """`folder`'s transformer as ONNX (token embeddings out), written once, atomically. The weights
    go to a file of their own, which ONNX Runtime maps instead of copying: half the memory."""
    target = Path(folder) / ONNX_FILE
    if target.exists():
        return target
    import onnx
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    tmp = Path(folder) / f".onnx-{uuid.uuid4().hex}"
    tmp.mkdir()
    example = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    try:
        torch.onnx.export(TokenEmbeddings(model), (example, example), str(tmp / "graph.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["token_embeddings"],
                          opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes})
        onnx.save_model(onnx.load(str(tmp / "graph.onnx")), str(tmp / ONNX_FILE.name), save_as_external_data=True,
                        location=ONNX_FILE.name + ".data", size_threshold=1 << 20)
        (tmp / "graph.onnx").unlink()
        for path in (tmp, *tmp.iterdir()):  # onnx writes its data file private; the model folder is shared
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            os.rename(tmp, target.parent)
        except OSError:  # another process published it first
            if not target.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class OnnxQueryEncoder:
    """Questions through ONNX Runtime, passages through sentence-transformers; each loaded on first use."""

    def __init__(self, ref: ModelRef):
        self.model_id = ref.model_id
        self._ref = ref
        self._folder = Path(ref.location)
        self.dim = int(json.loads((self._folder / "config.json").read_text(encoding="utf-8"))["hidden_size"])
        self._lock = threading.Lock()
        self._session = self._tokenizer = self._passages = None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session, tokenizer = self._runtime()
        if session is None:
            return self._full().encode_queries(texts)
        encoded = tokenizer.encode_batch([E5_PROMPTS["query"] + t for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        tokens = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        vectors = (tokens * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._full().encode_passages(texts)

    def encode_passages_and_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self._full().encode_passages_and_spans(texts, spans)

    def _runtime(self):
        """(session, tokenizer), or (None, None) when ONNX cannot serve: torch answers then."""
        with self._lock:
            if self._session is None:
                try:
                    self._session, self._tokenizer = self._load_runtime()
                except Exception as exc:  # export or runtime failures of any kind: slower, not broken
                    log.warning("questions go through sentence-transformers: ONNX Runtime is unavailable (%s)", exc)
                    self._session = False
            return (self._session, self._tokenizer) if self._session else (None, None)

    def _load_runtime(self):
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("<pad>"), pad_token="<pad>")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its warnings are about graph details, not the user's input
        session = onnxruntime.InferenceSession(str(export_onnx(self._folder)), options,
                                               providers=["CPUExecutionProvider"])
        return session, tokenizer

    def _full(self) -> SentenceTransformerEncoder:
        with self._lock:
            if self._passages is None:
                self._passages = SentenceTransformerEncoder(self._ref)
            return self._passages
