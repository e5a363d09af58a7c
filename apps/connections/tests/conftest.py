"""Test support for the connectors: small HTTP(S) servers on 127.0.0.1 that answer what a test tells
them to (429 with Retry-After, 503, dropped connections, slow answers, redirects), and a stand-in for the
system resolver (socket.getaddrinfo) so that host names resolve to the addresses a test needs without
any DNS query leaving this machine."""

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PORT_RANGE = range(8600, 8700)  # this part of the project's own range of ports


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b"{}"
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection without answering
    cut_after: int | None = None  # announce the whole body, send this many bytes of it, close the connection


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


class LocalServer:
    """Routes map a path (without query) to a list of replies, served in order, the last one repeating;
    or to a callable(Seen) -> Reply."""

    def __init__(self, *, tls_context: ssl.SSLContext | None = None):
        self.routes: dict[str, list[Reply] | Callable[[Seen], Reply]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                server.seen.append(seen)
                reply = server._reply_for(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if reply.cut_after is not None:
                    self.wfile.write(body[:reply.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = self._bind(Handler)
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def _bind(handler):
        for port in PORT_RANGE:
            try:
                return ThreadingHTTPServer(("127.0.0.1", port), handler)
            except OSError:
                continue
        raise RuntimeError("No free port in 8600-8699 for a test server.")

    def _reply_for(self, seen: Seen) -> Reply:
        route = self.routes.get(seen.path.split("?")[0])
        if route is None:
            return Reply(404, b'{"message": "no route"}')
        if callable(route):
            return route(seen)
        return route.pop(0) if len(route) > 1 else route[0]

    def url(self, path: str = "", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path.split("?")[0] == path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    server = LocalServer()
    yield server
    server.close()


def self_signed(hostname: str) -> tuple[bytes, bytes]:
    """A certificate for `hostname` and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 whose certificate names `secure.test`, and a client SSL context that
    trusts that certificate (and nothing else)."""
    cert_pem, key_pem = self_signed("secure.test")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = LocalServer(tls_context=server_context)
    server.client_context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    yield server
    server.close()


class FakeResolver:
    """Stands in for socket.getaddrinfo: names in `table` resolve to their addresses (a list of answers
    may change between calls, as a rebinding DNS server would); numeric hosts resolve to themselves; any
    other name does not exist."""

    def __init__(self):
        self.table: dict[str, list[str] | list[list[str]]] = {}
        self.calls: list[str] = []
        self._real = socket.getaddrinfo

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        self.calls.append(host)
        try:
            ipaddress.ip_address(host.split("%")[0])
            return self._real(host, port, family, type, proto, flags)
        except ValueError:
            pass
        answers = self.table.get(host.lower())
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answers and isinstance(answers[0], list):  # a sequence of answers, one per lookup
            current = answers.pop(0) if len(answers) > 1 else answers[0]
        else:
            current = answers
        results = []
        for address in current:
            ip = ipaddress.ip_address(address)
            if ip.version == 6:
                results.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port or 0, 0, 0)))
            else:
                results.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0)))
        return results


@pytest.fixture
def fake_dns(monkeypatch):
    resolver = FakeResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


class FakeClock:
    """A monotonic and a wall clock that move only when the code under test sleeps."""

    def __init__(self, start_wall: float = 1_800_000_000.0):
        self.monotonic = 1000.0
        self.wall = start_wall
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.monotonic += seconds
        self.wall += seconds

    def mono(self) -> float:
        return self.monotonic

    def now(self) -> float:
        return self.wall


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """API throttles count in the cache, which outlives a test; every test starts with none used."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# OAuth connections: the sandbox's authorization servers on the live server (see oauth_support.py).
from apps.connections.tests.oauth_support import ado_site, jira_cloud_site, oauth_servers  # noqa: E402, F401
