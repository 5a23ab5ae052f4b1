"""Sign-in, roles, history, feedback and the Referat's views, in the real chat and a real browser.

Sign-in tries come from loopback addresses of their own (127.0.0.2, …): the chat counts
failures per address, and believes X-Forwarded-For only from its trusted proxy, 127.0.0.5 here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.chat.accounts import add_account
from bot.chat.signin import MISSING, TOO_LONG
from bot.ops.loginload import from_address, try_sign_in
from tests.support import REPO, bot_env, run_bot
from tests.support.chat import ask, chat_server, signed_in

pytestmark = pytest.mark.browser
SECRET = "t" * 48
STAFF = ("anna.schmidt", "pflege-passwort-2026")
REFERAT = ("referat", "referat-passwort-2026")
GUESSED = ("ziel.konto", "ziel-passwort-2026")  # someone tries to guess this one's password
PROBE = ("probe.konto", "probe-passwort-2026")
BLOCKED = ("tipp.fehler", "tipp-passwort-2026")  # a person mistyping in the browser
PROXY = "127.0.0.5"
TOO_MANY = "Zu viele Fehlversuche – bitte in 1 Minute erneut versuchen."
# What a person might type about a client; none of it may be stored in clear.
PERSONAL = ["Müller", "0211 9876543", "m.mueller@example.org"]


@dataclass(frozen=True)
class Chat:
    url: str
    data: Path
    log: Path


@pytest.fixture(scope="module")
def chat(real_settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    """The chat with password accounts: one for staff, one for the Referat."""
    root = tmp_path_factory.mktemp("signin")
    users = root / "konten.toml"
    add_account(users, *STAFF, "mitarbeitende")
    add_account(users, *REFERAT, "referat")
    for account in (GUESSED, PROBE, BLOCKED):
        add_account(users, *account, "mitarbeitende")
    extra = {"BOT_USERS_FILE": str(users), "CHAINLIT_AUTH_SECRET": SECRET, "BOT_TRUSTED_PROXIES": PROXY}
    with chat_server(real_settings.index_dir, root / "data", root / "chainlit.log", **extra) as url:
        yield Chat(url, root / "data", root / "chainlit.log")


def test_password_sign_in_lets_staff_in_and_keeps_others_out(browser, chat: Chat) -> None:
    page = browser.new_page(locale="en-US")
    page.goto(chat.url)
    page.locator("#email").wait_for(timeout=30_000)
    assert "Bitte melden Sie sich an" in page.inner_text("body")
    page.fill("#email", STAFF[0])
    page.fill("#password", "falsches-passwort")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)
    assert page.locator("#chat-input").count() == 0 and page.locator("#email").count() == 1
    page.close()

    page = signed_in(browser, chat.url, STAFF)
    answer = ask(page, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?").inner_text()
    assert "Wir kennzeichnen Inhalte" in answer
    assert page.locator("#command-button").count() == 0  # staff get no Referat views
    assert "Ohne Anmeldung" not in page.inner_text("body")
    page.context.close()


def _command(page, name: str):
    """Pick a Referat command in the composer and send it; return the reply."""
    replies = page.locator(".step", has_text="ASB Richtlinien-Assistent")
    before = replies.count()
    page.click("#chat-input")
    page.keyboard.type(f"/{name}")
    page.get_by_text(name, exact=True).wait_for(timeout=10_000)
    page.keyboard.press("Enter")  # picks the highlighted command
    page.keyboard.type("anzeigen")
    page.keyboard.press("Enter")
    expect(replies).to_have_count(before + 1, timeout=30_000)
    return replies.last


def test_the_referat_sees_the_gap_report_and_the_corpus_status(browser, chat: Chat) -> None:
    page = signed_in(browser, chat.url, REFERAT)
    ask(page, "Wie viel Urlaub habe ich noch übrig?")
    status = _command(page, "Korpus-Status").inner_text()
    assert "Korpus-Status" in status and "grundsaetze-ki" in status and status.count("ja, aktuell") == 5
    report = _command(page, "Wissenslücken").inner_text()
    assert "Wissenslücken" in report and "Urlaub" in report
    page.context.close()


def test_feedback_is_stored_with_reason_and_provenance_and_nothing_personal(browser, chat: Chat) -> None:
    page = signed_in(browser, chat.url, STAFF)
    question = f"Darf ich den Pflegebericht von Frau {PERSONAL[0]} (Tel. {PERSONAL[1]}) in ChatGPT kopieren?"
    answer = ask(page, question)
    assert "Datenschutz-Hinweis" in answer.inner_text()
    answer.locator(".negative-feedback-off").click()
    page.get_by_placeholder("Grund, z. B. falsche Quelle").fill(
        f"Falsche Quelle, und schreiben Sie an {PERSONAL[2]}"
    )
    page.click("#submit-feedback")
    answer.locator(".negative-feedback-on").wait_for(timeout=10_000)

    feedback = chat.data / "feedback.jsonl"
    for _ in range(50):
        if feedback.is_file() and feedback.read_text().strip():
            break
        page.wait_for_timeout(100)
    [line] = [json.loads(x) for x in feedback.read_text().splitlines()]
    assert line["value"] == 0 and line["reason"] == "falsche Quelle"
    assert "grundsaetze-ki#datenschutz-und-sicherheit-1" in [p["id"] for p in line["passages"]]
    assert line["question"].startswith("Darf ich den Pflegebericht von [Name]")

    # The conversation is kept and can be resumed, redacted.
    page.click("#new-chat-button")
    page.get_by_role("button", name="Bestätigen").click()
    thread = page.get_by_text("Darf ich den Pflegebericht von [Name]").first
    thread.wait_for(timeout=10_000)
    thread.click()
    expect(page.locator(".step", has_text="Datenschutz-Hinweis")).to_have_count(1, timeout=10_000)
    page.context.close()

    report = run_bot(["report", "--json"], chat_settings(chat))
    negative = json.loads(report.stdout)["negative_feedback"]
    assert [f["reason"] for f in negative] == ["falsche Quelle"]

    stored = b"".join(p.read_bytes() for p in chat.data.rglob("*") if p.is_file())
    assert stored and (chat.data / "chat.db").is_file()
    for secret in PERSONAL:
        assert secret.encode() not in stored, secret


def chat_settings(chat: Chat):
    from bot.config import Settings

    return Settings(corpus_dir=REPO / "corpus", data_dir=chat.data)


def _request(url: str, *, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        return urllib.request.urlopen(request, timeout=20)
    except urllib.error.HTTPError as error:
        return error


def test_responses_carry_security_headers_and_sessions_end_after_a_shift(chat: Chat) -> None:
    page = _request(chat.url)
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    login = _request(f"{chat.url}/login", data=f"username={STAFF[0]}&password={STAFF[1]}".encode())
    cookie = login.headers["set-cookie"]
    assert login.status == 200 and "HttpOnly" in cookie and "Max-Age=28800" in cookie
    assert _request(f"{chat.url}/login", data=f"username={STAFF[0]}&password=nein".encode()).status == 401


def _run(coro):
    """Run a coroutine to its end; in a thread of its own, as the browser's driver holds this one's loop."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coro).result()


