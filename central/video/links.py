"""Central's side of the video path: one HTTP request to a hall's gateway, with that hall's token."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from central.video.settings import HallVideoLink, VideoSettings
from contract.video import API, bearer


class NoLink(LookupError):
    """Central has no video address for this hall (`[video] halls`)."""


class HallUnreachable(ConnectionError):
    """The hall's gateway did not answer; the message says how."""


@dataclass(frozen=True)
class Answer:
    """A whole (small) answer from a hall: live playlists and segments, export answers."""

    status: int
    content_type: str
    body: bytes
    cache_control: str | None = None


class GatewayLinks:
    """Requests to the halls' video relays: `/video/v1/<device>/<path>` with the hall's token."""

    def __init__(self, settings: VideoSettings) -> None:
        self.settings = settings
        self._tls: dict[str, ssl.SSLContext] = {}

    def knows(self, hall: str) -> bool:
        return self.settings.link(hall) is not None

    def fetch(self, hall: str, device: str, path: str, *, method: str = "GET", body: bytes | None = None,
              timeout_s: float | None = None) -> Answer:
        with self.open(hall, device, path, method=method, body=body, timeout_s=timeout_s) as response:
            data = response.read()
            return Answer(response.status, response.getheader("Content-Type") or "application/octet-stream",
                          data, response.getheader("Cache-Control"))

    @contextmanager
    def open(self, hall: str, device: str, path: str, *, method: str = "GET", body: bytes | None = None,
             timeout_s: float | None = None) -> Iterator[http.client.HTTPResponse]:
        """The hall's answer, to be read as a stream (an evidence clip) inside the `with`."""
        link = self.settings.link(hall)
        if link is None:
            raise NoLink(f"no video link to hall {hall!r} in central's [video] halls")
        target = urlsplit(link.url)
        timeout = timeout_s or self.settings.live_timeout_s
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(target.netloc, timeout=timeout,
                                                     context=self._context(link))
        else:
            connection = http.client.HTTPConnection(target.netloc, timeout=timeout)
        headers = bearer(link.token.resolved())
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            try:
                connection.request(method, f"{target.path}{API}/{device}/{path}", body=body, headers=headers)
                response = connection.getresponse()
            except OSError as exc:
                raise HallUnreachable(f"hall {hall}'s gateway did not answer: {exc}") from exc
            yield response
        finally:
            connection.close()

    def _context(self, link: HallVideoLink) -> ssl.SSLContext:
        context = self._tls.get(link.hall)
        if context is None:
            context = ssl.create_default_context(cafile=str(link.tls_ca) if link.tls_ca else None)
            self._tls[link.hall] = context
        return context
