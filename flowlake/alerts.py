"""Alerts to people: a Slack-compatible incoming webhook and email over SMTP, one message format.

Targets come from the environment, or from Airflow connections when running
under Airflow; never from code:
- webhook: FLOWLAKE_ALERT_WEBHOOK_URL, else connection `flowlake_alert_webhook`
  (extra {"webhook_url": ...}, or the URL itself as connection URI:
  https://hooks.slack.com/services/T/B/X, its query kept); http or https only,
  without spaces or control characters, a user and password in it sent as basic
  authentication, and a redirect is a failed delivery, not a way to another
  scheme or host;
- email: FLOWLAKE_SMTP_HOST, FLOWLAKE_SMTP_PORT (25), FLOWLAKE_SMTP_USER,
  FLOWLAKE_SMTP_PASSWORD, FLOWLAKE_SMTP_FROM, FLOWLAKE_SMTP_TO (comma-separated),
  FLOWLAKE_SMTP_STARTTLS (yes or no; default: on when a user is set), FLOWLAKE_SMTP_CA_FILE
  (a PEM bundle of the CAs to trust instead of the system's), else connection
  `flowlake_smtp` (host, port, login, password, extra {"from", "to", "starttls",
  "ca_file"}). STARTTLS verifies the server's certificate and host name.

send_alert(subject, lines) sends to every configured target, for validate and
for the DAGs' failure callbacks alike; the security findings' alerts
(flowlake/security.py) send to each target on its own, to remember what each accepted. Standard library only, so that a DAG file
can import it at parse time.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from flowlake.connections import SMTP_CONNECTION, WEBHOOK_CONNECTION, airflow_connection

log = logging.getLogger("flowlake.alerts")

TIMEOUT_SECONDS = 10
WEBHOOK_SCHEMES = ("http", "https")
# What http.client refuses in a URL (urllib strips it from the ends only), quoting the path in its error.
NOT_IN_A_URL = re.compile(r"[\x00-\x20\x7f]")
# What a URL's path may hold unescaped (RFC 3986 pchar and "/"), besides letters, digits and "_.-~".
PATH_CHARACTERS = "/:@!$&'()*+,;="
CA_FILE_SETTING = f"FLOWLAKE_SMTP_CA_FILE or the {SMTP_CONNECTION} connection's extra 'ca_file'"


class AlertDeliveryError(RuntimeError):
    """Some configured targets could not be reached: failures says why, reached which were sent to."""

    def __init__(self, failures: list[str], reached: list[str]):
        super().__init__("; ".join(failures))
        self.failures = failures
        self.reached = reached


class UntrustedCertificateError(ConnectionError):
    """The SMTP server's certificate did not verify against the trusted CAs."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)  # never in a log or an error, whoever prints this
    sender: str
    recipients: tuple[str, ...]
    starttls: bool
    ca_file: str | None = None


def alert_text(subject: str, lines: list[str] | str) -> str:
    """The subject, then one "- " line per item (a string's lines, when given one string)."""
    items = lines.splitlines() if isinstance(lines, str) else lines
    return "\n".join([subject, *(f"- {line}" for line in items)])


def _flag(value, default: bool, setting: str) -> bool:
    """A yes or no; any other value is refused, not read as no: STARTTLS off would send the password in clear."""
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{setting}: {value!r} is neither yes (1, true, yes, on) nor no (0, false, no, off)")


def _port(value: str | None, setting: str) -> int:
    """A TCP port, 25 when not set; anything but a number from 1 to 65535 is refused naming the setting."""
    if not value:
        return 25
    text = value.strip()
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise ValueError(f"{setting}: {value!r} is not a port number (1 to 65535)")
    return int(text)


def _recipients(value: str | None) -> tuple[str, ...]:
    return tuple(address.strip() for address in (value or "").split(",") if address.strip())


def checked_webhook_url(url: str, setting: str) -> str:
    """url, when it is http(s): urllib would as well open a file:, ftp: or data: URL; and when it holds no space
    or control character (a URL pasted wrapped over two lines), which http.client refuses quoting the path.

    The error names the setting, not the URL: a webhook's path is its secret.
    """
    if urlsplit(url).scheme.lower() not in WEBHOOK_SCHEMES:
        raise ValueError(f"{setting}: a webhook URL must start with http:// or https://")
    if NOT_IN_A_URL.search(url.strip()):
        raise ValueError(f"{setting}: a webhook URL must not contain spaces or control characters")
    return url


