"""Tests for qa.build and qa.index.store: manifest, incremental updates, load errors, atomic swaps, locking."""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEncoder

import qa.build
import qa.clean
from qa.build import BuildReport, IndexParams, build_index
from qa.chunk import ChunkParams
from qa.errors import CorpusError, IndexLoadError
from qa.index import store
from qa.index.keywords import KeywordIndex
from qa.index.store import FORMAT_VERSION, IndexBusyError, load_index, snapshot_path, writer_lock

SEED_IDS = [
    "000_31296420974cbd9e.txt",
    "001_16ae142da84ba3c1.txt",
    "002_09f696b33375cc11.txt",
    "003_dfe8999da49fa911.txt",
    "004_3998b2236004ef4f.txt",
]
NEW_ARTICLE = """Việt Nam và Hàn Quốc ký kết thỏa thuận hợp tác về y tế

Ngày 5/6/2021, Bộ trưởng Y tế Việt Nam và Đại sứ Hàn Quốc đã ký kết thỏa thuận hợp tác trong lĩnh vực y tế.
Theo thỏa thuận, Hàn Quốc sẽ hỗ trợ Việt Nam 500.000 liều vaccine và trang thiết bị y tế.
Hai bên cũng nhất trí đẩy mạnh trao đổi chuyên gia và đào tạo nhân lực y tế trong giai đoạn 2021-2025.
"""


def recorder(encoder: FakeEncoder) -> list[str]:
    """The texts the encoder is asked to embed as passages, in order."""
    texts: list[str] = []
    original = encoder.encode_passages_and_spans

    def encode_passages_and_spans(batch, spans):
        texts.extend(batch)
        return original(batch, spans)

    encoder.encode_passages_and_spans = encode_passages_and_spans
    return texts


def snapshots(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("v-"))


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT")))


def assert_load_error(index_dir: Path, *fragments: str) -> IndexLoadError:
    with pytest.raises(IndexLoadError) as info:
        load_index(index_dir)
    message = str(info.value)
    assert str(index_dir) in message
    assert "python -m qa index" in message
    for fragment in fragments:
        assert fragment in message
    return info.value


@pytest.fixture
def built(corpus, tmp_path, fake_encoder):
    """The seed corpus indexed once with the fake encoder; returns (corpus, index_dir, first report)."""
    index_dir = tmp_path / "index"
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    return corpus, index_dir, report


# --- a first build --------------------------------------------------------------------


def test_first_build_report_and_manifest(built, fake_encoder):
    corpus, index_dir, report = built
    assert isinstance(report, BuildReport)
    assert not report.up_to_date
    assert (report.articles, report.added, report.changed, report.removed) == (5, 5, 0, 0)
    assert report.chunks >= 10
    assert report.embedded == report.chunks == sum(fake_encoder.calls)
    assert report.reused == 0
    assert report.skipped == ()

    data = load_index(index_dir)
    m = data.manifest
    assert m.model_id == "fake-encoder"
    assert m.dim == 64
    assert m.params == asdict(IndexParams())
    assert m.params["chunking"] == {"max_chars": 800, "overlap_chars": 200, "min_chars": 300}
    assert m.format_version == FORMAT_VERSION == 2
    assert (m.articles, m.chunks) == (5, report.chunks)
    assert len(m.corpus_fingerprint) == 32 and int(m.corpus_fingerprint, 16) >= 0
    assert m.created

    raw = json.loads((snapshot_path(index_dir) / "manifest.json").read_text(encoding="utf-8"))
    for key in ("model_id", "dim", "params", "corpus_fingerprint", "articles", "chunks", "format_version"):
        assert key in raw


def test_built_index_contents_are_consistent(built):
    _, index_dir, report = built
    data = load_index(index_dir)
    assert sorted(data.articles) == SEED_IDS
    assert data.vectors.shape == (report.chunks, 64)
    assert data.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(data.vectors, axis=1), 1.0, atol=1e-5)
    assert data.dense.ntotal == report.chunks
    assert [s.chunk.chunk_id for s in data.chunks] == list(range(report.chunks))
    for stored in data.chunks:
        c = stored.chunk
        assert c.text == data.articles[c.doc_id].text[c.start:c.end]
    assert len(data.keywords.scores(["asean"])) == report.chunks
    assert data.keywords.scores(["asean"]).max() > 0


