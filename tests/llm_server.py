"""A scripted OpenAI-compatible chat server on 127.0.0.1 for the tests: `POST /v1/chat/completions`,
streamed (server-sent events) or not, replying what the test scripted, and recording each request."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before answering
    body: bytes | None = None  # sent as is instead of the protocol's JSON: garbage
    error: str = ""  # an error message, sent as the protocol's error object with `status`
    pace: float = 0.0  # seconds between streamed pieces: a model writing


class ScriptedServer:
    def __init__(self, server: ThreadingHTTPServer):
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        self.replies: list[Reply] = []  # consumed in order; the last one is repeated
        self.requests: list[dict] = []  # {"headers", "body"} of each request

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests.clear()

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else (self.replies[0] if self.replies else Reply("OK"))


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.scripted.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        reply = self.scripted.next_reply()
        time.sleep(reply.delay)
        if reply.body is not None:
            self._send(reply.status, reply.body, "application/json")
        elif reply.status != 200:
            error = {"error": {"message": reply.error or "internal error", "type": "server_error", "code": None}}
            self._send(reply.status, json.dumps(error).encode(), "application/json")
        elif body.get("stream"):
            self._stream(reply.text, body.get("model", "m"), reply.pace)
        else:
            message = {"id": "c1", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                                    "finish_reason": "stop"}]}
            self._send(200, json.dumps(message).encode(), "application/json")

    def _send(self, status: int, payload: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, text: str, model: str, pace: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [text[i:i + 12] for i in range(0, len(text), 12)]
        for i, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(pace)
        end = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    handler.scripted = scripted = ScriptedServer(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        server.shutdown()
        server.server_close()
