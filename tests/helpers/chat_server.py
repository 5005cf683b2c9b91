"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol.

Each test scripts its behaviour: ``failures`` is a queue of canned failures served
before normal answers ("429", "500", "timeout", "malformed", "no-choices"), and
``answer`` turns a prompt into the assistant's text. Requests (with headers) are
recorded so tests can check what was sent. Bounded: it serves until stopped, only
on loopback, and every test stops it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    def __init__(self, answer: Callable[[str], str], *, delay_s: float = 0.0, require_key: str | None = None, usage: bool = True) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.require_key = require_key
        self.usage = usage
        self.failures: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server.lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    failure = server.failures.pop(0) if server.failures else None
                if server.delay_s:
                    time.sleep(server.delay_s)
                if server.require_key and self.headers.get("Authorization") != f"Bearer {server.require_key}":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                if failure == "429":
                    return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
                if failure == "500":
                    return self._send(500, {"error": {"message": "server error"}})
                if failure == "timeout":
                    time.sleep(1.0)
                    return self._send(200, {"choices": []})
                if failure == "malformed":
                    return self._send_raw(200, b"{not json")
                if failure == "no-choices":
                    return self._send(200, {"id": "x", "choices": []})
                prompt = body["messages"][-1]["content"]
                text = server.answer(prompt)
                payload: dict[str, Any] = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                }
                if server.usage:
                    payload["usage"] = {
                        "prompt_tokens": len(prompt.split()),
                        "completion_tokens": len(text.split()),
                        "total_tokens": len(prompt.split()) + len(text.split()),
                    }
                return self._send(200, payload)

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
