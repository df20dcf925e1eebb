"""Passages embedded on a Ray cluster (`qa index --ray ADDRESS`).

Ray Data spreads the passages over worker actors, one encoder each, loaded once per actor from the
same model spec as a local build; the driver keeps cleaning, chunking and writing the index, so
chunk ids are the same as a local build's and vectors equal within float tolerance. Results come
back in input order, as they are made: the build saves each batch as it arrives (a killed build
loses one batch at most). Questions are never embedded on the cluster.
"""
from __future__ import annotations

import json
import logging
from typing import Iterator, Sequence

import numpy as np

from ..errors import QAError

_BATCH = 16  # passages an actor embeds at a time, as a local build does


class RayError(QAError):
    pass


class _Embedder:
    """One encoder per actor."""

    def __init__(self, spec: str):
        from .encoder import load_encoder

        self.encoder = load_encoder(spec)

    def __call__(self, batch: dict) -> dict:
        spans = [[tuple(s) for s in json.loads(x)] for x in batch["spans"]]
        passages, sentences = self.encoder.encode_passages_and_spans(list(batch["text"]), spans)
        return {"i": batch["i"], "vector": np.asarray(passages, dtype=np.float32),
                "sentences": np.array([np.asarray(s, dtype=np.float32).tobytes() for s in sentences], dtype=object)}


def _dimension(spec: str) -> int:
    from .encoder import load_encoder

    return load_encoder(spec).dim


class RayEncoder:
    """Embeds passages on the cluster at `address` with the model `spec` names (which the workers
    load: a local path must exist on every node)."""

    def __init__(self, address: str, spec: str, actors: int | None = None):
        import ray

        from .encoder import resolve_model

        try:
            ray.init(address=address, ignore_reinit_error=True, logging_level=logging.WARNING, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayError(f"Không kết nối được cụm Ray ở {address}: {exc}. Hãy kiểm tra địa chỉ "
                           "(ray start --head in ra địa chỉ) và rằng cụm đang chạy.") from None
        self.spec, self.model_id = spec, resolve_model(spec).model_id
        self.actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.dim = ray.get(ray.remote(_dimension).options(num_cpus=1).remote(spec))

    def stream(self, inputs: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(passage vector, its sentences' vectors) for each (text, sentence spans), in order."""
        import ray

        if not inputs:
            return
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        items = [{"i": i, "text": text, "spans": json.dumps([list(s) for s in spans])}
                 for i, (text, spans) in enumerate(inputs)]
        data = ray.data.from_items(items).map_batches(
            _Embedder, fn_constructor_kwargs={"spec": self.spec}, batch_size=_BATCH, concurrency=self.actors,
            num_cpus=1, batch_format="numpy")
        expected = 0
        for batch in data.iter_batches(batch_size=None, batch_format="numpy"):
            for i, vector, sentences in zip(batch["i"], batch["vector"], batch["sentences"]):
                if int(i) != expected:  # order is what lets results be matched to passages
                    raise RayError(f"Cụm Ray trả kết quả sai thứ tự ({int(i)} thay vì {expected}).")
                expected += 1
                yield (np.asarray(vector, dtype=np.float32),
                       np.frombuffer(sentences, dtype=np.float32).reshape(-1, self.dim))
