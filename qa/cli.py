"""Command line: `python -m qa index`, `ask`, `eval` and `remove`."""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterator, Sequence

from .errors import QAError
from .ingest import DEFAULT_MAX_BYTES
from .types import Answer, Generated

DEFAULT_CORPUS = "corpus"
DEFAULT_INDEX = "embeddings"
# `eval --corpus` without `--index` builds here, so the app's index never holds another corpus.
EVAL_CACHE = Path(".cache") / "eval"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    _quiet_libraries()
    try:
        return args.run(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description="Question answering over Vietnamese news.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    index = sub.add_parser("index", help="build or update the index from a corpus")
    index.add_argument("--corpus", default=DEFAULT_CORPUS, help="folder of .txt/.md/.html/.pdf/.docx files or a .jsonl file")
    index.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: embeddings)")
    index.add_argument("--store", default=None, help="postgresql://user@host:port/db: the index in that database instead of a folder (PostgreSQL with pgvector)")
    index.add_argument("--model", default=None,
                       help="sentence-transformers model id or local path (default: the bundled multilingual-e5-small)")
    index.add_argument("--rebuild", action="store_true", help="embed everything again instead of updating")
    index.add_argument("--ray", default=None, metavar="ADDRESS",
                       help="embed the new passages on this Ray cluster (host:port of its head) instead of here")
    index.add_argument("--strict", action="store_true", help="exit non-zero when any file was skipped")
    index.add_argument("--max-mb", type=float, default=DEFAULT_MAX_BYTES / 2**20,
                       help="skip (with a warning) files larger than this many megabytes (default: %(default)g)")
    index.set_defaults(run=_index)

    ask = sub.add_parser("ask", help="answer a question from the index")
    ask.add_argument("question", nargs="?", help="the question (omit with --batch)")
    ask.add_argument("--batch", type=Path, help="JSONL file: one {\"question\", \"history\"} object per line")
    ask.add_argument("--index", default=DEFAULT_INDEX)
    ask.add_argument("--store", default=None, help="postgresql://user@host:port/db: the index in that database instead of a folder (PostgreSQL with pgvector)")
    ask.add_argument("--top-k", type=int, default=5)
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--llm", action="store_true",
                     help="also have the language model at QA_LLM_URL write the answer, every sentence checked "
                          "against the cited passages (docs/llm.md)")
    ask.set_defaults(run=_ask)

    ev = sub.add_parser("eval", help="score BM25, dense and hybrid retrieval on gold questions")
    ev.add_argument("--questions", type=Path, required=True,
                    help="JSONL, one question per line (format: README, Evaluation)")
    ev.add_argument("--corpus", default=None,
                    help="build or update the index from this corpus first (default: use the index as it is)")
    ev.add_argument("--index", default=None,
                    help=f"index folder (default: {DEFAULT_INDEX}, or a folder under {EVAL_CACHE} with --corpus)")
    ev.add_argument("--store", default=None, help="postgresql://user@host:port/db: the index in that database instead of a folder (PostgreSQL with pgvector)")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--show-misses", action="store_true",
                    help="list each system's misses: answerable questions with no hit, unanswerable ones answered")
    ev.set_defaults(run=_eval)

    rm = sub.add_parser("remove", help="take articles out of the corpus folder and update the index")
    rm.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="the article's file, relative to the corpus folder")
    rm.add_argument("--corpus", default=DEFAULT_CORPUS, help="corpus folder (default: corpus)")
    rm.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: embeddings)")
    rm.set_defaults(run=_remove)
    return parser


