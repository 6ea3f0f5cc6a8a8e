"""Real servers on 127.0.0.1 for the tests: a free port, a webhook receiver and an SMTP server.

The S3/EC2 server (moto) is a session fixture in conftest.py.
"""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookServer:
    """A Slack-style incoming webhook on 127.0.0.1: records each POST's path, content type and body."""

    def __init__(self, status: int = 200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.append({"path": self.path, "content_type": self.headers["Content-Type"], "body": body})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/services/T000/B000/XXXX"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """aiosmtpd on 127.0.0.1: records each message with its envelope."""

    def __init__(self):
        self.received = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's handler name)
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.received.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "message": message})
        return "250 Message accepted for delivery"

    def __enter__(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def body(mail) -> str:
    """A received message's text as sent, SMTP's CRLF line ends back to LF."""
    return mail["message"].get_content().replace("\r\n", "\n")
