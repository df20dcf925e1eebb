"""What the model is asked: the question, the conversation so far, and the passages labelled [1]..[k]."""
from __future__ import annotations

from typing import Sequence

from ..types import Passage
from .client import Message

_ANSWER_RULES = """Bạn là trợ lý trả lời câu hỏi về tin tức đối ngoại Việt Nam, chỉ dựa vào các đoạn trích được cung cấp.
Quy tắc:
- Trả lời bằng đúng ngôn ngữ của câu hỏi (tiếng Việt hoặc tiếng Anh), ngắn gọn: 1 đến 4 câu.
- Mỗi câu phải ghi nguồn bằng số đoạn trong ngoặc vuông, ví dụ [1] hoặc [2][3], đặt cuối câu.
- Chỉ dùng số liệu, ngày tháng, tên người, tên nước, tên tổ chức có trong đoạn được trích; chép đúng như trong đoạn.
- Nếu các đoạn trích không trả lời được câu hỏi, chỉ viết: "Các đoạn trích không trả lời câu hỏi này."
You answer only from the passages given. Answer in the question's language, briefly, and end every
sentence with the numbers of the passages it comes from, like [1]. If the passages do not answer,
say only that they do not."""

_REWRITE_RULES = """Viết lại câu hỏi cuối của người dùng thành một câu hỏi đầy đủ, tự hiểu được mà không cần cuộc trò chuyện,
giữ nguyên ngôn ngữ của nó. Chỉ viết câu hỏi đã viết lại, không giải thích.
Rewrite the user's last question as a standalone question in its own language; output only the question."""


def passages_block(passages: Sequence[Passage]) -> str:
    out = []
    for p in passages:
        meta = ", ".join(x for x in (p.source, p.date) if x)
        out.append(f"[{p.rank}] {p.title}" + (f" ({meta})" if meta else "") + f"\n{p.text}")
    return "\n\n".join(out)


def answer_messages(question: str, history: Sequence[tuple[str, str]], passages: Sequence[Passage]) -> list[Message]:
    """`history`: the earlier (question, answer shown) pairs of the conversation."""
    messages: list[Message] = [{"role": "system", "content": _ANSWER_RULES}]
    for asked, answered in history:
        messages.append({"role": "user", "content": asked})
        messages.append({"role": "assistant", "content": answered or "(không có câu trả lời)"})
    messages.append({"role": "user", "content": f"Các đoạn trích:\n\n{passages_block(passages)}\n\nCâu hỏi: {question}"})
    return messages


def rewrite_messages(question: str, history: Sequence[str]) -> list[Message]:
    earlier = "\n".join(f"- {h}" for h in history)
    return [{"role": "system", "content": _REWRITE_RULES},
            {"role": "user", "content": f"Các câu hỏi trước:\n{earlier}\n\nCâu hỏi cuối: {question}"}]
