"""One hop of the video path over HTTP: a token-checked threaded server, and the token it checks.

The recorder and the gateway each serve video to the hop above them with the
standard library's threaded HTTP server: a handful of watchers pull small
files, so a thread per request is plenty, and nothing else is installed on a
Pi. Every request must carry the hop's bearer token; it is compared by its
SHA-256 digest in constant time, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from spine.config import Section

log = logging.getLogger(__name__)


class HopToken(Section):
    """A bearer token given inline or, better, in a file readable by the service only."""

    token: SecretStr | None = Field(None, description="the token itself (prefer token_file)")
    token_file: Path | None = Field(None, description="a file holding the token")

    @model_validator(mode="after")
    def _one_token(self) -> HopToken:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token or token_file")
        return self

    def resolved(self) -> str:
        if self.token is not None:
            return self.token.get_secret_value()
        assert self.token_file is not None
        return self.token_file.read_text(encoding="utf-8").strip()


class BearerCheck:
    """Admits requests whose `Authorization: Bearer ...` is the expected token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an empty token would admit anyone")
        self._digest = hashlib.sha256(token.encode()).digest()

    def admits(self, authorization: str | None) -> bool:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return False
        return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(), self._digest)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs through `logging` at debug level, not to stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        log.debug("%s %s", self.address_string(), format % args)


class HopServer:
    """A ThreadingHTTPServer in a daemon thread: `start()`, `port`, `stop()`; TLS when given a cert."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        host: str,
        port: int,
        *,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        name: str = "video-http",
    ) -> None:
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        if tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls_cert is not None else "http"
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server.server_address[0])
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name=self.name, daemon=True
        )
        self._thread.start()
        log.info("%s listening on %s", self.name, self.url)

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()
