"""Is the camera there? One RTSP DESCRIBE on a socket, no ffmpeg.

While a camera is down, starting ffmpeg to find out costs a process, a
probe of the stream and seconds each time, so the supervisor used to back
off, and a camera that came back waited for the backoff. A DESCRIBE costs a
connection and a few hundred bytes: the supervisor asks every second or two
and starts ffmpeg as soon as the camera answers.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from edge.camera_recorder.config import CameraSettings

RTSP_PORTS = {"rtsp": 554, "rtsps": 322}
REPLY_LIMIT = 8192  # the status line is all we read; a reply header is seldom larger
# The stream is not there although the camera is: no such stream (404), or the
# camera's encoder is not ready (5xx). ffmpeg would fail just the same.
NOT_SERVING = {404, 454}


@dataclass(frozen=True)
class CameraAnswer:
    """What a probe found: whether ffmpeg would find a stream, and in a few words why."""

    up: bool
    detail: str


def can_probe(camera: CameraSettings) -> bool:
    """Only RTSP cameras are probed; other inputs are restarted on the backoff alone."""
    return urlsplit(camera.url).scheme.lower() in RTSP_PORTS


def describe(camera: CameraSettings, timeout_s: float) -> CameraAnswer:
    """Send one RTSP DESCRIBE (without credentials) and read the status line of the reply.

    A camera that asks for credentials (401) is there: ffmpeg has them. The
    request never carries the password, so a probe cannot leak it.
    """
    parts = urlsplit(camera.url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or RTSP_PORTS.get(scheme, 554)
    # The request line names the stream without the login that may be in the url.
    target = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
    request = (
        f"DESCRIBE {target} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n"
        "User-Agent: hallwatch-recorder\r\n\r\n"
    ).encode("ascii", "replace")
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw:
            sock: socket.socket = raw
            if scheme == "rtsps":
                # A probe sends nothing secret and a camera's certificate is seldom
                # one a public CA signed: it only asks whether the camera is there.
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(raw, server_hostname=host)
            sock.sendall(request)
            reply = _status_line(sock)
    except TimeoutError:
        return CameraAnswer(False, f"no answer from {host}:{port} within {timeout_s:g} s")
    except OSError as exc:
        return CameraAnswer(False, f"no answer from {host}:{port}: {exc.strerror or exc}")
    if reply is None:
        return CameraAnswer(False, f"{host}:{port} closed the connection without answering")
    words = reply.split(" ", 2)
    if len(words) < 2 or not words[1].isdigit():
        return CameraAnswer(False, f"{host}:{port} answered something else than RTSP: {reply[:80]!r}")
    status = int(words[1])
    said = reply.split(" ", 1)[1]
    if status in NOT_SERVING or status >= 500:
        return CameraAnswer(False, f"the camera answers {said}")
    return CameraAnswer(True, f"the camera answers {said}")


def _status_line(sock: socket.socket) -> str | None:
    data = b""
    while b"\r\n" not in data and len(data) < REPLY_LIMIT:
        chunk = sock.recv(REPLY_LIMIT)
        if not chunk:
            break
        data += chunk
    if not data:
        return None
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace").strip()
