"""Vectors embedded by a build that has not finished, kept so that the next build resumes.

Embedding a large corpus takes hours; a build killed at 90% would otherwise start again from zero.
Each batch the encoder returns is written at once to `<index>/.pending/` (one file per batch,
renamed into place complete), keyed like the snapshot's vectors by the hash of the embedded text.
The next build of the same model takes them as known; a finished build deletes the folder. The
vectors stay in these files until the snapshot's vector files are assembled from them
(qa/index/assemble.py): held in memory, 94,000 passages' were over half a GB.
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


class PendingVectors:
    def __init__(self, index_dir: Path, model_id: str):
        self.folder = Path(index_dir) / FOLDER
        self.model_id = model_id

    def load(self) -> dict[str, Path]:
        """Which vectors unfinished builds of this model left: each key's batch file. Those of
        another model are dropped; an unreadable batch is skipped (its passages are embedded again)."""
        if not self.folder.is_dir():
            return {}
        try:
            model = json.loads((self.folder / _MODEL).read_text(encoding="utf-8"))["model_id"]
        except (OSError, ValueError, KeyError, TypeError):
            model = None
        if model != self.model_id:
            self.clear()
            return {}
        found: dict[str, Path] = {}
        for path in sorted(self.folder.glob("batch-*.npz")):
            try:
                keys = [key for key, _, _ in read_batch(path)]  # read whole: a damaged file fails here
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                log.warning("ignoring unreadable pending vectors %s: %s", path, exc)
                continue
            found.update(dict.fromkeys(keys, path))
        return found

    def add(self, keys: Sequence[str], vectors: Sequence[np.ndarray], sentences: Sequence[np.ndarray]) -> Path:
        """Save one batch; complete or not at all (written aside, then renamed). Returns its file."""
        if not (self.folder / _MODEL).exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / _MODEL).write_text(json.dumps({"model_id": self.model_id}), encoding="utf-8")
        name = f"batch-{uuid.uuid4().hex}"
        tmp = self.folder / f".{name}.npz"
        np.savez(tmp, keys=np.array(keys, dtype=str), vectors=np.stack(vectors).astype(np.float32),
                 sentences=np.concatenate(sentences).astype(np.float16),
                 counts=np.array([len(s) for s in sentences], dtype=np.int64))
        path = self.folder / f"{name}.npz"
        tmp.rename(path)
        return path

    def staging(self) -> Path:
        """A folder for the files a build assembles from these vectors: removed with them."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def read_batch(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(key, passage vector, sentence vectors) of each passage of a batch file."""
    with np.load(path, allow_pickle=False) as batch:
        keys, vectors, sentences, counts = batch["keys"], batch["vectors"], batch["sentences"], batch["counts"]
    bounds = np.concatenate([[0], np.cumsum(counts)])
    if not len(keys) == len(vectors) == len(counts) or bounds[-1] != len(sentences):
        raise ValueError(f"{len(keys)} keys, {len(vectors)} vectors, {len(counts)} counts, {len(sentences)} sentences")
    return [(str(key), vectors[i], sentences[bounds[i]:bounds[i + 1]]) for i, key in enumerate(keys)]
