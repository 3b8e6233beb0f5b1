"""The web pages: the big screen and the performance table, served from files in this package."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from central.web.auth import COOKIE, Authenticator

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)


def _page(name: str, request: Request, token: str | None) -> Response:
    if token is not None:
        # The screen's token arrives once in its URL; keep it as a cookie and drop it
        # from the address bar so it is not left on screen or in the history.
        auth: Authenticator = request.app.state.auth
        # The rest of the address stays: a kiosk screen is configured by it (page, hall, rotate...).
        kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        target = request.url.path + ("?" + kept if kept else "")
        response: Response = RedirectResponse(target, status_code=303)
        if auth.identify(token) is not None:
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=365 * 86400)
        return response
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/screen", status_code=307)


@router.get("/screen")
def screen(request: Request, token: str | None = None) -> Response:
    return _page("screen.html", request, token)


@router.get("/performance")
def performance(request: Request, token: str | None = None) -> Response:
    return _page("performance.html", request, token)
