"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests: behaviour chosen by the model name."""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GOOD = (
    "Inhalte, die mithilfe von KI erstellt wurden, werden gekennzeichnet und besonders sorgfältig "
    "auf Wahrheitsgehalt, Herkunft und Inhalt geprüft [1]."
)
REPLIES = {
    "good": GOOD,
    "invented": GOOD + " Verstöße werden mit einer Abmahnung geahndet [7].",
    "uncited": GOOD + " Außerdem gibt es jeden Monat eine Pflichtschulung für alle.",
    "unsupported": "Der Dienstwagen darf privat genutzt werden, wenn die Leitung zustimmt [1].",
    "obey": "JA",
    # A faithful English answer to an English question, citing the German passage.
    "english": "Content created with the help of AI is labelled and checked especially carefully for "
    "truthfulness, origin and content [1].",
    # Unfaithful German: an invented approval step, and the rule turned into its opposite.
    "unfaithful": "Mit KI erstellte Inhalte müssen vor der Veröffentlichung vom Vorstand schriftlich "
    "genehmigt werden [1]. Inhalte, die mithilfe von KI erstellt wurden, müssen nicht gekennzeichnet "
    "werden [1].",
    # Unsupported English: a rule the passage does not state.
    "english-invented": "AI-generated content may be published without any review by staff [1]. "
    "Violations are punished with a formal warning [1].",
    "empty": "",
}


# Replies to the drafting prompt (bot/curation/drafting.py), which names the section after "Abschnitt: "
# and gives its text between <<< and >>>.
OFF_TOPIC = [
    ("einfach", "Wie viele Urlaubstage habe ich im Jahr?"),
    ("umgangssprachlich", "wann gibts weihnachtsgeld?"),
    ("situation", "Wie beantrage ich Elternzeit für mein zweites Kind?"),
    ("englisch", "Where is the canteen menu published?"),
]


def _section(prompt: str) -> tuple[str, str, str]:
    """(document title, section heading, section text) of a drafting prompt."""
    title = re.search(r"^Dokument: (.*)$", prompt, re.MULTILINE)
    heading = re.search(r"^Abschnitt: (.*)$", prompt, re.MULTILINE)
    text = re.search(r"<<<\n(.*)\n>>>", prompt, re.DOTALL)
    return (
        title.group(1).strip() if title else "",
        heading.group(1).split(" › ")[-1].strip() if heading else "",
        text.group(1) if text else "",
    )


def _good_drafts(heading: str, text: str) -> list[tuple[str, str]]:
    """Questions made of the section's own words: they find it."""
    sentences = [s.strip().rstrip(".") for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4]
    drafts = [
        ("einfach", f"Was gilt für {heading}?"),
        ("englisch", f"What does the policy say about {heading}?"),
    ]
    for sentence in sentences[:4]:
        drafts.append(("umschrieben", f"Stimmt es, dass gilt: {sentence}?"))
    return drafts


def drafting_reply(
    mode: str, prompt: str, replay: list[dict] | None = None, titles: dict | None = None
) -> str:
    """The fake model's reply to a drafting prompt in a drafting mode."""
    title, heading, text = _section(prompt)
    if mode == "fragen-muell":
        return "Gerne! Hier sind einige Fragen: 1. Was? 2. Wie?"
    if mode == "fragen-leer":
        return '{"fragen": []}'
    if mode == "fragen-themenfremd":
        pairs = OFF_TOPIC
    elif mode == "fragen-gemischt":  # good ones and one off-topic question per section
        pairs = [*_good_drafts(heading, text), OFF_TOPIC[2]]
    elif mode == "fragen-aufzeichnung":  # recorded drafts, matched by heading (and title if needed)
        found = [d for d in replay or [] if d["heading"].casefold() == heading.casefold()]
        if len(found) > 1 and titles:
            found = [d for d in found if titles.get(d["document"]) == title] or found
        pairs = [(q.get("kind", ""), q["text"]) for d in found[:1] for q in d["questions"]]
    else:
        pairs = _good_drafts(heading, text)
    return (
        "```json\n"
        + json.dumps({"fragen": [{"art": k, "frage": q} for k, q in pairs]}, ensure_ascii=False)
        + "\n```"
    )


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(request)
        mode = request.get("model", "good")
        if mode == "error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "kaputt"}}')
            return
        if mode == "hang":
            time.sleep(10)
        content = REPLIES.get(mode, GOOD)
        if mode.startswith("fragen-"):
            prompt = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
            content = drafting_reply(mode, prompt, self.server.replay, self.server.titles)
        if request.get("stream"):
            self._stream(mode, content)
            return
        body = {
            "id": "fake-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": mode,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, mode: str, text: str) -> None:
        """Server-sent events, one word a chunk, as the OpenAI API streams."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in text.split(" "):
            chunk = {
                "id": "fake-1",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": mode,
                "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


class FakeLLM:
    """Start with `with FakeLLM() as url:`; the requests it received are in .requests."""

    def __init__(self, replay: list[dict] | None = None, titles: dict[str, str] | None = None, port: int = 0):
        self.replay, self.titles, self.port = replay or [], titles or {}, port

    def __enter__(self) -> FakeLLM:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self.server.daemon_threads = True
        self.server.requests = []
        self.server.replay, self.server.titles = self.replay, self.titles
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict]:
        return self.server.requests

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    """Serve until stopped, e.g. to replay recorded drafts to `python -m bot fragen`:
    python -m tests.support.fake_llm --replay tests/synthetic/drafts/tune-drafts.json \
        --docs tests/synthetic/tune
    then BOT_LLM=openai:fragen-aufzeichnung BOT_LLM_BASE_URL=<printed address> BOT_LLM_API_KEY=x."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--replay", help="recorded drafts: [{document, heading, questions: [{kind, text}]}]")
    parser.add_argument("--docs", help="folder of the documents, to tell equal headings apart by title")
    args = parser.parse_args()
    replay = json.loads(Path(args.replay).read_text(encoding="utf-8")) if args.replay else []
    titles = {}
    if args.docs:
        for path in Path(args.docs).glob("*.md"):
            found = re.search(r"^titel: (.*)$", path.read_text(encoding="utf-8"), re.MULTILINE)
            titles[path.name] = found.group(1).strip().strip('"') if found else ""
    with FakeLLM(replay, titles, args.port) as fake:
        print(fake.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
