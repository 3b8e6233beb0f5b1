"""What the supervision office's routers share: the office, and its refusals as HTTP answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import HTTPException, Request, status

from central.anomalies.book import AnomalyError, UnknownAnomaly
from central.projects import ProjectError, UnknownCase, UnknownProject
from central.supervision import SupervisionOffice
from central.web.context import CentralContext

T = TypeVar("T")


def office(request: Request) -> SupervisionOffice:
    context: CentralContext = request.app.state.central
    if context.supervision is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the supervision office is not running")
    return context.supervision


def announce(request: Request, kind: str, data: dict[str, object]) -> None:
    """The big screen redraws what changed."""
    context: CentralContext = request.app.state.central
    context.feed.publish(kind, data)


def guarded(call: Callable[[], T]) -> T:
    """Unknown records answer 404; steps that do not apply 409 (already done) or 422 (why not)."""
    try:
        return call()
    except (UnknownAnomaly, UnknownProject) as exc:
        raise HTTPException(404, f"no such record {exc.args[0]!r}") from exc
    except UnknownCase as exc:
        raise HTTPException(404, f"no case {exc.args[0]}") from exc
    except (AnomalyError, ProjectError) as exc:
        already = "already" in str(exc)
        raise HTTPException(status.HTTP_409_CONFLICT if already else 422, str(exc)) from exc
