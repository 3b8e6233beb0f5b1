"""The public figures (公开数据): per department, one month at a time."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from central.booking.slots import HALL_TIME
from central.public.figures import recent_months
from central.public.pages.layout import card, esc, page, site

router = APIRouter(include_in_schema=False)
COLUMNS = (("received", "受理"), ("completed", "办结"), ("on_time", "按时办结"), ("yellow_cards", "黄牌"),
           ("red_cards", "红牌"), ("booked", "网上预约"), ("checked_in", "已取号"), ("no_shows", "爽约"))


@router.get("/public/figures", response_class=HTMLResponse)
def public_figures(request: Request, month: str = "") -> HTMLResponse:
    public = site(request)
    today = datetime.fromtimestamp(public.clock.wall_ms() / 1000, HALL_TIME).date()
    months = recent_months(today)
    month = month if month in months else months[0]
    options = "".join(
        f'<option value="{m}"{" selected" if m == month else ""}>{m[:4]}年{int(m[5:])}月</option>'
        for m in months)
    chooser = ('<form class="stack card" method="get" action="/public/figures">'
               f'<label>月份<select name="month">{options}</select></label>'
               '<button type="submit">查看</button></form>')
    rows = public.figures.month(month)
    if not rows:
        return page(request, "公开数据", chooser + card("本月暂无数据。"), active="figures")
    head = "<tr><th>部门</th>" + "".join(f"<th>{esc(label)}</th>" for _k, label in COLUMNS) + "</tr>"
    body = "".join(
        f'<tr data-unit="{esc(row.department)}"><td>{esc(row.department)}</td>'
        + "".join(f'<td data-figure="{key}">{getattr(row, key)}</td>' for key, _label in COLUMNS) + "</tr>"
        for row in rows)
    table = f'<div class="scroll"><table><thead>{head}</thead><tbody>{body}</tbody></table></div>'
    note = ('<p class="muted">受理按受理日期、办结按办结确认日期、黄牌红牌按发出日期计入当月；'
            "预约按预约日期计入。</p>")
    return page(request, "公开数据", chooser + table + note, active="figures")
