"""Encoder backends side by side, in one run: passages/s and dense quality of each.

Run: .venv/bin/python scripts/bench_backends.py [--passages 192]
Candidates for embedding passages with the default model: sentence-transformers on torch (what
builds use); torch dynamic int8 (per-tensor; per-channel; per-channel with each layer's FFN output
kept fp32); ONNX Runtime fp32 (the export questions use); ONNX Runtime int8 (dynamic, per-channel
MatMul weights) and ONNX Runtime int8 static (QDQ, calibrated on 64 news passages).
Speed: real news passages as a build embeds them (title + chunk, cleaned and chunked by qa.build
from 300 articles of ../shared/news-corpus), longest first in batches of 16, as builds do.
Quality: dense MRR and R@1 of the 1,190 XQuAD-vi questions over its 240 passages, the passages
embedded by the candidate and the questions by fp32 (questions always go through fp32 ONNX Runtime).
Needs ../shared; says so when absent.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import dev_corpus  # noqa: E402
from qa.build import IndexParams, embedding_text, prepare  # noqa: E402
from qa.embed.e5_package import materialize_e5  # noqa: E402
from qa.embed.encoder import SentenceTransformerEncoder, resolve_model  # noqa: E402
from qa.embed.onnx_queries import export_onnx  # noqa: E402
from qa.ingest import read_corpus  # noqa: E402

XQUAD = ROOT.parent / "shared" / "eval" / "xquad_vi"
BATCH = 16


class OnnxPassages:
    def __init__(self, path: Path, folder: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(512)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("<pad>"), pad_token="<pad>")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            ids = order[start:start + BATCH]
            encoded = self.tokenizer.encode_batch([prompt + texts[i] for i in ids])
            tokens = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = self.session.run(None, {"input_ids": tokens, "attention_mask": mask})[0]
            vectors = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[ids] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return out


class TorchPassages:
    def __init__(self, int8: str | None = None):
        self.encoder = SentenceTransformerEncoder(resolve_model(None))
        if int8:
            self.encoder._model = torch_int8(self.encoder._model, int8)

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if prompt.startswith("query"):
            return self.encoder.encode_queries(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        out[order] = self.encoder.encode_passages([texts[i] for i in order])
        return out


def torch_int8(model, scheme: str):
    """torch dynamic int8 of the model's linear layers: per-tensor, per-channel, or per-channel with
    each layer's FFN output (1536 -> 384, where BERT-like activations have their outliers) kept fp32."""
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = copy.deepcopy(model)
    if scheme == "per-tensor":
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    linear = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    if scheme == "per-channel, FFN output fp32":
        linear = [n for n in linear if not (n.endswith("output.dense") and "attention" not in n)]
    return quantize_dynamic(model, dict.fromkeys(linear, per_channel_dynamic_qconfig))


def news_passages(n: int) -> list[str]:
    """Passages as a build embeds them, from 300 real news articles (random, fixed seed)."""
    with tempfile.TemporaryDirectory() as work:
        dev_corpus.write(Path(work) / "corpus", size=300)
        docs, _ = read_corpus(Path(work) / "corpus")
    params = IndexParams()
    texts = [embedding_text(p.article, c, params) for p in filter(None, (prepare(d, params) for d in docs))
             for c in p.chunks]
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), n, replace=False)]


def quantized(fp32: Path, work: Path, calibration: list[str], folder: Path) -> dict[str, Path]:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from tokenizers import Tokenizer

    dynamic, static = work / "dynamic.onnx", work / "static.onnx"
    quantize_dynamic(str(fp32), str(dynamic), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8,
                     per_channel=True, use_external_data_format=True)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(256)  # the calibrator stacks its batches: one fixed length
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("<pad>"), pad_token="<pad>", length=256)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(range(0, len(calibration), 4))

        def get_next(self):
            start = next(self.batches, None)
            if start is None:
                return None
            encoded = tokenizer.encode_batch(["passage: " + t for t in calibration[start:start + 4]])
            return {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64)}

    quantize_static(str(fp32), str(static), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"],
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, use_external_data_format=True)
    return {"onnx int8 dynamic": dynamic, "onnx int8 static": static}


def dense_quality(backend, Q: np.ndarray) -> tuple[float, float]:
    passages = [json.loads(line) for line in (XQUAD / "passages.jsonl").open(encoding="utf-8")]
    questions = [json.loads(line) for line in (XQUAD / "questions.jsonl").open(encoding="utf-8")]
    row = {p["id"]: i for i, p in enumerate(passages)}
    P = backend.encode([p["text"] for p in passages], "passage: ")
    S = Q @ P.T
    ranks = np.array([1 + int((S[i] > S[i, row[q["gold_passage_ids"][0]]]).sum()) for i, q in enumerate(questions)])
    return float(np.mean(1 / ranks)), float(np.mean(ranks == 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=192)
    args = parser.parse_args()
    if not XQUAD.exists() or not dev_corpus.NEWS.exists():
        sys.exit(f"This benchmark needs {XQUAD} and {dev_corpus.NEWS}, which are absent.")
    texts = news_passages(args.passages + 64)
    speed, calibration = texts[:args.passages], texts[args.passages:]
    folder = materialize_e5()
    fp32 = export_onnx(folder)
    questions = [json.loads(line)["question"] for line in (XQUAD / "questions.jsonl").open(encoding="utf-8")]
    Q = TorchPassages().encode(questions, "query: ")
    with tempfile.TemporaryDirectory() as work:
        backends = {"torch fp32 (sentence-transformers)": lambda: TorchPassages()}
        for scheme in ("per-tensor", "per-channel", "per-channel, FFN output fp32"):
            backends[f"torch int8 {scheme}"] = (lambda s=scheme: TorchPassages(int8=s))
        backends["onnx fp32"] = lambda: OnnxPassages(fp32, folder)
        for name, path in quantized(fp32, Path(work), calibration, folder).items():
            backends[name] = (lambda p=path: OnnxPassages(p, folder))
        print(f"{'backend':44s} {'passages/s':>10s} {'vs torch':>8s} {'dense MRR':>9s} {'R@1':>6s}")
        base = None
        for name, make in backends.items():
            backend = make()
            backend.encode(speed[:BATCH], "passage: ")  # warm-up
            started = time.perf_counter()
            backend.encode(speed, "passage: ")
            rate = len(speed) / (time.perf_counter() - started)
            base = base or rate
            mrr, r1 = dense_quality(backend, Q)
            print(f"{name:44s} {rate:10.1f} {rate / base:7.2f}x {mrr:9.4f} {r1:6.3f}", flush=True)


if __name__ == "__main__":
    main()
