"""One shared Engine under 20 threads: no error, the serial answer every time, memory stable.

The Streamlit app keeps one Engine in `st.cache_resource` for every browser session, so
concurrent `ask` calls on one object must be safe and must not interfere with each other.
"""
from __future__ import annotations

import gc
import json
import os
import random
import resource
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import SEED_CORPUS, FakeEncoder

from qa.build import build_index
from qa.engine import Engine
from qa.normalize import fold_diacritics

THREADS = 20
TOTAL = 2000
EVAL = Path(__file__).resolve().parents[1] / "eval" / "dev_extra.jsonl"
ODD = [
    "Còn Nhật Bản thì sao?", "What about Japan?", "ASEAN", "?ASEAN?", "Hợp tác ASEAN 😀🚀 thế nào?",
    "<script>alert('xss')</script><b>ASEAN</b>", "'; DROP TABLE articles; -- ASEAN",
    "SELECT * FROM chunks WHERE 1=1", "\x00\x01ASEAN\x7f", "Ｆｕｌｌｗｉｄｔｈ ＡＳＥＡＮ", "مرحبا بالعالم",
    "Ho\u0323\u0302i nghi\u0323 ASEAN", "vac\u200bxin Mỹ", "Quan hệ ASEAN và Nhật Bản " * 200, "a", "2020",
]


def questions() -> list[tuple[str, tuple[str, ...]]]:
    """~100 (question, history) pairs: the dev questions as written and without diacritics, odd ones,
    and follow-ups that lean on the previous question."""
    asked = [json.loads(line)["question"] for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [(q, ()) for q in asked] + [(fold_diacritics(q), ()) for q in asked] + [(q, ()) for q in ODD]
    out += [(("Còn Nhật Bản thì sao?", "What about China?")[i % 2], (q,)) for i, q in enumerate(asked)]
    return list(dict.fromkeys(out))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@pytest.fixture
def engine(tmp_path) -> Engine:
    build_index(SEED_CORPUS, tmp_path / "index", encoder=FakeEncoder())
    return Engine.open(tmp_path / "index", encoder=FakeEncoder())


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="measures memory through /proc")
def test_twenty_threads_get_the_serial_answers_and_memory_stays_flat(engine, capsys):
    pairs = questions()
    assert len(set(pairs)) >= 100
    serial = {pair: engine.ask(pair[0], history=pair[1]) for pair in pairs}
    jobs = random.Random(0).choices(pairs, k=TOTAL)

    def ask(pair):
        return pair, engine.ask(pair[0], history=pair[1])

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(ask, pairs))  # warm-up: every thread's arena, every lazy import
        gc.collect()
        before = rss_bytes()
        results = list(pool.map(ask, jobs))
        gc.collect()
        after = rss_bytes()

    assert len(results) == TOTAL
    wrong = [pair[0][:60] for pair, answer in results if answer != serial[pair]]
    assert not wrong, f"{len(wrong)} answers differ from the serial ones, e.g. {wrong[:3]}"
    growth = (after - before) / before
    with capsys.disabled():
        print(f"\n{TOTAL} questions ({len(pairs)} distinct) on {THREADS} threads: all equal to the serial "
              f"answers; RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB ({growth:+.2%})")
    assert growth < 0.05
