"""Real receivers for Apprise: an SMTP server (aiosmtpd), a JSON webhook (json://), a webhook that
fails its first posts (FlakyJsonReceiver) and a server that accepts connections and never
answers (HangingReceiver)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                receiver.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def apprise_url(self, to: str = "analyst@example.org") -> str:
        return f"mailto://newswatch@127.0.0.1:{self.port}?to={to}&from=newswatch@example.org&mode=insecure"

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        parts = [p.get_content() for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
        return "\n".join(parts)


class JsonReceiver:
    """Collects Apprise json:// posts. stop()/start() on the same port simulate an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.posts: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def _receive(self, payload: dict, headers: dict[str, str]) -> int:
        """Record one post; the HTTP status to answer with."""
        self.posts.append(payload)
        return 200

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                status = receiver._receive(json.loads(self.rfile.read(length)), dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FlakyJsonReceiver(JsonReceiver):
    """A json:// webhook that answers HTTP 500 to its first `failures` posts and 200 after.
    `attempts` holds every post (failed or not), `posts` only the accepted ones."""

    def __init__(self, failures: int, port: int | None = None) -> None:
        super().__init__(port)
        self.failures = failures
        self.attempts: list[dict] = []
        self._lock = threading.Lock()

    def _receive(self, payload: dict, headers: dict[str, str]) -> int:
        with self._lock:
            self.attempts.append(payload)
            if len(self.attempts) <= self.failures:
                return 500
            self.posts.append(payload)
            return 200


class HangingReceiver:
    """Accepts TCP connections and never answers (a hung webhook or mail server): the connections
    are held open until stop(). `connections` counts the accepted ones."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()

    @property
    def connections(self) -> int:
        return len(self._held)

    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed by stop()
                return
            self._held.append(conn)  # read nothing, answer nothing

    def __enter__(self) -> HangingReceiver:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        for conn in self._held:
            conn.close()
