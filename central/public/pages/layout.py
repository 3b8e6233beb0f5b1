"""The public site's page shell and the few helpers every page uses: escaping, the form body,
the citizen's address. Pages are plain HTML forms: they work without scripts."""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import parse_qs, quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from central.public.site import PublicSite

NAV = (("guide", "/public/guide", "办事指南"), ("progress", "/public/progress", "办件查询"),
       ("booking", "/public/booking", "网上预约"), ("figures", "/public/figures", "公开数据"))
MAX_FORM_BYTES = 4096


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def url(base: str, *parts: str) -> str:
    """`base` followed by each part, escaped as one path segment (a matter id, a hall, a day)."""
    return "/".join([base, *(quote(part, safe="") for part in parts)])


def site(request: Request) -> PublicSite:
    found: PublicSite = request.app.state.public
    return found


def page(request: Request, title: str, body: str, *, active: str = "", status: int = 200) -> HTMLResponse:
    """A whole page: header with the site's name and its four parts, the body, a footer."""
    name = site(request).settings.title
    current = ' aria-current="page"'
    nav = "".join(f'<a href="{href}"{current if key == active else ""}>{esc(label)}</a>'
                  for key, href, label in NAV)
    text = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - {esc(name)}</title>
<link rel="stylesheet" href="/public/static/public.css">
</head>
<body>
<header class="site"><a class="home" href="/public/">{esc(name)}</a><nav class="site">{nav}</nav></header>
<main>
<h1>{esc(title)}</h1>
{body}
</main>
<footer class="site">本网站不收集与办事无关的个人信息；手机号仅用于办事短信通知。</footer>
</body>
</html>
"""
    return HTMLResponse(text, status_code=status, headers={
        "Cache-Control": "no-store", "Content-Security-Policy":
        "default-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})


def card(inner: str, extra: str = "") -> str:
    return f'<div class="card {extra}">{inner}</div>'


def items(links: Iterable[tuple[str, str]]) -> str:
    """A list of big, tappable links."""
    return '<ul class="plain">' + "".join(f'<li><a href="{href}">{esc(text)}</a></li>'
                                          for href, text in links) + "</ul>"


async def form(request: Request) -> dict[str, str]:
    """An url-encoded form body (the pages' only kind), each field once, capped in size."""
    raw = (await request.body())[:MAX_FORM_BYTES]
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def client_address(request: Request) -> str:
    """The citizen's address: the connection's, or behind a reverse proxy its header's first one."""
    header = site(request).settings.client_header
    if header:
        forwarded = request.headers.get(header, "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.client.host if request.client else "?"
