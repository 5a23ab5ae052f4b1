"""The chat as a person sees it: the real `chainlit run` driven in Debian's Chromium.

`UPDATE_SCREENSHOT=1 pytest tests/chat/test_app.py` also refreshes docs/screenshot.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.config import DEFAULT_DISCLOSURE, DEFAULT_NOTICE_DISCLOSURE
from tests.support import REPO
from tests.support.chat import DISCLOSURE, ask, chat_server, reply

pytestmark = pytest.mark.browser
# Chainlit's own English texts that must not reach the screen.
ENGLISH = ["Type your message", "LLMs can make mistakes", "LLMs", "Readme", "Built with", "New Chat"]


@pytest.fixture(scope="module")
def chat_url(real_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server over the real index for all tests of a working chat."""
    root = tmp_path_factory.mktemp("chat")
    with chat_server(real_settings.index_dir, root / "data", root / "chainlit.log") as url:
        yield url


@pytest.fixture
def page(browser, chat_url):
    """A fresh chat in an English-speaking browser: the app must still speak German."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(chat_url)
    page.locator("#starters").get_by_text("Klientendaten in ChatGPT?").wait_for(timeout=30_000)
    yield page
    context.close()


def _opened(browser, url: str):
    """A new page of a chat server of its own, in an English-speaking browser, ready for questions."""
    page = browser.new_page(locale="en-US")
    page.goto(url)
    page.locator("#starters").wait_for(timeout=30_000)
    return page


def _start_with(page, starter: str):
    """Click a starter question and return the reply."""
    return reply(page, lambda: page.locator("#starters").get_by_text(starter).click())


def _italic_texts(message) -> list[str]:
    """The texts a person sees in italics in a message."""
    return message.evaluate(
        """step => [...step.querySelectorAll('*')]
            .filter(e => getComputedStyle(e).fontStyle === 'italic'
                && getComputedStyle(e.parentElement).fontStyle !== 'italic')
            .map(e => e.textContent)"""
    )


def test_the_interface_speaks_german(page) -> None:
    assert page.get_attribute("#chat-input", "placeholder") == "Ihre Frage zu KI beim ASB NRW …"
    starters = page.inner_text("#starters")
    assert "KI-Inhalte kennzeichnen" in starters and "Ansprechpartner" in starters
    assert page.locator("#upload-button-input").count() == 0

    page.click("#readme-button")
    page.get_by_text("Bitte keine personenbezogenen Daten eingeben").wait_for(timeout=10_000)
    welcome = page.inner_text("body")
    assert "Anleitung" in welcome and "wörtlichen Zitaten" in welcome and "Referat Digitalisierung" in welcome
    for english in ENGLISH:
        assert english not in welcome


def test_an_answer_quotes_cites_and_discloses(page, tmp_path) -> None:
    answer = ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?")
    text = answer.inner_text()
    assert "Wir kennzeichnen Inhalte, die mithilfe von KI erstellt wurden" in text and "[1]" in text
    assert "Quellen" in text and "Transparenz" in text
    assert page.get_by_text("Keine personenbezogenen Daten eingeben").count() == 1  # our footer
    for english in ENGLISH:
        assert english not in page.inner_text("body")

    link = answer.locator("a", has_text="Quelle 1")  # a link once the source element has arrived
    link.wait_for(timeout=10_000)
    page.wait_for_timeout(500)
    assert page.locator("#side-view-content").count() == 0  # the sources open on a click only
    link.click()
    side = page.locator("#side-view-content")
    side.get_by_text("Personen, die KI anwenden, müssen dafür befähigt sein").wait_for(timeout=10_000)
    assert "Abschnitt: Transparenz" in side.inner_text() and "Stand: 2026-11-25" in side.inner_text()
    assert page.inner_text("#side-view-title") == "Quelle 1"
    # The side panel marks what the answer quotes, in bold, inside the whole passage.
    assert "Transparenz:" in text  # the quote stands under its heading
    quoted = re.findall(r"„(.+?)“ \[1\]", text)
    bold = side.evaluate(
        "view => [...view.querySelectorAll('.font-bold, strong, b')].map(e => e.textContent.trim())"
    )
    assert quoted and sorted(t for t in bold if t in quoted) == sorted(quoted)
    passage_sentences = 3
    plain = [t for t in bold if t.startswith(("Personen, die KI", "Ziel ist es", "Wir kennzeichnen"))]
    assert len(plain) == len(quoted) <= passage_sentences  # only the quoted sentences are bold

    page.wait_for_timeout(700)  # the side view slides in
    _keep(page, tmp_path, "screenshot.png")


def test_a_follow_up_builds_on_the_earlier_question(page) -> None:
    ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?")
    follow_up = ask(page, "Und beim Datenschutz?")
    text = follow_up.inner_text()
    assert "Datenschutz" in text.split("Quellen")[0] and "[1]" in text  # quoted, not declined
    assert "Datenschutz und Sicherheit" in text.split("Quellen")[1]

    follow_up.get_by_text("Quelle 1", exact=True).click()  # this answer's source, not the first one's
    side = page.locator("#side-view-content")
    expect(side).to_contain_text("Abschnitt: Datenschutz und Sicherheit")
    assert "Transparenz" not in side.inner_text()


def test_a_question_the_texts_do_not_answer_is_declined(page) -> None:
    refusal = ask(page, "Wie wird das Wetter morgen?").inner_text()
    assert "keine passende Stelle" in refusal and "Referat Digitalisierung" in refusal
    assert "In den freigegebenen Texten des ASB NRW steht dazu" not in refusal


def test_german_gender_forms_appear_as_written(page) -> None:
    contact = _start_with(page, "Ansprechpartner")
    assert "Sprechen Sie unser Expert:innen-Team gerne an." in contact.inner_text()
    fairness = ask(page, "Muss die KI alle Menschen fair behandeln?")
    assert "jede*n Einzelne*n fair behandeln" in fairness.inner_text()
    assert _italic_texts(fairness) == [DEFAULT_DISCLOSURE]  # "*n Einzelne*" is not emphasis


def test_typed_html_stays_text(page) -> None:
    typed = "<b>fett</b><script>window.__pwned=1</script> Darf ich ChatGPT nutzen?"
    ask(page, typed)
    assert page.get_by_text("<b>fett</b>", exact=False).count() == 1  # shown as typed
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator(".step b", has_text="fett").count() == 0


def test_missing_index_shows_one_german_sentence(browser, tmp_path) -> None:
    with chat_server(tmp_path / "kein-index", tmp_path / "data", tmp_path / "chainlit.log") as url:
        page = _opened(browser, url)
        message = _start_with(page, "Klientendaten in ChatGPT?").inner_text()
        assert "Kein Index gefunden. Bitte python -m bot index ausführen." in message
        assert DEFAULT_NOTICE_DISCLOSURE in message
        assert "Traceback" not in page.inner_text("body")
        page.close()


def test_a_language_model_answer_streams_then_shows_verified_with_its_disclosure(
    browser, real_settings, tmp_path
) -> None:
    from bot.config import DEFAULT_LLM_DISCLOSURE
    from tests.support.fake_llm import FakeLLM

    with (
        FakeLLM() as fake,
        chat_server(
            real_settings.index_dir,
            tmp_path / "data",
            tmp_path / "chainlit.log",
            BOT_LLM="openai:uncited",
            BOT_LLM_BASE_URL=fake.url,
            BOT_LLM_API_KEY="test-key",
            BOT_LLM_TIMEOUT="5",
        ) as url,
    ):
        page = _opened(browser, url)
        reply = ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").inner_text()
        assert fake.requests and fake.requests[-1].get("stream") is True
        assert "werden gekennzeichnet und besonders sorgfältig" in reply and "[1]" in reply
        assert "Pflichtschulung" not in page.inner_text("body"), "the unverified draft sentence is gone"
        assert " ".join(DEFAULT_LLM_DISCLOSURE.split()[:8]) in " ".join(reply.split())
        page.close()


def test_a_refusal_names_only_the_referat_and_no_rule_after_it(browser, real_settings, tmp_path) -> None:
    from tests.support.decisions import decision_file

    # Every question is refused here: the refusal text is never followed by a rule to check.
    refusing = decision_file(tmp_path, answer_in_scope=1.01, choice_in_scope=1.01)
    with chat_server(
        real_settings.index_dir, tmp_path / "data", tmp_path / "chainlit.log", BOT_DECISION_FILE=str(refusing)
    ) as url:
        page = _opened(browser, url)
        reply = ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?")
        text = reply.inner_text()
        assert "keine passende Stelle" in text and "Referat Digitalisierung" in text
        assert "Transparenz" not in text and "Zur Auswahl" not in text and "Vermutete" not in text
        assert DISCLOSURE.search(text)
        reply.get_by_text("Quelle 1", exact=True).first.click()
        expect(page.locator("#side-view-content")).to_contain_text("Referat Digitalisierung")
        page.close()


def test_cross_origin_requests_are_not_allowed(real_settings, tmp_path) -> None:
    import urllib.request

    with chat_server(real_settings.index_dir, tmp_path / "data", tmp_path / "chainlit.log") as url:

        def preflight(origin: str) -> str | None:
            request = urllib.request.Request(
                f"{url}/project/settings",
                method="OPTIONS",
                headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.headers.get("access-control-allow-origin")
            except urllib.error.HTTPError as error:
                return error.headers.get("access-control-allow-origin")

        assert preflight("http://localhost:8000") == "http://localhost:8000"
        assert preflight("https://evil.example") is None


def _keep(page, tmp_path: Path, name: str) -> None:
    """A screenshot for the test's folder; with UPDATE_SCREENSHOT=1 also for docs/."""
    page.screenshot(path=str(tmp_path / name))
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(tmp_path / name, REPO / "docs" / name)


