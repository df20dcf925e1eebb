"""Write the dev corpus: the five seed articles mixed into 2,000 real news articles.

Run: .venv/bin/python scripts/dev_corpus.py [--out .cache/dev/corpus] [--size 2000]
Reads ../shared/news-corpus/articles.jsonl (never committed). The selection is deterministic:
foreign-affairs news first (the hard distractors around the seeds: world and diplomacy labels, or
articles naming ASEAN, the UN, foreign ministries), then a random rest, each ordered by a hash of
the article id. Each news article becomes one .txt file as an upload would (`qa.upload.record_text`),
so `doc_id` is `news/<id>.txt`; the dev question files refer to these ids.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.upload import record_text  # noqa: E402

NEWS = ROOT.parent / "shared" / "news-corpus" / "articles.jsonl"
FOREIGN_TOPICS = {"world", "TheGioi", "DoiNoi-DoiNgoai"}
FOREIGN_WORDS = re.compile(r"ASEAN|Liên Hợp Quốc|Liên hợp quốc|Bộ Ngoại giao|ngoại giao|APEC|Biển Đông|Đối tác chiến lược")


def _key(article_id: str) -> str:
    return hashlib.sha1(article_id.encode()).hexdigest()


def select(articles: list[dict], size: int) -> list[dict]:
    foreign = [a for a in articles if a.get("topic") in FOREIGN_TOPICS or FOREIGN_WORDS.search(a["text"])]
    foreign.sort(key=lambda a: _key(a["id"]))
    picked = foreign[: size * 6 // 10]
    taken = {a["id"] for a in picked}
    rest = sorted((a for a in articles if a["id"] not in taken), key=lambda a: _key(a["id"]))
    return picked + rest[: size - len(picked)]


def write(out: Path, size: int = 2000) -> None:
    if not NEWS.exists():
        sys.exit(f"The news corpus is absent: {NEWS} (it lives in ../shared/news-corpus/).")
    articles = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
    chosen = select(articles, size)
    if out.exists():
        shutil.rmtree(out)
    (out / "news").mkdir(parents=True)
    for seed in sorted((ROOT / "corpus").glob("*.txt")):
        shutil.copy(seed, out / seed.name)
    for a in chosen:
        text = record_text(a.get("title") or "", a["text"], a.get("date") or "", a.get("source") or "")
        (out / "news" / f"{a['id']}.txt").write_text(text, encoding="utf-8")
    print(f"{out}: 5 seed articles + {len(chosen)} news articles")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "dev" / "corpus")
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args()
    write(args.out, args.size)


if __name__ == "__main__":
    main()