def test_vectors_embed_the_title_with_the_chunk(built):
    _, index_dir, _ = built
    data = load_index(index_dir)
    enc = FakeEncoder()
    stored = data.chunks[0]
    title = data.articles[stored.chunk.doc_id].title
    expected = enc.encode_passages([f"{title}\n{stored.chunk.text}"])[0]
    assert np.allclose(data.vectors[0], expected, atol=1e-6)


def test_every_chunk_stores_its_sentences_and_their_vectors(built):
    _, index_dir, _ = built
    data = load_index(index_dir)
    enc = FakeEncoder()
    assert data.sentence_vectors.shape == (sum(len(s.chunk.sentences) for s in data.chunks), 64)
    for i, stored in enumerate(data.chunks):
        chunk = stored.chunk
        assert chunk.sentences and chunk.sentences[0][0] == 0 and chunk.sentences[-1][1] == len(chunk.text)
        texts = [chunk.text[s:e] for s, e in chunk.sentences]
        assert all(t == t.strip() and t for t in texts)
        # Spans are the embedded text's, shifted past the title: each vector is its own sentence's.
        assert np.allclose(data.sentences_of(i), enc.encode_passages(texts), atol=2e-3)


def test_sentence_vectors_are_reused_with_their_chunk(built, fake_encoder):
    corpus, index_dir, _ = built
    before = load_index(index_dir)
    (corpus / "extra.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build_index(corpus, index_dir, encoder=fake_encoder)
    after = load_index(index_dir)
    old = {s.text_hash: before.sentences_of(i) for i, s in enumerate(before.chunks)}
    for i, stored in enumerate(after.chunks):
        if stored.text_hash in old:
            assert np.array_equal(after.sentences_of(i), old[stored.text_hash])


def test_fingerprint_does_not_depend_on_file_order_or_location(built, tmp_path, fake_encoder):
    corpus, index_dir, _ = built
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(corpus, moved)
    other = tmp_path / "other-index"
    build_index(moved, other, encoder=FakeEncoder())
    assert load_index(other).manifest.corpus_fingerprint == load_index(index_dir).manifest.corpus_fingerprint


# --- incremental updates --------------------------------------------------------------


def test_second_run_is_up_to_date_and_embeds_nothing(built, fake_encoder):
    corpus, index_dir, first = built
    calls = list(fake_encoder.calls)
    live = snapshot_path(index_dir).name
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert report.up_to_date
    assert (report.added, report.changed, report.removed, report.embedded) == (0, 0, 0, 0)
    assert report.reused == report.chunks == first.chunks
    assert fake_encoder.calls == calls
    assert snapshot_path(index_dir).name == live  # nothing rewritten


def test_a_new_preparation_version_cleans_every_article_again(built, fake_encoder, monkeypatch):
    corpus, index_dir, _ = built

    def cleaner_v3(doc):
        article = qa.clean.clean_document(doc)
        return article if doc.doc_id != SEED_IDS[0] else replace(article, title="Tiêu đề mới")

    monkeypatch.setattr(qa.build, "clean_document", cleaner_v3)
    assert build_index(corpus, index_dir, encoder=fake_encoder).up_to_date  # same sources: not re-read
    monkeypatch.setattr(qa.build, "PREPARATION_VERSION", qa.build.PREPARATION_VERSION + 1)
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert (report.changed, report.embedded) == (1, len([c for c in load_index(index_dir).chunks
                                                         if c.chunk.doc_id == SEED_IDS[0]]))
    assert load_index(index_dir).articles[SEED_IDS[0]].title == "Tiêu đề mới"
    # Chunking too: a new version rebuilds even when every cleaned article is the same.
    monkeypatch.setattr(qa.build, "PREPARATION_VERSION", qa.build.PREPARATION_VERSION + 1)
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert not report.up_to_date and report.embedded == 0


def test_up_to_date_with_a_fresh_encoder_of_the_same_model(built):
    corpus, index_dir, _ = built
    enc = FakeEncoder()
    assert build_index(corpus, index_dir, encoder=enc).up_to_date
    assert enc.calls == []


def test_modified_article_re_embeds_only_its_chunks(built, fake_encoder):
    corpus, index_dir, first = built
    before = load_index(index_dir)
    target = SEED_IDS[1]
    path = corpus / target
    text = path.read_text(encoding="utf-8")
    assert "ASEAN" in text
    path.write_text(text + "\n\nĐoạn bổ sung: hai bên nhất trí tổ chức hội nghị tiếp theo tại Tokyo.\n",
                    encoding="utf-8")
    texts = recorder(fake_encoder)
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert not report.up_to_date
    assert (report.added, report.changed, report.removed) == (0, 1, 0)
    after = load_index(index_dir)
    own = [s for s in after.chunks if s.chunk.doc_id == target]
    assert 1 <= report.embedded <= len(own)
    assert report.embedded == len(texts)
    assert report.reused == report.chunks - report.embedded
    title = after.articles[target].title
    assert all(t.startswith(title + "\n") for t in texts), "only the modified article's chunks are embedded"
    assert any("Tokyo" in t for t in texts)
    # The results reflect it.
    assert "Tokyo" in after.articles[target].text
    assert "Tokyo" not in before.articles[target].text
    assert after.manifest.corpus_fingerprint != before.manifest.corpus_fingerprint
    # Reused vectors are the very vectors of the previous index.
    old = {s.text_hash: before.vectors[i] for i, s in enumerate(before.chunks)}
    for i, s in enumerate(after.chunks):
        if s.chunk.doc_id != target:
            assert np.array_equal(after.vectors[i], old[s.text_hash])


def test_added_file_is_embedded_and_searchable(built, fake_encoder):
    corpus, index_dir, first = built
    (corpus / "moi" / "005_han_quoc.txt").parent.mkdir()
    (corpus / "moi" / "005_han_quoc.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    texts = recorder(fake_encoder)
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert (report.articles, report.added, report.changed, report.removed) == (6, 1, 0, 0)
    data = load_index(index_dir)
    new_chunks = [s for s in data.chunks if s.chunk.doc_id == "moi/005_han_quoc.txt"]
    assert new_chunks
    assert report.embedded == len(new_chunks) == len(texts)
    assert report.chunks == first.chunks + len(new_chunks)
    assert data.manifest.articles == 6
    # BM25 knows the new article's words.
    scores = data.keywords.scores(["~han", "~quoc", "~han_quoc"])
    best = int(np.argmax(scores))
    assert data.chunks[best].chunk.doc_id == "moi/005_han_quoc.txt"



def test_only_new_or_changed_files_are_cleaned_again(built, fake_encoder, monkeypatch):
    corpus, index_dir, _ = built
    before = load_index(index_dir)
    (corpus / "005_han_quoc.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    first = corpus / SEED_IDS[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nMột câu mới được thêm vào cuối bài.\n", encoding="utf-8")
    from qa import build

    cleaned = []
    original = build.clean_document
    monkeypatch.setattr(build, "clean_document", lambda doc: cleaned.append(doc.doc_id) or original(doc))
    build_index(corpus, index_dir, encoder=fake_encoder)
    assert sorted(cleaned) == sorted([SEED_IDS[0], "005_han_quoc.txt"])
    after = load_index(index_dir)
    # Articles taken over keep their chunks, renumbered in corpus order.
    assert [s.chunk.chunk_id for s in after.chunks] == list(range(len(after.chunks)))
    for doc_id in SEED_IDS[1:]:
        assert after.articles[doc_id] == before.articles[doc_id]
        old = [(s.chunk.text, s.chunk.sentences, s.text_hash) for s in before.chunks if s.chunk.doc_id == doc_id]
        new = [(s.chunk.text, s.chunk.sentences, s.text_hash) for s in after.chunks if s.chunk.doc_id == doc_id]
        assert new == old

def test_deleted_file_is_removed_from_the_index(built, fake_encoder):
    corpus, index_dir, first = built
    gone = SEED_IDS[3]
    before = load_index(index_dir)
    gone_chunks = sum(1 for s in before.chunks if s.chunk.doc_id == gone)
    (corpus / gone).unlink()
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert (report.articles, report.added, report.changed, report.removed) == (4, 0, 0, 1)
    assert report.embedded == 0
    assert report.chunks == first.chunks - gone_chunks
    data = load_index(index_dir)
    assert gone not in data.articles
    assert all(s.chunk.doc_id != gone for s in data.chunks)
    assert data.vectors.shape[0] == data.dense.ntotal == report.chunks
    # chunk ids are renumbered densely
    assert [s.chunk.chunk_id for s in data.chunks] == list(range(report.chunks))


def test_identical_chunk_texts_are_embedded_once(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    (corpus / "b.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    texts = recorder(fake_encoder)
    report = build_index(corpus, tmp_path / "index", encoder=fake_encoder)
    assert report.articles == 2
    assert report.chunks == 2 * report.embedded
    assert len(texts) == len(set(texts)) == report.embedded
    data = load_index(tmp_path / "index")
    half = report.chunks // 2
    assert np.array_equal(data.vectors[:half], data.vectors[half:])


def test_rebuild_re_embeds_everything(built, fake_encoder):
    corpus, index_dir, first = built
    report = build_index(corpus, index_dir, encoder=fake_encoder, rebuild=True)
    assert not report.up_to_date
    assert report.embedded == report.chunks == first.chunks
    assert report.reused == 0
    assert (report.added, report.changed, report.removed) == (5, 0, 0)
    assert sum(fake_encoder.calls) == 2 * first.chunks


def test_another_model_does_not_reuse_vectors(built):
    corpus, index_dir, first = built
    other = FakeEncoder(model_id="other", dim=32)
    report = build_index(corpus, index_dir, encoder=other)
    assert not report.up_to_date
    assert report.embedded == report.chunks == sum(other.calls)
    assert report.reused == 0
    data = load_index(index_dir)
    assert data.manifest.model_id == "other"
    assert data.manifest.dim == 32 == data.vectors.shape[1]


def test_other_model_with_the_same_dim_is_not_reused_either(built):
    corpus, index_dir, first = built
    other = FakeEncoder(model_id="other")
    report = build_index(corpus, index_dir, encoder=other)
    assert report.embedded == first.chunks
    assert load_index(index_dir).manifest.model_id == "other"


def test_changed_chunking_params_rechunk_everything_and_reuse_identical_chunks(built, fake_encoder):
    corpus, index_dir, first = built
    before = {c.text_hash for c in load_index(index_dir).chunks}
    params = IndexParams(chunking=ChunkParams(max_chars=400, overlap_chars=100, min_chars=150))
    report = build_index(corpus, index_dir, encoder=fake_encoder, params=params)
    assert not report.up_to_date
    assert report.chunks > first.chunks
    data = load_index(index_dir)
    assert data.manifest.params["chunking"]["max_chars"] == 400
    assert all(len(c.chunk.text) <= 400 for c in data.chunks)
    assert report.reused == sum(c.text_hash in before for c in data.chunks)
    # And with those params the next run is up to date.
    assert build_index(corpus, index_dir, encoder=fake_encoder, params=params).up_to_date


def test_damaged_previous_index_is_rebuilt_from_scratch(built, fake_encoder):
    corpus, index_dir, first = built
    vectors = snapshot_path(index_dir) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:200])
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert report.embedded == first.chunks
    assert load_index(index_dir).vectors.shape == (first.chunks, 64)


def test_skipped_files_are_reported(corpus, tmp_path, fake_encoder):
    (corpus / "anh.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "rong.txt").write_text("", encoding="utf-8")
    report = build_index(corpus, tmp_path / "index", encoder=fake_encoder)
    assert report.articles == 5
    assert sorted(s.name for s in report.skipped) == ["anh.txt", "rong.txt"]


def test_corpus_without_articles_keeps_the_existing_index(built, tmp_path, fake_encoder):
    _, index_dir, first = built
    empty = tmp_path / "empty"
    empty.mkdir()
    live = snapshot_path(index_dir).name
    with pytest.raises(CorpusError):
        build_index(empty, index_dir, encoder=fake_encoder)
    assert snapshot_path(index_dir).name == live
    assert load_index(index_dir).manifest.chunks == first.chunks


def test_missing_corpus_raises_corpus_error(tmp_path, fake_encoder):
    with pytest.raises(CorpusError):
        build_index(tmp_path / "nope", tmp_path / "index", encoder=fake_encoder)


def test_jsonl_corpus_builds(tmp_path, fake_encoder):
    corpus = tmp_path / "news.jsonl"
    rows = [{"id": "hq", "title": "Hàn Quốc hỗ trợ vaccine", "text": NEW_ARTICLE, "date": "2021-06-05",
             "source": "TTXVN"},
            {"id": "jp", "title": "Nhật Bản", "text": "Nhật Bản viện trợ 1 triệu liều vaccine cho Việt Nam."}]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    report = build_index(corpus, tmp_path / "index", encoder=fake_encoder)
    assert report.articles == 2
    data = load_index(tmp_path / "index")
    assert data.articles["hq"].date == "2021-06-05"
    assert data.articles["hq"].source == "TTXVN"
    assert data.articles["jp"].title == "Nhật Bản"


# --- load errors -----------------------------------------------------------------------


def test_missing_index_folder(tmp_path):
    assert_load_error(tmp_path / "nowhere", "Chưa có chỉ mục")


def test_missing_current(built):
    _, index_dir, _ = built
    (index_dir / "CURRENT").unlink()
    assert_load_error(index_dir)


@pytest.mark.parametrize("pointer", ["v-20200101T000000-abcdef", "", "../elsewhere", "v-../../etc", "manifest.json"])
def test_current_pointing_nowhere(built, pointer):
    _, index_dir, _ = built
    (index_dir / "CURRENT").write_text(pointer, encoding="utf-8")
    assert_load_error(index_dir)


def test_truncated_vectors(built):
    _, index_dir, _ = built
    vectors = snapshot_path(index_dir) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:1000])
    assert_load_error(index_dir, "bị hỏng")


def test_vectors_with_too_few_rows(built):
    _, index_dir, _ = built
    vectors = snapshot_path(index_dir) / "vectors.npy"
    np.save(vectors, np.load(vectors)[:-1])
    assert_load_error(index_dir, "không nhất quán")


def test_vectors_of_the_wrong_dimension(built):
    _, index_dir, _ = built
    vectors = snapshot_path(index_dir) / "vectors.npy"
    np.save(vectors, np.load(vectors)[:, :32])
    assert_load_error(index_dir)


@pytest.mark.parametrize("content", ["{", "not json", "", '{"model_id": "x"}'])
def test_corrupted_manifest(built, content):
    _, index_dir, _ = built
    (snapshot_path(index_dir) / "manifest.json").write_text(content, encoding="utf-8")
    assert_load_error(index_dir)


def test_missing_manifest(built):
    _, index_dir, _ = built
    (snapshot_path(index_dir) / "manifest.json").unlink()
    assert_load_error(index_dir)


def test_changed_format_version(built):
    _, index_dir, _ = built
    path = snapshot_path(index_dir) / "manifest.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["format_version"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert_load_error(index_dir, "format version", "--rebuild")


@pytest.mark.parametrize("name", ["dense.faiss", "chunks.jsonl", "articles.jsonl", "bm25/vocab.index.json",
                                  "bm25/data.csc.index.npy"])
def test_truncated_snapshot_files(built, name):
    _, index_dir, _ = built
    path = snapshot_path(index_dir) / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_load_error(index_dir)


def test_missing_bm25_folder(built):
    _, index_dir, _ = built
    shutil.rmtree(snapshot_path(index_dir) / "bm25")
    assert_load_error(index_dir)


def test_chunk_count_disagreeing_with_the_manifest(built):
    _, index_dir, _ = built
    path = snapshot_path(index_dir) / "chunks.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    assert_load_error(index_dir, "không nhất quán")


def test_empty_vectors_file(built):
    _, index_dir, _ = built
    (snapshot_path(index_dir) / "vectors.npy").write_bytes(b"")
    assert_load_error(index_dir, "bị hỏng")


def test_build_repairs_an_index_with_an_empty_vectors_file(built, fake_encoder):
    corpus, index_dir, first = built
    (snapshot_path(index_dir) / "vectors.npy").write_bytes(b"")
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert report.embedded == first.chunks


@pytest.mark.parametrize("content", ["[1, 2]", "null", "3"])
def test_manifest_that_is_not_an_object(built, content):
    _, index_dir, _ = built
    (snapshot_path(index_dir) / "manifest.json").write_text(content, encoding="utf-8")
    assert_load_error(index_dir)


# --- atomic snapshots -----------------------------------------------------------------


def change_one_article(corpus: Path) -> None:
    (corpus / "005_moi.txt").write_text(NEW_ARTICLE, encoding="utf-8")


@pytest.mark.parametrize("target", ["keywords", "vectors", "manifest", "fsync"])
def test_failure_during_save_keeps_the_previous_index(built, fake_encoder, monkeypatch, target):
    corpus, index_dir, first = built
    live = snapshot_path(index_dir).name

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if target == "keywords":
        monkeypatch.setattr(KeywordIndex, "save", boom)
    elif target == "vectors":
        monkeypatch.setattr(store.np, "save", boom)
    elif target == "manifest":  # the snapshot's last file
        real_write_text = Path.write_text

        def write_text(self, *args, **kwargs):
            if self.name == "manifest.json":
                boom()
            return real_write_text(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)
    else:
        monkeypatch.setattr(store.os, "fsync", boom)
    change_one_article(corpus)
    with pytest.raises(OSError):
        build_index(corpus, index_dir, encoder=fake_encoder)
    monkeypatch.undo()

    assert snapshot_path(index_dir).name == live
    assert snapshots(index_dir) == [live]
    assert leftovers(index_dir) == []
    data = load_index(index_dir)
    assert data.manifest.articles == 5 and data.manifest.chunks == first.chunks
    # The lock was released: the next build goes through.
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert report.added == 1
    assert load_index(index_dir).manifest.articles == 6


def test_keyboard_interrupt_during_save_cleans_up(built, fake_encoder, monkeypatch):
    corpus, index_dir, _ = built
    live = snapshot_path(index_dir).name

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "save_dense", interrupt)
    change_one_article(corpus)
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, index_dir, encoder=fake_encoder)
    assert snapshots(index_dir) == [live]
    assert leftovers(index_dir) == []
    assert load_index(index_dir).manifest.articles == 5


