"""Turn a follow-up question into a standalone retrieval query using the conversation."""
from __future__ import annotations

import re
from typing import Sequence

from .normalize import normalize_query
from .tokens import syllables

# Markers are matched on the accented, lower-cased text: folded, "Cơn bão" / "Con số" / "Thế giới"
# would look like the openers "còn" / "thế".
# Openers that lean on an earlier question: "Còn Nhật Bản thì sao?", "What about Japan?"
_OPENER = re.compile(r"^(vậy còn|thế còn|còn|và|what about|how about|and)\b")
# Endings and pronouns that lean on an earlier question, but only in a short one:
# "Nhật Bản thì sao?" depends, "Kết quả cuộc họp ... lần thứ 8 tại Jakarta ra sao?" stands alone.
_ENDING = re.compile(
    r"\b(thì sao|thế nào|ra sao|nước đó|nước này|họ|đó|này|ấy|it|they|them|that|this|there)\s*\??$"
)
_SHORT = 5  # syllables; a question this short rarely stands alone
_SHORT_ENDING = 8  # syllables; up to this length an ending marker makes a question dependent


def _depends(question: str) -> bool:
    """Whether a (normalized) question needs the conversation to be understood."""
    lowered = question.lower()
    count = len(syllables(question))
    if count <= _SHORT or _OPENER.search(lowered):
        return True
    return count <= _SHORT_ENDING and bool(_ENDING.search(lowered))


def contextualize(question: str, history: Sequence[str]) -> str:
    """The question itself, or the standalone form of the previous question plus it when it depends
    on the conversation.

    The history is made standalone step by step, so a follow-up of a follow-up keeps the topic:
    ["Mỹ ... vaccine?", "Còn Nhật Bản thì sao?"] + "Còn Hàn Quốc thì sao?" still mentions vaccines.
    The standalone form of a follow-up is its topic (the latest standalone question) plus itself,
    which keeps the query short however long the conversation.
    """
    question = normalize_query(question)
    previous = [normalize_query(h) for h in history if h and h.strip()]
    if not previous:
        return question
    topic = standalone = previous[0]
    for earlier in previous[1:]:
        if _depends(earlier):
            standalone = f"{topic} {earlier}"
        else:
            topic = standalone = earlier
    if _depends(question):
        return f"{standalone} {question}"
    return question