def _tries(url: str, address: str, *tries: tuple[str, str], headers: dict | None = None) -> list:
    """Sign-in tries (name, password) one after the other from a loopback address of their own."""

    async def run() -> list:
        async with from_address(address) as http:
            return [await try_sign_in(http, url, name, password, headers) for name, password in tries]

    return _run(run())


def _failures(chat: Chat) -> list[str]:
    """The operator's log lines of failed sign-ins."""
    return [line for line in chat.log.read_text().splitlines() if "Anmeldung fehlgeschlagen" in line]


def test_guessing_is_held_back_and_logged_while_the_owner_signs_in_from_elsewhere(chat: Chat) -> None:
    guesses = [(GUESSED[0], f"geraten-{n}-passwort") for n in range(5)]
    tried = _tries(chat.url, "127.0.0.2", *guesses, GUESSED)
    assert [t.status for t in tried] == [401, 401, 401, 401, 429, 429]
    assert tried[4].detail == tried[5].detail == TOO_MANY  # the right password waits too, unchecked

    [owner] = _tries(chat.url, "127.0.0.3", GUESSED)  # the owner, from her own desk
    assert owner.status == 200

    logged = [line for line in _failures(chat) if f"Konto {GUESSED[0]}," in line]
    assert len(logged) == 5 and all("Adresse 127.0.0.2" in line for line in logged)
    assert logged[-1].endswith("nächster Versuch erst in 60 s") and logged[0][:4].isdigit()  # timed
    assert "geraten" not in chat.log.read_text() and GUESSED[1] not in chat.log.read_text()
    report = json.loads(run_bot(["report", "--json"], chat_settings(chat)).stdout)
    assert report["signins"]["failures"] >= 5 and report["signins"]["waits"] >= 1


