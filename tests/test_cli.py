"""Tests for qa.cli, run in-process with the fake encoder standing in for the real model."""
from __future__ import annotations

import json
import shutil

import pytest
from conftest import DiesAfter, many_articles, run_cli

from qa import cli
from qa.index.chunk_file import TABLE_FILE
from qa.index.store import ACCENTS_FILE, SIGNATURES_FILE, STORIES_FILE, snapshot_path

PASSAGE_KEYS = {"rank", "doc_id", "title", "date", "source", "text", "start", "end", "score", "also_in"}
QUESTION = "ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược như thế nào?"


@pytest.fixture
def index_dir(corpus, tmp_path, fake_model, capsys):
    target = tmp_path / "index"
    assert cli.main(["index", "--corpus", str(corpus), "--index", str(target)]) == 0
    capsys.readouterr()
    return target




# --- index -----------------------------------------------------------------------------


def test_index_prints_a_summary_with_counts(corpus, tmp_path, fake_model, capsys):
    target = tmp_path / "index"
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target)
    assert code == 0
    assert f"Index {target} written: 5 articles, " in out
    chunks = int(out.split(" articles, ")[1].split(" chunks")[0])
    assert chunks >= 10
    assert f"(added 5, changed 0, removed 0; embedded {chunks}, reused 0)" in out
    assert (target / "CURRENT").is_file()
    assert fake_model == ["default"]

    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target)
    assert code == 0
    assert f"Index {target} up to date: 5 articles, {chunks} chunks" in out
    assert f"embedded 0, reused {chunks}" in out


def test_index_after_a_change_reports_it(index_dir, corpus, capsys):
    (corpus / "003_dfe8999da49fa911.txt").unlink()
    code, out, _ = run_cli(capsys, "index", "--corpus", corpus, "--index", index_dir)
    assert code == 0
    assert "written: 4 articles" in out
    assert "removed 1" in out


def test_index_warns_about_skipped_files_and_strict_fails(corpus, tmp_path, fake_model, capsys):
    (corpus / "anh.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    target = tmp_path / "index"
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target)
    assert code == 0
    assert "warning: skipped anh.txt: is not text" in err
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target, "--strict")
    assert code == 1
    assert "anh.txt" in err


def test_index_size_limit_is_configurable(corpus, tmp_path, fake_model, capsys):
    (corpus / "lon.txt").write_text("Bài viết dài về ASEAN. " * 50_000, encoding="utf-8")  # ~1.2 MB
    target = tmp_path / "index"
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target, "--max-mb", "1")
    assert code == 0
    assert "warning: skipped lon.txt:" in err and "1,048,576-byte limit" in err
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target, "--max-mb", "2")
    assert code == 0 and "lon.txt" not in err and "added 1" in out


def test_index_missing_corpus_exits_non_zero(tmp_path, fake_model, capsys):
    code, out, err = run_cli(capsys, "index", "--corpus", tmp_path / "nope", "--index", tmp_path / "index")
    assert code == 2
    assert err.startswith("error: Corpus not found")
    assert str(tmp_path / "nope") in err
    assert "Traceback" not in err


# --- ask ------------------------------------------------------------------------------


def test_ask_json(index_dir, capsys, fake_model):
    code, out, err = run_cli(capsys, "ask", QUESTION, "--index", index_dir, "--json")
    assert code == 0
    data = json.loads(out)
    assert {"question", "abstained", "answer", "passages", "sentences", "confidence", "reason", "restored",
            "short"} == set(data)
    assert data["short"] is None  # the question asks for no figure, date or name
    assert data["question"] == QUESTION
    assert isinstance(data["abstained"], bool)
    assert isinstance(data["answer"], str)
    assert len(data["passages"]) == 5
    for rank, p in enumerate(data["passages"], 1):
        assert set(p) == PASSAGE_KEYS
        assert p["rank"] == rank
        assert isinstance(p["start"], int) and isinstance(p["end"], int) and isinstance(p["score"], float)
        assert p["end"] - p["start"] == len(p["text"])
    assert data["passages"][0]["doc_id"] == "001_16ae142da84ba3c1.txt"
    assert data["passages"][0]["date"] == "2020-03-13"
    assert fake_model[-1] == "default"  # the model the index was built with


def test_ask_shows_how_an_unaccented_question_was_read(index_dir, capsys):
    code, out, _ = run_cli(capsys, "ask", "hop tac ASEAN - Nhat Ban", "--index", index_dir, "--json")
    assert code == 0 and json.loads(out)["restored"] == "hợp tác ASEAN - Nhật Bản"
    code, out, _ = run_cli(capsys, "ask", "hop tac ASEAN - Nhat Ban", "--index", index_dir)
    assert out.startswith("Đã hiểu là: hợp tác ASEAN - Nhật Bản\n")
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index_dir, "--json")
    assert json.loads(out)["restored"] == ""


