"""The gateway's video relay: `/video/v1/<device>/...` from central, passed on to that recorder.

Pull only: a request from central opens one request to the recorder and the
answer is streamed back as it arrives; nothing is fetched ahead and nothing
is cached, so a camera nobody watches costs the WAN and the hall LAN nothing.
Every hop has its own token: central's is checked here, the recorder's is
sent on (central never learns it). Only a recorder of this hall's registry,
listed with its address in `[video] recorders`, is relayed to.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from contract.video import API, EXPORTS, bearer
from gateway.video.settings import GatewayVideoSettings, RecorderLink
from spine.httphop import BearerCheck, HopServer, QuietHandler

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
MAX_BODY = 16 * 1024
PASSED_HEADERS = ("Content-Type", "Content-Length", "Cache-Control")

RecorderRefusal = Callable[[str], "str | None"]
"""device -> None when it is a recorder of this hall that may be relayed to, else why not."""


class RelayRefused(Exception):
    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class VideoRelay:
    """Which recorder a request goes to, and the request to it; counts what it relayed."""

    def __init__(self, settings: GatewayVideoSettings, refusal: RecorderRefusal) -> None:
        self.settings = settings
        self.refusal = refusal
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def link(self, device: str) -> RecorderLink:
        link = self.settings.recorder(device)
        if link is None:
            raise RelayRefused(HTTPStatus.NOT_FOUND, f"no video address for {device!r} in [video] recorders")
        why = self.refusal(device)
        if why is not None:
            raise RelayRefused(HTTPStatus.FORBIDDEN, why)
        return link

    def open(self, device: str, method: str, rest: str, body: bytes | None,
             content_type: str | None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send the request on to the recorder; the caller reads the answer and closes the connection."""
        link = self.link(device)
        target = urlsplit(link.url)
        timeout = self.settings.export_timeout_s if rest.startswith(EXPORTS) else self.settings.live_timeout_s
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(target.netloc, timeout=timeout,
                                                     context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(target.netloc, timeout=timeout)
        headers = {**bearer(link.token.resolved())}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            connection.request(method, f"{target.path}{API}/{rest}", body=body, headers=headers)
            response = connection.getresponse()
        except OSError as exc:
            connection.close()
            raise RelayRefused(HTTPStatus.BAD_GATEWAY, f"recorder {device} did not answer: {exc}") from exc
        self.count(device, 0)
        return connection, response

    def count(self, device: str, size: int) -> None:
        with self._lock:
            if size:
                self.bytes[device] += size
            else:
                self.requests[device] += 1


def handler_for(relay: VideoRelay, check: BearerCheck) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._relay("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._relay("POST")

        def _relay(self, method: str) -> None:
            try:
                if not check.admits(self.headers.get("Authorization")):
                    raise RelayRefused(HTTPStatus.UNAUTHORIZED, "this gateway's video token is required")
                device, rest = _route(self.path)
                body = self._body() if method == "POST" else None
                connection, response = relay.open(device, method, rest, body,
                                                  self.headers.get("Content-Type"))
                try:
                    self._pass_on(device, response)
                finally:
                    connection.close()
            except RelayRefused as refused:
                self._refuse(refused.status, refused.reason)
            except (BrokenPipeError, ConnectionResetError):
                pass  # central went away mid-answer
            except Exception:
                log.exception("video relay of %s failed", self.path)
                self._refuse(HTTPStatus.BAD_GATEWAY, "gateway relay error")

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise RelayRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "a video request is small")
            return self.rfile.read(length)

        def _pass_on(self, device: str, response: http.client.HTTPResponse) -> None:
            self.send_response(response.status)
            for name in PASSED_HEADERS:
                value = response.getheader(name)
                if value is not None:
                    self.send_header(name, value)
            if response.getheader("Content-Length") is None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            while chunk := response.read(CHUNK):
                self.wfile.write(chunk)
                relay.count(device, len(chunk))

        def _refuse(self, status: HTTPStatus, reason: str) -> None:
            body = json.dumps({"detail": reason}, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _route(raw_path: str) -> tuple[str, str]:
    """(device, the recorder's path below /video/v1 with its query) of a gateway path."""
    parts = urlsplit(raw_path)
    if not parts.path.startswith(API + "/"):
        raise RelayRefused(HTTPStatus.NOT_FOUND, f"video paths start with {API}/<device>/")
    device, _, rest = parts.path[len(API) + 1:].partition("/")
    if not device or not rest or ".." in rest.split("/"):
        raise RelayRefused(HTTPStatus.NOT_FOUND, "not a video path")
    return device, rest + (f"?{parts.query}" if parts.query else "")


class GatewayVideo:
    """The relay on the gateway's address for central, behind central's token."""

    def __init__(self, settings: GatewayVideoSettings, refusal: RecorderRefusal) -> None:
        self.relay = VideoRelay(settings, refusal)
        self.http = HopServer(handler_for(self.relay, BearerCheck(settings.token.resolved())),
                              settings.host, settings.port, tls_cert=settings.tls_cert,
                              tls_key=settings.tls_key, name="gateway-video")

    @property
    def url(self) -> str:
        return self.http.url

    def start(self) -> None:
        self.http.start()

    def stop(self) -> None:
        self.http.stop()

    def diagnostics(self) -> dict[str, Any]:
        return {"url": self.url, "requests": dict(self.relay.requests), "bytes": dict(self.relay.bytes)}
