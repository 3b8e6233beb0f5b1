"""The FastAPI application: central's API routers, each route in one place, and the pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from central.config import WebSettings
from central.web import (
    api_anomalies,
    api_case_reports,
    api_cases,
    api_complaints,
    api_discretion,
    api_halls,
    api_performance,
    api_projects,
    api_ratings,
    api_screen,
    api_supervision_screen,
    api_video,
    pages,
    video_pages,
)
from central.web.auth import Authenticator
from central.web.context import CentralContext
from central.web.models import AUTH_ERRORS

DESCRIPTION = """
Central supervision of the service halls: cases and their countdown lights,
hall telemetry, complaints with footage holds, performance evaluation.

Every endpoint needs a bearer token (`Authorization: Bearer ...`). Reads need
the **viewer** role (the big screen's); writes need the **supervisor** role.
Personal data (contact names, phones, ID numbers, also inside free text) is
masked in every response except the `/contact` of a complaint or a case, which
the supervisor calling back needs; erased data reads `(erased)`.
"""

API_ROUTERS = (api_cases.router, api_case_reports.router, api_halls.router, api_complaints.router,
               api_performance.router, api_screen.router, api_ratings.router)
# The supervision office's: anomalies, major projects, discretion (docs/supervision.md).
SUPERVISION_ROUTERS = (api_anomalies.router, api_projects.router, api_discretion.router,
                       api_supervision_screen.router)


def create_app(settings: WebSettings, context: CentralContext | None = None) -> FastAPI:
    """The application; without `context` it only documents itself (what `api_document` needs)."""
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
            {"name": "anomalies", "description": "异常监测与廉政风险防控: rules, records, findings"},
            {"name": "projects", "description": "重大项目绿色通道"},
            {"name": "discretion", "description": "自由裁量权: standards and decisions"},
            {"name": "video", "description": "the video wall and complaint evidence"},
        ],
    )
    app.middleware("http")(_refuse_nul_characters)
    describe = app.openapi
    app.openapi = lambda: _text_without_nul(describe())  # type: ignore[method-assign]
    app.state.central = context
    app.state.auth = Authenticator(settings)
    for router in (*API_ROUTERS, *SUPERVISION_ROUTERS):
        app.include_router(router, responses=AUTH_ERRORS)
    app.include_router(api_video.router, responses=AUTH_ERRORS)  # the video wall and evidence
    app.include_router(pages.router)
    app.include_router(video_pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    app.mount("/vendor", StaticFiles(directory=video_pages.VENDOR), name="vendor")  # hls.js, from npm
    return app


NO_NUL = "^[^\\u0000]*$"
"""The pattern of every free text central takes: PostgreSQL's text cannot hold a NUL character."""


async def _refuse_nul_characters(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                                 ) -> Response:
    # A filter or a path with a NUL character failed deep in a PostgreSQL read (a 500) and matched
    # nothing on SQLite. No stored value holds one on either database, so such a request is refused
    # up front, alike on both, in FastAPI's 422 shape (the document says so: `_text_without_nul`).
    # Bodies are not checked here: free-form fields may carry anything the models then ignore.
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            return _unprocessable(["query", name.replace("\x00", "")])
    if "\x00" in request.scope["path"]:
        return _unprocessable(["path"])
    return await call_next(request)


def _unprocessable(where: list[str]) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [
        {"loc": where, "msg": "a NUL character is not allowed", "type": "value_error"}]})


def _text_without_nul(document: dict[str, Any]) -> dict[str, Any]:
    """The document with NO_NUL on every free-text parameter and body field (those without a
    pattern, format or enum of their own): what central can store on PostgreSQL. Parameters are
    enforced by `_refuse_nul_characters`; body fields are not yet (a 500 on PostgreSQL)."""
    def mark(schema: dict[str, Any]) -> None:
        if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
            schema["pattern"] = NO_NUL
        for choice in schema.get("anyOf", []):
            mark(choice)
        for field in schema.get("properties", {}).values():
            mark(field)
        if isinstance(schema.get("items"), dict):
            mark(schema["items"])

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                mark(parameter.get("schema", {}))
    for schema in document.get("components", {}).get("schemas", {}).values():
        mark(schema)
    return document


def api_document() -> dict[str, Any]:
    """The OpenAPI document central serves, without a running central (docs, contract tests)."""
    return create_app(WebSettings()).openapi()
