"""The chat app served from PostgreSQL (QA_STORE): it builds the seeds into an empty database on its
first start, answers from the primary, and reads from the streaming replica as well."""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from pg_cluster import cluster  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
QUESTION = "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?"


def answer_text(at: AppTest) -> str:
    at.chat_input(key="question").set_value(QUESTION).run()
    assert not at.exception, at.exception
    reply = at.chat_message[-1]
    return re.sub(r"<[^>]+>", "", "\n".join(h.value for h in reply.html))


def test_the_app_answers_from_the_database_and_its_replica(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    with cluster() as servers:
        monkeypatch.setenv("QA_STORE", servers.primary)
        first = AppTest.from_file(APP, default_timeout=300).run()
        assert not first.exception, first.exception
        assert "Đã lập chỉ mục 5 bài viết" in first.status[0].label
        assert "42 triệu liều vaccine" in answer_text(first)
        monkeypatch.setenv("QA_STORE", servers.replica)
        deadline = time.monotonic() + 30
        while True:  # the replica follows the primary within moments
            on_replica = AppTest.from_file(APP, default_timeout=300).run()
            if not (on_replica.exception or on_replica.error) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not on_replica.exception and not on_replica.status  # nothing to build: it reads
        assert "42 triệu liều vaccine" in answer_text(on_replica)
