"""Rows of a .npy file (1-D or 2-D), read on demand.

A question needs a few hundred rows of the chunk and sentence vectors, and the BM25 postings of its
few tokens. Read with `pread` rather than
loaded or memory-mapped (the kernel maps neighbouring pages in on every fault, so after a hundred
questions a mapping is resident whole), they cost no resident memory however large the index; and
the open descriptor keeps a snapshot readable after a newer build removes its folder.
"""
from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np


class RowFile:
    def __init__(self, path: Path):
        self.path = Path(path)
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(f)
            self._offset = f.tell()
        if len(shape) not in (1, 2) or fortran_order or dtype.hasobject:
            raise ValueError(f"{path.name} does not hold a C-ordered 1-D or 2-D array of numbers")
        self.shape: tuple[int, ...] = tuple(int(n) for n in shape)
        self.ndim = len(self.shape)
        self.dtype = dtype
        self._row_shape = self.shape[1:]
        self._row_bytes = int(np.prod(self._row_shape, dtype=np.int64)) * dtype.itemsize
        expected = self._offset + self.shape[0] * self._row_bytes
        if os.path.getsize(path) != expected:
            raise ValueError(f"{path.name} has {os.path.getsize(path)} bytes, its header promises {expected}")
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, count: int) -> np.ndarray:
        data = os.pread(self._fd, count * self._row_bytes, self._offset + start * self._row_bytes)
        return np.frombuffer(data, dtype=self.dtype).reshape(count, *self._row_shape)

    def __getitem__(self, key) -> np.ndarray:
        """An int gives one row; a slice with step 1 or an array of ids gives an array of rows."""
        if isinstance(key, (int, np.integer)):
            index = int(key) + (self.shape[0] if key < 0 else 0)
            if not 0 <= index < self.shape[0]:
                raise IndexError(f"row {key} out of range for {self.shape[0]} rows")
            return self._read(index, 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                raise IndexError("only contiguous slices of rows are supported")
            return self._read(start, max(0, stop - start))
        ids = np.asarray(key, dtype=np.int64).ravel()
        out = np.empty((len(ids), *self._row_shape), dtype=self.dtype)
        for i, row in enumerate(ids):
            out[i] = self[int(row)]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self._read(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)


class RowWriter:
    """A .npy file of `shape` written row by row, in any order, with `pwrite`: assembled this way
    the file is never in memory (a mapping would keep each written page resident)."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype):
        self.path = Path(path)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self._row_shape = self.shape[1:]
        self._row_bytes = int(np.prod(self._row_shape, dtype=np.int64)) * self.dtype.itemsize
        with open(path, "wb") as f:
            header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
            np.lib.format.write_array_header_1_0(f, header)
            self._offset = f.tell()
            f.truncate(self._offset + self.shape[0] * self._row_bytes)
        self._fd = os.open(path, os.O_WRONLY)
        self._close = weakref.finalize(self, os.close, self._fd)

    def write(self, start: int, rows: np.ndarray) -> None:
        """Rows `start`, `start + 1`, ... become `rows` (one row, or an array of them)."""
        data = np.ascontiguousarray(rows, dtype=self.dtype)
        if data.ndim == len(self._row_shape):
            data = data[None]
        if data.shape[1:] != self._row_shape or not 0 <= start <= self.shape[0] - len(data):
            raise ValueError(f"{len(data)} rows of shape {data.shape[1:]} do not fit at row {start} of {self.shape}")
        os.pwrite(self._fd, data.tobytes(), self._offset + start * self._row_bytes)

    def close(self) -> RowFile:
        """The written file, to be read."""
        self._close()
        return RowFile(self.path)
