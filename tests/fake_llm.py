"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests: behaviour chosen by the model name."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
        if request.get("stream"):
            self._stream(mode, REPLIES.get(mode, GOOD))
            return
        body = {
            "id": "fake-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": mode,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": REPLIES.get(mode, GOOD)},
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

    def __enter__(self) -> FakeLLM:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.requests = []
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
