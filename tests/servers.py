"""Real servers on 127.0.0.1 for the tests: a free port, a webhook receiver, an SMTP server (with STARTTLS
and a certificate from a CA made up for the test, when asked) and a proxy that forwards nothing.

The S3/EC2 server (moto) is a session fixture in conftest.py.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
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

    Answers with status, and with a Location header when given one (a redirect). The Authorization header of
    each POST is kept apart (authorizations).
    """

    def __init__(self, status: int = 200, location: str | None = None):
        received = self.received = []
        authorizations = self.authorizations = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.append({"path": self.path, "content_type": self.headers["Content-Type"], "body": body})
                authorizations.append(self.headers["Authorization"])
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


# Headers the proxy writes itself, or that describe one connection only.
HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length", "server", "date")


class FaultyS3Proxy(_HttpServer):
    """A reverse proxy on 127.0.0.1 in front of an S3 server that injects the faults S3 clients meet,
    on a fixed schedule over the requests it receives (so a run meets every kind, reproducibly):

    - "slowdown": 503 SlowDown, as S3 throttles, without forwarding;
    - "reset": the connection closed with no answer, without forwarding;
    - "slow": the answer after a pause;
    - "truncated": a GET's answer cut off halfway through its body (its Content-Length whole).

    injected counts each kind, faulted_methods the HTTP methods they hit; requests counts them all.
    """

    # (fault, every, at): the request numbered n gets the fault when n % every == at. About one
    # request in six fails, far more often than S3 fails, and few enough that a run of a few hundred
    # requests ends within minutes.
    SCHEDULE = (("slowdown", 17, 1), ("reset", 19, 3), ("slow", 23, 5), ("truncated", 29, 7))
    SLOW_SECONDS = 0.2

    def __init__(self, upstream: str):
        import http.client
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        proxy = self
        self.injected = {name: 0 for name, _, _ in self.SCHEDULE}
        self.faulted_methods: set[str] = set()
        self.requests = 0
        lock = threading.Lock()

        def fault_of(method: str) -> str | None:
            with lock:
                proxy.requests += 1
                number = proxy.requests
                for name, every, at in self.SCHEDULE:
                    if number % every == at and (name != "truncated" or method == "GET"):
                        proxy.injected[name] += 1
                        proxy.faulted_methods.add(method)
                        return name
            return None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                body = self.request_body()
                fault = fault_of(self.command)
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    # shutdown, not close: the handler's files keep the socket open past a close().
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault == "slowdown":
                    answer = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(answer)
                    return
                if fault == "slow":
                    time.sleep(proxy.SLOW_SECONDS)
                upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP + ("expect",)}
                    if body is not None:
                        headers["Content-Length"] = str(len(body))
                    upstream_connection.request(self.command, self.path, body=body, headers=headers)
                    response = upstream_connection.getresponse()
                    content = response.read()
                finally:
                    upstream_connection.close()
                self.send_response(response.status)
                # A HEAD's Content-Length is the object's size; every other answer's is the body's.
                passed_on = ("content-length",) if self.command == "HEAD" else ()
                for name, value in response.getheaders():
                    if name.lower() in passed_on or name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if fault == "truncated" and len(content) > 1:
                    self.wfile.write(content[: len(content) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self.command != "HEAD":
                    self.wfile.write(content)

            def request_body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = forward  # noqa: N815 (http.server's names)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.server.daemon_threads = True
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
