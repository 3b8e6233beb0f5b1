"""A government or carrier SMS platform over HTTP: one request per message, the platform splits it.

Everything about the platform's API is configuration (`HttpPlatformSettings`):
URL, JSON or form body, field names, constant fields, the auth header with its
secret read from a file, and what counts as success (HTTP status, and a field
of the JSON answer). A 4xx answer means the platform refused this message for
good, except 401/403 (our key: fix it and the queue goes out), 408 and 429;
anything else is tried again later.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from central.sms.senders.base import DeliveryReport, IncomingSms, OutgoingSms, SendOutcome
from central.sms.settings import HttpPlatformSettings
from contract.privacy import redact

log = logging.getLogger(__name__)
_RETRYABLE_4XX = (401, 403, 408, 429)


def _dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


class HttpSender:
    """Posts each message to the platform's send endpoint."""

    name = "http"

    def __init__(self, settings: HttpPlatformSettings) -> None:
        self.settings = settings
        self.last_error: str | None = None
        self.sent = 0

    def split(self, text: str) -> tuple[str, ...]:
        return (text,)  # the platform splits and bills the parts itself

    def _secret(self) -> str | None:
        if self.settings.auth_header is None or self.settings.secret_file is None:
            return None
        # Read per request: a rotated key is used without a restart.
        return self.settings.secret_file.read_text(encoding="utf-8").strip()

    def _request(self, phone: str, text: str) -> urllib.request.Request:
        fields: dict[str, str] = dict(self.settings.extra_fields)
        fields[self.settings.phone_field] = phone
        fields[self.settings.text_field] = text
        if self.settings.body == "json":
            data = json.dumps(fields, ensure_ascii=False).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        else:
            data = urllib.parse.urlencode(fields).encode("ascii")
            content_type = "application/x-www-form-urlencoded; charset=utf-8"
        request = urllib.request.Request(self.settings.url, data=data, method="POST",
                                         headers={"Content-Type": content_type})
        secret = self._secret()
        if secret is not None and self.settings.auth_header is not None:
            request.add_header(self.settings.auth_header, self.settings.auth_format.format(secret=secret))
        return request

    def send(self, sms: OutgoingSms) -> SendOutcome:
        if sms.first_unit >= len(sms.units):
            return SendOutcome()
        try:
            request = self._request(sms.phone, sms.units[0])
        except OSError as exc:
            return self._failed(f"cannot read the platform's secret file: {exc.strerror}", True)
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return self._failed(f"platform unreachable: {reason}", True)
        return self._judge(status, body)

    def _judge(self, status: int, body: bytes) -> SendOutcome:
        text = body.decode("utf-8", errors="replace")[:300]
        if status not in self.settings.success_status:
            retryable = not (400 <= status < 500) or status in _RETRYABLE_4XX
            return self._failed(f"platform answered HTTP {status}: {redact(text)}", retryable)
        answer: Any = None
        if self.settings.success_field is not None or self.settings.id_field is not None:
            try:
                answer = json.loads(body)
            except ValueError:
                return self._failed(f"platform answered HTTP {status} without JSON: {redact(text)}", True)
        if self.settings.success_field is not None:
            got = _dig(answer, self.settings.success_field)
            if str(got) != str(self.settings.success_value):
                # The platform read the request and said no: trying again sends the same no.
                return self._failed(f"platform refused: {self.settings.success_field}={got!r}: "
                                    f"{redact(text)}", False)
        reference = _dig(answer, self.settings.id_field) if self.settings.id_field else None
        self.last_error = None
        self.sent += 1
        return SendOutcome((None if reference is None else str(reference),))

    def _failed(self, error: str, retryable: bool) -> SendOutcome:
        self.last_error = error
        return SendOutcome((), error, retryable)

    def poll(self) -> list[IncomingSms | DeliveryReport]:
        return []  # platforms push replies and reports to their own callbacks; not wired yet

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        url = urllib.parse.urlsplit(self.settings.url)
        return {"backend": self.name, "url": f"{url.scheme}://{url.hostname}:{url.port or ''}{url.path}",
                "body": self.settings.body, "auth": bool(self.settings.secret_file), "sent": self.sent,
                "last_error": self.last_error}
