"""The enrolment server: hands each sealed bundle out once, to whoever knows its code."""

from __future__ import annotations

import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from provisioning.enrolment import EnrolmentError
from provisioning.workflow import Provisioner

log = logging.getLogger(__name__)

_PATH = re.compile(r"^/enrol/([0-9a-f]{32})$")


def make_server(provisioner: Provisioner, host: str, port: int) -> ThreadingHTTPServer:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            match = _PATH.match(self.path)
            if match is None:
                self._answer(404, b"not an enrolment request\n")
                return
            peer = self.client_address[0]
            try:
                with lock:
                    sealed = provisioner.take_sealed(match.group(1), by=f"enrolment from {peer}")
            except EnrolmentError as exc:
                log.warning("enrolment from %s refused: %s", peer, exc)
                self._answer(410, f"{exc}\n".encode())
                return
            log.info("a sealed bundle was fetched from %s", peer)
            self._answer(200, sealed, "application/octet-stream")

        def _answer(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # The path carries a lookup derived from a code: keep it out of the access log.
            log.debug("enrolment request from %s", self.client_address[0])

    return ThreadingHTTPServer((host, port), Handler)
