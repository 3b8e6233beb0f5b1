"""The monitoring room's video pages: the wall of live cameras and a complaint's evidence."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from central.web import pages

router = APIRouter(include_in_schema=False)


@router.get("/wall")
def wall(request: Request, token: str | None = None) -> Response:
    return pages._page("wall.html", request, token)


@router.get("/evidence")
def evidence(request: Request, token: str | None = None) -> Response:
    return pages._page("evidence.html", request, token)
