"""qa.index.chunk_file: a snapshot's chunks read on demand through the table beside them."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from qa.build import build_index
from qa.errors import IndexLoadError
from qa.index import chunk_file
from qa.index.chunk_file import CHUNKS_FILE, TABLE_FILE, ChunkFile, scan_table
from qa.index.store import load_index, snapshot_path


@pytest.fixture
def index_dir(corpus, tmp_path, fake_encoder):
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, encoder=fake_encoder)
    return index_dir


def in_memory(index_dir):
    """The chunks as a build holds them."""
    return load_index(index_dir, searchable=False)


def test_a_loaded_snapshot_reads_its_chunks_on_demand_and_they_are_the_built_ones(index_dir):
    data, whole = load_index(index_dir), in_memory(index_dir)
    assert isinstance(data.chunks, ChunkFile) and isinstance(whole.chunks, list)
    assert [data.chunk(i) for i in range(data.chunk_count)] == [s.chunk for s in whole.chunks]
    assert list(data.chunks) == whole.chunks and data.chunks[1:3] == whole.chunks[1:3]
    assert np.array_equal(data.sentence_starts, whole.sentence_starts)
    doc_ids = set(list(data.articles)[1:3])
    assert data.rows_of(doc_ids) == whole.rows_of(doc_ids) != []
    assert data.rows_of({"no such article"}) == []


def test_the_table_written_with_the_chunks_is_the_one_a_scan_finds(index_dir):
    folder = snapshot_path(index_dir)
    written = load_index(index_dir).chunks.table
    scanned = scan_table(folder / CHUNKS_FILE, list(load_index(index_dir).articles))
    for name in ("offsets", "article_rows", "sentence_starts"):
        assert np.array_equal(getattr(written, name), getattr(scanned, name)), name


@pytest.mark.parametrize("how", ["delete", "truncate", "another file's table"])
def test_a_missing_or_damaged_table_is_read_again_from_the_chunks_and_saved(index_dir, tmp_path, corpus, fake_encoder,
                                                                            how):
    folder = snapshot_path(index_dir)
    expected = [s.chunk for s in in_memory(index_dir).chunks]
    table = folder / TABLE_FILE
    if how == "delete":
        table.unlink()
    elif how == "truncate":
        table.write_bytes(table.read_bytes()[:100])
    else:  # the table of a smaller corpus: offsets that do not fit this chunks file
        other = tmp_path / "other"
        (tmp_path / "small").mkdir()
        shutil.copy(next(corpus.iterdir()), tmp_path / "small")
        build_index(tmp_path / "small", other, encoder=fake_encoder)
        shutil.copy(snapshot_path(other) / TABLE_FILE, table)
    data = load_index(index_dir)
    assert [data.chunk(i) for i in range(data.chunk_count)] == expected
    assert np.array_equal(np.load(table)["offsets"], data.chunks.table.offsets)  # saved for the next reader


def test_a_snapshot_where_the_table_cannot_be_written_still_opens(index_dir, monkeypatch):
    (snapshot_path(index_dir) / TABLE_FILE).unlink()

    def read_only(folder, table):
        raise PermissionError(13, "Permission denied", str(folder / TABLE_FILE))

    monkeypatch.setattr(chunk_file, "save_table", read_only)
    data = load_index(index_dir)
    assert data.chunk(0).text and not (snapshot_path(index_dir) / TABLE_FILE).exists()


def test_a_chunk_line_damaged_after_its_table_was_written_names_the_index_and_the_rebuild(index_dir):
    path = snapshot_path(index_dir) / CHUNKS_FILE
    raw = bytearray(path.read_bytes())
    raw[0:1] = b"#"  # same size: the table still fits, the first line no longer parses
    path.write_bytes(bytes(raw))
    data = load_index(index_dir)
    assert data.chunk(1).text
    with pytest.raises(IndexLoadError, match="--rebuild") as info:
        data.chunk(0)
    assert str(index_dir) in str(info.value)


def test_a_chunk_out_of_range_is_an_index_error(index_dir):
    data = load_index(index_dir)
    with pytest.raises(IndexError):
        data.chunks[data.chunk_count]