def webhook_url() -> str | None:
    url = os.environ.get("FLOWLAKE_ALERT_WEBHOOK_URL")
    if url:
        return checked_webhook_url(url, "FLOWLAKE_ALERT_WEBHOOK_URL")
    connection = airflow_connection(WEBHOOK_CONNECTION)
    if connection is None:
        return None
    if connection.extra_dejson.get("webhook_url"):
        return checked_webhook_url(
            connection.extra_dejson["webhook_url"], f"the {WEBHOOK_CONNECTION} connection's extra 'webhook_url'"
        )
    # Rebuilt from parts: the connection's own get_uri() escapes the path's slashes. Airflow keeps a connection
    # URI's query (a Teams or Google Chat webhook's signature or key) as the extra, its user and password apart,
    # and its path unescaped as the schema: escaped again, as the URI had it.
    scheme = connection.conn_type if connection.conn_type in ("http", "https") else "https"
    port = f":{connection.port}" if connection.port else ""
    user = ""
    if connection.login:
        password = f":{quote(connection.password, safe='')}" if connection.password else ""
        user = f"{quote(connection.login, safe='')}{password}@"
    query = f"?{urlencode(connection.extra_dejson)}" if connection.extra_dejson else ""
    path = quote(connection.schema or "", safe=PATH_CHARACTERS)
    return f"{scheme}://{user}{connection.host}{port}/{path}{query}"


def smtp_target() -> SmtpTarget | None:
    host = os.environ.get("FLOWLAKE_SMTP_HOST")
    if host:
        user = os.environ.get("FLOWLAKE_SMTP_USER") or None
        return SmtpTarget(
            host=host,
            port=_port(os.environ.get("FLOWLAKE_SMTP_PORT"), "FLOWLAKE_SMTP_PORT"),
            user=user,
            password=os.environ.get("FLOWLAKE_SMTP_PASSWORD") or None,
            sender=os.environ.get("FLOWLAKE_SMTP_FROM") or "flowlake@localhost",
            recipients=_recipients(os.environ.get("FLOWLAKE_SMTP_TO")),
            starttls=_flag(os.environ.get("FLOWLAKE_SMTP_STARTTLS"), user is not None, "FLOWLAKE_SMTP_STARTTLS"),
            ca_file=os.environ.get("FLOWLAKE_SMTP_CA_FILE") or None,
        )
    connection = airflow_connection(SMTP_CONNECTION)
    if connection is None or not connection.host:
        return None
    extra = connection.extra_dejson
    return SmtpTarget(
        host=connection.host,
        port=int(connection.port or 25),
        user=connection.login or None,
        password=connection.password or None,
        sender=extra.get("from") or "flowlake@localhost",
        recipients=_recipients(extra.get("to")),
        starttls=_flag(
            extra.get("starttls"), bool(connection.login), f"the {SMTP_CONNECTION} connection's extra 'starttls'"
        ),
        ca_file=extra.get("ca_file") or None,
    )


def http_only_opener() -> urllib.request.OpenerDirector:
    """urllib's opener less its file:, ftp: and data: handlers and its redirects (which may lead to ftp:)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def post_webhook(url: str, subject: str, lines: list[str] | str) -> None:
    """Slack's incoming-webhook payload ({"text": ...}), which Teams, Mattermost and others accept too. A user and
    password in the URL are sent as basic authentication: urllib would take them for the host and say so, password
    and all, in its error."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = f"Basic {base64.b64encode(credentials.encode()).decode()}"
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    request = urllib.request.Request(
        url, data=json.dumps({"text": alert_text(subject, lines)}).encode(), headers=headers, method="POST"
    )
    with http_only_opener().open(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()


def tls_context(target: SmtpTarget) -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or only those of the target's CA file; host names too."""
    try:
        return ssl.create_default_context(cafile=target.ca_file)
    except (OSError, ssl.SSLError) as error:
        raise ValueError(f"{CA_FILE_SETTING}: cannot read {target.ca_file}: {error}") from error


def send_email(target: SmtpTarget, subject: str, lines: list[str] | str) -> None:
    if not target.recipients:
        raise ValueError("no email recipients: set FLOWLAKE_SMTP_TO or the connection's extra 'to'")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message.set_content(alert_text(subject, lines) + "\n")
    with smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_SECONDS) as smtp:
        if target.starttls:
            try:
                smtp.starttls(context=tls_context(target))
            except ssl.SSLCertVerificationError as error:
                raise UntrustedCertificateError(
                    f"the certificate of SMTP server {target.host}:{target.port} did not verify "
                    f"({error.verify_message}): set {CA_FILE_SETTING} to the CA that signed it"
                ) from error
        if target.user:
            smtp.login(target.user, target.password or "")
        smtp.send_message(message)


def send_alert(subject: str, lines: list[str] | str) -> list[str]:
    """Sends to every configured target; returns those reached ("webhook", "email").

    Tries them all before raising AlertDeliveryError for those that failed,
    a target whose configuration could not be read among them.
    """
    reached, failed = [], []
    for target, configured, send in (("webhook", webhook_url, post_webhook), ("email", smtp_target, send_email)):
        try:
            destination = configured()
            if destination is None:
                continue
            send(destination, subject, lines)
            reached.append(target)
        except Exception as error:  # one unreachable target must not keep the alert from the others
            log.error("alert to %s failed: %s", target, error)
            failed.append(f"{target}: {error}")
    if failed:
        raise AlertDeliveryError(failed, reached)
    if not reached:
        log.warning(
            "no alert target configured (FLOWLAKE_ALERT_WEBHOOK_URL, FLOWLAKE_SMTP_HOST or the Airflow connections "
            "%s, %s): %s",
            WEBHOOK_CONNECTION,
            SMTP_CONNECTION,
            subject,
        )
    return reached
