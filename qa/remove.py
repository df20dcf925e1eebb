"""Take articles out of the corpus folder, then bring the index up to date.

A removed file is moved to `<corpus>/.removed/` (hidden: the indexer never reads it), not deleted,
so a wrong click loses nothing: moving it back and indexing again restores it. The index update is
incremental; the other articles keep their vectors. Messages are in Vietnamese: the app shows them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .build import BuildReport
from .embed.encoder import Encoder
from .errors import QAError
from .ingest import article_files
from .index.location import build_at
from .upload import recorded_spec

REMOVED = ".removed"


class RemoveError(QAError):
    """An article that cannot be removed; the message says why and what to do."""


@dataclass(frozen=True)
class RemoveResult:
    removed: tuple[str, ...]  # doc_ids taken out of the corpus
    kept_in: Path  # where their files were moved
    report: BuildReport


def remove_articles(doc_ids: Sequence[str], corpus: Path, index_dir: Path | str,
                    encoder: Encoder | None = None) -> RemoveResult:
    """Move each article's file out of the corpus folder, then update the index; nothing is moved
    when any doc_id is not a file of the folder or when the corpus would be left empty."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise RemoveError(f"Kho bài viết {corpus} không phải một thư mục: hãy xoá bản ghi khỏi tệp đó rồi lập chỉ "
                          "mục lại.")
    root = corpus.resolve()
    doc_ids = list(dict.fromkeys(doc_ids))
    files = [_file_of(root, doc_id) for doc_id in doc_ids]
    if not files:
        raise RemoveError("Chưa chọn bài nào để xoá.")
    going = set(files)
    if not any(path not in going for path in article_files(root)):
        raise RemoveError("Không thể xoá hết mọi bài: kho cần ít nhất một bài để trả lời câu hỏi.")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    kept_in = root / REMOVED / stamp
    for doc_id, path in zip(doc_ids, files):
        target = kept_in / doc_id
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    model = recorded_spec(index_dir, encoder) if encoder is not None else None
    report = build_at(root, index_dir, model=model, encoder=encoder)
    return RemoveResult(tuple(doc_ids), kept_in, report)


def _file_of(root: Path, doc_id: str) -> Path:
    """The corpus file of `doc_id` (a link itself, not where it points), or why there is none."""
    path = root / doc_id
    parts = Path(doc_id).parts
    if Path(doc_id).is_absolute() or ".." in parts or any(p.startswith(".") for p in parts) or not parts:
        raise RemoveError(f"“{doc_id}” không phải một bài trong kho {root}.")
    if not path.is_file():
        raise RemoveError(f"Kho không có bài “{doc_id}” (có thể đã được xoá).")
    return path
