"""Alerts reach a real webhook server and a real SMTP server on 127.0.0.1, configured as in production:
STARTTLS checks the server's certificate (signed here by a CA made up for the test), webhooks are http(s) only."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowlake.alerts import AlertDeliveryError, SmtpTarget, alert_text, send_alert
from flowlake.connections import (
    CONNECTIONS_FILE_VARIABLE,
    SMTP_CONNECTION,
    WEBHOOK_CONNECTION,
    ConnectionSettings,
    write_connections_file,
)
from tests.servers import RefusingProxy, SmtpServer, WebhookServer, body, free_port, tls_files

SUBJECT = "flowlake data quality FAILED for 2026-11-01T11:00Z to 2026-11-01T12:00Z: 1 critical, 0 warning"
LINES = ["[critical] delivery / expect_column_values_to_be_between(objects): observed 1 of 2 unexpected", "run r1"]
TEXT = (
    "flowlake data quality FAILED for 2026-11-01T11:00Z to 2026-11-01T12:00Z: 1 critical, 0 warning\n"
    "- [critical] delivery / expect_column_values_to_be_between(objects): observed 1 of 2 unexpected\n"
    "- run r1"
)
PASSWORD = "planted-smtp-password"
# A webhook URL's path is its credential.
TOKEN = "planted-webhook-token"
TARGET_VARIABLES = (
    "FLOWLAKE_ALERT_WEBHOOK_URL",
    "FLOWLAKE_SMTP_HOST",
    "FLOWLAKE_SMTP_PORT",
    "FLOWLAKE_SMTP_USER",
    "FLOWLAKE_SMTP_PASSWORD",
    "FLOWLAKE_SMTP_FROM",
    "FLOWLAKE_SMTP_TO",
    "FLOWLAKE_SMTP_STARTTLS",
    "FLOWLAKE_SMTP_CA_FILE",
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


def test_a_webhook_url_with_a_user_and_password_sends_them_as_basic_authentication_and_never_shows_them(
    monkeypatch, caplog
):
    with WebhookServer() as webhook:
        with_user = webhook.url.replace("http://", f"http://flowlake:{TOKEN}@")
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", with_user)
        assert send_alert(SUBJECT, LINES) == ["webhook"]
    assert [r["path"] for r in webhook.received] == ["/services/T000/B000/XXXX"]
    assert webhook.authorizations == ["Basic " + base64.b64encode(f"flowlake:{TOKEN}".encode()).decode()]
    with WebhookServer(status=500) as failing:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", failing.url.replace("http://", f"http://flowlake:{TOKEN}@"))
        with pytest.raises(AlertDeliveryError) as failed:
            send_alert(SUBJECT, LINES)
    assert failed.value.failures == ["webhook: HTTP Error 500: Internal Server Error"]
    assert TOKEN not in caplog.text


def test_a_webhook_connection_uri_keeps_its_query_and_its_user(monkeypatch):
    # A Teams (Power Automate) or Google Chat webhook's signature or key is in its query.
    with WebhookServer() as webhook:
        uri = webhook.url.replace("http://", f"http://flowlake:{TOKEN}@") + f"?api-version=1&sig={TOKEN}"
        monkeypatch.setenv("AIRFLOW_CONN_FLOWLAKE_ALERT_WEBHOOK", uri)
        assert send_alert(SUBJECT, LINES) == ["webhook"]
    assert [r["path"] for r in webhook.received] == [f"/services/T000/B000/XXXX?api-version=1&sig={TOKEN}"]
    assert webhook.authorizations == ["Basic " + base64.b64encode(f"flowlake:{TOKEN}".encode()).decode()]


@pytest.mark.parametrize("starttls", ["required", "enabled", "y"])
def test_a_starttls_setting_neither_yes_nor_no_is_refused_before_anything_is_sent(monkeypatch, starttls):
    with SmtpServer() as smtp, WebhookServer() as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWLAKE_SMTP_USER", "flowlake")
        monkeypatch.setenv("FLOWLAKE_SMTP_PASSWORD", PASSWORD)
        monkeypatch.setenv("FLOWLAKE_SMTP_TO", "oncall@example.com")
        monkeypatch.setenv("FLOWLAKE_SMTP_STARTTLS", starttls)
        with pytest.raises(AlertDeliveryError) as failed:
            send_alert(SUBJECT, LINES)
    assert failed.value.failures == [
        f"email: FLOWLAKE_SMTP_STARTTLS: {starttls!r} is neither yes (1, true, yes, on) nor no (0, false, no, off)"
    ]
    assert (failed.value.reached, smtp.received) == (["webhook"], [])


JOB_SENDS_ALERT = "import sys; from flowlake.alerts import send_alert; print(send_alert(sys.argv[1], sys.argv[2:]))"


def run_as_job_of_a_task(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    """send_alert in a process such as spark-submit starts for a task: it inherits the task's
    context and the database setting Airflow gives task processes, which forbids the database."""
    env = {name: value for name, value in os.environ.items() if name not in TARGET_VARIABLES}
    env.update(
        AIRFLOW_CTX_DAG_ID="vpc_flow_logs_hourly",
        AIRFLOW_CTX_TASK_ID="process_hour",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="airflow-db-not-allowed:///",
        **settings,
    )
    return subprocess.run(
        [sys.executable, "-c", JOB_SENDS_ALERT, SUBJECT, *LINES],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_job_started_by_a_task_alerts_the_targets_the_task_handed_it(tmp_path):
    with WebhookServer() as webhook, SmtpServer() as smtp:
        handed = write_connections_file(
            tmp_path / "connections.json",
            {
                WEBHOOK_CONNECTION: ConnectionSettings(
                    "http", None, None, None, None, None, {"webhook_url": webhook.url}
                ),
                SMTP_CONNECTION: ConnectionSettings(
                    "smtp", "127.0.0.1", smtp.port, None, None, None, {"from": "a@example.com", "to": "b@example.com"}
                ),
            },
        )
        job = run_as_job_of_a_task(tmp_path, **{CONNECTIONS_FILE_VARIABLE: str(handed)})
    assert (job.returncode, job.stdout) == (0, "['webhook', 'email']\n"), job.stderr[-3000:]
    assert handed.stat().st_mode & 0o777 == 0o600
    assert [json.loads(r["body"]) for r in webhook.received] == [{"text": TEXT}]
    (mail,) = smtp.received
    assert (mail["from"], mail["to"], body(mail)) == ("a@example.com", ["b@example.com"], TEXT + "\n")


def test_a_job_started_by_a_task_without_connections_handed_warns_and_does_not_ask_the_database(tmp_path):
    job = run_as_job_of_a_task(tmp_path)
    assert (job.returncode, job.stdout) == (0, "[]\n"), job.stderr[-3000:]
    assert "no alert target configured" in job.stderr


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
        with pytest.raises(
            AlertDeliveryError, match=r"^email: FLOWLAKE_SMTP_PORT: 'smtp' is not a port number \(1 to 65535\)$"
        ):
            send_alert(SUBJECT, LINES)
    assert len(webhook.received) == 1


def test_a_webhook_error_status_is_a_failed_delivery(monkeypatch):
    with WebhookServer(status=500) as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        with pytest.raises(AlertDeliveryError, match="HTTP Error 500"):
            send_alert(SUBJECT, LINES)


def test_no_configured_target_sends_nothing():
    assert send_alert(SUBJECT, LINES) == []


def smtp_over_tls(monkeypatch, port: int, ca_file: Path | None, configured_by: str) -> None:
    """Alerts by email to 127.0.0.1:port, as user alerts with PASSWORD, the CA file (or none) as configured_by says."""
    if configured_by == "environment":
        for name, value in {
            "FLOWLAKE_SMTP_HOST": "127.0.0.1",
            "FLOWLAKE_SMTP_PORT": str(port),
            "FLOWLAKE_SMTP_USER": "alerts",
            "FLOWLAKE_SMTP_PASSWORD": PASSWORD,
            "FLOWLAKE_SMTP_TO": "oncall@example.com",
            "FLOWLAKE_SMTP_CA_FILE": str(ca_file or ""),
        }.items():
            monkeypatch.setenv(name, value)
    else:
        extra = {"to": "oncall@example.com", **({"ca_file": str(ca_file)} if ca_file else {})}
        monkeypatch.setenv(
            "AIRFLOW_CONN_FLOWLAKE_SMTP",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": port,
                    "login": "alerts",
                    "password": PASSWORD,
                    "extra": extra,
                }
            ),
        )


@pytest.mark.parametrize("configured_by", ["environment", "connection"])
def test_starttls_trusts_the_configured_ca_and_then_logs_in(monkeypatch, tmp_path, configured_by):
    tls = tls_files(tmp_path)
    with SmtpServer(tls=tls, login=("alerts", PASSWORD)) as smtp:
        smtp_over_tls(monkeypatch, smtp.port, tls.ca, configured_by)
        assert send_alert(SUBJECT, LINES) == ["email"]
    assert smtp.logins == [("alerts", PASSWORD)]
    (mail,) = smtp.received
    assert body(mail) == TEXT + "\n"


@pytest.mark.parametrize("configured_by", ["environment", "connection"])
def test_starttls_refuses_a_certificate_no_trusted_ca_signed_before_the_password_is_sent(
    monkeypatch, tmp_path, configured_by
):
    with SmtpServer(tls=tls_files(tmp_path), login=("alerts", PASSWORD)) as smtp:
        smtp_over_tls(monkeypatch, smtp.port, None, configured_by)
        with pytest.raises(AlertDeliveryError) as refused:
            send_alert(SUBJECT, LINES)
    assert str(refused.value) == (
        f"email: the certificate of SMTP server 127.0.0.1:{smtp.port} did not verify "
        "(unable to get local issuer certificate): set FLOWLAKE_SMTP_CA_FILE or the flowlake_smtp "
        "connection's extra 'ca_file' to the CA that signed it"
    )
    assert (smtp.logins, smtp.received) == ([], [])


ENVIRONMENT = ("environment", "FLOWLAKE_ALERT_WEBHOOK_URL")
CONNECTION = ("connection", "the flowlake_alert_webhook connection's extra 'webhook_url'")


def configure_webhook(monkeypatch, configured_by: str, url: str) -> None:
    """The webhook URL as the environment or an Airflow connection's extra gives it."""
    if configured_by == "environment":
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", url)
    else:
        monkeypatch.setenv(
            "AIRFLOW_CONN_FLOWLAKE_ALERT_WEBHOOK", json.dumps({"conn_type": "http", "extra": {"webhook_url": url}})
        )


