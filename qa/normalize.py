"""The one text normalization used for corpus text and queries alike."""
from __future__ import annotations

import re
import unicodedata

# Zero-width and formatting characters that scraped pages leave inside words.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e]")
# Every control character except newline and tab.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_LINE_SEPARATORS = re.compile("\r\n?|[\u2028\u2029\x85\x0c\x0b]")
_BLANK_RUN = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, invisible characters removed, spaces collapsed, line breaks kept.

    Paragraph breaks (blank lines) survive so cleaning and chunking can use them.
    """
    text = _LINE_SEPARATORS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def normalize_query(text: str) -> str:
    """A query is normalized like corpus text, then flattened to one line."""
    return " ".join(normalize_text(text).split())


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese tone and vowel marks: 'Đà Nẵng' -> 'Da Nang'.

    NFD separates combining marks; đ/Đ do not decompose, so they are folded explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))
