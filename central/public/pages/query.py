"""The progress query (办件查询): a form, and the case's stage in plain words.

The form posts (never a query string): the last four digits of a phone must not
end up in an address bar, a browser history or a proxy's log.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from central.public.pages.layout import card, client_address, esc, form, page, site
from central.public.progress import ProgressRefused
from central.public.words import Progress

router = APIRouter(include_in_schema=False)


def _form(case_id: str = "") -> str:
    return ('<form class="stack card" method="post" action="/public/progress">'
            f'<label>受理编号<input name="case_id" value="{esc(case_id)}" autocomplete="off" required '
            'maxlength="64" placeholder="受理回执上的编号"></label>'
            '<label>手机号后四位<input name="tail" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" '
            'autocomplete="off" required placeholder="办理时登记的手机号"></label>'
            '<button type="submit">查询</button></form>')


@router.get("/public/progress", response_class=HTMLResponse)
def progress_form(request: Request) -> HTMLResponse:
    return page(request, "办件查询", _form(), active="progress")


@router.post("/public/progress", response_class=HTMLResponse)
async def progress_answer(request: Request) -> HTMLResponse:
    fields = await form(request)
    case_id = fields.get("case_id", "")[:64]
    try:
        found = site(request).progress.look(case_id, fields.get("tail", "")[:8], client_address(request))
    except ProgressRefused as refused:
        return page(request, "办件查询", card(esc(refused), "error") + _form(case_id), active="progress",
                    status=429 if refused.busy else 200)
    return page(request, "办件查询", _progress(found) + _form(), active="progress")


def _progress(found: Progress) -> str:
    paused = " paused" if found.stage == "暂停计时" else ""
    due = found.due_day is not None and found.stage != "已办结"
    stage = esc(found.stage) + (f"（{esc(found.reason)}）" if found.reason else "")
    facts = (f'<p class="stage{paused}" data-stage="{esc(found.stage)}">{stage}</p>'
             f'<dl class="facts"><dt>受理编号</dt><dd>{esc(found.case_id)}</dd>'
             f"<dt>申请事项</dt><dd>{esc(found.matter)}</dd>"
             f"<dt>办理部门</dt><dd>{esc(found.unit)}</dd>"
             f"<dt>受理地点</dt><dd>{esc(found.hall)}</dd>"
             f"<dt>受理日期</dt><dd>{esc(found.accepted_day)}</dd>"
             f"<dt>办理时限</dt><dd>{esc(found.limit)}</dd>"
             + (f"<dt>预计办结</dt><dd>{esc(found.due_day)}前</dd>" if due else "") + "</dl>")
    steps = "<ol>" + "".join(f"<li>{esc(s.day)}　{esc(s.what)}</li>" for s in found.steps) + "</ol>"
    return card(facts, "notice") + "<h2>办理过程</h2>" + card(steps)
