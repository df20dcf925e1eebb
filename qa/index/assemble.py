"""A new snapshot's vector files, copied row by row from where each chunk's vectors already are.

Every chunk's vectors are on disk before the snapshot is written: in the previous snapshot, or in a
batch the encoder saved under `.pending/` (qa/index/pending.py). A 94,000-passage index has 145 MB of
passage vectors and 411 MB of sentence vectors; gathered in memory and then concatenated, they were
over a GB of a build's peak. Copied one passage at a time into their rows of the new files, they
cost a batch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .pending import read_batch
from .rows import RowFile, RowWriter
from .store import SENTENCE_DTYPE, IndexData


def assemble_vectors(folder: Path, keys: Sequence[str], sentence_counts: Sequence[int], dim: int,
                     previous: IndexData | None, previous_rows: dict[str, int], pending: dict[str, Path]
                     ) -> tuple[RowFile, RowFile]:
    """`vectors.npy` and `sentences.npy` in `folder` for chunks keyed `keys` (in chunk order), each
    chunk's vectors taken from its row of `previous` when `previous_rows` has its key, else from
    its batch file in `pending`."""
    starts = np.concatenate([[0], np.cumsum(sentence_counts, dtype=np.int64)])
    positions: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        positions.setdefault(key, []).append(i)  # identical texts share one embedding
    vectors = RowWriter(Path(folder) / "vectors.npy", (len(keys), dim), np.float32)
    sentences = RowWriter(Path(folder) / "sentences.npy", (int(starts[-1]), dim), SENTENCE_DTYPE)

    def put(key: str, vector: np.ndarray, rows: np.ndarray) -> None:
        for i in positions.pop(key):
            vectors.write(i, vector)
            sentences.write(int(starts[i]), rows)

    for key in [k for k in positions if k in previous_rows]:
        row, bounds = previous_rows[key], previous.sentence_starts
        put(key, previous.vectors[row], previous.sentence_vectors[bounds[row]:bounds[row + 1]])
    for path in sorted({pending[key] for key in positions if key in pending}):
        for key, vector, rows in read_batch(path):
            if key in positions:
                put(key, vector, rows)
    if positions:
        raise RuntimeError(f"no vectors for {len(positions)} chunks, e.g. {next(iter(positions))}")
    return vectors.close(), sentences.close()