def test_failure_at_the_current_swap_leaves_nothing_behind(built, fake_encoder, monkeypatch):
    corpus, index_dir, _ = built
    live = snapshot_path(index_dir).name
    real_replace = store.os.replace

    def failing_replace(src, dst):
        if Path(dst).name == "CURRENT":
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", failing_replace)
    change_one_article(corpus)
    with pytest.raises(OSError):
        build_index(corpus, index_dir, encoder=fake_encoder)
    monkeypatch.undo()
    assert snapshot_path(index_dir).name == live
    assert load_index(index_dir).manifest.articles == 5  # the old index is still the live one
    assert snapshots(index_dir) == [live] and leftovers(index_dir) == []


def test_old_snapshot_is_removed_after_a_successful_build(built, fake_encoder):
    corpus, index_dir, _ = built
    first = snapshot_path(index_dir).name
    (index_dir / ".tmp-deadbeef").mkdir()  # left by a build that was killed
    change_one_article(corpus)
    build_index(corpus, index_dir, encoder=fake_encoder)
    second = snapshot_path(index_dir).name
    assert second != first
    # The previous snapshot is kept one generation, for readers that resolved CURRENT before the swap.
    assert set(snapshots(index_dir)) == {first, second}
    assert leftovers(index_dir) == []
    assert (index_dir / "CURRENT").read_text(encoding="utf-8").strip() == second
    (corpus / "005_moi.txt").write_text(NEW_ARTICLE + "\n\nThêm một đoạn.", encoding="utf-8")
    (index_dir / ".CURRENT.abc123").write_text(first, encoding="utf-8")  # left by a killed swap
    build_index(corpus, index_dir, encoder=fake_encoder)
    third = snapshot_path(index_dir).name
    assert set(snapshots(index_dir)) == {second, third}
    assert leftovers(index_dir) == []


