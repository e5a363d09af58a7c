"""A local OpenAI-compatible server for tests: it speaks the Chat Completions API over real HTTP on
127.0.0.1, records every request it receives, and answers according to `mode`. openai 3.x runs on httpx2,
which respx cannot intercept, so tests talk to this over a socket like they would to a real endpoint."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    """Modes: "answer" (pick, for every question, the candidate whose name is closest to its subject),
    "malformed" (not JSON), "wrong_shape", "foreign_candidate", "unknown_question", "error" (HTTP 500),
    "unauthorised" (HTTP 401), "slow" (sleeps longer than a client's time-out)."""

    def __init__(self, mode: str = "answer"):
        self.mode = mode
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = json.loads(body or b"{}")
                outer.requests.append(request)
                outer.headers.append(dict(self.headers))
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                if outer.mode == "unauthorised":
                    return self._send(401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}})
                if outer.mode == "error":
                    return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                if outer.mode == "slow":
                    time.sleep(3)
                content = outer.content_for(request)
                return self._send(200, {
                    "id": "chatcmpl-local", "object": "chat.completion", "created": int(time.time()),
                    "model": request.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def user_payload(self, index: int = -1) -> dict:
        messages = self.requests[index]["messages"]
        return json.loads(next(m["content"] for m in messages if m["role"] == "user"))

    def content_for(self, request) -> str:
        if self.mode == "malformed":
            return "Sure! Here is the mapping you asked for: Title -> Summary"
        if self.mode == "wrong_shape":
            return json.dumps({"mappings": []})
        payload = json.loads(next(m["content"] for m in request["messages"] if m["role"] == "user"))
        answers = []
        for q in payload.get("questions", []):
            subject = (q["subject"].get("name") or q["subject"].get("value") or "").lower()
            best = max(q["candidates"], key=lambda c: _overlap(subject, c.get("name", "").lower()))
            target = best["id"]
            if self.mode == "foreign_candidate":
                target = "customfield_99999"
            answers.append({"id": q["id"], "target": target, "confidence": 0.99, "reason": "Names agree."})
        if self.mode == "unknown_question":
            answers.append({"id": "q999", "target": None, "confidence": 0.5, "reason": "?"})
        return json.dumps({"answers": answers})


def _overlap(a: str, b: str) -> int:
    # Words of the subject that begin a word of the candidate ("sev" begins "severity").
    return sum(1 for word in set(a.split()) if any(other.startswith(word) for other in b.split()))
