"""The text of PDF and DOCX files (press releases, statements), as plain text the cleaner reads.

A PDF's text layer comes one visual line at a time, wrapped at the margin; the lines of a paragraph
are joined back so that a sentence is not cut in two (the cleaner would take a short piece for
page chrome). A PDF without a text layer is a scan: it is refused with what to do, not indexed empty.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

SUFFIXES = (".docx", ".pdf")
# A page with fewer characters than this is taken as having no text layer (a page number at most).
_MIN_CHARS_PER_PAGE = 20
_SENTENCE_END = (".", "!", "?", ":", ";", "…", "”", '"', ")")


class UnreadableDocument(Exception):
    """Why a PDF or DOCX file has no usable text: `kind` is "scanned", "encrypted" or "broken"."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class DocumentText:
    title: str  # from the file's properties; "" when it has none (the cleaner then reads the first line)
    text: str


def read_document(data: bytes, suffix: str) -> DocumentText:
    """The title and text of a .pdf or .docx file's bytes."""
    if suffix == ".pdf":
        return _read_pdf(data)
    if suffix == ".docx":
        return _read_docx(data)
    raise ValueError(f"not a PDF or DOCX suffix: {suffix!r}")


def _read_pdf(data: bytes) -> DocumentText:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, NotImplementedError) as exc:
        # pypdf raises DependencyError (a PyPdfError) for AES without the `cryptography` package.
        kind = "encrypted" if "crypt" in str(exc).lower() else "broken"
        raise UnreadableDocument(kind, str(exc)) from exc
    if not pages:
        raise UnreadableDocument("broken", "no pages")
    if sum(len(p.strip()) for p in pages) < _MIN_CHARS_PER_PAGE * len(pages):
        raise UnreadableDocument("scanned")
    return DocumentText(title, "\n\n".join(reflow(p) for p in pages))


def reflow(page: str) -> str:
    """Join the lines of each paragraph: a line that does not end a sentence goes on with the next
    when it was wrapped at the margin (about as long as the page's full lines) or when the next
    starts in lower case."""
    lines = [line.strip() for line in page.splitlines()]
    widths = sorted(len(line) for line in lines if line)
    if not widths:
        return ""
    full = 0.75 * widths[int(0.9 * (len(widths) - 1))]
    out: list[str] = []
    out_widths: list[int] = []  # the width of each output line's last visual line
    for line in lines:
        before = out[-1] if out else ""
        if line and before and not before.endswith(_SENTENCE_END) and (
                out_widths[-1] >= full or line[:1].islower()):
            out[-1] = f"{before} {line}"
            out_widths[-1] = len(line)
        else:
            out.append(line)
            out_widths.append(len(line))
    return "\n".join(out)


def _read_docx(data: bytes) -> DocumentText:
    import docx
    from docx.opc.exceptions import OpcError

    try:
        document = docx.Document(io.BytesIO(data))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        detail = str(exc)
        kind = "encrypted" if data.startswith(b"\xd0\xcf\x11\xe0") else "broken"  # an OLE file: a protected .docx
        raise UnreadableDocument(kind, detail) from exc
    lines = [p.text.strip() for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells = list(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
            lines.append(" | ".join(cells))
    return DocumentText((document.core_properties.title or "").strip(), "\n".join(lines))
