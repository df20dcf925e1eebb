"""Encoder backends side by side, in one run: passages/s and dense quality of each.

Run: .venv/bin/python scripts/bench_backends.py [--passages 192]
Candidates for the default model: sentence-transformers on torch (what builds use), ONNX Runtime
fp32 (the export questions use), ONNX Runtime int8 (dynamic, per-channel MatMul weights) and
ONNX Runtime int8 static (QDQ, calibrated on 64 news passages). Speed: real passages of the dev
news corpus (title + chunk, ~700 characters), longest first in batches of 16, as builds do.
Quality: dense MRR and R@1 of the 1,190 XQuAD-vi questions over its 240 passages.
Needs ../shared and the dev corpus index (scripts/devsets.py builds it); says so when absent.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.embed.e5_package import materialize_e5  # noqa: E402
from qa.embed.encoder import SentenceTransformerEncoder, resolve_model  # noqa: E402
from qa.embed.onnx_queries import export_onnx  # noqa: E402
from qa.index.store import load_index  # noqa: E402

XQUAD = ROOT.parent / "shared" / "eval" / "xquad_vi"
DEV_INDEX = ROOT / ".cache" / "dev" / "index"
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
    def __init__(self):
        self.encoder = SentenceTransformerEncoder(resolve_model(None))

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if prompt.startswith("query"):
            return self.encoder.encode_queries(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        out[order] = self.encoder.encode_passages([texts[i] for i in order])
        return out


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


def dense_quality(backend) -> tuple[float, float]:
    passages = [json.loads(line) for line in (XQUAD / "passages.jsonl").open(encoding="utf-8")]
    questions = [json.loads(line) for line in (XQUAD / "questions.jsonl").open(encoding="utf-8")]
    row = {p["id"]: i for i, p in enumerate(passages)}
    P = backend.encode([p["text"] for p in passages], "passage: ")
    Q = backend.encode([q["question"] for q in questions], "query: ")
    S = Q @ P.T
    ranks = np.array([1 + int((S[i] > S[i, row[q["gold_passage_ids"][0]]]).sum()) for i, q in enumerate(questions)])
    return float(np.mean(1 / ranks)), float(np.mean(ranks == 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=192)
    args = parser.parse_args()
    if not XQUAD.exists() or not DEV_INDEX.exists():
        sys.exit(f"This benchmark needs {XQUAD} and the dev index {DEV_INDEX} (scripts/devsets.py builds it).")
    data = load_index(DEV_INDEX)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(data.chunks), args.passages + 64, replace=False)
    texts = [f"{data.articles[data.chunks[i].chunk.doc_id].title}\n{data.chunks[i].chunk.text}" for i in rows]
    speed, calibration = texts[:args.passages], texts[args.passages:]
    folder = materialize_e5()
    fp32 = export_onnx(folder)
    with tempfile.TemporaryDirectory() as work:
        backends = {"torch fp32 (sentence-transformers)": lambda: TorchPassages(),
                    "onnx fp32": lambda: OnnxPassages(fp32, folder)}
        for name, path in quantized(fp32, Path(work), calibration, folder).items():
            backends[name] = (lambda p=path: OnnxPassages(p, folder))
        print(f"{'backend':38s} {'passages/s':>10s} {'vs torch':>8s} {'dense MRR':>9s} {'R@1':>6s}")
        base = None
        for name, make in backends.items():
            backend = make()
            backend.encode(speed[:BATCH], "passage: ")  # warm-up
            started = time.perf_counter()
            backend.encode(speed, "passage: ")
            rate = len(speed) / (time.perf_counter() - started)
            base = base or rate
            mrr, r1 = dense_quality(backend)
            print(f"{name:38s} {rate:10.1f} {rate / base:7.2f}x {mrr:9.4f} {r1:6.3f}", flush=True)


if __name__ == "__main__":
    main()