def test_an_up_to_date_build_clears_what_a_killed_build_left(built, fake_encoder):
    corpus, index_dir, _ = built
    live = snapshot_path(index_dir)
    for name in ("v-20000101T000000-aaaaaa", "v-20000102T000000-bbbbbb"):  # older snapshots
        shutil.copytree(live, index_dir / name)
    (index_dir / ".tmp-deadbeef").mkdir()
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert report.up_to_date
    # The live snapshot and the newest other one stay, for a reader that resolved CURRENT before a swap.
    assert snapshots(index_dir) == sorted([live.name, "v-20000102T000000-bbbbbb"])
    assert leftovers(index_dir) == []
    assert load_index(index_dir).manifest.chunks == report.chunks


def test_reader_during_a_swap_gets_one_consistent_snapshot(built, fake_encoder, monkeypatch):
    corpus, index_dir, first = built
    change_one_article(corpus)
    real_snapshot_manifest = store._snapshot_manifest
    swapped = []

    def read_manifest_then_swap(folder, index_dir):
        manifest = real_snapshot_manifest(folder, index_dir)
        if not swapped:
            swapped.append(True)
            build_index(corpus, index_dir, encoder=fake_encoder)  # another process updates the index
        return manifest

    monkeypatch.setattr(store, "_snapshot_manifest", read_manifest_then_swap)
    data = load_index(index_dir)
    assert data.manifest.articles == len(data.articles)


