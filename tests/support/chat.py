"""The real chat for browser tests: `chainlit run` on 127.0.0.1, and how a person asks in it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.config import Settings
from tests.support import REPO, bot_env, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every reply discloses the AI: answers and refusals with DEFAULT_DISCLOSURE, errors with
# DEFAULT_NOTICE_DISCLOSURE; both name the "KI-Assistent(en) (ASB Richtlinien-Assistent)".
DISCLOSURE = re.compile(r"KI-Assistent(?:en)? \(ASB Richtlinien-Assistent\)")
STARTUP_SECONDS = 90


@contextmanager
def chat_server(index_dir: Path, data_dir: Path, log_file: Path, **extra_env: str) -> Iterator[str]:
    """The real server on 127.0.0.1 (CI mode off), stopped whatever happens."""
    port = free_port()
    env = bot_env(Settings(corpus_dir=REPO / "corpus", index_dir=index_dir, data_dir=data_dir))
    env.update(CHAINLIT_APP_ROOT=str(REPO), **extra_env)
    chainlit = Path(sys.executable).with_name("chainlit")
    command = [str(chainlit), "run", "bot/app.py", "--headless", "--host", "127.0.0.1", "--port", str(port)]
    # The log goes to a file: an unread pipe would stall the server once it fills.
    with log_file.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"chainlit ended early:\n{log_file.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    log = log_file.read_text()
                    pytest.fail(f"chainlit did not listen within {STARTUP_SECONDS} s:\n{log}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def until_sent(page, send) -> None:
    """Send (type or click) until the question shows as a message: an early one is lost
    while the chat's socket is still connecting."""
    for _ in range(10):
        before = page.locator(".step").count()
        send()
        for _ in range(20):
            if page.locator(".step").count() > before:
                return
            page.wait_for_timeout(150)
    pytest.fail("the chat did not take the question")


def type_question(page, question: str) -> None:
    """Type as a person would, into an emptied composer, and press Enter."""
    page.click("#chat-input")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(question)
    page.keyboard.press("Enter")


def reply(page, send, timeout_ms: int = 60_000):
    """Send a question; return the reply: the next message that carries the AI disclosure."""
    replies = page.locator(".step", has_text=DISCLOSURE)
    before = replies.count()
    until_sent(page, send)
    expect(replies).to_have_count(before + 1, timeout=timeout_ms)
    return replies.last


def ask(page, question: str):
    """Type a question and return the reply."""
    return reply(page, lambda: type_question(page, question))


def signed_in(browser, url: str, account: tuple[str, str], locale: str = "en-US"):
    """A page of a new browser context, signed in with a password account (name, password), the
    chat ready for questions."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(url)
    page.fill("#email", account[0])
    page.fill("#password", account[1])
    page.keyboard.press("Enter")
    page.locator("#starters").wait_for(timeout=30_000)
    return page
