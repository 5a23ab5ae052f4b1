"""Add example questions to a document's `fragen` without touching anything else in the file.

Only lines are inserted into the front matter's `fragen` block: the policy text below the front
matter, the other fields and the questions already released stay byte for byte as they were.
The result is read back and compared before it is written; a file that cannot be edited this
way is left alone with a German message.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import frontmatter
import yaml

from bot.errors import CorpusError

TOP_KEY = re.compile(r"^[^\s#][^:]*:")


def _item(question: str, indent: str) -> str:
    return indent + yaml.safe_dump([question], allow_unicode=True, width=10**6).rstrip("\n") + "\n"


def _key(key: str, indent: str) -> str:
    dumped = yaml.safe_dump({key: []}, allow_unicode=True, width=10**6).rstrip("\n")
    return indent + dumped.removesuffix(" []") + "\n"


def _split(text: str, name: str) -> tuple[list[str], int, int]:
    """The file's lines and the first and last+1 line of the front matter's content."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CorpusError("Die Kopfdaten (--- … ---) am Dateianfang fehlen.", name, 1)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise CorpusError("Das Ende der Kopfdaten (---) fehlt.", name, 1)
    return lines, 1, end


def _merged(current: Mapping[str, list[str]] | None, additions: dict[str, list[str]]) -> dict[str, list[str]]:
    merged = {k: list(v) for k, v in (current or {}).items()}
    for key, questions in additions.items():
        if not questions:
            continue
        target = next((k for k in merged if k.casefold() == key.casefold()), key)
        have = {q.casefold() for q in merged.get(target, [])}
        merged.setdefault(target, [])
        merged[target] += [q for q in questions if q.casefold() not in have]
    return merged


def _bounds(out: list[str]) -> tuple[int | None, int]:
    """The `fragen:` line (None without one) and the end of its block, in the front matter."""
    end = next(i for i in range(1, len(out)) if out[i].strip() == "---")
    head = next((i for i in range(1, end) if re.match(r"^fragen\s*:", out[i])), None)
    if head is None:
        return None, end
    return head, next((i for i in range(head + 1, end) if TOP_KEY.match(out[i])), end)


def _insert(lines: list[str], additions: dict[str, list[str]], nl: str) -> list[str]:
    """Lines with the new questions inserted into the block style `fragen:` mapping."""
    out = list(lines)
    head, block_end = _bounds(out)
    if head is None:  # no fragen yet: a new block at the end of the front matter
        block = ["fragen:" + nl]
        for key, questions in additions.items():
            block += [_key(key, "  ").replace("\n", nl)]
            block += [_item(q, "    ").replace("\n", nl) for q in questions]
        return out[:block_end] + block + out[block_end:]
    if out[head].split(":", 1)[1].split("#", 1)[0].strip():
        raise ValueError("inline fragen")  # `fragen: {…}` or a list on one line: not edited by lines
    for key, questions in additions.items():
        head, block_end = _bounds(out)
        assert head is not None  # the block exists: it was found above or inserted by an earlier key
        key_line: int | None = None
        key_indent: int | None = None
        for i in range(head + 1, block_end):
            stripped = out[i].lstrip(" ")
            indent = len(out[i]) - len(stripped)
            if not stripped.strip() or stripped.startswith(("#", "-")):
                continue
            if key_indent is None:
                key_indent = indent
            if indent == key_indent:
                parsed = yaml.safe_load(stripped)
                if isinstance(parsed, dict) and str(next(iter(parsed))).casefold() == key.casefold():
                    if next(iter(parsed.values())) is not None:
                        raise ValueError("inline list")  # `Heading: [a, b]`
                    key_line = i
                    break
        if key_line is None:
            last = max((i for i in range(head + 1, block_end) if out[i].strip()), default=head)
            pad = " " * (key_indent if key_indent is not None else 2)
            new = [_key(key, pad).replace("\n", nl)] + [
                _item(q, pad + "  ").replace("\n", nl) for q in questions
            ]
            out[last + 1 : last + 1] = new
            continue
        assert key_indent is not None  # set on the way to key_line
        items = []
        for i in range(key_line + 1, block_end):
            if not out[i].strip() or out[i].lstrip().startswith("#"):
                continue
            indent = len(out[i]) - len(out[i].lstrip(" "))
            if indent < key_indent or (indent == key_indent and not out[i].lstrip().startswith("-")):
                break  # PyYAML writes a key's items at the key's own indent: those are items too
            items.append(i)
        first = out[items[0]] if items else None
        pad = first[: len(first) - len(first.lstrip(" "))] if first else " " * (key_indent + 2)
        at = (items[-1] if items else key_line) + 1
        out[at:at] = [_item(q, pad).replace("\n", nl) for q in questions]
    return out


def _redumped(lines: list[str], start: int, end: int, merged: dict[str, list[str]], nl: str) -> list[str]:
    """Fallback: the `fragen` block written anew (its formatting changes, its content does not)."""
    head = next(i for i in range(start, end) if re.match(r"^fragen\s*:", lines[i]))
    block_end = next((i for i in range(head + 1, end) if TOP_KEY.match(lines[i])), end)
    dumped = yaml.safe_dump({"fragen": merged}, allow_unicode=True, sort_keys=False, width=10**6)
    return lines[:head] + [ln + nl for ln in dumped.splitlines()] + lines[block_end:]


def add_questions(path: Path, additions: dict[str, list[str]]) -> dict[str, list[str]]:
    """Add questions under headings of a document's `fragen`; returns what was really added
    (questions already there are skipped). Raises CorpusError and writes nothing when the
    file cannot be edited without changing more than the `fragen` block."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    nl = "\r\n" if "\r\n" in text else "\n"
    before = frontmatter.loads(text)
    current = before.metadata.get("fragen")
    if isinstance(current, list) and current:
        raise CorpusError(
            "„fragen“ ist eine Liste für das ganze Dokument; bitte erst nach Überschriften ordnen.",
            path.name,
            2,
        )
    existing = current if isinstance(current, dict) else {}
    merged = _merged(existing, additions)
    have = {k.casefold(): {q.casefold() for q in v} for k, v in existing.items()}
    added = {
        k: [q for q in dict.fromkeys(v) if q.casefold() not in have.get(k.casefold(), set())]
        for k, v in additions.items()
    }
    added = {k: v for k, v in added.items() if v}
    if not added:
        return {}
    lines, start, end = _split(text, path.name)
    candidates = []
    with contextlib.suppress(ValueError):  # a form not edited by lines: the block is written anew
        candidates.append(_insert(lines, added, nl))
    if current is not None:
        candidates.append(_redumped(lines, start, end, merged, nl))
    for candidate in candidates:
        new_text = "".join(candidate)
        try:
            after = frontmatter.loads(new_text)
        except (yaml.YAMLError, ValueError):
            continue
        others = {k: v for k, v in after.metadata.items() if k != "fragen"}
        if (
            after.metadata.get("fragen") == merged
            and others == {k: v for k, v in before.metadata.items() if k != "fragen"}
            and new_text.endswith(text[_body_offset(text, end) :])
        ):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes((b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"))
            os.replace(tmp, path)
            return added
    raise CorpusError(
        "Die Beispielfragen konnten nicht eingefügt werden, ohne mehr als „fragen“ zu ändern; "
        "die Datei bleibt unverändert. Bitte von Hand eintragen.",
        path.name,
        2,
    )


def _body_offset(text: str, end: int) -> int:
    """Character offset of the closing `---` line: from there on the file must stay as it was."""
    lines = text.splitlines(keepends=True)
    return sum(len(ln) for ln in lines[:end])
