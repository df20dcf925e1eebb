"""Answers and conversations as Markdown, to paste into a report: each claim with its source.

A journalist copies an answer into their notes; what they paste must carry where it came from:
the cited sentences with their [n], then each cited source with title, outlet, date, URL and file.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from .answer import ends_run
from .filters import format_date
from .types import Answer, Article, Generated, Passage

NOT_ANSWERED = "Kho bài viết không trả lời câu hỏi này."
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def md_text(text: str) -> str:
    """Corpus text taken literally in Markdown (no accidental emphasis, links or headings)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def source_line(passage: Passage, article: Article | None) -> str:
    """"[n] Title. Outlet, dd/mm/yyyy. <URL> (file)": what is known, nothing guessed."""
    outlet = passage.source or (article.source if article else "")
    parts = [md_text(passage.title or passage.doc_id) + "."]
    said = ", ".join(x for x in (md_text(outlet), format_date(passage.date)) if x)
    if said:
        parts.append(said + ".")
    if article and article.url:
        parts.append(f"<{article.url}>")
    parts.append(f"(tệp `{passage.doc_id}`)")
    return f"[{passage.rank}] " + " ".join(parts)


def answer_markdown(answer: Answer, articles: Mapping[str, Article], generated: Generated | None = None) -> str:
    """The question, the answer with its citations (or why there is none), and the sources cited;
    a model's answer, when one was shown, with its verified sentences only."""
    lines = [f"**Hỏi:** {md_text(answer.question)}", ""]
    if answer.abstained or not answer.sentences:
        lines.append(f"**Đáp:** {NOT_ANSWERED} {md_text(answer.reason)}".rstrip())
        return "\n".join(lines) + "\n"
    if generated is not None and generated.shown:
        body = " ".join(f"{md_text(s.text)} " + "".join(f"[{c}]" for c in s.citations) for s in generated.verified)
        lines += [f"**Đáp** (do mô hình {md_text(generated.model)} viết, từng câu đã đối chiếu với nguồn): {body}",
                  "", "Nguồn:", ""]
        cited = {c for s in generated.verified for c in s.citations}
        lines += [f"- {source_line(p, articles.get(p.doc_id))}" for p in answer.passages if p.rank in cited]
        return "\n".join(lines) + "\n"
    if answer.short is not None:
        lines += [f"**Trả lời ngắn:** {md_text(answer.short.text)} [{answer.short.citation}]", ""]
    body = " ".join(f"{md_text(s.text)} [{s.citation}]" if ends_run(answer.sentences, i) else md_text(s.text)
                    for i, s in enumerate(answer.sentences))
    lines += [f"**Đáp:** {body}", "", f"Độ tin cậy: {min(99, int(answer.confidence * 100))}%. Nguồn:", ""]
    cited = {s.citation for s in answer.sentences}
    lines += [f"- {source_line(p, articles.get(p.doc_id))}" for p in answer.passages if p.rank in cited]
    return "\n".join(lines) + "\n"


def conversation_markdown(turns: Sequence[tuple[str, Answer | None, Generated | None]],
                          articles: Mapping[str, Article], title: str = "Hỏi đáp từ kho bài viết") -> str:
    """Every question of a conversation with its answer; a turn without an answer says so."""
    parts = [f"# {title}", ""]
    for number, (question, answer, generated) in enumerate(turns, 1):
        parts.append(f"## {number}. {md_text(question)}")
        parts.append("")
        parts.append(answer_markdown(answer, articles, generated) if answer is not None
                     else "**Đáp:** Không xử lý được câu hỏi này.\n")
    return "\n".join(parts)
