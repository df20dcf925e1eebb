"""A generated answer: the model writes from the passages the engine found, every sentence is checked
(qa.llm.verify), and what is shown falls back to the extractive answer whenever the model fails,
declines or writes nothing that holds."""
from __future__ import annotations

from typing import Iterator, Sequence

from ..types import Answer, Generated, GeneratedSentence
from .client import ChatClient, LLMError
from .prompt import answer_messages, rewrite_messages
from .verify import Evidence, check_sentence, declines, split_claims

MAX_REWRITE_CHARS = 300


def can_generate(answer: Answer) -> bool:
    """Only an answer the corpus gives is written by the model: when the engine finds the passages
    do not answer, the model is not asked to make something of them."""
    return not answer.abstained and bool(answer.passages)


class Draft:
    """One generated answer: `stream()` gives the text as the model writes it, `result()` the
    checked answer once it is written (or why there is none)."""

    def __init__(self, client: ChatClient, answer: Answer, history: Sequence[tuple[str, str]] = ()):
        self.client = client
        self.answer = answer
        self.messages = answer_messages(answer.question, history, answer.passages)
        self._text: list[str] = []
        self._error: LLMError | None = None
        self._done = False

    def stream(self) -> Iterator[str]:
        try:
            for delta in self.client.stream(self.messages):
                self._text.append(delta)
                yield delta
        except LLMError as exc:
            self._error = exc
        finally:
            self._done = True

    def result(self) -> Generated:
        if not self._done:
            for _ in self.stream():
                pass
        model = self.client.model
        raw = "".join(self._text)
        if self._error is not None:
            return Generated("error", model, note=f"{self._error} Câu trả lời dưới đây trích nguyên văn từ nguồn.",
                             raw=raw)
        return checked(raw, self.answer, model)


def checked(raw: str, answer: Answer, model: str) -> Generated:
    claims = split_claims(raw)
    stated = [(text, cited) for text, cited in claims if not (declines(text) and not cited)]
    if not stated or all(declines(text) for text, _ in stated):
        return Generated("fallback", model, note=f"Mô hình {model} cho rằng các đoạn trích không trả lời câu hỏi; "
                         "câu trả lời dưới đây trích nguyên văn từ nguồn.", raw=raw)
    evidence = Evidence(answer.passages)
    sentences = tuple(check_sentence(text, cited, evidence) for text, cited in stated)
    dropped = sum(not s.verified for s in sentences)
    if dropped == len(sentences):
        return Generated("fallback", model, sentences, note=(
            f"Không câu nào mô hình {model} viết kiểm chứng được với các đoạn nguồn; câu trả lời dưới đây "
            "trích nguyên văn."), raw=raw)
    note = f"Đã bỏ {dropped} câu không kiểm chứng được với nguồn." if dropped else ""
    return Generated("ok", model, sentences, note=note, raw=raw)


def generated_text(generated: Generated) -> str:
    """The verified sentences with their [n] marks, as shown."""
    return " ".join(f"{s.text.rstrip()} " + "".join(f"[{r}]" for r in s.citations) for s in generated.verified)


def as_json(generated: Generated) -> dict:
    return {"status": generated.status, "model": generated.model, "text": generated_text(generated),
            "note": generated.note,
            "sentences": [{"text": s.text, "citations": list(s.citations), "verified": s.verified,
                           "problems": list(s.problems)} for s in generated.sentences]}


def ask_in_context(engine, client: ChatClient, question: str, history: Sequence[str], **options
                   ) -> tuple[Answer, str | None]:
    """The engine's answer to a question of a conversation, and the standalone question the model
    rewrote it into (None when it did not: the engine then reads it with the rules, qa.followup)."""
    standalone = standalone_question(client, question, history)
    answer = engine.ask(standalone or question, history=[] if standalone else list(history), **options)
    return answer, standalone


def standalone_question(client: ChatClient, question: str, history: Sequence[str]) -> str | None:
    """The follow-up rewritten by the model into a question that stands alone; None when there is
    no conversation, or the model fails or writes something that is not one question (the caller
    then keeps the rule-based reading, qa.followup)."""
    if not history:
        return None
    try:
        text = client.complete(rewrite_messages(question, history), max_tokens=120).strip().strip('"“”')
    except LLMError:
        return None
    if not text or "\n" in text or len(text) > MAX_REWRITE_CHARS or declines(text):
        return None
    return text
