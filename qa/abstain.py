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
    vietnamese: float  # 1 for a Vietnamese query, 0 for English: overlap means little across languages
    unaccented: bool  # the encoder understands unaccented Vietnamese poorly: lower cosines are normal


@dataclass(frozen=True)
class AbstainParams:
    # Fitted by scripts/calibrate.py (class-balanced logistic regression on the dev questions).
    # Refitted when answer sentences became pooled from the passage's own forward pass.
    w_dense: float = 58.11
    w_overlap: float = 3.89
    w_sentence: float = 16.13
    w_vietnamese: float = -1.80
    w_unaccented: float = 5.87
    bias: float = -62.75
    # z = -1.0: on dev, 2.5% of answerable and 88% of unanswerable questions abstained.
    threshold: float = 0.27


def confidence(e: Evidence, p: AbstainParams = AbstainParams()) -> float:
    z = (p.bias + p.w_dense * e.dense + p.w_overlap * e.overlap + p.w_sentence * e.sentence
         + p.w_vietnamese * e.vietnamese + p.w_unaccented * e.unaccented)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
