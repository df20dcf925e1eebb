"""Turn a follow-up question into a standalone retrieval query using the conversation."""
from __future__ import annotations

import re
from typing import Sequence

from .normalize import fold_diacritics, normalize_query
from .tokens import syllables

# Openers and pronouns that lean on an earlier question: "Còn Nhật Bản thì sao?", "What about Japan?"
_DEPENDENT = re.compile(
    r"^(con|vay|the con|the|con ve|va|and|what about|how about|and what about)\b"
    r"|\b(thi sao|the nao|ra sao|nuoc do|nuoc nay|ho|do|nay|ay|it|they|them|that|this|there)\s*\??$",
)
_SHORT = 5  # syllables; a question this short rarely stands alone


def contextualize(question: str, history: Sequence[str]) -> str:
    """The question itself, or the previous question plus it when it depends on the conversation."""
    question = normalize_query(question)
    previous = [normalize_query(h) for h in history if h and h.strip()]
    if not previous:
        return question
    folded = fold_diacritics(question.lower())
    if _DEPENDENT.search(folded) or len(syllables(question)) <= _SHORT:
        return f"{previous[-1]} {question}"
    return question
