"""Online booking (网上预约): department -> matter -> window officer -> day and slot -> a code;
and cancelling with the code and the last four digits of the phone."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from central.booking.desk import BookingDesk, BookingRefused, Choice, Receipt
from central.public.gate import BUSY
from central.public.pages.layout import card, client_address, esc, form, items, page, site, url
from central.sms.planning import day_text

router = APIRouter(include_in_schema=False)
TITLE = "网上预约"
WEEKDAYS = "一二三四五六日"


def _off(request: Request) -> HTMLResponse:
    return page(request, TITLE, card("暂未开通网上预约。"), active="booking", status=404)


def _desk(request: Request) -> BookingDesk | None:
    return site(request).booking


def _day_label(day: date) -> str:
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


@router.get("/public/booking/cancel", response_class=HTMLResponse)
def cancel_form(request: Request) -> HTMLResponse:
    if _desk(request) is None:
        return _off(request)
    return page(request, "取消预约", _cancel_form(), active="booking")


def _cancel_form(code: str = "") -> str:
    return ('<form class="stack card" method="post" action="/public/booking/cancel">'
            f'<label>预约码<input name="code" inputmode="numeric" value="{esc(code)}" maxlength="12" '
            'autocomplete="off" required></label>'
            '<label>手机号后四位<input name="tail" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" '
            'autocomplete="off" required></label><button type="submit">取消预约</button></form>')


@router.post("/public/booking/cancel", response_class=HTMLResponse)
async def cancel(request: Request) -> HTMLResponse:
    desk = _desk(request)
    if desk is None:
        return _off(request)
    fields = await form(request)
    code, client = fields.get("code", "").strip()[:12], client_address(request)
    gate = site(request).gate
    if not gate.admits("cancel", client, code):
        gate.note("cancel", client, code, "refused: too many")
        return page(request, "取消预约", card(BUSY, "error"), active="booking", status=429)
    try:
        receipt = desk.cancel(code, fields.get("tail", "")[:8])
    except BookingRefused as refused:
        gate.note("cancel", client, code, "refused")
        return page(request, "取消预约", card(esc(refused), "error") + _cancel_form(code), active="booking")
    gate.note("cancel", client, code, "cancelled")
    return page(request, "取消预约", card(
        f"<p>已取消 {esc(receipt.day)} {esc(receipt.slot)} "
        f"在{esc(receipt.hall_name)}办理“{esc(receipt.matter)}”"
        "的预约，稍后会收到短信通知。</p>", "notice"), active="booking")


@router.get("/public/booking", response_class=HTMLResponse)
def departments(request: Request, department: str = "") -> HTMLResponse:
    desk = _desk(request)
    if desk is None:
        return _off(request)
    cancel_link = '<p><a href="/public/booking/cancel">已有预约？取消预约</a></p>'
    if department:
        matters = desk.matters(department)
        body = (items((url("/public/booking", m.id), m.name) for m in matters) if matters
                else card("该部门暂无可预约事项。"))
        return page(request, f"{department}：选择事项", body, active="booking")
    return page(request, TITLE + "：选择部门",
                items((f"/public/booking?department={quote(name)}", name) for name in desk.departments())
                + cancel_link, active="booking")


@router.get("/public/booking/{matter_id}", response_class=HTMLResponse)
def officers(request: Request, matter_id: str, hall: str = "") -> HTMLResponse:
    desk = _desk(request)
    if desk is None:
        return _off(request)
    found = desk.guide.matter(matter_id)
    if found is None:
        return page(request, TITLE, card("没有这个事项。", "error"), active="booking", status=404)
    matter = found[1]
    links = []
    for place in matter.places:
        if hall and place.hall != hall:
            continue
        for officer in place.officers:
            links.append((url("/public/booking", matter.id, place.hall, officer.id),
                          f"{desk.guide.hall_name(place.hall)} · {officer.window}号窗口 · {officer.name}"))
    body = items(links) if links else card("该事项暂无可预约的窗口人员。")
    return page(request, f"{matter.name}：选择窗口人员", body, active="booking")


@router.get("/public/booking/{matter_id}/{hall}/{officer_id}", response_class=HTMLResponse)
def slots(request: Request, matter_id: str, hall: str, officer_id: str, day: str = "") -> HTMLResponse:
    desk = _desk(request)
    if desk is None:
        return _off(request)
    try:
        choice = desk.choice(matter_id, hall, officer_id)
    except BookingRefused as refused:
        return page(request, TITLE, card(esc(refused), "error"), active="booking", status=404)
    return page(request, f"{choice.matter.name}：选择时段", _slot_form(desk, choice, day), active="booking")


def _slot_form(desk: BookingDesk, choice: Choice, day_text_: str, phone: str = "", problem: str = "") -> str:
    days = desk.days()
    if not days:
        return card("近期没有可预约的工作日。")
    chosen = next((d for d in days if d.isoformat() == day_text_), days[0])
    base = url("/public/booking", choice.matter.id, choice.place.hall, choice.officer.id)
    day_links = " ".join(
        f"<strong>{esc(_day_label(d))}</strong>" if d == chosen
        else f'<a href="{base}?day={d.isoformat()}">{esc(_day_label(d))}</a>' for d in days)
    offers = desk.offers(choice, chosen)
    head = card(f"<p>{esc(desk.guide.hall_name(choice.place.hall))} · {esc(choice.officer.window)}号窗口 · "
                f'{esc(choice.officer.name)}</p><p class="days">{day_links}</p>')
    error = card(esc(problem), "error") if problem else ""
    if not offers:
        return head + error + card(f"{esc(_day_label(chosen))}已约满，请选择其他日期。")
    radios = "".join(
        f'<label><input type="radio" name="slot" value="{o.slot.label}" required>{o.slot.label}'
        f'<span class="muted">余{o.free}</span></label>' for o in offers)
    return head + error + (
        f'<form class="stack card" method="post" action="{base}">'
        f'<input type="hidden" name="day" value="{chosen.isoformat()}">'
        f'<fieldset class="slots">{radios}</fieldset>'
        f'<label>手机号码（接收预约码短信）<input name="phone" type="tel" inputmode="numeric" maxlength="13" '
        f'value="{esc(phone)}" autocomplete="tel" required></label>'
        '<button type="submit">确认预约</button></form>')


@router.post("/public/booking/{matter_id}/{hall}/{officer_id}", response_class=HTMLResponse)
async def book(request: Request, matter_id: str, hall: str, officer_id: str) -> HTMLResponse:
    desk = _desk(request)
    if desk is None:
        return _off(request)
    fields = await form(request)
    client, gate = client_address(request), site(request).gate
    try:
        choice = desk.choice(matter_id, hall, officer_id)
    except BookingRefused as refused:
        return page(request, TITLE, card(esc(refused), "error"), active="booking", status=404)
    if not gate.admits("booking", client):
        gate.note("booking", client, matter_id, "refused: too many")
        return page(request, TITLE, card(BUSY, "error"), active="booking", status=429)
    day = fields.get("day", "")[:10]
    try:
        receipt = desk.book(choice, date.fromisoformat(day), fields.get("slot", "")[:5],
                            fields.get("phone", "")[:20])
    except (BookingRefused, ValueError) as refused:
        gate.note("booking", client, matter_id, "refused")
        message = str(refused) if isinstance(refused, BookingRefused) else "请选择预约日期和时段"
        return page(request, f"{choice.matter.name}：选择时段",
                    _slot_form(desk, choice, day, fields.get("phone", "")[:20], message), active="booking")
    gate.note("booking", client, receipt.code, "booked")
    return page(request, "预约成功", _receipt(receipt), active="booking")


def _receipt(receipt: Receipt) -> str:
    return card(
        f'<p>您的预约码</p><p class="code" data-code="{esc(receipt.code)}">{esc(receipt.code)}</p>'
        f'<dl class="facts"><dt>办理事项</dt><dd>{esc(receipt.matter)}</dd>'
        f"<dt>办理部门</dt><dd>{esc(receipt.department)}</dd>"
        f"<dt>预约时间</dt><dd>{esc(day_text(receipt.day))} {esc(receipt.slot)}</dd>"
        f"<dt>办理地点</dt><dd>{esc(receipt.hall_name)} {esc(receipt.window)}号窗口</dd>"
        f"<dt>窗口人员</dt><dd>{esc(receipt.officer_name)}</dd></dl>"
        "<p>请按时到大厅，在取号机上输入预约码取号。预约码也会以短信发送到您的手机。</p>"
        '<p><a href="/public/booking/cancel">取消预约</a></p>', "notice")
