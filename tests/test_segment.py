import subprocess
import sys

from qa import segment


def test_words_keep_compounds_whole():
    assert segment.words("Mỹ cung cấp bao nhiêu liều vaccine?")[:4] == ["Mỹ", "cung cấp", "bao nhiêu", "liều"]


def test_sentences_split_at_sentence_ends():
    assert segment.sentences("Hà Nội mưa. Ngày mai nắng.") == ["Hà Nội mưa.", "Ngày mai nắng."]


def test_segmenting_does_not_load_torch_and_leaves_the_pipelines_importable():
    # A cold question segments words; underthesea's translation pipeline would pull torch (seconds).
    code = ("import sys; from qa import segment; segment.words('bao nhiêu liều'); "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch loaded'; "
            "import underthesea.pipeline.lang_detect")
    subprocess.run([sys.executable, "-c", code], check=True)
