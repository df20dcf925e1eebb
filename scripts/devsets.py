"""The dev question sets, their held-out split, and the engines they are asked of.

Our own questions (eval/dev/*.jsonl) were written over the seed articles and over 2,000 real news
articles (scripts/dev_corpus.py); a third of each file, chosen by a hash of the question id, is held
out: fitted on never, reported always. XQuAD-vi: even-numbered articles are tuned on, odd ones held
out, in Vietnamese (as given), English (questions_en.jsonl) and Vietnamese without diacritics.
Needs ../shared (the news corpus and XQuAD); says so when it is absent.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import dev_corpus  # noqa: E402

from qa.build import build_index  # noqa: E402
from qa.embed.encoder import load_encoder  # noqa: E402
from qa.abstain import AbstainParams  # noqa: E402
from qa.engine import Engine, Trace  # noqa: E402
from qa.evaluate import GoldQuestion, load_questions  # noqa: E402
from qa.normalize import fold_diacritics  # noqa: E402
from qa.types import Answer  # noqa: E402

SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval"
DEV = ROOT / "eval" / "dev"
OWN_FILES = ("seed.jsonl", "news_world.jsonl", "news_general.jsonl")


def require_shared() -> None:
    if not (EVAL / "xquad_vi").exists() or not (SHARED / "news-corpus" / "articles.jsonl").exists():
        sys.exit(f"This script needs {SHARED} (eval/xquad_vi and news-corpus), which is absent.")


def held_out(q: GoldQuestion) -> bool:
    return int(hashlib.sha1(q.qid.encode()).hexdigest(), 16) % 3 == 0


def own(name: str, part: str) -> list[GoldQuestion]:
    """One of our files, `part` "dev" or "held"."""
    qs = load_questions(DEV / name)
    return [q for q in qs if held_out(q) == (part == "held")]


def xquad(part: str, lang: str, n: int | None = None, seed: int = 0) -> list[GoldQuestion]:
    """XQuAD questions of the even (dev) or odd (held) articles; `lang` "vi", "en" or "unaccented".
    English questions carry the Vietnamese gold answers, so their answer sentences can be scored."""
    vi = load_questions(EVAL / "xquad_vi" / "questions.jsonl")
    if lang == "en":
        answers = {q.qid: q.answers for q in vi}
        qs = [replace(q, answers=answers.get(q.qid, ()), kind="en")
              for q in load_questions(EVAL / "xquad_vi" / "questions_en.jsonl")]
    elif lang == "unaccented":
        qs = [replace(q, question=fold_diacritics(q.question), kind="unaccented") for q in vi]
    else:
        qs = [replace(q, kind="vi") for q in vi]
    parity = 0 if part == "dev" else 1
    qs = [q for q in qs if int(q.gold_ids[0].split("-")[1]) % 2 == parity]
    if n is not None and n < len(qs):
        rng = np.random.default_rng(seed)
        qs = [qs[i] for i in sorted(rng.choice(len(qs), n, replace=False))]
    return qs


def as_unanswerable(qs: list[GoldQuestion], kind: str = "off-topic") -> list[GoldQuestion]:
    return [replace(q, evidence=(), gold_ids=(), answers=(), kind=kind) for q in qs]


def engines(work: Path) -> dict[str, Engine]:
    """"seed": the five seed articles; "mixed": them among 2,000 news articles; "xquad": XQuAD-vi."""
    require_shared()
    encoder = load_encoder(None)
    corpus = ROOT / ".cache" / "dev" / "corpus"
    if not corpus.exists():
        dev_corpus.write(corpus)
    build_index(ROOT / "corpus", work / "seed", encoder=encoder)
    build_index(EVAL / "xquad_vi" / "passages.jsonl", work / "xquad", encoder=encoder)
    build_index(corpus, ROOT / ".cache" / "dev" / "index", encoder=encoder)
    return {
        "seed": Engine.open(work / "seed", encoder=encoder),
        "mixed": Engine.open(ROOT / ".cache" / "dev" / "index", encoder=encoder),
        "xquad": Engine.open(work / "xquad", encoder=encoder),
    }


def asked(part: str, engs: dict[str, Engine]) -> Iterator[tuple[str, GoldQuestion, Answer, Trace | None]]:
    """Every question of a part asked with abstention off, so that what it would have answered shows:
    (set name, question, answer, trace)."""
    for name, engine_name, qs in question_sets(part):
        engine = engs[engine_name]
        engine.abstain_params = AbstainParams(threshold=0.0)
        for q in qs:
            yield (name, q, *engine.ask_with_evidence(q.question, top_k=10, history=q.history))


def question_sets(part: str) -> list[tuple[str, str, list[GoldQuestion]]]:
    """(name, engine, questions) of one part. The seed questions are asked of the seeds alone (the
    product's default corpus) and among the news; XQuAD questions of the seeds are off-topic."""
    seed_q = own("seed.jsonl", part)
    news_q = own("news_world.jsonl", part) + own("news_general.jsonl", part)
    if part == "dev":  # written before this split, and tuned on earlier: dev only
        seed_q = load_questions(EVAL / "seed_dev.jsonl") + load_questions(ROOT / "eval" / "dev_extra.jsonl") + seed_q
    off = as_unanswerable(xquad(part, "vi", 40, 1) + xquad(part, "en", 40, 2))
    return [
        ("seed questions / seeds", "seed", seed_q),
        ("seed questions / mixed", "mixed", seed_q),
        ("news questions / mixed", "mixed", news_q),
        ("XQuAD vi", "xquad", xquad(part, "vi", 150)),
        ("XQuAD en", "xquad", xquad(part, "en", 150)),
        ("XQuAD unaccented", "xquad", xquad(part, "unaccented", 60)),
        ("XQuAD asked of the seeds", "seed", off),
    ]
