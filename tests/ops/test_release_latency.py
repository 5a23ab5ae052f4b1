"""From "Freigeben" to the first answer from the new text, and from "Zurückziehen" to the refusal, on
every worker: one worker alone, and two behind nginx (the release reaches one of them, whose
background build the other picks up from the manifest). Prints the figures; holds the issue's
contract: never before release, within a minute after. Documents uploaded are synthetic.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.chat.accounts import add_account
from bot.ops.client import Credentials, ask_once, login_cookie
from bot.ops.workers import find_nginx, serve
from tests.support import REPO, bot_env, free_port, free_ports
from tests.support.chroma import chroma_server

pytestmark = pytest.mark.slow
SECRET = "l" * 48
AUTHOR, REVIEWER, STAFF = (
    Credentials("anna.referat", "anna-passwort-2026"),
    Credentials("bernd.referat", "bernd-passwort-2026"),
    Credentials("carla.pflege", "carla-passwort-2026"),
)
ROUNDS = 2
WITHIN_S = 60.0


def _rule(n: int) -> str:
    return f"Synthetische Testregel {n}: Wasserrettung mit Hovercraft nur nach Einweisung Nummer {n}."


def _question(n: int) -> str:
    return f"Darf ich das Hovercraft bei der Wasserrettung fahren, Einweisung Nummer {n}?"


def _docx(n: int) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(f"Synthetische Testrichtlinie Hovercraft {n}", level=0)
    document.add_heading("Einweisung", level=1)
    document.add_paragraph(_rule(n))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _post(
    url: str, cookie: str, body: bytes = b"", content_type: str = "application/json"
) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"cookie": cookie, "content-type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _last_build(url: str, cookie: str) -> float:
    """Seconds the last background index run took, once it has ended, on the worker this request
    reaches (behind nginx either one: the one that built, or 0 for the other)."""
    request = urllib.request.Request(f"{url}/referat/api/status", headers={"cookie": cookie})
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(request, timeout=30) as response:
            index = json.loads(response.read())["index"]
        # The manifest switches before the build's process has ended and reported.
        if not index["laeuft"] or time.monotonic() > deadline:
            return float(index["letzter"]["seconds"]) if index["letzter"] else 0.0
        time.sleep(0.1)


def _upload(url: str, cookie: str, name: str, data: bytes) -> tuple[int, dict]:
    head = f'--g\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
    return _post(
        f"{url}/referat/api/documents",
        cookie,
        head + data + b"\r\n--g--\r\n",
        "multipart/form-data; boundary=g",
    )


def _until(worker: str, cookie: str, n: int, answered: bool) -> float:
    started = time.monotonic()
    while True:
        if (_rule(n) in ask_once(worker, _question(n), cookie=cookie)) is answered:
            return time.monotonic() - started
        assert time.monotonic() - started < WITHIN_S, f"{worker}: not within {WITHIN_S} s"
        time.sleep(0.25)


def _env(real_settings, root: Path, chroma_url: str | None = None, embeddings=None) -> dict[str, str]:
    shutil.copytree(REPO / "corpus", root / "corpus")
    if chroma_url is None:
        shutil.copytree(real_settings.index_dir, root / "index")
    else:  # the whole corpus embedded once into the server; a release then adds only its own
        from bot.pipeline.index import build_index

        server = real_settings.model_copy(update={"index_dir": root / "index", "chroma_url": chroma_url})
        build_index(server, embeddings=embeddings)
    users = root / "konten.toml"
    for account, role in ((AUTHOR, "referat"), (REVIEWER, "referat"), (STAFF, "mitarbeitende")):
        add_account(users, account.user, account.password, role)
    env = bot_env(real_settings, index_dir=root / "index", data_dir=root / "data")
    env |= {
        "BOT_CORPUS_DIR": str(root / "corpus"),
        "BOT_USERS_FILE": str(users),
        "CHAINLIT_AUTH_SECRET": SECRET,
    }
    return env | ({"BOT_CHROMA_URL": chroma_url} if chroma_url else {})


def _rounds(front: str, workers: list[str]) -> list[dict[str, float]]:
    author, reviewer, staff = (login_cookie(front, a) for a in (AUTHOR, REVIEWER, STAFF))
    figures = []
    for n in range(1, ROUNDS + 1):
        status, draft = _upload(front, author, f"hovercraft-{n}.docx", _docx(n))
        assert status == 201 and draft["status"] == "entwurf", draft
        assert all(_rule(n) not in ask_once(w, _question(n), cookie=staff) for w in workers)  # a draft: never
        assert _post(f"{front}/referat/api/documents/{draft['id']}/freigeben", author)[0] == 409
        released = time.monotonic()
        assert _post(f"{front}/referat/api/documents/{draft['id']}/freigeben", reviewer)[0] == 200
        for worker in workers:
            _until(worker, staff, n, answered=True)
        answered = time.monotonic() - released  # until every worker has answered from it
        build = _last_build(front, reviewer)
        withdrawn = time.monotonic()
        assert _post(f"{front}/referat/api/documents/{draft['id']}/zurueckziehen", reviewer)[0] == 200
        for worker in workers:
            _until(worker, staff, n, answered=False)
        figures.append({"answered": answered, "refused": time.monotonic() - withdrawn, "build": build})
    return figures


def _report(label: str, figures: list[dict[str, float]]) -> None:
    with open("/proc/loadavg") as load:
        average = load.read().split()[0]
    for n, f in enumerate(figures, 1):
        print(f"\n{label}, round {n}: release → every worker answers {f['answered']:.1f} s "
              f"(index run {f['build']:.1f} s); withdrawal → every worker refuses {f['refused']:.1f} s "
              f"(load {average})")  # fmt: skip


def test_one_worker(real_settings, tmp_path: Path) -> None:
    env = _env(real_settings, tmp_path)
    with serve(1, free_port(), folder=tmp_path / "run", proxy=False, env=env, credentials=STAFF) as cluster:
        figures = _rounds(cluster.url, [cluster.url])
    _report("1 worker", figures)
    assert all(f["answered"] < WITHIN_S and f["refused"] < WITHIN_S for f in figures)


def test_two_workers_behind_nginx(real_settings, tmp_path: Path) -> None:
    if find_nginx() is None:
        pytest.fail("Debian's nginx is missing: `make test` installs it (apt-get install nginx)")
    env = _env(real_settings, tmp_path)
    with serve(2, free_ports(3), folder=tmp_path / "run", env=env, credentials=STAFF) as cluster:
        workers = [w.url for w in cluster.workers]
        figures = _rounds(cluster.url, workers)
        # nginx takes a file over 1 MB on the upload route only, and refuses more than the limit there.
        author = login_cookie(cluster.url, AUTHOR)
        big = b"Synthetischer Absatz ohne Bedeutung.\n\n" * 40_000  # 1.6 MB
        status, made = _upload(cluster.url, author, "gross.txt", big)
        assert status == 201 and made["status"] == "entwurf"
        elsewhere = _post(f"{cluster.url}/referat/api/documents/{made['id']}/freigeben", author, big)
        assert elsewhere == (413, {"detail": "Die Anfrage ist zu groß für den Chat."})
        too_big = _upload(cluster.url, author, "zu-gross.txt", b"x" * 22_000_000)
        assert too_big == (413, {"detail": "Die Datei ist zu groß (höchstens 20 MB)."})
    _report("2 workers behind nginx", figures)
    assert all(f["answered"] < WITHIN_S and f["refused"] < WITHIN_S for f in figures)


def test_two_workers_on_a_chroma_server(real_settings, embeddings, tmp_path: Path) -> None:
    if find_nginx() is None:
        pytest.fail("Debian's nginx is missing: `make test` installs it (apt-get install nginx)")
    with chroma_server(tmp_path / "chroma") as chroma_url:
        env = _env(real_settings, tmp_path, chroma_url, embeddings)
        with serve(2, free_ports(3), folder=tmp_path / "run", env=env, credentials=STAFF) as cluster:
            figures = _rounds(cluster.url, [w.url for w in cluster.workers])
    _report("2 workers behind nginx, Chroma server", figures)
    assert all(f["answered"] < WITHIN_S and f["refused"] < WITHIN_S for f in figures)