@pytest.mark.parametrize(
    ("configured_by", "setting", "url"),
    [
        (*ENVIRONMENT, "file://{folder}/services/T000/B000/" + TOKEN),
        (*ENVIRONMENT, "FILE://{folder}/services/T000/B000/" + TOKEN),
        (*ENVIRONMENT, "ftp://127.0.0.1:{port}/services/T000/B000/" + TOKEN),
        (*ENVIRONMENT, "data:text/plain," + TOKEN),
        (*ENVIRONMENT, "hooks.example.com/services/T000/B000/" + TOKEN),
        (*CONNECTION, "file://{folder}/services/T000/B000/" + TOKEN),
    ],
)
def test_a_webhook_url_that_is_not_http_is_refused_naming_the_setting_not_the_url(
    monkeypatch, tmp_path, caplog, configured_by, setting, url
):
    # A file urllib would happily "post" to, were file: URLs let through.
    (tmp_path / "services/T000/B000").mkdir(parents=True)
    (tmp_path / "services/T000/B000" / TOKEN).write_text("not a webhook")
    configure_webhook(monkeypatch, configured_by, url.format(folder=tmp_path, port=free_port()))
    with pytest.raises(AlertDeliveryError) as refused:
        send_alert(SUBJECT, LINES)
    assert str(refused.value) == f"webhook: {setting}: a webhook URL must start with http:// or https://"
    assert TOKEN not in caplog.text


