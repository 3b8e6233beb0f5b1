"""The matter guide (办事指南): matters per department, searchable by words, and each matter's page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from central.guide import Department, Matter, MatterGuide
from central.public.pages.layout import card, esc, items, page, site, url

router = APIRouter(include_in_schema=False)


@router.get("/public/guide", response_class=HTMLResponse)
def guide_index(request: Request, q: str = "", department: str = "") -> HTMLResponse:
    guide = site(request).guide
    search = (f'<form class="stack card" method="get" action="/public/guide">'
              f'<label>搜索事项<input name="q" value="{esc(q[:60])}" '
              'placeholder="如：营业执照、老年证"></label>'
              f'<button type="submit">搜索</button></form>')
    found = guide.search(q[:60])
    if department:
        found = [(d, m) for d, m in found if d.name == department]
    if not found:
        return page(request, "办事指南", search + card("没有找到相关事项，请换个词试试。"), active="guide")
    groups: dict[str, list[Matter]] = {}
    for dept, matter in found:
        groups.setdefault(dept.name, []).append(matter)
    body = "".join(f"<h2>{esc(name)}</h2>" + items((url("/public/guide", m.id), m.name) for m in matters)
                   for name, matters in groups.items())
    return page(request, "办事指南", search + body, active="guide")


@router.get("/public/guide/{matter_id}", response_class=HTMLResponse)
def guide_matter(request: Request, matter_id: str) -> HTMLResponse:
    guide = site(request).guide
    found = guide.matter(matter_id)
    if found is None:
        body = card("没有这个事项。", "error") + items([("/public/guide", "返回办事指南")])
        return page(request, "办事指南", body, active="guide", status=404)
    department, matter = found
    return page(request, matter.name, _matter(guide, department, matter, request), active="guide")


def _matter(guide: MatterGuide, department: Department, matter: Matter, request: Request) -> str:
    limits = f"<dt>法定时限</dt><dd>{esc(matter.statutory)}</dd>"
    if matter.committed:
        limits += f"<dt>承诺时限</dt><dd>{esc(matter.committed)}</dd>"
    facts = (f'<dl class="facts"><dt>办理部门</dt><dd>{esc(department.name)}</dd>'
             + (f"<dt>事项类型</dt><dd>{esc(matter.kind)}</dd>" if matter.kind else "")
             + limits + f"<dt>收费标准</dt><dd>{esc(matter.fee)}</dd></dl>")
    documents = ("<ol>" + "".join(f"<li>{esc(d)}</li>" for d in matter.documents) + "</ol>"
                 if matter.documents else "<p>无需提交材料。</p>")
    booking_on = site(request).booking is not None
    places = []
    for place in matter.places:
        hall = guide.halls.get(place.hall)
        lines = [f"<strong>{esc(guide.hall_name(place.hall))}</strong>"]
        if hall is not None and hall.address:
            lines.append(f"地址：{esc(hall.address)}")
        if hall is not None and hall.hours:
            lines.append(f"时间：{esc(hall.hours)}")
        lines.append("窗口：" + "、".join(f"{esc(w)}号窗口" for w in place.windows))
        if place.officers and booking_on:
            link = f'{url("/public/booking", matter.id)}?hall={quote(place.hall)}'
            lines.append(f'<a class="button" href="{esc(link)}">网上预约</a>')
        places.append(card("<br>".join(lines)))
    return (card(facts) + "<h2>申请材料</h2>" + card(documents) + "<h2>办理地点</h2>"
            + ("".join(places) or card("请咨询办理部门。")))
