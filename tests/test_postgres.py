"""The index in PostgreSQL (`--store URL`): built, updated, read from a streaming replica, and its
faults, on a real primary and replica started by the tests (tests/pg_cluster.py)."""
from __future__ import annotations

import itertools
import json
import shutil
import threading
import time

import psycopg
import pytest

from qa.build import build_index
from qa.build_store import _LOCK, build_store
from qa.engine import Engine
from qa.index.postgres import PostgresStore

from conftest import FUSION_ORDER, SEED_CORPUS, DiesAfter, FakeEncoder, run_cli
from pg_cluster import cluster

QUESTION = "Hoa Kỳ hỗ trợ ASEAN bao nhiêu liều vaccine COVID-19?"
_names = itertools.count()


@pytest.fixture(scope="module")
def servers():
    with cluster() as c:
        yield c


@pytest.fixture
def db(servers):
    """(primary URL, replica URL) of a database of its own, empty."""
    name = f"t{next(_names)}"
    with psycopg.connect(servers.primary, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return servers.primary.rsplit("/", 1)[0] + "/" + name, servers.replica.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def corpus(tmp_path):
    target = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, target)
    return target


def answer_of(capsys, *where) -> dict:
    code, out, err = run_cli(capsys, "ask", QUESTION, "--json", *where)
    assert code == 0, err
    return json.loads(out)


def shown(answer: dict) -> list:
    return [(p["doc_id"], p["start"], p["end"]) for p in answer["passages"]]


def test_the_database_answers_as_the_local_index(db, corpus, tmp_path, capsys, fake_model):
    url, _ = db
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--store", url)
    assert code == 0, err
    assert "written" in out and "embedded" in out and "postgres@127.0.0.1" in out
    code, out, _ = run_cli(capsys, "index", "--corpus", corpus, "--index", tmp_path / "index")
    assert code == 0
    local, remote = answer_of(capsys, "--index", tmp_path / "index"), answer_of(capsys, "--store", url)
    assert shown(remote) == shown(local)
    assert remote["answer"] == local["answer"] and remote["abstained"] == local["abstained"]
    assert remote["confidence"] == pytest.approx(local["confidence"], abs=1e-3)
    # A second run finds it up to date.
    code, out, _ = run_cli(capsys, "index", "--corpus", corpus, "--store", url)
    assert code == 0 and "up to date" in out


