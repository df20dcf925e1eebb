"""qa.remove and `qa remove`: articles taken out of the corpus folder, kept aside, and out of the index."""
from __future__ import annotations

import pytest
from conftest import run_cli

from qa.build import build_index
from qa.engine import Engine
from qa.index.store import read_manifest
from qa.remove import REMOVED, RemoveError, remove_articles

GONE = "003_dfe8999da49fa911.txt"


def test_a_removed_article_leaves_the_index_and_is_kept_aside(corpus, tmp_path, fake_encoder):
    index = tmp_path / "index"
    first = build_index(corpus, index, encoder=fake_encoder, model="fake-spec")
    original = (corpus / GONE).read_bytes()
    result = remove_articles([GONE], corpus, index, encoder=fake_encoder)
    assert result.removed == (GONE,)
    assert not (corpus / GONE).exists() and (result.kept_in / GONE).read_bytes() == original
    assert result.kept_in.parent == corpus.resolve() / REMOVED
    report = result.report
    assert report.removed == 1 and report.embedded == 0 and report.articles == first.articles - 1
    assert read_manifest(index).model_spec == "fake-spec"
    assert GONE not in Engine.open(index, encoder=fake_encoder).articles


@pytest.mark.parametrize("doc_id, message", [
    ("../outside.txt", "không phải một bài"),
    ("/etc/passwd", "không phải một bài"),
    (".hidden.txt", "không phải một bài"),
    ("missing.txt", "Kho không có bài"),
])
def test_only_articles_of_the_corpus_folder_can_be_removed(corpus, tmp_path, fake_encoder, doc_id, message):
    (tmp_path / "outside.txt").write_text("Bài ngoài kho", encoding="utf-8")
    (corpus / ".hidden.txt").write_text("Bài ẩn", encoding="utf-8")
    index = tmp_path / "index"
    build_index(corpus, index, encoder=fake_encoder)
    before = sorted(p.name for p in corpus.iterdir())
    with pytest.raises(RemoveError, match=message):
        remove_articles([GONE, doc_id], corpus, index, encoder=fake_encoder)
    assert sorted(p.name for p in corpus.iterdir()) == before  # all or nothing
    assert (tmp_path / "outside.txt").exists()


def test_the_last_article_is_never_removed(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Tiêu đề\n\nViệt Nam và Nhật Bản ký thỏa thuận hợp tác về đào tạo.", encoding="utf-8")
    build_index(corpus, tmp_path / "index", encoder=fake_encoder)
    with pytest.raises(RemoveError, match="ít nhất một bài"):
        remove_articles(["a.txt"], corpus, tmp_path / "index", encoder=fake_encoder)
    assert (corpus / "a.txt").exists()


def test_cli_remove(corpus, tmp_path, fake_model, capsys):
    index = tmp_path / "index"
    assert run_cli(capsys, "index", "--corpus", corpus, "--index", index)[0] == 0
    code, out, err = run_cli(capsys, "remove", GONE, "--corpus", corpus, "--index", index)
    assert code == 0 and f"Removed {GONE} from {corpus}" in out and "4 articles" in out and "(removed 1)" in out
    code, out, err = run_cli(capsys, "remove", GONE, "--corpus", corpus, "--index", index)
    assert code == 2 and "Kho không có bài" in err
