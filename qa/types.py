"""Typed records passed between the pipeline stages.

Slotted: a large index holds hundreds of thousands of chunks, and a per-instance __dict__ would
more than double what each costs."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Document:
    """One raw input article, before cleaning."""

    doc_id: str  # path relative to the corpus folder, or the JSONL `id`
    raw: str
    fmt: str  # "txt", "md", "html" or "jsonl"
    title: str = ""
    date: str = ""
    url: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article: `text` is what chunk offsets point into."""

    doc_id: str
    title: str
    text: str
    date: str = ""  # ISO yyyy-mm-dd, empty when the article does not state it
    source: str = ""  # outlet or agency, e.g. "TTXVN", "Vietnam+", "MOFA"
    author: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of an article; `text == article.text[start:end]`."""

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str
    # The passage's sentences as (start, end) offsets into `text`: the candidate answer sentences.
    sentences: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its source, as shown to the user."""

    rank: int
    doc_id: str
    title: str
    date: str
    source: str
    text: str
    start: int
    end: int
    score: float
    also_in: tuple[str, ...] = ()  # doc ids of the other copies of its article (the same story elsewhere)


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One sentence of the extractive answer, cited to passage `citation` (1-based rank)."""

    text: str
    citation: int
    start: int  # offsets into the cited passage's article text
    end: int


@dataclass(frozen=True, slots=True)
class ShortAnswer:
    """The figure, date, place or name asked for, as the first answer sentence states it."""

    text: str
    citation: int
    start: int  # offsets into the cited passage's article text, inside the first answer sentence
    end: int


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    abstained: bool
    answer: str
    passages: tuple[Passage, ...]
    sentences: tuple[AnswerSentence, ...] = field(default=())
    confidence: float = 0.0
    reason: str = ""  # why the corpus does not answer, when abstained
    restored: str = ""  # the question as read, diacritics restored, when it was typed without them
    short: ShortAnswer | None = None  # the short answer, when the question asks for one and it is found


@dataclass(frozen=True, slots=True)
class GeneratedSentence:
    """One sentence a language model wrote, as checked against the passages it cites."""

    text: str  # without its [n] marks
    citations: tuple[int, ...]  # passage ranks, after correction
    verified: bool
    problems: tuple[str, ...] = ()  # why it is not verified, or what was corrected, in Vietnamese


@dataclass(frozen=True, slots=True)
class Generated:
    """An answer written by the user's language model, checked claim by claim.

    `status`: "ok" (`sentences` holds at least one verified sentence, shown), "fallback" (nothing
    shown of it: the extractive answer stands, `note` says why), "error" (the model could not be
    asked or did not answer properly: `note` says what went wrong)."""

    status: str
    model: str
    sentences: tuple[GeneratedSentence, ...] = ()
    note: str = ""
    raw: str = ""  # the model's whole reply, as written

    @property
    def verified(self) -> tuple[GeneratedSentence, ...]:
        return tuple(s for s in self.sentences if s.verified)

    @property
    def shown(self) -> bool:
        """Whether the model's answer is shown (else the extractive one, with `note`)."""
        return self.status == "ok"
