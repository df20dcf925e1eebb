"""Put the diacritics back on a question typed without them, learned from the indexed corpus.

Written without diacritics Vietnamese loses most of its meaning for the encoder ("my" is "Mỹ",
"mỹ", "my"...). Which syllable was meant follows from its neighbours: syllable and syllable-pair
counts of the corpus give a bigram model, and Viterbi picks the likeliest accented sentence whose
folded form is the question. Words the corpus never writes with diacritics stay as typed.
"""
from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from pathlib import Path
from typing import Iterable

from .tokens import SYLLABLE, fold_syllable

CANDIDATES = 12  # accented forms tried per syllable, the most frequent first
MIN_PAIR_COUNT = 2  # pairs seen once are mostly noise and would dominate the saved model
SMOOTHING = 0.2  # weight of a syllable's own frequency against its frequency after the previous one
# News rarely asks questions: without these, "bao nhieu lan" reads as "báo nhiều lần". Each
# phrase counts as if the corpus had it QUESTION_WEIGHT times.
QUESTION_PHRASES = """bao nhiêu | là bao nhiêu | bao nhiêu lần | bao nhiêu người | bao lâu | bao giờ
    | khi nào | vào khi nào | ở đâu | tại đâu | là gì | là ai | do ai | của ai | ai là | thế nào
    | như thế nào | ra sao | tại sao | vì sao | năm nào | ngày nào | tháng nào | nước nào | nơi nào
    | những gì | những ai | mấy | có phải | hay không | có không | đã làm gì | được gì | đạt bao nhiêu
    | là những | những nước nào"""
QUESTION_WEIGHT = 50


class AccentModel:
    def __init__(self, unigrams: dict[str, int], bigrams: dict[str, int]):
        self.unigrams = unigrams
        self.bigrams = bigrams
        self.total = sum(unigrams.values()) or 1
        forms: dict[str, list[str]] = {}
        for syllable, _ in sorted(unigrams.items(), key=lambda kv: -kv[1]):
            options = forms.setdefault(fold_syllable(syllable), [])
            if len(options) < CANDIDATES:
                options.append(syllable)
        self._forms = forms

    @classmethod
    def learn(cls, texts: Iterable[str]) -> "AccentModel":
        unigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        for text in texts:
            # Pairs only within a run of words: across punctuation they are not neighbours.
            for run in _runs(text):
                unigrams.update(run)
                bigrams.update(f"{a} {b}" for a, b in zip(run, run[1:]))
        for run in _runs(QUESTION_PHRASES):
            for _ in range(QUESTION_WEIGHT):
                unigrams.update(run)
                bigrams.update(f"{a} {b}" for a, b in zip(run, run[1:]))
        return cls(dict(unigrams), {k: v for k, v in bigrams.items() if v >= MIN_PAIR_COUNT})

    def save(self, path: Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> "AccentModel":
        return cls.from_bytes(Path(path).read_bytes())

    def to_bytes(self) -> bytes:
        """Gzipped JSON: the snapshot's accents.json.gz, or a database backend's copy."""
        raw = json.dumps({"unigrams": self.unigrams, "bigrams": self.bigrams}, ensure_ascii=False)
        return gzip.compress(raw.encode("utf-8"), mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> "AccentModel":
        raw = json.loads(gzip.decompress(data).decode("utf-8"))
        return cls(raw["unigrams"], raw["bigrams"])

    def restore(self, text: str) -> str:
        """`text` with each syllable typed without diacritics replaced by its likeliest accented
        form (capitals kept); syllables already accented, numbers and unknown words unchanged."""
        matches = list(SYLLABLE.finditer(text))
        if not matches:
            return text
        words = [m.group().lower() for m in matches]
        options = [[w] if fold_syllable(w) != w else (self._forms.get(w) or [w]) for w in words]
        best = self._viterbi(options)
        out, last = [], 0
        for m, chosen in zip(matches, best):
            out.append(text[last:m.start()])
            out.append(_same_case(m.group(), chosen))
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    def _viterbi(self, options: list[list[str]]) -> list[str]:
        scores = {w: self._log_p(None, w) for w in options[0]}
        back: list[dict[str, str]] = []
        for column in options[1:]:
            step, pointers = {}, {}
            for w in column:
                prev, score = max(((p, s + self._log_p(p, w)) for p, s in scores.items()), key=lambda x: x[1])
                step[w], pointers[w] = score, prev
            scores = step
            back.append(pointers)
        word = max(scores, key=scores.get)
        path = [word]
        for pointers in reversed(back):
            word = pointers[word]
            path.append(word)
        return path[::-1]

    def _log_p(self, previous: str | None, word: str) -> float:
        unigram = (self.unigrams.get(word, 0) + 0.1) / self.total
        if previous is None or previous not in self.unigrams:
            return math.log(unigram)
        pair = self.bigrams.get(f"{previous} {word}", 0) / self.unigrams[previous]
        return math.log((1 - SMOOTHING) * pair + SMOOTHING * unigram)


def _runs(text: str) -> Iterable[list[str]]:
    run: list[str] = []
    last = 0
    for m in SYLLABLE.finditer(text.lower()):
        if run and text[last:m.start()].strip():
            yield run
            run = []
        run.append(m.group())
        last = m.end()
    if run:
        yield run


def _same_case(typed: str, restored: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return restored.upper()
    if typed[:1].isupper():
        return restored[:1].upper() + restored[1:]
    return restored