def test_ask_json_top_k(index_dir, capsys):
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index_dir, "--json", "--top-k", "2")
    assert code == 0
    assert [p["rank"] for p in json.loads(out)["passages"]] == [1, 2]


def test_ask_text_output(index_dir, capsys):
    code, out, err = run_cli(capsys, "ask", QUESTION, "--index", index_dir)
    assert code == 0
    assert "[1] ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược" in out
    assert "001_16ae142da84ba3c1.txt" in out
    for rank in range(1, 6):
        assert f"\n[{rank}] " in out


def test_ask_batch_json(index_dir, tmp_path, capsys):
    lines = [
        json.dumps({"question": "ASEAN và Trung Quốc hợp tác về biển"}, ensure_ascii=False),
        "{not json",
        json.dumps({"history": ["Mỹ cung cấp bao nhiêu liều vaccine?"]}, ensure_ascii=False),
        json.dumps({"question": "Còn Nhật Bản thì sao?", "history": ["ASEAN và Hoa Kỳ hợp tác gì?"]},
                   ensure_ascii=False),
        json.dumps({"question": "  ?  "}),
        json.dumps(["question"]),
        json.dumps({"question": "Hội nghị JCC lần thứ 8", "history": "không phải danh sách"}, ensure_ascii=False),
        json.dumps({"question": "Thủ tướng Phạm Minh Chính"}, ensure_ascii=False),
    ]
    batch = tmp_path / "questions.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "ask", "--batch", batch, "--index", index_dir, "--json", "--top-k", "3")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(lines)
    # Answers, in input order.
    assert rows[0]["question"] == "ASEAN và Trung Quốc hợp tác về biển"
    assert rows[3]["question"] == "Còn Nhật Bản thì sao?"
    assert rows[7]["question"] == "Thủ tướng Phạm Minh Chính"
    for i in (0, 3, 7):
        assert "error" not in rows[i]
        assert len(rows[i]["passages"]) == 3
        assert set(rows[i]["passages"][0]) == PASSAGE_KEYS
    # Error objects name the line.
    assert rows[1]["line"] == 2 and rows[1]["error"].startswith("not JSON")
    assert rows[2]["line"] == 3 and '"question"' in rows[2]["error"]
    assert rows[4]["line"] == 5 and "Câu hỏi trống" in rows[4]["error"]
    assert rows[5]["line"] == 6 and '"question"' in rows[5]["error"]
    assert rows[6]["line"] == 7 and "history" in rows[6]["error"]


def test_ask_batch_answers_every_line_blank_ones_included(index_dir, tmp_path, capsys):
    batch = tmp_path / "questions.jsonl"
    batch.write_text('{"question": "ASEAN"}\n\n   \nnot json\n', encoding="utf-8")
    code, out, _ = run_cli(capsys, "ask", "--batch", batch, "--index", index_dir)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4  # one output line per input line, in order
    assert rows[0]["passages"]
    assert rows[1] == {"line": 2, "error": "empty line"} and rows[2] == {"line": 3, "error": "empty line"}
    assert rows[3]["line"] == 4 and "not JSON" in rows[3]["error"]


def test_ask_batch_missing_file(index_dir, tmp_path, capsys):
    code, out, err = run_cli(capsys, "ask", "--batch", tmp_path / "none.jsonl", "--index", index_dir)
    assert code == 2
    assert "none.jsonl" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("question", ["", "   "])
def test_ask_empty_question_exits_non_zero(index_dir, capsys, question):
    code, out, err = run_cli(capsys, "ask", question, "--index", index_dir)
    assert code != 0
    assert out == ""
    assert err.startswith("error: ")
    assert "Câu hỏi trống" in err


def test_ask_punctuation_only_question_exits_non_zero(index_dir, capsys):
    code, out, err = run_cli(capsys, "ask", "?!", "--index", index_dir)
    assert code != 0
    assert "Câu hỏi trống" in err


def test_ask_needs_a_question_or_a_batch(index_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "ask", "--index", index_dir)
    assert code == 2 and "--batch" in err
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"question": "ASEAN"}\n', encoding="utf-8")
    code, _, err = run_cli(capsys, "ask", "ASEAN", "--batch", batch, "--index", index_dir)
    assert code == 2 and "--batch" in err


