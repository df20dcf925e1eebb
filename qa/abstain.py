"""Decide whether the corpus answers the question, how sure that is, and why when it does not.

Similarity alone does not separate answers from near misses: a passage on US aid and a question on
EU aid reach the same cosine. A logistic model combines the similarities with what the cited
passage actually says: whether it names the question's names and numbers (`qa.support`), how many
of its words it contains, and whether the answer sentence holds the kind of answer asked for. Its
output is the confidence shown to users, calibrated on dev questions (`scripts/calibrate.py`).
"""
from __future__ import annotations

import math
from dataclasses import astuple, dataclass

from .answer import Extract
from .question import QuestionFacts
from .support import Support


@dataclass(frozen=True)
class Evidence:
    dense: float  # cosine of the top passage
    sentence: float  # cosine of the best answer sentence
    answer: float  # the sentence model's probability that the best sentence holds the answer
    terms: float  # share of the question's content words in the cited passage (translated for English)
    missing: float  # the question's names absent from the cited article (0, 1, or 2 for two or more)
    unknown: float  # names the corpus never mentions (0, 1, 2)
    outside: float  # share of the names that the article has only outside the cited passage
    numbers_missing: float  # numbers of the question absent from the cited passage (0, 1, 2)
    kind_missing: float  # 1 when the question asks for a figure, date, place or name the answer lacks
    numbers_conflict: float  # years, editions, days, numbered names the passage lacks, giving others (0, 1, 2)
    rare_missing: float  # rarity of the rarest question word the corpus has and the passage lacks
    names_conflict: float  # the question's countries, bodies the passage lacks, naming others (0, 1, 2)
    vietnamese: float  # 1 for a Vietnamese query, 0 for English
    unaccented: float  # 1 for Vietnamese typed without diacritics: lower cosines are normal

    @classmethod
    def of(cls, dense: float, extract: Extract, support: Support, facts: QuestionFacts,
           vietnamese: float, unaccented: bool) -> "Evidence":
        return cls(dense, extract.best_cosine, extract.best_probability, support.terms,
                   min(2, len(support.missing)), min(2, len(support.unknown)),
                   len(support.outside) / support.names if support.names else 0.0,
                   min(2, len(support.numbers_missing)), float(bool(facts.expects) and not extract.kind_found),
                   min(2, len(support.numbers_conflict)), support.rare_missing, min(2, len(support.names_conflict)),
                   vietnamese, float(unaccented))

    def features(self) -> tuple[float, ...]:
        """The evidence, then each signal again for English questions only: a question in English
        meets Vietnamese passages at lower cosines and with fewer shared words, so the same
        value means something else and gets its own weight."""
        values = astuple(self)
        english = 1.0 - self.vietnamese
        return values + tuple(english * v for v in values[:_SIGNALS])


_FIELDS = tuple(Evidence.__dataclass_fields__)
_SIGNALS = _FIELDS.index("vietnamese")  # the fields before the language flags
FEATURES = _FIELDS + tuple(f"{name}*english" for name in _FIELDS[:_SIGNALS])


@dataclass(frozen=True)
class AbstainParams:
    # Fitted by scripts/calibrate.py (unweighted logistic regression on the 838 dev questions, label:
    # the shown answer is right); weights in the order of FEATURES. At 0.5, on those questions,
    # 10% of answerable and 88% of unanswerable questions are declined, and 84% of the answers
    # shown are right: a shown answer is more likely right than not.
    weights: tuple[float, ...] = (5.901, 14.687, 2.393, 2.712, -2.482, -3.357, -2.634, 0.292, -0.646, -4.527, 0.138,
                                   -2.413, 1.058, 0.006, 2.382, 2.695, 1.685, -3.0, 1.335, 0.914, -9.244, -0.113,
                                   1.023, 0.68, -0.754, 0.431)
    bias: float = -21.256
    threshold: float = 0.5

    def __post_init__(self):
        if len(self.weights) != len(FEATURES):  # zip would pair weights with the wrong signals
            raise ValueError(f"{len(self.weights)} weights for {len(FEATURES)} features: refit with scripts/calibrate.py")


def confidence(e: Evidence, p: AbstainParams = AbstainParams()) -> float:
    z = p.bias + sum(w * x for w, x in zip(p.weights, e.features()))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


_KIND = {
    "number": "con số", "date": "thời điểm", "place": "địa điểm", "person": "tên người hay cơ quan",
}


def reason(facts: QuestionFacts, supports: list[Support], e: Evidence) -> str:
    """Why the corpus does not answer, in the chat's language, from the strongest failing signal.

    A name counts as absent only when none of the checked passages names it, so the reason never
    says the corpus lacks what another passage on screen shows.
    """
    unknown = _in_all(s.unknown for s in supports)
    if unknown:
        return f"Kho bài viết không có bài nào nhắc đến {_join(unknown)}."
    missing = _in_all([*s.missing, *s.outside] for s in supports)
    if missing:
        return f"Các đoạn liên quan nhất trong kho bài viết không nói về {_join(missing)}."
    numbers = _in_all([*s.numbers_missing, *s.numbers_conflict] for s in supports)
    if numbers:
        return f"Các đoạn liên quan nhất không nhắc đến {_join(numbers)}."
    if e.kind_missing:
        return f"Không đoạn nào nêu {_KIND[facts.expects]} trả lời câu hỏi này."
    return "Các đoạn tìm được không đủ khớp với câu hỏi để trả lời."


def _in_all(groups) -> list[str]:
    sets = [list(g) for g in groups]
    if not sets:
        return []
    return list(dict.fromkeys(x for x in sets[0] if all(x in other for other in sets[1:])))


def _join(items: list[str]) -> str:
    quoted = [f"“{x}”" for x in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " và " + quoted[-1]
