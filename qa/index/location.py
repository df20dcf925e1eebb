"""Where an index lives: a snapshot folder (the default) or a PostgreSQL database given by its URL.

What the CLI, the app, uploads and removals need of either, so that they do not ask which."""
from __future__ import annotations

from pathlib import Path

from .postgres import connect, index_hint, is_store_url, shown_url, stored_manifest
from .store import CURRENT, Manifest, has_index, read_manifest, rebuild_hint


def shown(where: Path | str) -> str:
    """The location as messages show it (a URL without its password)."""
    return shown_url(str(where)) if is_store_url(where) else str(where)


def rebuild_hint_at(where: Path | str) -> str:
    """How to build the index at `where` again, as messages say it."""
    if is_store_url(where):
        return f"Hãy lập lại chỉ mục: {index_hint(str(where))} --rebuild"
    return rebuild_hint(Path(where))


def manifest_at(where: Path | str) -> Manifest | None:
    """The index's manifest, None when nothing was indexed there yet."""
    if is_store_url(where):
        with connect(str(where)) as conn:
            return stored_manifest(conn)
    return read_manifest(Path(where)) if has_index(Path(where)) else None


def version_at(where: Path | str) -> str:
    """Changes whenever a build writes the index ("" before the first): readers reopen on a change."""
    if is_store_url(where):
        manifest = manifest_at(where)
        return f"{manifest.created} {manifest.articles} {manifest.chunks}" if manifest else ""
    try:
        return (Path(where) / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def build_at(corpus: Path, where: Path | str, **options):
    """Bring the index at `where` up to date with `corpus` (qa.build.build_index's options)."""
    if is_store_url(where):
        from ..build_store import build_store

        return build_store(Path(corpus), str(where), **options)
    from ..build import build_index

    return build_index(Path(corpus), Path(where), **options)