def test_a_forwarded_address_is_believed_only_from_the_trusted_proxy(chat: Chat) -> None:
    wrong = (PROBE[0], "falsch-falsch-falsch")
    for address, forwarded in (("127.0.0.1", "10.1.1.1"), (PROXY, "10.2.2.2"), ("127.0.0.6", "10.3.3.3")):
        [tried] = _tries(chat.url, address, wrong, headers={"X-Forwarded-For": forwarded})
        assert tried.status == 401
    logged = " ".join(line for line in _failures(chat) if f"Konto {PROBE[0]}," in line)
    # uvicorn alone would believe 127.0.0.1; BOT_TRUSTED_PROXIES names only the proxy.
    assert "Adresse 127.0.0.1" in logged and "Adresse 10.2.2.2" in logged and "Adresse 127.0.0.6" in logged
    assert "10.1.1.1" not in logged and "10.3.3.3" not in logged


def test_bad_sign_in_requests_get_one_german_sentence(chat: Chat) -> None:
    async def send() -> list[tuple[int, str]]:
        answers = []
        forms = [b"username=nur-ein-name", b"", b"username=&password=", b"a" * 20_000]
        async with from_address("127.0.0.7") as http:
            for body in forms:
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                async with http.post(f"{chat.url}/login", data=body, headers=headers) as response:
                    answers.append((response.status, (await response.json())["detail"]))
        return answers

    assert _run(send()) == [(400, MISSING), (400, MISSING), (400, MISSING), (413, TOO_LONG)]
    tried = _tries(
        chat.url,
        "127.0.0.8",
        ("x" * 300, "ein-passwort-1234"),  # longer than any account name
        (PROBE[0], "ä" * 100),  # 200 bytes, bcrypt reads 72
        (PROBE[0], PROBE[1] + "x" * 80),  # the right password and more: no match
        ("gibt.es.nicht", "ein-passwort-1234"),
        (PROBE[0], "falsches-passwort"),
    )
    # An unknown account gets the same answer as a wrong password.
    assert [(t.status, t.detail) for t in tried] == [(401, "credentialssignin")] * 5
    assert "Traceback" not in chat.log.read_text()


def test_a_person_who_keeps_mistyping_sees_one_german_sentence(browser, chat: Chat) -> None:
    page = browser.new_page(locale="en-US")
    page.goto(chat.url)
    page.locator("#email").wait_for(timeout=30_000)
    for n in range(5):
        page.fill("#email", BLOCKED[0])
        page.fill("#password", f"vertippt-{n}-passwort")
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST"):
            page.keyboard.press("Enter")
        if n == 0:
            wrong = page.get_by_text("Kontoname oder Passwort stimmt nicht – bitte erneut versuchen.")
            expect(wrong.first).to_be_visible(timeout=10_000)
    expect(page.get_by_text(TOO_MANY).first).to_be_visible(timeout=10_000)
    assert "Anmeldung vorübergehend gesperrt" in page.inner_text("form")
    body = page.inner_text("body")
    for english in ("Too Many Requests", "Unauthorized", "credentialssignin"):
        assert english not in body
    page.close()


def _jwt_payload(cookie: str) -> dict:
    token = cookie.split("access_token=", 1)[1].split(";", 1)[0]
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_header_sign_in_behind_a_proxy(real_settings, tmp_path: Path) -> None:
    extra = {
        "BOT_AUTH_HEADER": "X-Forwarded-User",
        "BOT_AUTH_ROLE_HEADER": "X-Forwarded-Groups",
        "CHAINLIT_AUTH_SECRET": SECRET,
    }
    with chat_server(real_settings.index_dir, tmp_path / "data", tmp_path / "log", **extra) as url:
        assert _request(f"{url}/auth/header", data=b"").status == 401
        ok = _request(
            f"{url}/auth/header",
            data=b"",
            headers={"X-Forwarded-User": "Bo@ASB", "X-Forwarded-Groups": "referat"},
        )
        assert ok.status == 200
        payload = _jwt_payload(ok.headers["set-cookie"])
        assert payload["identifier"] == "bo@asb" and payload["metadata"]["role"] == "referat"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "nur auf localhost"),
        ({"BOT_USERS_FILE": "gibt-es-nicht.toml", "CHAINLIT_AUTH_SECRET": SECRET}, "Kontendatei"),
        ({"BOT_AUTH_HEADER": "X-Forwarded-User"}, "CHAINLIT_AUTH_SECRET"),
    ],
)
def test_an_unprotected_chat_does_not_start(real_settings, tmp_path: Path, env: dict, says: str) -> None:
    # 192.0.2.1 is a documentation address: even a wrong start could not listen there.
    run_env = bot_env(real_settings, data_dir=tmp_path) | {"CHAINLIT_APP_ROOT": str(REPO), **env}
    command = [
        sys.executable,
        "-m",
        "chainlit",
        "run",
        "bot/app.py",
        "--headless",
        "--host",
        "192.0.2.1",
        "--port",
        "8999",
    ]
    done = subprocess.run(command, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert says in done.stderr + done.stdout and "Der Chat startet nicht" in done.stderr + done.stdout