def test_a_webhook_that_redirects_is_a_failed_delivery_and_the_redirect_is_not_followed(monkeypatch):
    with RefusingProxy() as elsewhere, WebhookServer(status=302, location=f"{elsewhere.url}/next") as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        with pytest.raises(AlertDeliveryError, match="^webhook: HTTP Error 302: Found$"):
            send_alert(SUBJECT, LINES)
    assert len(webhook.received) == 1
    assert elsewhere.requested == []


@pytest.mark.parametrize(
    ("configured_by", "setting", "wrapped"),
    [
        (*ENVIRONMENT, "/services/T000/B000/\n" + TOKEN),
        (*ENVIRONMENT, f"/services/T000/B000/{TOKEN} {TOKEN}"),
        (*CONNECTION, "/services/T000/B000/\t" + TOKEN),
    ],
)
def test_a_webhook_url_with_a_space_or_control_character_is_refused_naming_the_setting_not_the_url(
    monkeypatch, caplog, configured_by, setting, wrapped
):
    # A URL pasted wrapped over two lines: http.client's refusal of it quotes the path, the webhook's secret.
    with WebhookServer() as webhook:
        configure_webhook(monkeypatch, configured_by, webhook.url.replace("/services/T000/B000/XXXX", wrapped))
        with pytest.raises(AlertDeliveryError) as refused:
            send_alert(SUBJECT, LINES)
    assert str(refused.value) == f"webhook: {setting}: a webhook URL must not contain spaces or control characters"
    assert webhook.received == []
    assert TOKEN not in caplog.text


def test_a_webhook_connection_uri_posts_to_its_path_as_the_uri_escaped_it(monkeypatch, caplog):
    # Airflow unescapes a connection URI's path into the connection's schema: %20 there is a space.
    with WebhookServer() as webhook:
        monkeypatch.setenv("AIRFLOW_CONN_FLOWLAKE_ALERT_WEBHOOK", f"{webhook.url}%20{TOKEN}%2Fx")
        assert send_alert(SUBJECT, LINES) == ["webhook"]
    assert [r["path"] for r in webhook.received] == [f"/services/T000/B000/XXXX%20{TOKEN}/x"]
    assert TOKEN not in caplog.text


def test_printed_alert_targets_and_connections_show_no_secret():
    target = SmtpTarget("smtp.example.com", 587, "flowlake", "pw-s3cret", "a@example.com", ("b@example.com",), True)
    connection = ConnectionSettings(
        "http", "hooks.example.com", None, "services/T0/B0/hook-s3cret", "user", "pw-s3cret", {"k": "key-s3cret"}
    )
    for printed in (repr(target), str(target), repr(connection), str(connection)):
        assert "s3cret" not in printed, printed
    assert "smtp.example.com" in repr(target) and "hooks.example.com" in repr(connection)
