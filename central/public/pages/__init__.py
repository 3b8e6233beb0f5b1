"""The public site's pages, one module per part, and `mount` that adds them to central's app."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from central.public.pages import booking, figures, guide, query
from central.public.pages.layout import NAV, esc, page
from central.public.site import PublicSite

STATIC = Path(__file__).parent.parent / "static"
TILES = {"guide": "可以办理的事项、需要的材料、时限、收费和办理地点",
         "progress": "凭受理编号和手机号后四位查询办理进度",
         "booking": "选择部门、事项和窗口人员，预约办理时段",
         "figures": "各部门每月受理、办结、按时办结和黄牌、红牌数"}

home = APIRouter(include_in_schema=False)


@home.get("/public")
def public_root() -> RedirectResponse:
    return RedirectResponse("/public/", status_code=307)


@home.get("/public/", response_class=HTMLResponse)
def public_home(request: Request) -> HTMLResponse:
    tiles = "".join(f'<a href="{href}"><strong>{esc(label)}</strong>{esc(TILES[key])}</a>'
                    for key, href, label in NAV)
    return page(request, "市民服务", f'<div class="tiles">{tiles}</div>')


router = APIRouter(include_in_schema=False)
for part in (home, guide.router, query.router, figures.router, booking.router):
    router.include_router(part)


def mount(app: FastAPI, site: PublicSite) -> None:
    """Serve the public pages and their stylesheet under /public/ (outside the API's document)."""
    app.state.public = site
    app.include_router(router)
    app.mount("/public/static", StaticFiles(directory=STATIC), name="public-static")
