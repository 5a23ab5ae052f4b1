"""The chat as a person sees it: the real `chainlit run` driven in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
DISCLOSURE = "KI-Assistent (ASB Richtlinien-Assistent)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chat_server(index_dir: Path, data_dir: Path) -> Iterator[str]:
    """The real server on 127.0.0.1 (CI mode off), stopped whatever happens."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(CHAINLIT_APP_ROOT=str(REPO), HF_HUB_OFFLINE="1", BOT_CORPUS_DIR=str(REPO / "corpus"),
               BOT_INDEX_DIR=str(index_dir), BOT_DATA_DIR=str(data_dir))
    chainlit = Path(sys.executable).with_name("chainlit")
    server = subprocess.Popen(
        [str(chainlit), "run", "bot/app.py", "--headless", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"chainlit ended early:\n{server.stdout.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("chainlit did not listen within 90 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _ask(page, question: str, expect: str, timeout_ms: int = 60_000):
    """Type as a person would and send; returns the last message once `expect` shows."""
    page.wait_for_selector("#chat-input", timeout=30_000)
    page.click("#chat-input")
    page.keyboard.type(question)
    deadline = time.monotonic() + 30
    while True:
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)
        if not page.inner_text("#chat-input").strip() or time.monotonic() > deadline:
            break  # sent (the composer empties), or give up and let the wait below report it
    page.get_by_text(expect).last.wait_for(timeout=timeout_ms)
    return page.locator(".step").last


def test_a_person_asks_in_german_and_sees_a_cited_disclosed_answer(browser, real_settings, tmp_path) -> None:
    with chat_server(real_settings.index_dir, tmp_path / "data") as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        page.goto(url)
        page.wait_for_selector("#chat-input", timeout=30_000)
        assert page.get_attribute("#chat-input", "placeholder") == "Ihre Frage zu KI beim ASB NRW …"
        page.get_by_text("Klientendaten in ChatGPT?").wait_for(timeout=30_000)  # a starter
        body = page.inner_text("body")
        assert "Type your message" not in body and "LLMs" not in body

        answer = _ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?", DISCLOSURE)
        text = answer.inner_text()
        assert "[1]" in text and "Wir kennzeichnen Inhalte, die mithilfe von KI erstellt wurden" in text
        assert "Quellen" in text and "Transparenz" in text
        page.get_by_text("Quelle 1", exact=True).last.click()
        side = page.get_by_text("Stand: 2026-11-25").last
        side.wait_for(timeout=10_000)
        assert page.get_by_text("Personen, die KI anwenden, müssen dafür befähigt sein", exact=False).count() >= 1
        screenshot = REPO / "docs" / "screenshot.png"
        screenshot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(tmp_path / "chat.png"))
        if os.environ.get("UPDATE_SCREENSHOT"):
            shutil.copy(tmp_path / "chat.png", screenshot)

        follow_up = _ask(page, "Und beim Datenschutz?", "personenbezogenen Daten, Daten von Dritten")
        assert DISCLOSURE in follow_up.inner_text()

        refusal = _ask(page, "Wie wird das Wetter morgen?", "keine passende Stelle")
        refusal_text = refusal.inner_text()
        assert "Referat Digitalisierung" in refusal_text and DISCLOSURE in refusal_text

        typed = "<b>fett</b><script>window.__pwned=1</script> Darf ich ChatGPT nutzen?"
        _ask(page, typed, DISCLOSURE)
        assert page.evaluate("window.__pwned === undefined")
        assert page.locator(".step b", has_text="fett").count() == 0


def test_missing_index_shows_one_german_sentence(browser, tmp_path) -> None:
    with chat_server(tmp_path / "kein-index", tmp_path / "data") as url:
        page = browser.new_page()
        page.goto(url)
        page.get_by_text("Klientendaten in ChatGPT?").wait_for(timeout=30_000)  # connected
        message = _ask(page, "Was gilt für KI?", "Kein Index gefunden")
        text = message.inner_text()
        assert "python -m bot index" in text and DISCLOSURE in text
        assert "Traceback" not in page.inner_text("body")
