"""Alerts reach a real webhook server and a real SMTP server on 127.0.0.1, configured as in production."""

from __future__ import annotations

import json

import pytest

from flowlake.alerts import AlertDeliveryError, alert_text, send_alert
from tests.servers import SmtpServer, WebhookServer, body, free_port

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
