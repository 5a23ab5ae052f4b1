"""Several Chainlit workers on consecutive ports of 127.0.0.1, behind Debian's nginx on one port.

nginx runs without root files: its configuration (deploy/nginx.conf.template), pid, logs and
temp folders live in one folder of ours. Every worker reads the same, already built index.

Examples:
    python -m bot workers --workers 2 --port 8000             # nginx on 8000, workers on 8001, 8002
    python -m bot workers --workers 1 --port 8000 --no-proxy  # one worker on 8000, no nginx
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.errors import BotError
from bot.ops.client import (
    PASSWORD_ENV,
    ChatError,
    Credentials,
    ErrorReply,
    SignInRefused,
    ask_once,
    command_parser,
    credentials_from_env,
    login_cookie,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "nginx.conf.template"
HOST = "127.0.0.1"
STARTUP_S = 120.0
STOP_S = 10.0
# A worker counts as ready once it has answered this through its own socket.
READY_QUESTION = "Wer entscheidet am Ende, die KI oder ich?"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
UPLOAD_MB: int = Settings.model_fields["upload_max_mb"].default  # BOT_UPLOAD_MAX_MB's default


class LaunchError(BotError):
    """A worker or the proxy did not start, or a worker did not answer in time."""


@dataclass(frozen=True)
class Process:
    """One started server: its name, port, process and the file its output goes to."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://{HOST}:{self.port}"


@dataclass(frozen=True)
class Cluster:
    """The running workers and, if asked for, nginx in front of them; url is where to connect."""

    url: str
    workers: tuple[Process, ...]
    proxy: Process | None
    folder: Path

    @property
    def access_log(self) -> Path | None:
        """nginx's access log: one line per request with the worker (upstream) that served it."""
        return self.folder / "nginx" / "access.log" if self.proxy else None


def find_nginx() -> Path | None:
    """Debian's nginx binary (apt-get install nginx), or None if it is not installed."""
    found = shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)
    return Path(found) if found else None


