"""Text shown in the chat exactly as written: Markdown that German texts trigger by accident escaped."""

from __future__ import annotations

import re

# Gender stars ("jede*n Einzelne*n" turns italic), "Expert:innen" (a directive to Chainlit's
# renderer, the word vanishes), "_", "~", links typed by users. Citation markers [n] and `code`
# in error messages stay as they are; lists keep their form.
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_INLINE = re.compile(r"([\\*_~|<]|\[(?!\d+\])|:(?=\w))")
_BLOCK = re.compile(r"^(\s*)([#>])", re.MULTILINE)


def literal(text: str) -> str:
    """Text shown exactly as written, not read as Markdown."""
    parts = _CODE_SPAN.split(text)
    for i in range(0, len(parts), 2):  # the odd parts are code spans
        parts[i] = _BLOCK.sub(r"\1\\\2", _INLINE.sub(r"\\\1", parts[i]))
    return "".join(parts)


def cell(text: object) -> str:
    """One line of literal text, safe inside a Markdown table cell or list item."""
    return literal(" ".join(str(text).split()).replace("`", "'"))
