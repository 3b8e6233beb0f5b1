"""The FastAPI application: the API routers, the case engine's own router, the pages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from central.web import api_cases, api_complaints, api_halls, api_performance, api_screen, pages
from central.web.auth import Authenticator, reader, writer
from central.web.context import CentralContext
from central.web.models import AUTH_ERRORS
from central.web.settings import WebSettings

log = logging.getLogger(__name__)

DESCRIPTION = """
Central supervision of the service halls: cases and their countdown lights,
hall telemetry, complaints with footage holds, performance evaluation.

Every endpoint needs a bearer token (`Authorization: Bearer ...`). Reads need
the **viewer** role (the big screen's); writes need the **supervisor** role.
Personal data (contact names and phones) is masked in every response except
a complaint's `/contact`, which the officer calling back needs.
"""


def create_app(
    context: CentralContext, settings: WebSettings, extra_routers: list[APIRouter] | None = None
) -> FastAPI:
    app = FastAPI(
        title="hallwatch central",
        version="1",
        description=DESCRIPTION,
        # FastAPI's /docs and /redoc pages load their scripts from a CDN; central serves
        # nothing from the internet, so only the document itself is served.
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "cases", "description": "supervision records and their lights"},
            {"name": "halls", "description": "devices, queues and link health per hall"},
            {"name": "complaints", "description": "统一受理、归口办理、网上反馈"},
            {"name": "performance", "description": "绩效评估"},
            {"name": "big screen", "description": "the monitoring room's page"},
        ],
    )
    app.state.central = context
    app.state.auth = Authenticator(settings)
    for router in (api_cases.router, api_halls.router, api_complaints.router,
                   api_performance.router, api_screen.router):
        app.include_router(router, responses=AUTH_ERRORS)
    app.include_router(pages.router)
    for router in extra_routers or []:
        include_guarded(app, router, prefix="/api")
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app


def include_guarded(
    app: FastAPI, router: APIRouter, *, prefix: str = "", dependencies: list[Any] | None = None
) -> list[str]:
    """Include another part's router (the case engine's door) behind our roles.

    Reads need a viewer, anything that writes a supervisor, decided per route by
    its methods; `include_router` rebuilds each route with the added dependencies.
    A route whose path and method central already serves is left out (central's
    own answer, with its masking and verification, wins); the left-out ones are
    returned. A router that would break the OpenAPI document is left out whole.
    """
    if not documents(router):
        log.error("a router does not produce an OpenAPI document: left out")
        return [getattr(r, "path", "?") for r in router.routes]
    served = _operations(app)
    skipped = []
    for route in router.routes:
        methods = set(getattr(route, "methods", None) or {"GET"})
        path = prefix + getattr(route, "path", "")
        if any((path, m) in served for m in methods):
            skipped.append(f"{'/'.join(sorted(methods))} {path}")
            continue
        dependency = reader if methods <= {"GET", "HEAD"} else writer
        single = APIRouter()
        single.routes.append(route)
        app.include_router(single, prefix=prefix, responses=AUTH_ERRORS,
                           dependencies=[Depends(dependency), *(dependencies or [])])
    return skipped


def api_document() -> dict[str, Any]:
    """The OpenAPI document central serves, without a running central (docs, contract tests)."""
    from unittest.mock import MagicMock

    from central.cases.api import router as case_router
    from central.ratings import RatingBook, ratings_router

    app = create_app(MagicMock(spec=CentralContext), WebSettings())
    include_documented(app, ratings_router(RatingBook()))
    include_guarded(app, case_router, prefix="/api")
    return app.openapi()


def include_documented(app: FastAPI, router: APIRouter) -> bool:
    """Include another part's router if it documents itself; a broken one would take
    /openapi.json (and with it the contract) down for everyone, so it is left out loudly."""
    if not documents(router):
        log.error("a router (%s) does not produce an OpenAPI document: left out",
                  ", ".join(sorted({getattr(r, "path", "?") for r in router.routes}))[:200])
        return False
    app.include_router(router, responses=AUTH_ERRORS)
    return True


def documents(router: APIRouter) -> bool:
    """Whether a router's routes produce an OpenAPI document (a broken one would take /openapi.json down)."""
    probe = FastAPI()
    probe.include_router(router)
    try:
        probe.openapi()
    except Exception:  # any failure here means: do not serve it
        return False
    return True


def _operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, METHOD) of every documented route (included routers are not flattened in app.routes)."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    return {(path, method.upper()) for path, item in document.get("paths", {}).items() for method in item}
