"""Real servers on 127.0.0.1 for the tests: a free port, a webhook receiver, an SMTP server (with STARTTLS
and a certificate from a CA made up for the test, when asked) and a proxy that forwards nothing.

The S3/EC2 server (moto) is a session fixture in conftest.py.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _HttpServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a handler class, serving while the block runs."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_port

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class WebhookServer(_HttpServer):
    """A Slack-style incoming webhook on 127.0.0.1: records each POST's path, content type and body.

    Answers with status, and with a Location header when given one (a redirect).
    """

    def __init__(self, status: int = 200, location: str | None = None):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.append({"path": self.path, "content_type": self.headers["Content-Type"], "body": body})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}/services/T000/B000/XXXX"


class RefusingProxy(_HttpServer):
    """An HTTP proxy on 127.0.0.1 that forwards nothing: records what a client asked it to fetch
    ("GET http://host/path", "CONNECT host:443") and answers 403. A client set to use it can reach
    nothing beyond it, and the test learns what it tried."""

    def __init__(self):
        requested = self.requested = []

        class Handler(BaseHTTPRequestHandler):
            def refuse(self):
                requested.append(f"{self.command} {self.path}")
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = do_CONNECT = refuse  # noqa: N815 (http.server's names)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: a certificate authority, and a certificate it signed for 127.0.0.1 with its key."""

    ca: Path
    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.key)
        return context


def tls_files(folder: Path) -> TlsFiles:
    """A CA made up here (trusted by nothing else), and a server certificate for 127.0.0.1 it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def certificate(subject: str, key, issuer: x509.Name, signing_key, *extensions) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowlake test CA")])
    ca = certificate(
        "flowlake test CA",
        ca_key,
        ca_name,
        ca_key,
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
    )
    server = certificate(
        "127.0.0.1",
        server_key,
        ca_name,
        ca_key,
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


class SmtpServer:
    """aiosmtpd on 127.0.0.1: records each message with its envelope.

    With tls, it offers STARTTLS with that certificate and takes mail only after it; with
    login (user, password), it takes mail only from that user, authenticated over TLS, and
    records each login tried.
    """

    def __init__(self, tls: TlsFiles | None = None, login: tuple[str, str] | None = None):
        self.received = []
        self.logins = []
        self.port = free_port()
        self.tls = tls
        self.login = login

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's handler name)
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.received.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "message": message})
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        tried = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(tried)
        return AuthResult(success=tried == self.login)

    def __enter__(self):
        from aiosmtpd.controller import Controller

        options = {}
        if self.tls:
            options |= {"tls_context": self.tls.server_context(), "require_starttls": True}
        if self.login:
            options |= {"authenticator": self.authenticate, "auth_required": True, "auth_require_tls": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def body(mail) -> str:
    """A received message's text as sent, SMTP's CRLF line ends back to LF."""
    return mail["message"].get_content().replace("\r\n", "\n")