def _quiet_libraries() -> None:
    # Model loading prints progress bars and notices meant for library developers. Said through
    # the environment: importing transformers to say it costs half a second a question does not need.
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _index(args: argparse.Namespace) -> int:
    where = args.store or Path(args.index)
    model, encoder = args.model, None
    if args.ray:
        from .embed.encoder import DEFAULT_MODEL
        from .embed.ray_cluster import RayEncoder
        from .index.location import manifest_at

        recorded = None if args.model or args.rebuild else manifest_at(where)
        model = args.model or (recorded.model_spec if recorded else DEFAULT_MODEL)
        encoder = RayEncoder(args.ray, model)
    bar = _ProgressBar() if sys.stderr.isatty() else _ProgressLines()
    try:
        report = _build(Path(args.corpus), where, model=model, encoder=encoder, rebuild=args.rebuild,
                        progress=bar, max_bytes=int(args.max_mb * 2**20))
    finally:
        if bar:
            bar.close()
    for skipped in report.skipped:
        print(f"warning: skipped {skipped.name}: {skipped.reason}", file=sys.stderr)
    state = "up to date" if report.up_to_date else "written"
    print(
        f"Index {_where(args.store or args.index)} {state}: {report.articles} articles, {report.chunks} chunks "
        f"(added {report.added}, changed {report.changed}, removed {report.removed}; "
        f"embedded {report.embedded}, reused {report.reused}"
        + (f", of which {report.resumed} from an interrupted build" if report.resumed else "")
        + f") in {report.seconds:.1f} s"
    )
    return 1 if args.strict and report.skipped else 0


def _build(corpus: Path, where: Path | str, **options):
    from .index.location import build_at

    return build_at(corpus, where, **options)


def _where(location: Path | str) -> str:
    from .index.location import shown

    return shown(location)


def _remove(args: argparse.Namespace) -> int:
    from .remove import remove_articles

    result = remove_articles(args.doc_ids, Path(args.corpus), Path(args.index))
    r = result.report
    print(f"Removed {', '.join(result.removed)} from {args.corpus} (the files are kept in {result.kept_in}); "
          f"index {args.index}: {r.articles} articles, {r.chunks} chunks (removed {r.removed}) in {r.seconds:.1f} s")
    return 0


class _ProgressBar:
    def __init__(self):
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            # tqdm shows passages/s and the time left.
            self._bar = tqdm(total=total, desc="Embedding", unit="passage", file=sys.stderr)
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _ProgressLines:
    """Without a terminal (a log, a pipe): a line every `every` seconds, and when done."""

    def __init__(self, every: float = 30.0):
        self.every = every
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        from .build import rate_and_eta

        now = time.perf_counter()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        rate, left = rate_and_eta(done, total, now - self.started)
        tail = f", {rate:.1f} passages/s, about {_duration(left)} left" if left is not None and done < total else ""
        print(f"embedded {done}/{total} passages{tail}", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def answer_json(answer: Answer) -> dict:
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "answer": answer.answer,
        "passages": [asdict(p) for p in answer.passages],
        "sentences": [asdict(s) for s in answer.sentences],
        "confidence": round(answer.confidence, 4),
        "reason": answer.reason,
        "restored": answer.restored,
        "short": asdict(answer.short) if answer.short else None,
    }


def _ask(args: argparse.Namespace) -> int:
    from .engine import Engine

    if (args.question is None) == (args.batch is None):
        raise QAError("Give either a QUESTION or --batch FILE.jsonl.")
    if args.question is not None and not args.question.strip():
        raise QAError("Câu hỏi trống: hãy gõ một câu hỏi bằng tiếng Việt hoặc tiếng Anh.")
    client = _llm_client() if args.llm else None
    engine = Engine.open(args.store or Path(args.index))
    if args.batch is not None:
        for row in _batch(engine, args.batch, args.top_k, client):
            print(json.dumps(row, ensure_ascii=False), flush=True)
        return 0
    answer, generated = _answer(engine, args.question, args.top_k, [], client)
    if args.json:
        print(json.dumps(_answer_row(answer, generated, client), ensure_ascii=False, indent=2))
    else:
        print(_render(answer, generated))
    return 0


def _llm_client():
    from .llm.client import ChatClient, LLMConfig

    config = LLMConfig.from_env()
    if config is None:
        raise QAError("--llm cần một máy chủ mô hình: đặt QA_LLM_URL (và QA_LLM_MODEL), xem docs/llm.md.")
    return ChatClient(config)


def _answer(engine, question: str, top_k: int, history: list[str], client) -> tuple[Answer, Generated | None]:
    """The engine's answer and, with a model, the answer it writes (None when it is not asked)."""
    if client is None:
        return engine.ask(question, top_k=top_k, history=history), None
    from .llm.answer import Draft, ask_in_context, can_generate

    answer, _ = ask_in_context(engine, client, question, history, top_k=top_k)
    return answer, Draft(client, answer).result() if can_generate(answer) else None


def _answer_row(answer: Answer, generated, client) -> dict:
    row = answer_json(answer)
    if client is not None:
        from .llm.answer import as_json

        row["generated"] = as_json(generated) if generated is not None else None
    return row


