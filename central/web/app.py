"""The FastAPI application: central's API routers, each route in one place, and the pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
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
from central.web.nul import refuse_nul_characters, text_without_nul

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
    app.middleware("http")(refuse_nul_characters)
    describe = app.openapi
    app.openapi = lambda: text_without_nul(describe())  # type: ignore[method-assign]
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


def api_document() -> dict[str, Any]:
    """The OpenAPI document central serves, without a running central (docs, contract tests)."""
    return create_app(WebSettings()).openapi()