def test_an_overview_question_lists_every_grundsatz(page) -> None:
    message = ask(page, "Welche Grundsätze gibt es?")
    if "Welche meinen Sie?" in message.inner_text():  # asked back: the overview is the first rule offered
        overview = page.get_by_role("button", name="1. Grundsätze für den Einsatz künstlicher Intelligenz")
        message = reply(page, lambda: overview.click())
    text = message.inner_text()
    for item in ["Der Mensch steht im Mittelpunkt", "Transparenz", "Datenschutz und Sicherheit",
                 "Autonomie und Kontrolle", "Fairness und Nicht-Boshaftigkeit"]:  # fmt: skip
        assert f"„{item}“" in text
    assert all(f"[{n}]" in text for n in range(1, 6))


def test_small_talk_gets_a_friendly_reply_not_the_refusal(page) -> None:
    reply = ask(page, "hallo")
    text = reply.inner_text()
    assert "Fragen Sie zum Beispiel" in text and DISCLOSURE.search(text)
    assert "keine passende Stelle" not in text and "Quellen" not in text


def test_on_a_phone_everything_fits_the_screen(browser, chat_url, tmp_path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="de-DE")
    page = context.new_page()
    page.goto(chat_url)
    page.locator("#starters").wait_for(timeout=30_000)
    reply = ask(page, "Darf ich Klientendaten in ChatGPT kopieren?")
    page.wait_for_timeout(1000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for element in [
        page.get_by_text("Ohne Anmeldung – nur auf diesem Rechner erreichbar"),
        reply,
        reply.get_by_text("Quelle 1").first,
        page.locator("#chat-input"),
    ]:
        box = element.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    _keep(page, tmp_path, "screenshot-mobile.png")
    context.close()


def test_questions_sent_faster_than_a_person_types_get_a_polite_note(
    browser, real_settings, tmp_path
) -> None:
    with chat_server(
        real_settings.index_dir,
        tmp_path / "data",
        tmp_path / "chainlit.log",
        BOT_QUESTION_BURST="1",
        BOT_QUESTIONS_PER_MINUTE="1",
    ) as url:
        page = _opened(browser, url)
        assert "[1]" in ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").inner_text()
        note = ask(page, "Und beim Datenschutz?")  # one question a minute is all this chat takes
        text = note.inner_text()
        assert "Diese Frage kam sehr schnell nach den vorigen – bitte stellen Sie sie in" in text
        assert "[1]" not in text and "Quellen" not in text
        assert _italic_texts(note) == [DEFAULT_NOTICE_DISCLOSURE]  # the AI disclosure, as on every reply
        page.close()
