"""Asking back in the real chat: the candidates are buttons, a click (or Enter) answers the
original question from that passage, "Nichts davon" refuses with the Referat's contact, and it
all fits a 390 px phone. Driven in Debian's Chromium against `chainlit run`.

`UPDATE_SCREENSHOT=1` also refreshes docs/screenshot-rueckfrage.png and -mobil.png."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.pipeline.answer import ASK_BACK, LEAD_IN, NONE_OF_THEM
from tests.support import REPO
from tests.support.chat import DISCLOSURE, ask, chat_server, reply
from tests.support.decisions import decision_file

pytestmark = pytest.mark.browser
UNSURE = "Wer hat am Ende das letzte Wort – das Programm oder ein Mensch?"


@pytest.fixture(scope="module")
def asking(real_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A chat over the real index that asks back whenever a question is in scope at all (bands
    set so; what is tested here is the dialogue, not where the fitted bands lie)."""
    root = tmp_path_factory.mktemp("rueckfrage")
    decisions = decision_file(root, answer_right=1.01, choice_in_scope=0.0)
    data = root / "data"
    with chat_server(
        real_settings.index_dir, data, root / "chainlit.log", BOT_DECISION_FILE=str(decisions)
    ) as url:
        yield url, data


def _page(browser, url: str, **context):
    page = browser.new_context(locale="de-DE", **context).new_page()
    page.goto(url)
    page.locator("#starters").wait_for(timeout=30_000)
    return page


def _buttons(message):
    """The pick buttons under a question asked back, as a person sees them."""
    buttons = message.page.get_by_role("button").filter(has_text=NONE_OF_THEM)
    buttons.first.wait_for(timeout=20_000)
    return message.page.locator("button", has_text=". ")


def test_a_question_asked_back_is_answered_by_a_keyboard_pick(browser, asking) -> None:
    url, data = asking
    page = _page(browser, url, viewport={"width": 1280, "height": 900})
    message = ask(page, UNSURE)
    text = message.inner_text()
    assert ASK_BACK in text and "Zur Auswahl" in text and DISCLOSURE.search(text)
    assert "keine passende Stelle" not in text  # a question back, not a refusal
    candidates = _buttons(message)
    labels = [candidates.nth(i).inner_text() for i in range(candidates.count())]
    assert 2 <= len(labels) <= 3 and labels[0].startswith("1. ")
    chosen = labels[0].split(". ", 1)[1]
    assert f"[1] {chosen}:" in text  # the button names the candidate shown as [1]

    # By keyboard: the button takes the focus and Enter picks it.
    first = candidates.first
    first.focus()
    expect(first).to_be_focused()
    answer = reply(page, lambda: page.keyboard.press("Enter"))
    said = answer.inner_text()
    assert said.startswith(LEAD_IN) and f"{chosen}:" in said and "„" in said and "[1]" in said
    assert "Quellen" in said and DISCLOSURE.search(said)
    expect(page.locator("button", has_text=NONE_OF_THEM)).to_have_count(0)  # one pick per question

    # The pick is recorded, redacted like every stored question, for the Referat's review.
    picks = [json.loads(line) for line in (data / "picks.jsonl").read_text().splitlines()]
    assert picks[-1]["question"] == UNSURE and picks[-1]["picked"] and picks[-1]["channel"] == "ui"

    # The conversation goes on: a follow-up is read with the rule the person chose.
    follow_up = ask(page, "Und was heißt das konkret für mich?")
    assert f"[1] {chosen}:" in follow_up.inner_text()
    page.context.close()


def test_none_of_them_gives_the_refusal_with_the_contact(browser, asking) -> None:
    url, _ = asking
    page = _page(browser, url, viewport={"width": 1280, "height": 900})
    message = ask(page, UNSURE)
    _buttons(message)
    answer = reply(page, lambda: page.get_by_role("button", name=NONE_OF_THEM).click())
    said = answer.inner_text()
    assert "keine passende Stelle" in said and "Referat Digitalisierung" in said
    assert "finis(at)asb-nrw.de" in said and DISCLOSURE.search(said)
    page.context.close()


def test_asking_back_fits_a_phone(browser, asking, tmp_path) -> None:
    url, _ = asking
    desktop = _page(browser, url, viewport={"width": 1280, "height": 900})
    _buttons(ask(desktop, UNSURE))
    desktop.wait_for_timeout(300)
    _keep(desktop, tmp_path, "screenshot-rueckfrage.png")
    desktop.context.close()

    phone = _page(browser, url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    message = ask(phone, UNSURE)
    buttons = _buttons(message)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    nothing = phone.get_by_role("button", name=NONE_OF_THEM).bounding_box()
    assert nothing is not None and nothing["x"] + nothing["width"] <= 390
    phone.wait_for_timeout(300)
    _keep(phone, tmp_path, "screenshot-rueckfrage-mobil.png")
    answer = reply(phone, lambda: buttons.first.tap())
    assert answer.inner_text().startswith(LEAD_IN)
    phone.context.close()


def _keep(page, tmp_path: Path, name: str) -> None:
    """A screenshot of what a person sees; with UPDATE_SCREENSHOT=1 it replaces the one in docs/."""
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(shot, REPO / "docs" / name)