# --- writer lock -----------------------------------------------------------------------


def test_second_writer_gets_index_busy(tmp_path):
    index_dir = tmp_path / "index"
    with writer_lock(index_dir):
        with pytest.raises(IndexBusyError) as info:
            with writer_lock(index_dir):
                pass  # pragma: no cover
        assert str(index_dir) in str(info.value)
    with writer_lock(index_dir):  # released: free again
        pass


def test_build_while_another_writer_holds_the_lock(built, fake_encoder):
    corpus, index_dir, first = built
    live = snapshot_path(index_dir).name
    change_one_article(corpus)
    calls = list(fake_encoder.calls)
    with writer_lock(index_dir):
        with pytest.raises(IndexBusyError):
            build_index(corpus, index_dir, encoder=fake_encoder)
    assert fake_encoder.calls == calls
    assert snapshot_path(index_dir).name == live
    assert build_index(corpus, index_dir, encoder=fake_encoder).added == 1


def test_lock_is_released_when_the_build_fails(tmp_path, fake_encoder):
    index_dir = tmp_path / "index"
    with pytest.raises(CorpusError):
        build_index(tmp_path / "nope", index_dir, encoder=fake_encoder)
    with writer_lock(index_dir):
        pass


def test_large_indexes_use_quantized_hnsw_that_finds_the_exact_neighbours(tmp_path, monkeypatch):
    from qa.index import dense

    monkeypatch.setattr(dense, "EXACT_LIMIT", 100)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense.save_dense(dense.build_dense(vectors), tmp_path / "dense.faiss")
    index = dense.load_dense(tmp_path / "dense.faiss")
    assert type(index).__name__ == "IndexHNSWSQ" and index.hnsw.efSearch == dense.HNSW_EF_SEARCH
    queries = vectors[:50] + rng.normal(scale=0.3, size=(50, 32)).astype(np.float32)
    _, candidates = index.search(queries, 100)
    for q, ids in zip(queries, candidates):
        # The retriever rescores the candidates with the exact vectors, as here.
        found = ids[np.argsort(-(vectors[ids] @ q))[:10]]
        assert set(found) == set(np.argsort(-(vectors @ q))[:10])


def test_a_build_reads_only_what_it_reuses(built, fake_encoder):
    # The previous snapshot's dense and keyword indexes are made anew: a build neither reads nor
    # holds them (hundreds of MB at 20,000 articles), so their loss costs nothing.
    corpus, index_dir, _ = built
    folder = snapshot_path(index_dir)
    (folder / "dense.faiss").unlink()
    shutil.rmtree(folder / "bm25")
    light = load_index(index_dir, searchable=False)
    assert light.dense is None and light.keywords is None and len(light.chunks) == light.manifest.chunks
    (Path(corpus) / "new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    report = build_index(corpus, index_dir, encoder=fake_encoder)
    assert report.reused == len(light.chunks) and report.embedded > 0
    assert load_index(index_dir).dense.ntotal == report.chunks
