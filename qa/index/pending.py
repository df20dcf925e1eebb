"""Vectors embedded by a build that has not finished, kept so that the next build resumes.

Embedding a large corpus takes hours; a build killed at 90% would otherwise start again from zero.
Each batch the encoder returns is written at once to `<index>/.pending/` (one file per batch,
renamed into place complete), keyed like the snapshot's vectors by the hash of the embedded text.
The next build of the same model takes them as known; a finished build deletes the folder.
"""
from __future__ import annotations

import json
import logging
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

FOLDER = ".pending"
_MODEL = "model.json"

Vectors = tuple[np.ndarray, np.ndarray]  # a passage's vector, its sentences' vectors


class PendingVectors:
    def __init__(self, index_dir: Path, model_id: str):
        self.folder = Path(index_dir) / FOLDER
        self.model_id = model_id

    def load(self) -> dict[str, Vectors]:
        """The vectors left by unfinished builds of this model; those of another model are dropped."""
        if not self.folder.is_dir():
            return {}
        try:
            model = json.loads((self.folder / _MODEL).read_text(encoding="utf-8"))["model_id"]
        except (OSError, ValueError, KeyError, TypeError):
            model = None
        if model != self.model_id:
            self.clear()
            return {}
        known: dict[str, Vectors] = {}
        for path in sorted(self.folder.glob("batch-*.npz")):
            try:
                with np.load(path, allow_pickle=False) as batch:
                    keys, vectors = batch["keys"], batch["vectors"]
                    sentences, counts = batch["sentences"], batch["counts"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                log.warning("ignoring unreadable pending vectors %s: %s", path, exc)
                continue
            bounds = np.concatenate([[0], np.cumsum(counts)])
            for i, key in enumerate(keys):
                known[str(key)] = (vectors[i], sentences[bounds[i]:bounds[i + 1]])
        return known

    def add(self, keys: Sequence[str], vectors: Sequence[np.ndarray], sentences: Sequence[np.ndarray]) -> None:
        """Save one batch; complete or not at all (written aside, then renamed)."""
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            (self.folder / _MODEL).write_text(json.dumps({"model_id": self.model_id}), encoding="utf-8")
        name = f"batch-{uuid.uuid4().hex}"
        tmp = self.folder / f".{name}.npz"
        np.savez(tmp, keys=np.array(keys, dtype=str), vectors=np.stack(vectors).astype(np.float32),
                 sentences=np.concatenate(sentences).astype(np.float16),
                 counts=np.array([len(s) for s in sentences], dtype=np.int64))
        tmp.rename(self.folder / f"{name}.npz")

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