def test_ask_missing_index_names_the_folder(tmp_path, fake_model, capsys):
    missing = tmp_path / "missing_dir"
    code, out, err = run_cli(capsys, "ask", "ASEAN là gì?", "--index", missing)
    assert code != 0
    assert out == ""
    assert str(missing) in err
    assert "python -m qa index" in err
    assert "Traceback" not in err
    assert fake_model == []  # no model is loaded for a missing index


def test_ask_damaged_index_exits_with_a_message(index_dir, capsys):
    (snapshot_path(index_dir) / "dense.faiss").write_bytes(b"garbage")
    code, out, err = run_cli(capsys, "ask", "ASEAN", "--index", index_dir)
    assert code == 2
    assert "bị hỏng" in err and "--rebuild" in err


def test_ask_index_with_empty_vectors_exits_with_a_message(index_dir, capsys):
    (snapshot_path(index_dir) / "vectors.npy").write_bytes(b"")
    code, out, err = run_cli(capsys, "ask", "ASEAN", "--index", index_dir)
    assert code == 2
    assert "--rebuild" in err


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2


# --- a damaged index, from the command line --------------------------------------------


def damage(index_dir, how: str, name: str = "") -> None:
    folder = snapshot_path(index_dir)
    if how == "truncate":
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    elif how == "delete":
        (folder / name).unlink()
    elif how == "other-model":
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        (folder / "manifest.json").write_text(json.dumps({**manifest, "model_id": "another-model"}), encoding="utf-8")
    elif how == "format-version":
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}), encoding="utf-8")
    elif how == "no-current":
        (index_dir / "CURRENT").unlink()
    elif how == "current-garbage":
        (index_dir / "CURRENT").write_bytes(b"\xff\x00garbage")


def check_damage_message(index_dir, capsys) -> str:
    code, out, err = run_cli(capsys, "ask", QUESTION, "--index", index_dir)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(index_dir) in err and "python -m qa index" in err
    return err


@pytest.mark.parametrize("how", ["truncate", "delete"])
def test_ask_on_an_index_with_any_file_damaged_names_the_folder_and_the_rebuild(index_dir, capsys, how):
    # Every file of the snapshot, whatever the format version holds; each damaged on its own.
    folder = snapshot_path(index_dir)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {"manifest.json", "chunks.jsonl", "vectors.npy", "dense.faiss", ACCENTS_FILE} <= set(names)
    names.remove(ACCENTS_FILE)  # derived from the chunks, and learned again when unreadable (test_accents.py)
    names.remove(TABLE_FILE)  # likewise, read again from chunks.jsonl (test_chunk_file.py)
    if how == "delete":  # optional, as in snapshots written before they existed (test_duplicates.py)
        names.remove(SIGNATURES_FILE)
        names.remove(STORIES_FILE)
    pristine = index_dir.parent / "pristine"
    shutil.copytree(folder, pristine)
    for name in names:
        damage(index_dir, how, name)
        check_damage_message(index_dir, capsys)
        shutil.rmtree(folder)
        shutil.copytree(pristine, folder)


@pytest.mark.parametrize("how", ["other-model", "format-version", "no-current",
                                 "current-garbage"])
def test_ask_on_a_foreign_or_unreadable_index_names_the_folder_and_the_rebuild(index_dir, capsys, how):
    damage(index_dir, how)
    err = check_damage_message(index_dir, capsys)
    if how in ("other-model", "format-version"):
        assert "--rebuild" in err


@pytest.mark.parametrize("how", [("truncate", "vectors.npy"), ("delete", "manifest.json"),
                                 ("current-garbage", "")], ids=str)
def test_index_over_a_damaged_index_rebuilds_it(index_dir, corpus, capsys, how):
    damage(index_dir, *how)
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", index_dir)
    assert code == 0 and "Traceback" not in err
    assert "reused 0" in out
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index_dir, "--json")
    assert code == 0 and json.loads(out)["passages"]


def test_index_resumes_an_interrupted_build_and_says_so(tmp_path, fake_model, capsys):
    from qa.build import build_index

    corpus, target = many_articles(tmp_path / "corpus"), tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, target, encoder=DiesAfter(batches=1))
    code, out, err = run_cli(capsys, "index", "--corpus", corpus, "--index", target)
    assert code == 0
    chunks = int(out.split(" articles, ")[1].split(" chunks")[0])
    assert f"embedded {chunks - 64}, reused 64, of which 64 from an interrupted build)" in out
    # Without a terminal, progress is a line on stderr.
    assert f"embedded {chunks - 64}/{chunks - 64} passages" in err
