"""Alerts reach a real webhook server and a real SMTP server on 127.0.0.1, configured as in production."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from flowlake.alerts import AlertDeliveryError, alert_text, send_alert

SUBJECT = "flowlake data quality FAILED for 2026-11-01T11:00Z to 2026-11-01T12:00Z: 1 critical, 0 warning"
LINES = ["[critical] delivery / expect_column_values_to_be_between(objects): observed 1 of 2 unexpected", "run r1"]
TEXT = (
    "flowlake data quality FAILED for 2026-11-01T11:00Z to 2026-11-01T12:00Z: 1 critical, 0 warning\n"
    "- [critical] delivery / expect_column_values_to_be_between(objects): observed 1 of 2 unexpected\n"
    "- run r1"
)
TARGET_VARIABLES = (
    "FLOWLAKE_ALERT_WEBHOOK_URL",
    "FLOWLAKE_SMTP_HOST",
    "FLOWLAKE_SMTP_PORT",
    "FLOWLAKE_SMTP_USER",
    "FLOWLAKE_SMTP_PASSWORD",
    "FLOWLAKE_SMTP_FROM",
    "FLOWLAKE_SMTP_TO",
    "FLOWLAKE_SMTP_STARTTLS",
    "AIRFLOW_CONN_FLOWLAKE_ALERT_WEBHOOK",
    "AIRFLOW_CONN_FLOWLAKE_SMTP",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookServer:
    """A Slack-style incoming webhook on 127.0.0.1: records each POST's path and body."""

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

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
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
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def body(mail) -> str:
    """The message text as sent, SMTP's CRLF line ends back to LF."""
    return mail["message"].get_content().replace("\r\n", "\n")


@pytest.fixture(autouse=True)
def no_configured_targets(monkeypatch):
    for name in TARGET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_alert_text_is_the_subject_then_one_line_per_item():
    assert alert_text(SUBJECT, LINES) == TEXT
    assert alert_text(SUBJECT, "\n".join(LINES)) == TEXT


def test_webhook_and_email_from_environment_variables(monkeypatch):
    with WebhookServer() as webhook, SmtpServer() as smtp:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWLAKE_SMTP_FROM", "flowlake@example.com")
        monkeypatch.setenv("FLOWLAKE_SMTP_TO", "oncall@example.com, data@example.com")
        assert send_alert(SUBJECT, LINES) == ["webhook", "email"]
    assert webhook.received == [
        {"path": "/services/T000/B000/XXXX", "content_type": "application/json", "body": json.dumps({"text": TEXT})}
    ]
    (mail,) = smtp.received
    assert (mail["from"], mail["to"]) == ("flowlake@example.com", ["oncall@example.com", "data@example.com"])
    assert mail["message"]["Subject"] == SUBJECT
    assert mail["message"]["To"] == "oncall@example.com, data@example.com"
    assert body(mail) == TEXT + "\n"


def test_webhook_and_email_from_airflow_connections(monkeypatch):
    with WebhookServer() as webhook, SmtpServer() as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_FLOWLAKE_ALERT_WEBHOOK", webhook.url)
        monkeypatch.setenv(
            "AIRFLOW_CONN_FLOWLAKE_SMTP",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "extra": {"from": "airflow@example.com", "to": "oncall@example.com"},
                }
            ),
        )
        assert send_alert(SUBJECT, LINES) == ["webhook", "email"]
    assert [r["path"] for r in webhook.received] == ["/services/T000/B000/XXXX"]
    assert json.loads(webhook.received[0]["body"]) == {"text": TEXT}
    (mail,) = smtp.received
    assert (mail["from"], mail["to"]) == ("airflow@example.com", ["oncall@example.com"])
    assert body(mail) == TEXT + "\n"


def test_an_unreachable_target_does_not_keep_the_alert_from_the_other(monkeypatch):
    with SmtpServer() as smtp:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWLAKE_SMTP_TO", "oncall@example.com")
        with pytest.raises(AlertDeliveryError, match="^webhook: "):
            send_alert(SUBJECT, LINES)
    assert len(smtp.received) == 1


def test_a_broken_configuration_is_a_failed_delivery_and_the_other_target_still_gets_the_alert(monkeypatch):
    with WebhookServer() as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", "smtp")
        with pytest.raises(AlertDeliveryError, match="^email: invalid literal for int"):
            send_alert(SUBJECT, LINES)
    assert len(webhook.received) == 1


def test_a_webhook_error_status_is_a_failed_delivery(monkeypatch):
    with WebhookServer(status=500) as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        with pytest.raises(AlertDeliveryError, match="HTTP Error 500"):
            send_alert(SUBJECT, LINES)


def test_no_configured_target_sends_nothing():
    assert send_alert(SUBJECT, LINES) == []
