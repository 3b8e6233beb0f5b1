"""The HTTP SMS-platform sender against a real HTTP server on a free local port (stdlib http.server)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from central.sms.platform import SmsPlatform
from central.sms.senders.base import OutgoingSms
from central.sms.senders.http import HttpSender
from central.sms.settings import HttpPlatformSettings
from spine.clock import SimulatedClock
from tests.sms.conftest import CITIZEN, accepted_body, make_settings

TEXT = "【酒泉市政务服务中心】您的办件（受理编号JQ-1）已于2026年12月10日办结，请到窗口领取。回复TD退订"


@dataclass
class Platform:
    """What the SMS platform received, and what it answers next."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def sms_platform() -> Iterator[Platform]:
    recorded = Platform()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorded.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            ok = (200, {"code": 0, "msgid": "m-1"})
            status, answer = recorded.answers.pop(0) if recorded.answers else ok
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}/api/sms/send"
    yield recorded
    server.shutdown()
    server.server_close()


def settings_for(platform: Platform, tmp_path: Path, **changes: Any) -> HttpPlatformSettings:
    secret = tmp_path / "sms-platform.key"
    secret.write_text("s3cr3t-key\n", encoding="utf-8")
    values: dict[str, Any] = {"url": platform.url, "secret_file": secret, "success_field": "code",
                              "success_value": 0, "id_field": "msgid", "timeout_s": 5,
                              "extra_fields": {"account": "jqzwfw", "sign": "酒泉市政务服务中心"}}
    values.update(changes)
    return HttpPlatformSettings(**values)


def outgoing(sender: HttpSender) -> OutgoingSms:
    return OutgoingSms(1, CITIZEN, TEXT, sender.split(TEXT))


def test_a_json_platform_gets_the_number_the_whole_text_and_the_secret_from_its_file(
        sms_platform: Platform, tmp_path: Path) -> None:
    sender = HttpSender(settings_for(sms_platform, tmp_path))
    outcome = sender.send(outgoing(sender))
    assert outcome.complete and outcome.references == ("m-1",)
    [request] = sms_platform.requests
    assert request["path"] == "/api/sms/send"
    assert request["headers"]["Authorization"] == "Bearer s3cr3t-key"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(request["body"]) == {"account": "jqzwfw", "sign": "酒泉市政务服务中心",
                                           "mobile": CITIZEN, "content": TEXT}
    assert "s3cr3t" not in json.dumps(sender.describe())


def test_a_form_platform_gets_its_own_field_names_and_auth_header(sms_platform: Platform,
                                                                  tmp_path: Path) -> None:
    sender = HttpSender(settings_for(sms_platform, tmp_path, body="form", phone_field="dest",
                                     text_field="msg", auth_header="X-Api-Key", auth_format="{secret}",
                                     success_field=None, success_value=None, id_field=None))
    assert sender.send(outgoing(sender)).complete
    [request] = sms_platform.requests
    assert request["headers"]["X-Api-Key"] == "s3cr3t-key"
    form = urllib.parse.parse_qs(request["body"].decode())
    assert form["dest"] == [CITIZEN] and form["msg"] == [TEXT]


def test_the_platform_saying_no_in_its_answer_fails_the_message_for_good(sms_platform: Platform,
                                                                         tmp_path: Path) -> None:
    sms_platform.answers.append((200, {"code": 4085, "msg": "号码格式错误"}))
    sender = HttpSender(settings_for(sms_platform, tmp_path))
    outcome = sender.send(outgoing(sender))
    assert (outcome.complete, outcome.retryable) == (False, False)
    assert "code=4085" in (outcome.error or "")


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (401, True),
                                                   (400, False), (404, False)])
def test_server_trouble_is_retried_and_a_rejected_request_is_not(sms_platform: Platform, tmp_path: Path,
                                                                 status: int, retryable: bool) -> None:
    sms_platform.answers.append((status, {"error": "x"}))
    sender = HttpSender(settings_for(sms_platform, tmp_path))
    outcome = sender.send(outgoing(sender))
    assert (outcome.complete, outcome.retryable) == (False, retryable)
    assert f"HTTP {status}" in (outcome.error or "")


def test_an_unreachable_platform_keeps_the_message_queued_until_it_answers(
        sms_platform: Platform, tmp_path: Path, clock: SimulatedClock) -> None:
    url = sms_platform.url
    settings = make_settings(tmp_path, backend="http",
                             http=settings_for(sms_platform, tmp_path, url="http://127.0.0.1:9/api/sms/send"))
    platform = SmsPlatform(settings, clock=clock)
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.run_once()
    [message] = platform.messages()
    assert message.state == "queued" and "platform unreachable" in (message.last_error or "")

    platform.sender = platform.worker.sender = HttpSender(settings_for(sms_platform, tmp_path, url=url))
    clock.advance(1_000)
    platform.run_once()
    assert platform.messages()[0].state == "sent"
    assert json.loads(sms_platform.requests[0]["body"])["mobile"] == CITIZEN
    platform.stop()
