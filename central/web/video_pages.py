"""The monitoring room's video pages: the wall of live cameras and a complaint's evidence.

The player they use, hls.js, is vendored from npm unmodified in `vendor/` (with its
licence) and served at `/vendor/`: the pages load nothing from outside central.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from central.web import pages

VENDOR = Path(__file__).parent / "vendor"
router = APIRouter(include_in_schema=False)


@router.get("/wall")
def wall(request: Request, token: str | None = None) -> Response:
    return pages._page("wall.html", request, token)


@router.get("/evidence")
def evidence(request: Request, token: str | None = None) -> Response:
    return pages._page("evidence.html", request, token)