def render_nginx_conf(
    listen_port: int, worker_ports: Sequence[int], prefix: Path, upload_mb: int = UPLOAD_MB
) -> str:
    """The template with our addresses, folders and the Referat's upload limit filled in."""
    servers = "\n".join(f"        server {HOST}:{port};" for port in worker_ports)
    # Only a root master may (and, to reach our folders, must) name the workers' user.
    user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    replacements = {
        "@USER@": user,
        "@PREFIX@": str(prefix),
        "@LISTEN@": f"{HOST}:{listen_port}",
        "@SERVERS@": servers,
        # The file and the multipart form around it; the worker refuses a file over the limit itself.
        "@UPLOAD_BODY@": f"{upload_mb + 1}m",
        "@UPLOAD_MB@": str(upload_mb),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


def worker_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """Environment for `chainlit run`: offline, app root set, and CI unset (Chainlit's CI mode)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k != "CI"}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("CHAINLIT_APP_ROOT", str(REPO))
    env.update(extra)
    return env


def _start_worker(port: int, folder: Path, env: Mapping[str, str]) -> Process:
    """`chainlit run bot/app.py` on 127.0.0.1:port, its output in folder/worker-PORT.log."""
    chainlit = Path(sys.executable).with_name("chainlit")
    command = [str(chainlit), "run", "bot/app.py", "--headless", "--host", HOST, "--port", str(port)]
    log = folder / f"worker-{port}.log"
    # A file, not a pipe: an unread pipe would stall the server once it fills.
    with log.open("w") as out:
        popen = subprocess.Popen(command, cwd=REPO, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    return Process(f"worker {port}", port, popen, log)


def _start_nginx(
    nginx: Path, port: int, worker_ports: Sequence[int], folder: Path, upload_mb: int
) -> Process:
    """nginx on 127.0.0.1:port in front of the workers, everything under folder/nginx."""
    prefix = folder / "nginx"
    for name in NGINX_TEMP_DIRS:
        (prefix / "tmp" / name).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx_conf(port, worker_ports, prefix, upload_mb), encoding="utf-8")
    log = prefix / "nginx.out"
    # -e: the error log before the configuration is read (else /var/log/nginx/error.log).
    command = [str(nginx), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    with log.open("w") as out:
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    return Process("nginx", port, popen, log)


def wait_listening(process: Process, deadline: float) -> None:
    """Return once the process accepts connections; LaunchError if it ends or the deadline passes."""
    while True:
        if process.popen.poll() is not None:
            raise LaunchError(f"{process.name} ist beendet:\n{process.log.read_text(errors='replace')}")
        try:
            socket.create_connection((HOST, process.port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise LaunchError(f"{process.name} lauscht nicht auf Port {process.port}.") from None
            time.sleep(0.3)


def wait_answering(process: Process, deadline: float, credentials: Credentials | None = None) -> None:
    """Return once the worker answers a question (its model and index are loaded).

    With sign-in switched on, the probe signs in with credentials first.
    """
    while True:
        wait_listening(process, deadline)
        try:
            cookie = login_cookie(process.url, credentials) if credentials else ""
            timeout = max(1.0, deadline - time.monotonic())
            ask_once(process.url, READY_QUESTION, timeout=timeout, cookie=cookie)
            return
        except (ErrorReply, SignInRefused) as exc:  # no index yet, wrong password: waiting does not help
            raise LaunchError(f"{process.name}: {exc}") from exc
        except ChatError as exc:
            if time.monotonic() > deadline:
                raise LaunchError(f"{process.name} antwortet nicht: {exc}") from exc
            time.sleep(1.0)


def stop(process: Process) -> None:
    """End the process (SIGTERM, then SIGKILL after STOP_S)."""
    if process.popen.poll() is None:
        process.popen.terminate()
        try:
            process.popen.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()


@contextmanager
def serve(
    workers: int = 2,
    port: int = 8000,
    *,
    folder: Path,
    proxy: bool = True,
    env: Mapping[str, str] | None = None,
    per_worker_env: Sequence[Mapping[str, str]] = (),
    startup_s: float = STARTUP_S,
    credentials: Credentials | None = None,
) -> Iterator[Cluster]:
    """Start the workers (and nginx), wait until each answers, yield them; stop all on exit.

    With proxy, nginx listens on port and the workers on port+1 … port+workers; without,
    the workers listen on port … port+workers-1. per_worker_env[i] adds to worker i's env.
    With sign-in switched on, the readiness probe signs in with credentials.
    """
    if workers < 1 or (not proxy and workers > 1):
        raise LaunchError("Mindestens ein Worker; mehrere Worker nur hinter dem Proxy.")
    nginx = find_nginx() if proxy else None
    if proxy and nginx is None:
        raise LaunchError("nginx fehlt: apt-get install -y nginx")
    first = port + 1 if proxy else port
    ports = [first + i for i in range(workers)]
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + startup_s
    with ExitStack() as stack:
        started = []
        for i, worker_port in enumerate(ports):
            extra = per_worker_env[i] if i < len(per_worker_env) else {}
            started.append(_start_worker(worker_port, folder, {**worker_env(env), **extra}))
            stack.callback(stop, started[-1])
        front = None
        if nginx is not None:
            upload_mb = int(worker_env(env).get("BOT_UPLOAD_MAX_MB", UPLOAD_MB))
            front = _start_nginx(nginx, port, ports, folder, upload_mb)
            stack.callback(stop, front)
            wait_listening(front, deadline)
        for worker in started:
            wait_answering(worker, deadline, credentials)
        yield Cluster(front.url if front else started[0].url, tuple(started), front, folder)


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "workers",
        "Mehrere Chainlit-Worker hinter nginx auf 127.0.0.1 starten (Strg+C beendet alle).",
        __doc__,
    )
    parser.add_argument("--workers", type=int, default=2, help="Anzahl der Chainlit-Prozesse")
    parser.add_argument("--port", type=int, default=8000, help="Port des Proxys (Worker: die folgenden)")
    parser.add_argument("--no-proxy", action="store_true", help="ohne nginx (nur mit --workers 1)")
    parser.add_argument("--folder", type=Path, help="Ordner für Logs und nginx (Standard: temporär)")
    parser.add_argument(
        "--user",
        help=f"Konto für die Bereitschaftsprobe, wenn die Anmeldung an ist (Passwort aus {PASSWORD_ENV})",
    )
    return parser


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: start, print the address, run until Ctrl+C or SIGTERM."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bot-workers-"))
    try:
        credentials = credentials_from_env(args.user)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        with serve(
            args.workers, args.port, folder=folder, proxy=not args.no_proxy, credentials=credentials
        ) as cluster:
            print(f"Chat auf {cluster.url} ({len(cluster.workers)} Worker; Logs in {folder})", flush=True)
            while all(p.popen.poll() is None for p in (*cluster.workers, *filter(None, [cluster.proxy]))):
                time.sleep(1.0)
            print("Ein Prozess ist unerwartet beendet; alle werden gestoppt.", file=sys.stderr)
            return 1
    except LaunchError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
