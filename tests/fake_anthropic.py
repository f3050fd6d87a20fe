"""A local stand-in for the Anthropic Messages API: POST /v1/messages on 127.0.0.1, real wire format.

Tests queue the answers (a tool_use message, or an API error with its HTTP status) and read back
every request the SDK sent (headers and JSON body). The recommender reaches it through
ANTHROPIC_BASE_URL, exactly as it would reach api.anthropic.com.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOL_NAME = "propose_recommendations"


def tool_use_message(recommendations: list[dict], model: str, cache_read: int = 1800) -> dict:
    """A Messages API response whose only content block calls propose_recommendations."""
    return {
        "id": "msg_01FakeRecommender", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "tool_use", "id": "toolu_01FakeRecommender", "name": TOOL_NAME,
                     "input": {"recommendations": recommendations}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 2350, "output_tokens": 612, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": cache_read},
    }


def error_body(kind: str, message: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


OVERLOADED = (529, error_body("overloaded_error", "Overloaded"))
SERVER_ERROR = (500, error_body("api_error", "Internal server error"))


class FakeAnthropic:
    """Answers queued (status, body) pairs in order; the last one repeats. Records requests."""

    def __init__(self):
        self.answers: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                if self.path.split("?")[0] != "/v1/messages":
                    status, answer = 404, error_body("not_found_error", f"no route {self.path}")
                else:
                    status, answer = fake.next_answer(body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("request-id", f"req_fake_{len(fake.requests)}")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next_answer(self, body: dict) -> tuple[int, dict]:
        if not self.answers:
            return 500, error_body("api_error", "no answer queued")
        status, answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            answer = answer(body)
        return status, answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeAnthropic":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
