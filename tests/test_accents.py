"""Tests for qa.accents (diacritics restored from the corpus) and how the index and engine use it."""
from __future__ import annotations

import gzip

from qa.accents import AccentModel
from qa.build import build_index
from qa.engine import Engine
from qa.index.store import ACCENTS_FILE, load_index, snapshot_path

NEWS = [
    "Mỹ cung cấp hơn 42 triệu liều vaccine cho ASEAN.",
    "Nhật Bản hỗ trợ ASEAN ứng phó dịch bệnh. Mỹ cung cấp thiết bị y tế.",
    "Quan hệ Việt Nam và Nhật Bản phát triển tốt đẹp; Việt Nam nhận vaccine và cảm ơn Nhật Bản.",
    "Ông My sống ở Hà Nội.",
]


def test_each_syllable_takes_the_form_its_neighbours_make_likely():
    model = AccentModel.learn(NEWS)
    assert model.restore("My cung cap bao nhieu lieu vaccine cho ASEAN?") == \
        "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?"
    assert model.restore("nhat ban ho tro asean") == "nhật bản hỗ trợ asean"


def test_what_was_typed_with_diacritics_numbers_and_unknown_words_stay():
    model = AccentModel.learn(NEWS)
    assert model.restore("Việt Nam nhan 42 trieu lieu Pfizer") == "Việt Nam nhận 42 triệu liều Pfizer"
    assert model.restore("?!") == "?!"
    assert model.restore("") == ""


def test_capitals_are_kept():
    model = AccentModel.learn(NEWS)
    assert model.restore("NHAT BAN va Viet Nam") == "NHẬT BẢN và Việt Nam"


def test_saved_and_loaded_model_restores_the_same(tmp_path):
    model = AccentModel.learn(NEWS)
    model.save(tmp_path / "a.json.gz")
    again = AccentModel.load(tmp_path / "a.json.gz")
    assert again.restore("my cung cap thiet bi y te") == model.restore("my cung cap thiet bi y te") == \
        "mỹ cung cấp thiết bị y tế"


def test_the_index_saves_the_model_and_learns_it_when_missing_or_unreadable(corpus, tmp_path, fake_encoder):
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, encoder=fake_encoder)
    path = snapshot_path(index_dir) / ACCENTS_FILE
    assert path.exists()
    saved = load_index(index_dir).accents.restore("hop tac ASEAN - Nhat Ban")
    assert saved == "hợp tác ASEAN - Nhật Bản"
    path.unlink()  # a snapshot from before the model existed
    assert load_index(index_dir).accents.restore("hop tac ASEAN - Nhat Ban") == saved
    with gzip.open(path, "wt") as f:
        f.write("{not json")
    assert load_index(index_dir).accents.restore("hop tac ASEAN - Nhat Ban") == saved
    assert path.read_bytes()  # read, never rewritten: the snapshot stays as it was


def test_the_engine_reads_an_unaccented_question_with_diacritics(corpus, tmp_path, fake_encoder):
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, encoder=fake_encoder)
    engine = Engine.open(index_dir, encoder=fake_encoder)
    plain = engine.ask("hop tac ASEAN - Nhat Ban ve ung pho bien doi khi hau", top_k=3)
    assert plain.restored.startswith("hợp tác ASEAN - Nhật Bản")
    accented = engine.ask(plain.restored, top_k=3)
    assert accented.restored == ""  # typed with diacritics: read as typed
    assert [p.doc_id for p in plain.passages] == [p.doc_id for p in accented.passages]
    assert engine.ask("What did Japan pledge to ASEAN?", top_k=3).restored == ""  # English is left alone
