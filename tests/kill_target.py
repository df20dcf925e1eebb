"""A process that forks index builds for the fault tests to SIGKILL.

Importing qa with underthesea takes seconds, so this server imports once and forks one child per
build: each child is a real process that runs `build_index` (or `qa index` through the CLI) with
the fake encoder, and can stop at a named moment until told to go on.

Protocol: one JSON object per line on stdin,
    {"argv": [...qa.cli arguments...] or null, "corpus": path, "index": path, "rebuild": bool,
     "pause": null | "embed" | "save" | "rename" | "swap" | "cleanup", "marker": path}
and for each, the child's pid on stdout. At the pause the child creates `marker`, then waits until
`marker.go` exists. Its output goes to `marker.out`; when it finishes it writes its exit status
to `marker.done`.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FakeEncoder  # noqa: E402

from qa import build, cli, engine  # noqa: E402
from qa.chunk import sentence_spans  # noqa: E402
from qa.embed.encoder import ModelRef  # noqa: E402
from qa.index import store  # noqa: E402

PAUSE_LIMIT = 120  # s: a child nobody kills or releases goes on by itself


def pause_here(marker: Path) -> None:
    marker.write_text(str(os.getpid()), encoding="utf-8")
    go = marker.with_name(marker.name + ".go")
    deadline = time.monotonic() + PAUSE_LIMIT
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


class PausingEncoder(FakeEncoder):
    """The fake encoder; pauses after the first batch of passages when told to."""

    def __init__(self, marker: Path | None):
        super().__init__()
        self.marker = marker

    def encode_passages(self, texts):
        if self.marker is not None and self.calls:
            pause_here(self.marker)
            self.marker = None
        return super().encode_passages(texts)


def install_pause(where: str | None, marker: Path) -> Path | None:
    """Make the build stop at `where`; returns the marker when the encoder is to do it."""
    if where == "embed":
        return marker
    if where is None:
        return None

    def before(module, name: str, condition=lambda *args: True):
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            if condition(*args):
                pause_here(marker)
            return real(*args, **kwargs)

        setattr(module, name, wrapped)

    if where == "save":  # articles, chunks and vectors written; FAISS, BM25 and manifest not yet
        before(store, "save_dense")
    elif where == "rename":  # the complete snapshot renamed into place, CURRENT not yet repointed
        before(store, "_fsync_dir")
    elif where == "swap":  # the new CURRENT written beside the old one, not yet swapped in
        before(os, "replace", lambda src, dst: Path(dst).name == store.CURRENT)
    elif where == "cleanup":  # CURRENT swapped: the new index is live, old snapshots not yet removed
        before(store, "_remove_stale")
    else:
        raise ValueError(where)
    return None


def run_child(job: dict) -> int:
    marker = Path(job["marker"])
    encoder = PausingEncoder(install_pause(job.get("pause"), marker))
    if job.get("argv") is not None:
        # `qa index` as typed, with every model it would load replaced by the fake encoder.
        build.load_encoder = engine.load_encoder = lambda spec: encoder
        build.resolve_model = engine.resolve_model = lambda spec: ModelRef("fake-encoder", "nowhere")
        return cli.main(job["argv"])
    build.build_index(Path(job["corpus"]), Path(job["index"]), rebuild=job.get("rebuild", False), encoder=encoder)
    return 0


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
    sentence_spans("Một câu. Câu thứ hai.")  # the sentence splitter is imported before the first fork
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            # The child's output goes to a file: stdout is the channel for pids.
            out = os.open(job["marker"] + ".out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            try:
                status = run_child(job)
            except BaseException as exc:  # the parent test reads the status, not a traceback
                print(f"child failed: {exc!r}", file=sys.stderr, flush=True)
                status = 1
            sys.stdout.flush()
            sys.stderr.flush()
            Path(job["marker"] + ".done~").write_text(str(status), encoding="utf-8")
            os.rename(job["marker"] + ".done~", job["marker"] + ".done")  # whole or absent for the reader
            os._exit(status)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
