"""The index under faults, with real processes: a rebuild killed by SIGKILL at chosen and at random
moments, and two `qa index` runs on one index at once.

The builds run in children forked by tests/kill_target.py (with the fake encoder), so the kernel
kills them mid-write exactly as it would kill `qa index`.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SEED_CORPUS, FakeEncoder

from qa.build import build_index
from qa.engine import Engine
from qa.index.store import snapshot_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUESTION = "ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược như thế nào?"
COPIES = 2  # the grown corpus: the 5 seed articles and 2 retitled copies of each; 113 chunks, 2 batches
HANG_GUARD = 120  # s; only reached when something hangs


@pytest.fixture(scope="module")
def forker():
    """start(marker, **job) -> pid of a child running the job (see tests/kill_target.py)."""
    proc = subprocess.Popen([sys.executable, str(HERE / "kill_target.py")], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def start(marker: Path, **job) -> int:
        proc.stdin.write(json.dumps({**job, "marker": str(marker)}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"kill_target.py exited with {proc.wait()}")
        return int(line)

    yield start
    proc.stdin.close()
    proc.wait(timeout=HANG_GUARD)


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def kill(pid: int) -> bool:
    """SIGKILL `pid` and wait until it is gone; False when it had already ended."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        assert time.monotonic() < deadline, f"process {pid} survived SIGKILL"
        time.sleep(0.01)


def done(marker: Path) -> Path:
    return marker.with_name(marker.name + ".done")


def snapshots(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("v-"))


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT")))


def grow(corpus: Path) -> int:
    """Add retitled copies of every article (new titles: new texts to embed); the article count."""
    for path in sorted(SEED_CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for n in range(COPIES):
            # a title line of its own: every copy gets a new title, so new texts to embed
            (corpus / f"copy{n}_{path.name}").write_text(f"Bản sao số {n} của bài viết\n\n{text}", encoding="utf-8")
    return len(list(corpus.glob("*.txt")))


def ask(index_dir: Path):
    engine = Engine.open(index_dir, encoder=FakeEncoder())
    return engine.store.manifest.articles, engine.ask(QUESTION)


@pytest.fixture
def indexed(tmp_path):
    """(corpus, index_dir, answer): the seed corpus indexed, then grown on disk but not yet indexed."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, encoder=FakeEncoder())
    articles, answer = ask(index_dir)
    assert articles == 5
    assert grow(corpus) == 5 * (COPIES + 1)
    return corpus, index_dir, answer


@pytest.fixture(scope="module")
def grown_answer(tmp_path_factory):
    """The answer from a complete index of the grown corpus."""
    root = tmp_path_factory.mktemp("grown")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    grow(root / "corpus")
    build_index(root / "corpus", root / "index", encoder=FakeEncoder())
    return ask(root / "index")


def check_after_kill(index_dir: Path, corpus: Path, old_answer, grown) -> int:
    """The live index is the old or the new one, whole, answering as it should; the next build
    completes and clears what the killed one left. Returns the article count found after the kill."""
    articles, answer = ask(index_dir)
    assert (articles, answer) in [(5, old_answer), grown]
    report = build_index(corpus, index_dir, encoder=FakeEncoder())
    assert report.articles == grown[0]
    assert ask(index_dir) == grown
    assert leftovers(index_dir) == []
    if not report.up_to_date:
        # A build that writes keeps the live snapshot and the one before it, nothing else. (One that
        # finds the index up to date writes nothing and leaves a killed build's old snapshot.)
        assert snapshot_path(index_dir).name in snapshots(index_dir) and len(snapshots(index_dir)) <= 2
    return articles


# Where the rebuild is stopped, what it has left on disk by then, and which index is live.
MOMENTS = {
    "embed": ("after the first batch of passages", [], 5),
    "save": ("snapshot half written in a temporary folder", [".tmp-"], 5),
    "rename": ("snapshot complete, CURRENT not yet repointed", ["v-"], 5),
    "swap": ("new CURRENT written beside the old", [".CURRENT.", "v-"], 5),
    "cleanup": ("CURRENT swapped, old snapshots not yet removed", [], 5 * (COPIES + 1)),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_rebuild_killed_at_a_chosen_moment(forker, indexed, grown_answer, tmp_path, moment):
    corpus, index_dir, old_answer = indexed
    _, left, live = MOMENTS[moment]
    live_before = snapshots(index_dir)
    marker = tmp_path / "paused"
    pid = forker(marker, corpus=str(corpus), index=str(index_dir), rebuild=True, pause=moment)
    wait_for(marker)
    assert kill(pid) and not done(marker).exists()
    new = sorted(set(os.listdir(index_dir)) - set(live_before) - {"CURRENT", ".lock"})
    assert [prefix for prefix in left if not any(n.startswith(prefix) for n in new)] == [], new
    assert check_after_kill(index_dir, corpus, old_answer, grown_answer) == live


def test_rebuild_killed_at_random_moments(forker, indexed, grown_answer, tmp_path, capsys):
    corpus, index_dir, old_answer = indexed
    # How long an undisturbed rebuild takes in a child (the faster of two: the first warms caches),
    # then kills spread over that time.
    durations = []
    for n in range(2):
        marker = tmp_path / f"timed{n}"
        started = time.monotonic()
        forker(marker, corpus=str(corpus), index=str(index_dir), rebuild=True)
        wait_for(done(marker))
        durations.append(time.monotonic() - started)
        assert done(marker).read_text() == "0"
    duration = min(durations)
    shutil.rmtree(index_dir)
    build_index(SEED_CORPUS, index_dir, encoder=FakeEncoder())  # back to the 5-article index
    rng = random.Random(1)
    kills = 5
    delays = [duration * (n + rng.random()) / kills for n in range(kills)]  # one in each fifth of the run
    found = []
    for n, delay in enumerate(delays):
        marker = tmp_path / f"run{n}"
        pid = forker(marker, corpus=str(corpus), index=str(index_dir), rebuild=True)
        time.sleep(delay)
        killed = kill(pid) and not done(marker).exists()
        found.append((check_after_kill(index_dir, corpus, old_answer, grown_answer), killed))
        build_index(SEED_CORPUS, index_dir, encoder=FakeEncoder())
    with capsys.disabled():
        print(f"\nrebuild in a child: {duration:.2f} s; SIGKILL at {', '.join(f'{d:.2f}' for d in delays)} s: "
              f"(articles live after it, killed before the end) {found}")


def test_second_qa_index_stops_with_a_clear_message(forker, indexed, tmp_path):
    corpus, index_dir, _ = indexed
    live = snapshot_path(index_dir).name
    marker = tmp_path / "first"
    forker(marker, argv=["index", "--corpus", str(corpus), "--index", str(index_dir)], pause="embed")
    wait_for(marker)  # the first `qa index` holds the lock, halfway through embedding
    second = subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(index_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD)
    assert second.returncode == 2
    assert f"Một lệnh `qa index` khác đang cập nhật {index_dir}" in second.stderr
    assert "Traceback" not in second.stderr
    assert second.stdout == ""
    assert snapshot_path(index_dir).name == live and snapshots(index_dir) == [live]

    marker.with_name(marker.name + ".go").touch()  # the first goes on and finishes
    wait_for(done(marker))
    assert done(marker).read_text() == "0"
    out = marker.with_name(marker.name + ".out").read_text(encoding="utf-8")
    assert f"Index {index_dir} written: {5 * (COPIES + 1)} articles" in out
    articles, answer = ask(index_dir)
    assert articles == 5 * (COPIES + 1) and answer.passages
    assert leftovers(index_dir) == []
