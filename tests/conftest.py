"""Shared fixtures: a deterministic fake encoder so unit tests never load a model."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.normalize import fold_diacritics
from qa.rerank import RANK_FEATURES, RerankParams
from qa.tokens import syllables

# The fused order, reranking aside: the reranker's weights are fitted to the real encoder's cosines,
# which a fake encoder's do not resemble; tests of fusion and follow-ups rank by fusion alone.
FUSION_ORDER = RerankParams(weights=(1.0,) + (0.0,) * (len(RANK_FEATURES) - 1))

ROOT = Path(__file__).resolve().parents[1]
SEED_CORPUS = ROOT / "corpus"


class FakeEncoder:
    """Hashes folded syllables into a bag-of-words vector: similar texts get similar vectors."""

    def __init__(self, model_id: str = "fake-encoder", dim: int = 64):
        self.model_id = model_id
        self.dim = dim
        self.calls: list[int] = []

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in syllables(text):
            h = int(hashlib.md5(fold_diacritics(word).encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0
        v[0] += 0.01  # never the zero vector
        return v / np.linalg.norm(v)

    def encode_queries(self, texts):
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts):
        self.calls.append(len(texts))
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages_and_spans(self, texts, spans):
        """Each span is embedded as a text of its own: deterministic, and close to what pooling gives."""
        passages = self.encode_passages(texts)
        pooled = [np.stack([self._vector(text[s:e]) for s, e in text_spans]) if text_spans
                  else np.zeros((0, self.dim), np.float32) for text, text_spans in zip(texts, spans)]
        return passages, pooled


class DiesAfter(FakeEncoder):
    """Embeds `batches` batches, then fails as a killed process would."""

    def __init__(self, batches: int):
        super().__init__()
        self.batches = batches

    def encode_passages_and_spans(self, texts, spans):
        if len(self.calls) == self.batches:
            raise KeyboardInterrupt
        return super().encode_passages_and_spans(texts, spans)


def many_articles(folder, n=60):
    """A corpus folder of `n` articles of ~2,800 characters: several batches of 64 passages."""
    folder.mkdir()
    for i in range(n):
        body = " ".join(f"Câu số {j} của bài {i} nói về hợp tác ASEAN năm {2000 + j}." for j in range(40))
        (folder / f"a{i:02d}.txt").write_text(f"Bài viết số {i}\n\n{body}\n", encoding="utf-8")
    return folder


@pytest.fixture
def fake_model(monkeypatch):
    """Every model the CLI would load is the fake encoder; records the specs asked for."""
    from qa import build, build_store, engine
    from qa.embed.encoder import ModelRef

    loaded: list = []

    def load_encoder(spec):
        loaded.append(spec)
        return FakeEncoder()

    def resolve_model(spec):
        return ModelRef("fake-encoder", "nowhere")

    # build and engine import these names: patch them where they are used.
    monkeypatch.setattr(build, "load_encoder", load_encoder)
    monkeypatch.setattr(build, "resolve_model", resolve_model)
    monkeypatch.setattr(build_store, "load_encoder", load_encoder)
    monkeypatch.setattr(build_store, "resolve_model", resolve_model)
    monkeypatch.setattr(engine, "load_encoder", load_encoder)
    monkeypatch.setattr(engine, "resolve_model", resolve_model)
    return loaded


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`python -m qa ARGV` in-process: (exit status, stdout, stderr)."""
    from qa import cli

    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A private copy of the seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, target)
    return target


def make_docx(title: str = "Tuyên bố chung Việt Nam - Nhật Bản") -> bytes:
    """A press release as DOCX, built with python-docx: a title, two paragraphs and a table."""
    import io

    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    document.add_paragraph("Ngày 24/11/2023, Chủ tịch nước Võ Văn Thưởng và Thủ tướng Nhật Bản Kishida Fumio "
                           "nhất trí nâng quan hệ lên Đối tác chiến lược toàn diện vì hòa bình và thịnh vượng.")
    document.add_paragraph("Nhật Bản cam kết hỗ trợ Việt Nam đào tạo 1.000 kỹ sư bán dẫn mỗi năm.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Vốn ODA"
    table.rows[0].cells[1].text = "500 tỷ yên"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
