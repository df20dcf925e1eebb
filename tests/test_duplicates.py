"""Near-duplicate articles are found at index time and shown once (qa.duplicates)."""
from __future__ import annotations

import json

import qa.build
from conftest import FUSION_ORDER, FakeEncoder

from qa.abstain import AbstainParams
from qa.build import build_index
from qa.duplicates import signatures, stories
from qa.engine import Engine
from qa.index.store import SIGNATURES_FILE, STORIES_FILE, load_index, snapshot_path
from qa.normalize import fold_diacritics

STORY = " ".join([
    "Chiều 12/3, Chủ tịch UBND TP.HCM đã tiếp đoàn đại biểu Đảng Cộng sản Pháp đang thăm và làm việc tại Việt Nam.",
    "Tại buổi tiếp, hai bên trao đổi về hợp tác giữa thành phố với các địa phương của Pháp trong giáo dục và y tế.",
    "Trưởng đoàn cảm ơn thành phố đã dành cho đoàn sự đón tiếp trọng thị và mong muốn tăng cường giao lưu.",
    "Thành phố hiện có hơn 60 dự án đầu tư của Pháp với tổng vốn khoảng 1,2 tỷ USD, phần lớn trong dịch vụ.",
    "Hai bên nhất trí thúc đẩy trao đổi đoàn, chia sẻ kinh nghiệm quản lý đô thị và bảo tồn di sản kiến trúc.",
])
# The same story syndicated: a changed lead, a sentence more, and no diacritics in one sentence.
COPY = STORY.replace("Chiều 12/3", "Chiều ngày 12/3").replace(
    "trọng thị và mong muốn tăng cường giao lưu.", fold_diacritics("trọng thị và mong muốn tăng cường giao lưu.")
) + " Đoàn sẽ thăm Cần Thơ và An Giang trong những ngày tới."
OTHER = ("Ngày 5/6, Bộ trưởng Y tế và Đại sứ Hàn Quốc ký thỏa thuận hợp tác y tế; Hàn Quốc hỗ trợ 500.000 liều "
         "vaccine và trang thiết bị, hai bên đẩy mạnh trao đổi chuyên gia và đào tạo nhân lực trong 2021-2025.")


def test_copies_of_one_story_are_grouped_and_other_articles_are_not():
    rows = signatures([STORY, OTHER, COPY, STORY.replace("Pháp", "Đức")[:200]])
    assert rows.shape == (4, 128)
    assert stories(["a", "b", "c", "d"], rows) == [("a", "c")]
    assert stories([], signatures([])) == []


def corpus_with_copies(folder):
    rows = [
        {"id": "vietnamplus-1", "title": "Lãnh đạo TP.HCM tiếp đoàn Đảng Cộng sản Pháp", "text": STORY,
         "date": "2013-03-12", "source": "vietnamplus.vn"},
        {"id": "baotintuc-7", "title": "Lãnh đạo Tp Hồ Chí Minh tiếp đoàn Đảng Cộng sản Pháp", "text": COPY,
         "date": "2013-03-13", "source": "baotintuc.vn"},
        {"id": "suckhoe-3", "title": "Việt Nam và Hàn Quốc hợp tác y tế", "text": OTHER, "source": "suckhoe.vn"},
    ]
    folder.mkdir()
    path = folder / "news.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_results_show_one_copy_listing_the_others(tmp_path):
    corpus, index = corpus_with_copies(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, encoder=FakeEncoder())
    data = load_index(index)
    assert data.stories == (("vietnamplus-1", "baotintuc-7"),)
    engine = Engine(data, FakeEncoder(), index, abstain=AbstainParams(threshold=0.0), rerank=FUSION_ORDER)
    answer = engine.ask("Thành phố có bao nhiêu dự án đầu tư của Pháp?", top_k=5)
    shown = [p.doc_id for p in answer.passages]
    assert len({"vietnamplus-1", "baotintuc-7"} & set(shown)) == 1
    first = next(p for p in answer.passages if p.doc_id != "suckhoe-3")
    assert first.also_in == (({"vietnamplus-1", "baotintuc-7"} - {first.doc_id}).pop(),)
    assert next(p for p in answer.passages if p.doc_id == "suckhoe-3").also_in == ()


def test_unchanged_articles_keep_their_signatures(tmp_path, monkeypatch):
    corpus, index = corpus_with_copies(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, encoder=FakeEncoder())
    signed: list[int] = []

    def counting(texts):
        signed.append(len(texts))
        return signatures(texts)

    monkeypatch.setattr(qa.build, "signatures", counting)
    with open(corpus, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new-1", "title": "Tin mới", "text": OTHER + " Thêm một câu."}, ensure_ascii=False) + "\n")
    build_index(corpus, index, encoder=FakeEncoder())
    assert signed == [1]
    data = load_index(index)
    assert len(data.signatures) == len(data.articles) == 4
    assert ("suckhoe-3", "new-1") in data.stories


def test_a_snapshot_without_duplicate_files_still_answers(tmp_path):
    corpus, index = corpus_with_copies(tmp_path / "corpus"), tmp_path / "index"
    build_index(corpus, index, encoder=FakeEncoder())
    folder = snapshot_path(index)
    (folder / SIGNATURES_FILE).unlink()
    (folder / STORIES_FILE).unlink()
    data = load_index(index)
    assert (data.signatures, data.stories) == (None, ())
    engine = Engine(data, FakeEncoder(), index, abstain=AbstainParams(threshold=0.0), rerank=FUSION_ORDER)
    passages = engine.ask("Pháp đầu tư bao nhiêu dự án?", top_k=5).passages
    assert passages and all(p.also_in == () for p in passages)
    # The next build signs every article again.
    with open(corpus, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new-1", "title": "Tin mới", "text": "Một bài mới về thời tiết."}, ensure_ascii=False) + "\n")
    build_index(corpus, index, encoder=FakeEncoder())
    assert load_index(index).stories == (("vietnamplus-1", "baotintuc-7"),)
