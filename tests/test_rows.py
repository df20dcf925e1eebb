"""qa.index.rows: rows of a .npy file read on demand."""
from __future__ import annotations

import numpy as np
import pytest

from qa.index.rows import RowFile, RowWriter


@pytest.fixture
def saved(tmp_path):
    array = np.arange(5 * 3, dtype=np.float16).reshape(5, 3)
    path = tmp_path / "a.npy"
    np.save(path, array, allow_pickle=False)
    return path, array


def test_rows_slices_and_ids_read_what_was_saved(saved):
    path, array = saved
    rows = RowFile(path)
    assert rows.shape == (5, 3) and rows.dtype == np.float16 and len(rows) == 5
    assert np.array_equal(rows[2], array[2]) and np.array_equal(rows[-1], array[-1])
    assert np.array_equal(rows[1:4], array[1:4]) and rows[3:3].shape == (0, 3)
    assert np.array_equal(rows[np.array([4, 0, 4])], array[[4, 0, 4]])
    assert np.array_equal(np.asarray(rows), array)
    with pytest.raises(IndexError):
        rows[5]


def test_a_truncated_file_is_refused(saved):
    path, _ = saved
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ValueError, match="header promises"):
        RowFile(path)


def test_rows_stay_readable_after_the_file_is_removed(saved):
    path, array = saved
    rows = RowFile(path)
    path.unlink()  # a newer build removed the snapshot this reader opened
    assert np.array_equal(rows[0:5], array)


def test_one_dimensional_files_read_as_values(tmp_path):
    values = np.arange(10, dtype=np.int32)
    np.save(tmp_path / "v.npy", values)
    rows = RowFile(tmp_path / "v.npy")
    assert rows.shape == (10,) and rows.ndim == 1
    assert np.array_equal(rows[2:7], values[2:7]) and rows[3] == 3


def test_rows_written_in_any_order_read_back(tmp_path):
    array = np.arange(6 * 4, dtype=np.float16).reshape(6, 4)
    writer = RowWriter(tmp_path / "w.npy", array.shape, np.float16)
    writer.write(3, array[3:6])
    writer.write(0, array[0])
    writer.write(1, array[1:3])
    rows = writer.close()
    assert rows.shape == (6, 4) and np.array_equal(np.asarray(rows), array)
    assert np.array_equal(np.load(tmp_path / "w.npy"), array)
    with pytest.raises(ValueError, match="do not fit"):
        RowWriter(tmp_path / "x.npy", (2, 4), np.float32).write(1, array[:2])
