"""Decide whether the corpus answers the question at all.

Dense similarity alone does not separate answerable from unanswerable questions (both reach
cosine 0.82-0.85 on the seeds), so a logistic model combines it with how much of the question's
content the best passage and the best answer sentence actually contain.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    dense: float  # cosine of the top passage
    overlap: float  # share of the question's content words in the top passage
    sentence: float  # cosine of the best answer sentence


@dataclass(frozen=True)
class AbstainParams:
    # Fitted by scripts/calibrate_abstention.py on the dev questions; see README "Abstention".
    w_dense: float = 40.0
    w_overlap: float = 4.0
    w_sentence: float = 0.0
    bias: float = -34.0
    threshold: float = 0.5


def confidence(e: Evidence, p: AbstainParams = AbstainParams()) -> float:
    z = p.bias + p.w_dense * e.dense + p.w_overlap * e.overlap + p.w_sentence * e.sentence
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