def test_the_replica_serves_reads(db, corpus, capsys, fake_model):
    url, replica = db
    assert run_cli(capsys, "index", "--corpus", corpus, "--store", url)[0] == 0
    deadline = time.monotonic() + 30
    while True:  # streaming replication: the replica follows within moments
        code, out, err = run_cli(capsys, "ask", QUESTION, "--json", "--store", replica)
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 0, err
    assert shown(json.loads(out)) == shown(answer_of(capsys, "--store", url))
    with psycopg.connect(replica, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    # Writing goes to the primary: the replica refuses it with a message.
    code, _, err = run_cli(capsys, "index", "--corpus", corpus, "--store", replica, "--rebuild")
    assert code != 0 and "Traceback" not in err


def test_an_update_touches_only_what_changed(db, corpus, tmp_path):
    url, _ = db
    encoder = FakeEncoder()
    first = build_store(corpus, url, encoder=encoder)
    names = sorted(p.name for p in corpus.iterdir() if p.is_file())
    (corpus / names[0]).write_text((corpus / names[0]).read_text(encoding="utf-8") + "\n\nMột đoạn mới về hợp tác.\n",
                                   encoding="utf-8")
    (corpus / names[1]).unlink()
    (corpus / "moi.txt").write_text("Bài mới\n\nASEAN và Úc ký kết thỏa thuận hợp tác về năng lượng sạch.\n",
                                    encoding="utf-8")
    report = build_store(corpus, url, encoder=encoder)
    assert (report.added, report.changed, report.removed) == (1, 1, 1)
    assert 0 < report.embedded < first.embedded and report.reused > 0
    # The same scores and passages as a local index of the new corpus, built from scratch.
    build_index(corpus, tmp_path / "index", encoder=encoder)
    local = Engine.open(tmp_path / "index", encoder=encoder)
    remote = Engine.open(url, encoder=encoder)
    for engine in (local, remote):
        engine.rerank_params = FUSION_ORDER
    for question in (QUESTION, "ASEAN và Úc hợp tác năng lượng sạch", "hop tac ASEAN"):
        a, b = local.ask(question, top_k=8), remote.ask(question, top_k=8)
        assert [(p.doc_id, p.start) for p in a.passages] == [(p.doc_id, p.start) for p in b.passages]
        assert [p.score for p in a.passages] == pytest.approx([p.score for p in b.passages], abs=2e-3)
    assert set(remote.articles) == set(local.articles) and names[1] not in remote.articles
    remote.store.close()


def test_a_failed_build_leaves_the_database_answering_as_before(db, corpus):
    url, _ = db
    build_store(corpus, url, encoder=FakeEncoder())
    store = PostgresStore(url)
    before = (store.manifest, sorted(store.articles), store.chunk_count)
    for path in corpus.iterdir():
        if path.is_file():
            path.write_text(path.read_text(encoding="utf-8") + "\n\nĐoạn thêm vào cuối bài.\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build_store(corpus, url, encoder=DiesAfter(batches=0))
    after = PostgresStore(url)
    assert (after.manifest, sorted(after.articles), after.chunk_count) == before
    store.close()
    after.close()


def test_readers_never_see_half_an_article(db, corpus):
    url, _ = db
    encoder = FakeEncoder()
    target = corpus / "bai_cap_nhat.txt"
    paragraphs = ["\n\n".join(" ".join(f"Câu {j} của đoạn {i} nói về hợp tác khu vực năm {1990 + j}." for j in range(15))
                              for i in range(n)) for n in (1, 6)]
    original, longer = (f"Bài được cập nhật\n\n{p}\n" for p in paragraphs)
    target.write_text(original, encoding="utf-8")
    build_store(corpus, url, encoder=encoder)
    store = PostgresStore(url)
    sizes = {len(store.rows_of({target.name}))}
    target.write_text(longer, encoding="utf-8")
    build_store(corpus, url, encoder=encoder)
    sizes.add(len(store.rows_of({target.name})))
    assert len(sizes) == 2  # the two versions differ in passages
    seen, done = set(), threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(len(store.rows_of({target.name})))

    reader = threading.Thread(target=read)
    reader.start()
    for text in (original, longer, original, longer):
        target.write_text(text, encoding="utf-8")
        build_store(corpus, url, encoder=encoder)
    done.set()
    reader.join()
    assert seen <= sizes
    store.close()


def test_a_second_build_stops_with_a_message(db, corpus, capsys, fake_model):
    url, _ = db
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        code, _, err = run_cli(capsys, "index", "--corpus", corpus, "--store", url)
    assert code == 2 and "đang ghi" in err


def test_faults_say_what_is_wrong(db, corpus, capsys, fake_model, servers):
    url, _ = db
    port = servers.primary.rsplit(":", 1)[1].split("/")[0]
    closed = url.replace(f":{port}/", ":1/")
    code, _, err = run_cli(capsys, "ask", QUESTION, "--store", closed)
    assert code == 2 and "Không kết nối được" in err and "Traceback" not in err
    # A database without the extension, then without an index.
    code, _, err = run_cli(capsys, "ask", QUESTION, "--store", url)
    assert code == 2 and "pgvector" in err
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    code, _, err = run_cli(capsys, "ask", QUESTION, "--store", url)
    assert code == 2 and "Chưa có chỉ mục" in err and "qa index --store" in err
    # Another model: refused, the index kept.
    assert run_cli(capsys, "index", "--corpus", corpus, "--store", url)[0] == 0
    with pytest.raises(Exception, match="mô hình"):
        build_store(corpus, url, encoder=FakeEncoder(model_id="other-model"))
    kept = PostgresStore(url)
    assert kept.manifest.model_id == "fake-encoder"
    kept.close()
    # An index written by another format version: rebuild it.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE qa_meta SET value = jsonb_set(value, '{format_version}', '99') WHERE key = 'manifest'")
    code, _, err = run_cli(capsys, "ask", QUESTION, "--store", url)
    assert code == 2 and "định dạng 99" in err and "--rebuild" in err
    # A password never shows in a message.
    code, _, err = run_cli(capsys, "ask", QUESTION, "--store", closed.replace("postgres@", "postgres:s3cret@"))
    assert code == 2 and "s3cret" not in err


def test_closing_an_engine_closes_its_connections(db, corpus):
    url, _ = db
    build_store(corpus, url, encoder=FakeEncoder())

    def connections() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                " AND pid <> pg_backend_pid()").fetchone()[0]

    engine = Engine.open(url, encoder=FakeEncoder())
    engine.ask(QUESTION)
    assert connections() >= 1
    engine.close()
    deadline = time.monotonic() + 10
    while connections() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connections() == 0