def _batch(engine, path: Path, top_k: int, client=None) -> Iterator[dict]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"Cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            yield {"line": number, "error": "empty line"}
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield {"line": number, "error": f"not JSON: {exc.msg}"}
            continue
        question = obj.get("question") if isinstance(obj, dict) else None
        history = obj.get("history", []) if isinstance(obj, dict) else []
        if not isinstance(question, str) or not isinstance(history, list):
            yield {"line": number, "error": 'needs a "question" string and an optional "history" list'}
            continue
        try:
            yield _answer_row(*_answer(engine, question, top_k, [str(h) for h in history], client), client)
        except QAError as exc:
            yield {"line": number, "question": question, "error": str(exc)}


def _render(answer: Answer, generated=None) -> str:
    lines = [f"Đã hiểu là: {answer.restored}", ""] if answer.restored else []
    if answer.abstained:
        lines.append(f"Kho bài viết không trả lời câu hỏi này. {answer.reason}".rstrip())
        lines.append("Các đoạn gần nhất (không trả lời câu hỏi):")
    elif generated is not None and generated.shown:
        from .llm.answer import generated_text

        lines.append(f"Do mô hình {generated.model} viết, từng câu đã đối chiếu với nguồn:")
        lines.append(generated_text(generated))
        if generated.note:
            lines.append(f"({generated.note})")
    else:
        if generated is not None:
            lines.append(generated.note)
        if answer.short:
            lines.append(f"→ {answer.short.text} [{answer.short.citation}]")
        lines.append(answer.answer)
    lines.append("")
    for p in answer.passages:
        meta = " · ".join(x for x in (p.title, p.source, p.date, p.doc_id) if x)
        lines.append(f"[{p.rank}] {meta} [{p.start}:{p.end}] score {p.score:.3f}")
        lines.append("    " + p.text.replace("\n", " ")[:300])
        if p.also_in:
            lines.append("    cũng đăng trên: " + ", ".join(p.also_in))
    return "\n".join(lines)


def _eval(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .evaluate import load_questions, render_report, report_json, run_eval

    questions = load_questions(args.questions)  # a bad file fails before any model loads
    engine = Engine.open(_eval_index(args.corpus, args.index, args.store))
    report = run_eval(engine, questions)
    if args.json:
        print(json.dumps(report_json(report, misses=args.show_misses), ensure_ascii=False, indent=2))
    else:
        print(render_report(report, misses=args.show_misses))
    return 0


def eval_cache_dir(corpus: Path) -> Path:
    """Where `eval --corpus` keeps that corpus's index: one folder per corpus path."""
    resolved = Path(corpus).resolve()
    return EVAL_CACHE / f"{resolved.stem}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"


def _eval_index(corpus: str | None, index: str | None, store: str | None = None) -> Path | str:
    """The index to evaluate, built or brought up to date from `corpus` when one is given."""
    from .index.store import has_index

    if store is not None:
        if corpus is None:
            return store
        index_dir: Path | str = store
    elif corpus is None:
        index_dir = Path(index or DEFAULT_INDEX)
        if has_index(index_dir):
            return index_dir
        if index is not None:
            raise QAError(f"No index in {index_dir}: give --corpus to build one there.")
        corpus = DEFAULT_CORPUS  # first run: build the app's index from the app's corpus, as `make run` does
    elif index is None:
        index_dir = eval_cache_dir(Path(corpus))
    else:
        index_dir = Path(index)
        if index_dir.resolve() == Path(DEFAULT_INDEX).resolve() and \
                Path(corpus).resolve() != Path(DEFAULT_CORPUS).resolve():
            raise QAError(f"{index_dir} is the app's index and would then hold {corpus}: "
                          f"leave out --index (a folder under {EVAL_CACHE} is used) or pick another folder.")
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        report = _build(Path(corpus), index_dir, progress=bar)
    finally:
        if bar:
            bar.close()
    for skipped in report.skipped:
        print(f"warning: skipped {skipped.name}: {skipped.reason}", file=sys.stderr)
    state = "up to date" if report.up_to_date else f"written in {report.seconds:.1f} s"
    print(f"Index {_where(index_dir)} ({corpus}): {report.chunks} chunks, {state}", file=sys.stderr)
    return index_dir
