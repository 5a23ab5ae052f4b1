"""Every change is written whole or not at all, kept as a version, and named in the history."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from bot.curation.versions import OUTSIDE, CorpusStore, NotFound, sha256
from tests.support import write_doc


def _store(tmp_path: Path) -> CorpusStore:
    return CorpusStore(tmp_path / "corpus", tmp_path / "data")


def test_a_write_keeps_the_version_and_says_who_did_what(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = store.write(
        "merkblatt", b"---\ntitel: A\n---\n\nText eins.\n", "anna", "hochgeladen", "aus a.docx"
    )
    second = store.write(
        "merkblatt", b"---\ntitel: A\n---\n\nText zwei.\n", "bernd", "bearbeitet", "Wortlaut"
    )
    assert (first.version, second.version) == (1, 2)
    assert store.read("merkblatt") == b"---\ntitel: A\n---\n\nText zwei.\n"
    assert store.version_text("merkblatt", 1) == b"---\ntitel: A\n---\n\nText eins.\n"
    history = store.changes("merkblatt")
    assert [(c.who, c.action, c.version) for c in history] == [
        ("anna", "hochgeladen", 1),
        ("bernd", "bearbeitet", 2),
    ]
    assert history[-1].sha256 == sha256(store.read("merkblatt"))
    assert store.author("merkblatt") == "bernd" and store.current_version("merkblatt") == 2
    # The history lives outside the corpus: the corpus reader sees one document.
    assert sorted(p.name for p in store.corpus_dir.iterdir()) == ["merkblatt.md"]


def test_a_change_made_outside_the_view_is_recorded_before_the_next(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = write_doc(store.corpus_dir, "merkblatt", body="Von Hand geschrieben.")
    assert store.current_version("merkblatt") is None and store.author("merkblatt") is None
    store.write("merkblatt", path.read_bytes().replace(b"Hand", b"Ansicht"), "anna", "bearbeitet", "Wortlaut")
    assert [(c.who, c.version) for c in store.changes("merkblatt")] == [(OUTSIDE, 1), ("anna", 2)]
    assert b"Von Hand geschrieben." in store.version_text("merkblatt", 1)


def test_a_failed_write_leaves_the_old_file_and_no_stray_files(tmp_path: Path, monkeypatch) -> None:
    store = _store(tmp_path)
    store.write("merkblatt", b"---\ntitel: A\n---\n\nAlt.\n", "anna", "hochgeladen", "a")

    replace = os.replace

    def disk_full(src: str, dst: str) -> None:
        if Path(dst) == store.path("merkblatt"):  # the version is kept, then the document fails
            raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        store.write("merkblatt", b"---\ntitel: A\n---\n\nNeu.\n", "bernd", "bearbeitet", "b")
    monkeypatch.undo()
    assert store.read("merkblatt") == b"---\ntitel: A\n---\n\nAlt.\n"
    assert [c.version for c in store.changes("merkblatt")] == [1]
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_names_that_would_leave_the_corpus_are_no_documents(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for name in ("../geheim", "a/b", "", ".versteckt", "GROSS"):
        with pytest.raises(NotFound):
            store.path(name)
    with pytest.raises(NotFound):
        store.version_text("merkblatt", 3)


def test_writers_take_turns_so_version_numbers_never_repeat(tmp_path: Path) -> None:
    store = _store(tmp_path)

    def writer(who: str) -> None:
        for n in range(10):
            with store.locked():
                data = f"---\ntitel: A\n---\n\n{who} {n}\n".encode()
                CorpusStore(store.corpus_dir, tmp_path / "data").write(
                    "merkblatt", data, who, "bearbeitet", str(n)
                )

    threads = [threading.Thread(target=writer, args=(w,)) for w in ("anna", "bernd", "carla")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = [c.version for c in store.changes("merkblatt")]
    assert versions == list(range(1, 31))
    assert store.version_text("merkblatt", 30) == store.read("merkblatt")
